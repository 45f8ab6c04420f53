"""Protobuf field tables for the kinds kubectl sends as protobuf request bodies.

kubectl >= 1.32 encodes the objects of ``kubectl create deployment|namespace|configmap|
secret|service|serviceaccount|quota`` (and the ``policy/v1 Eviction`` of ``kubectl drain``)
with the Kubernetes protobuf serializer. Protobuf carries only field *numbers*; the names,
and the Go facts that decide what the JSON form of the same object shows (``omitempty``,
pointer fields, inline structs), live in the API definitions: the ``generated.proto`` and
``types.go`` files of ``k8s.io/api`` (``core/v1``, ``apps/v1``, ``policy/v1``) and
``k8s.io/apimachinery`` (``pkg/apis/meta/v1``, ``pkg/runtime``, ``pkg/util/intstr``,
``pkg/api/resource``). This module keeps those facts in small tables written for the sandbox,
one line per field, read by :mod:`kubelab.sandbox.api.protobuf`.

Table syntax, one message per block::

    MessageName
      <number> <jsonName> <type> [flags...]

``type`` is a scalar (``string int32 int64 uint32 uint64 bool double float bytes``), a
special apimachinery type (``Time MicroTime Quantity IntOrString RawExtension FieldsV1``), a
message name, ``[]T`` (repeated) or ``map<string,T>``. Flags, from the Go struct tags:

* ``ptr``: a Go pointer (``*T``): shown whenever it was sent, even when zero;
* ``req``: no ``omitempty``: always shown (its zero value, or ``null`` for absent slices,
  maps and pointers);
* ``omitzero``: a struct dropped when zero (``creationTimestamp``);
* ``inline``: an embedded struct whose fields appear in the parent (``json:",inline"``).

Without flags a scalar, slice or map is ``omitempty`` (dropped when zero or empty) and a
non-pointer struct is always shown (Go's ``omitempty`` does not apply to structs), which is
why ``kubectl create deployment`` shows ``strategy: {}`` and ``resources: {}``. Only the
messages these commands use are listed (the pod spec's common fields, not every volume
source); unknown field numbers are skipped, as the generated Go unmarshallers do.
"""

from __future__ import annotations

from dataclasses import dataclass

SCALARS = frozenset(
    {"string", "int32", "int64", "uint32", "uint64", "bool", "double", "float", "bytes"}
)
SPECIALS = frozenset({"Time", "MicroTime", "Quantity", "IntOrString", "RawExtension", "FieldsV1"})
FLAGS = frozenset({"ptr", "req", "omitzero", "inline"})


@dataclass(frozen=True)
class Field:
    """One field of a message: its number, JSON name, element type and Go facts."""

    number: int
    name: str
    type: str  # element type: a scalar, a special, or a message name
    repeated: bool = False
    map: bool = False  # map<string, type>
    ptr: bool = False
    req: bool = False
    omitzero: bool = False
    inline: bool = False

    @property
    def is_message(self) -> bool:
        return self.type not in SCALARS


@dataclass(frozen=True)
class Message:
    name: str
    fields: dict[int, Field]


# ---------------------------------------------------------------------------------------
# meta/v1 (k8s.io/apimachinery/pkg/apis/meta/v1)
_META = """
ObjectMeta
  1 name string
  2 generateName string
  3 namespace string
  4 selfLink string
  5 uid string
  6 resourceVersion string
  7 generation int64
  8 creationTimestamp Time omitzero
  9 deletionTimestamp Time ptr
  10 deletionGracePeriodSeconds int64 ptr
  11 labels map<string,string>
  12 annotations map<string,string>
  13 ownerReferences []OwnerReference
  14 finalizers []string
  17 managedFields []ManagedFieldsEntry

OwnerReference
  5 apiVersion string req
  1 kind string req
  3 name string req
  4 uid string req
  6 controller bool ptr
  7 blockOwnerDeletion bool ptr

ManagedFieldsEntry
  1 manager string
  2 operation string
  3 apiVersion string
  4 time Time ptr
  6 fieldsType string
  7 fieldsV1 FieldsV1 ptr
  8 subresource string

LabelSelector
  1 matchLabels map<string,string>
  2 matchExpressions []LabelSelectorRequirement

LabelSelectorRequirement
  1 key string req
  2 operator string req
  3 values []string

Condition
  1 type string req
  2 status string req
  3 observedGeneration int64
  4 lastTransitionTime Time req
  5 reason string req
  6 message string req

DeleteOptions
  1 gracePeriodSeconds int64 ptr
  2 preconditions Preconditions ptr
  3 orphanDependents bool ptr
  4 propagationPolicy string ptr
  5 dryRun []string
  6 ignoreStoreReadErrorWithClusterBreakingPotential bool ptr

Preconditions
  1 uid string ptr
  2 resourceVersion string ptr
"""

# ---------------------------------------------------------------------------------------
# apps/v1 (k8s.io/api/apps/v1)
_APPS = """
Deployment
  1 metadata ObjectMeta
  2 spec DeploymentSpec
  3 status DeploymentStatus

DeploymentSpec
  1 replicas int32 ptr
  2 selector LabelSelector ptr req
  3 template PodTemplateSpec req
  4 strategy DeploymentStrategy
  5 minReadySeconds int32
  6 revisionHistoryLimit int32 ptr
  7 paused bool
  9 progressDeadlineSeconds int32 ptr

DeploymentStrategy
  1 type string
  2 rollingUpdate RollingUpdateDeployment ptr

RollingUpdateDeployment
  1 maxUnavailable IntOrString ptr
  2 maxSurge IntOrString ptr

DeploymentStatus
  1 observedGeneration int64
  2 replicas int32
  3 updatedReplicas int32
  7 readyReplicas int32
  4 availableReplicas int32
  5 unavailableReplicas int32
  9 terminatingReplicas int32 ptr
  6 conditions []DeploymentCondition
  8 collisionCount int32 ptr

DeploymentCondition
  1 type string req
  2 status string req
  6 lastUpdateTime Time
  7 lastTransitionTime Time
  4 reason string
  5 message string
"""

# ---------------------------------------------------------------------------------------
# batch/v1 (k8s.io/api/batch/v1): what ``kubectl create job|cronjob`` and
# ``create job --from=cronjob/x`` send
_BATCH = """
Job
  1 metadata ObjectMeta
  2 spec JobSpec
  3 status JobStatus

JobSpec
  1 parallelism int32 ptr
  2 completions int32 ptr
  3 activeDeadlineSeconds int64 ptr
  11 podFailurePolicy PodFailurePolicy ptr
  16 successPolicy SuccessPolicy ptr
  7 backoffLimit int32 ptr
  12 backoffLimitPerIndex int32 ptr
  13 maxFailedIndexes int32 ptr
  4 selector LabelSelector ptr
  5 manualSelector bool ptr
  6 template PodTemplateSpec req
  8 ttlSecondsAfterFinished int32 ptr
  9 completionMode string ptr
  10 suspend bool ptr
  14 podReplacementPolicy string ptr
  15 managedBy string ptr

PodFailurePolicy
  1 rules []PodFailurePolicyRule req

PodFailurePolicyRule
  1 action string req
  2 onExitCodes PodFailurePolicyOnExitCodesRequirement ptr
  3 onPodConditions []PodFailurePolicyOnPodConditionsPattern

PodFailurePolicyOnExitCodesRequirement
  1 containerName string ptr
  2 operator string req
  3 values []int32 req

PodFailurePolicyOnPodConditionsPattern
  1 type string req
  2 status string

SuccessPolicy
  1 rules []SuccessPolicyRule req

SuccessPolicyRule
  1 succeededIndexes string ptr
  2 succeededCount int32 ptr

JobStatus
  4 active int32
  5 succeeded int32
  6 failed int32

CronJob
  1 metadata ObjectMeta
  2 spec CronJobSpec
  3 status CronJobStatus

CronJobSpec
  1 schedule string req
  8 timeZone string ptr
  2 startingDeadlineSeconds int64 ptr
  3 concurrencyPolicy string
  4 suspend bool ptr
  5 jobTemplate JobTemplateSpec req
  6 successfulJobsHistoryLimit int32 ptr
  7 failedJobsHistoryLimit int32 ptr

JobTemplateSpec
  1 metadata ObjectMeta
  2 spec JobSpec

CronJobStatus
  1 active []ObjectReference
  4 lastScheduleTime Time ptr
  5 lastSuccessfulTime Time ptr
"""

# ---------------------------------------------------------------------------------------
# rbac.authorization.k8s.io/v1, authorization.k8s.io/v1 and authentication.k8s.io/v1: what
# ``kubectl create role|clusterrole|rolebinding|clusterrolebinding``, ``auth can-i``
# (``--list``), ``auth whoami`` and ``create token`` send
_AUTH = """
Role
  1 metadata ObjectMeta
  2 rules []PolicyRule req

ClusterRole
  1 metadata ObjectMeta
  2 rules []PolicyRule req
  3 aggregationRule AggregationRule ptr

AggregationRule
  1 clusterRoleSelectors []LabelSelector

PolicyRule
  1 verbs []string req
  2 apiGroups []string
  3 resources []string
  4 resourceNames []string
  5 nonResourceURLs []string

RoleBinding
  1 metadata ObjectMeta
  2 subjects []Subject
  3 roleRef RoleRef req

ClusterRoleBinding
  1 metadata ObjectMeta
  2 subjects []Subject
  3 roleRef RoleRef req

RoleRef
  1 apiGroup string req
  2 kind string req
  3 name string req

Subject
  1 kind string req
  2 apiGroup string
  3 name string req
  4 namespace string

SelfSubjectAccessReview
  1 metadata ObjectMeta
  2 spec SelfSubjectAccessReviewSpec req

SelfSubjectAccessReviewSpec
  1 resourceAttributes ResourceAttributes ptr
  2 nonResourceAttributes NonResourceAttributes ptr

SubjectAccessReview
  1 metadata ObjectMeta
  2 spec SubjectAccessReviewSpec req

SubjectAccessReviewSpec
  1 resourceAttributes ResourceAttributes ptr
  2 nonResourceAttributes NonResourceAttributes ptr
  3 user string
  4 groups []string
  6 uid string

ResourceAttributes
  1 namespace string
  2 verb string
  3 group string
  4 version string
  5 resource string
  6 subresource string
  7 name string

NonResourceAttributes
  1 path string
  2 verb string

SelfSubjectRulesReview
  1 metadata ObjectMeta
  2 spec SelfSubjectRulesReviewSpec req

SelfSubjectRulesReviewSpec
  1 namespace string

SelfSubjectReview
  1 metadata ObjectMeta

TokenReview
  1 metadata ObjectMeta
  2 spec TokenReviewSpec req

TokenReviewSpec
  1 token string
  2 audiences []string

TokenRequest
  1 metadata ObjectMeta
  2 spec TokenRequestSpec req

TokenRequestSpec
  1 audiences []string req
  4 expirationSeconds int64 ptr
  3 boundObjectRef BoundObjectReference ptr

BoundObjectReference
  1 kind string
  2 apiVersion string
  3 name string
  4 uid string
"""

# ---------------------------------------------------------------------------------------
# autoscaling/v2 and v1 (k8s.io/api/autoscaling/{v2,v1}): what ``kubectl autoscale`` sends
# (v2 first, v1 when the v2 POST fails). The v1 messages carry a ``V1`` suffix here; on the
# wire only the numbers count. Status is never sent by a client, so it is not listed.
_AUTOSCALING = """
HorizontalPodAutoscaler
  1 metadata ObjectMeta
  2 spec HorizontalPodAutoscalerSpec

HorizontalPodAutoscalerSpec
  1 scaleTargetRef CrossVersionObjectReference
  2 minReplicas int32 ptr
  3 maxReplicas int32 req
  4 metrics []MetricSpec
  5 behavior HorizontalPodAutoscalerBehavior ptr

CrossVersionObjectReference
  1 kind string req
  2 name string req
  3 apiVersion string

MetricSpec
  1 type string req
  2 object ObjectMetricSource ptr
  3 pods PodsMetricSource ptr
  4 resource ResourceMetricSource ptr
  7 containerResource ContainerResourceMetricSource ptr
  5 external ExternalMetricSource ptr

ResourceMetricSource
  1 name string req
  2 target MetricTarget

ContainerResourceMetricSource
  1 name string req
  2 target MetricTarget
  3 container string req

ObjectMetricSource
  1 describedObject CrossVersionObjectReference
  2 target MetricTarget
  3 metric MetricIdentifier

PodsMetricSource
  1 metric MetricIdentifier
  2 target MetricTarget

ExternalMetricSource
  1 metric MetricIdentifier
  2 target MetricTarget

MetricIdentifier
  1 name string req
  2 selector LabelSelector ptr

MetricTarget
  1 type string req
  2 value Quantity ptr
  3 averageValue Quantity ptr
  4 averageUtilization int32 ptr

HorizontalPodAutoscalerBehavior
  1 scaleUp HPAScalingRules ptr
  2 scaleDown HPAScalingRules ptr

HPAScalingRules
  3 stabilizationWindowSeconds int32 ptr
  1 selectPolicy string ptr
  2 policies []HPAScalingPolicy
  4 tolerance Quantity ptr

HPAScalingPolicy
  1 type string req
  2 value int32 req
  3 periodSeconds int32 req

HorizontalPodAutoscalerV1
  1 metadata ObjectMeta
  2 spec HorizontalPodAutoscalerSpecV1

HorizontalPodAutoscalerSpecV1
  1 scaleTargetRef CrossVersionObjectReference
  2 minReplicas int32 ptr
  3 maxReplicas int32 req
  4 targetCPUUtilizationPercentage int32 ptr
"""

# ---------------------------------------------------------------------------------------
# networking.k8s.io/v1 (k8s.io/api/networking/v1): what ``kubectl create ingress`` sends
_NETWORKING = """
Ingress
  1 metadata ObjectMeta
  2 spec IngressSpec
  3 status IngressStatus

IngressSpec
  4 ingressClassName string ptr
  1 defaultBackend IngressBackend ptr
  2 tls []IngressTLS
  3 rules []IngressRule

IngressBackend
  4 service IngressServiceBackend ptr
  3 resource IngressTypedLocalObjectReference ptr

IngressTypedLocalObjectReference
  1 apiGroup string ptr req
  2 kind string req
  3 name string req

IngressServiceBackend
  1 name string req
  2 port ServiceBackendPort

ServiceBackendPort
  1 name string
  2 number int32

IngressTLS
  1 hosts []string
  2 secretName string

IngressRule
  1 host string
  2 ingressRuleValue IngressRuleValue inline

IngressRuleValue
  1 http HTTPIngressRuleValue ptr

HTTPIngressRuleValue
  1 paths []HTTPIngressPath req

HTTPIngressPath
  1 path string
  3 pathType string ptr req
  2 backend IngressBackend req

IngressStatus
  1 loadBalancer IngressLoadBalancerStatus

IngressLoadBalancerStatus
  1 ingress []IngressLoadBalancerIngress

IngressLoadBalancerIngress
  1 ip string
  2 hostname string
  4 ports []IngressPortStatus

IngressPortStatus
  1 port int32 req
  2 protocol string req
  3 error string ptr

IngressClass
  1 metadata ObjectMeta
  2 spec IngressClassSpec

IngressClassSpec
  1 controller string
  2 parameters IngressClassParametersReference ptr

IngressClassParametersReference
  1 apiGroup string ptr
  2 kind string req
  3 name string req
  4 scope string ptr req
  5 namespace string ptr
"""

# ---------------------------------------------------------------------------------------
# policy/v1 (k8s.io/api/policy/v1)
_POLICY = """
Eviction
  1 metadata ObjectMeta
  2 deleteOptions DeleteOptions ptr

PodDisruptionBudget
  1 metadata ObjectMeta
  2 spec PodDisruptionBudgetSpec
  3 status PodDisruptionBudgetStatus

PodDisruptionBudgetSpec
  1 minAvailable IntOrString ptr
  2 selector LabelSelector ptr
  3 maxUnavailable IntOrString ptr
  4 unhealthyPodEvictionPolicy string ptr

PodDisruptionBudgetStatus
  1 observedGeneration int64
  3 disruptionsAllowed int32 req
  4 currentHealthy int32 req
  5 desiredHealthy int32 req
  6 expectedPods int32 req
"""

# ---------------------------------------------------------------------------------------
# core/v1 (k8s.io/api/core/v1): the pod template
_POD = """
PodTemplateSpec
  1 metadata ObjectMeta
  2 spec PodSpec

PodSpec
  1 volumes []Volume
  20 initContainers []Container
  2 containers []Container req
  3 restartPolicy string
  4 terminationGracePeriodSeconds int64 ptr
  5 activeDeadlineSeconds int64 ptr
  6 dnsPolicy string
  7 nodeSelector map<string,string>
  8 serviceAccountName string
  9 serviceAccount string
  21 automountServiceAccountToken bool ptr
  10 nodeName string
  11 hostNetwork bool
  12 hostPID bool
  13 hostIPC bool
  27 shareProcessNamespace bool ptr
  14 securityContext PodSecurityContext ptr
  15 imagePullSecrets []LocalObjectReference
  16 hostname string
  17 subdomain string
  18 affinity Affinity ptr
  19 schedulerName string
  22 tolerations []Toleration
  23 hostAliases []HostAlias
  24 priorityClassName string
  25 priority int32 ptr
  26 dnsConfig PodDNSConfig ptr
  28 readinessGates []PodReadinessGate
  29 runtimeClassName string ptr
  30 enableServiceLinks bool ptr
  31 preemptionPolicy string ptr
  32 overhead map<string,Quantity>
  33 topologySpreadConstraints []TopologySpreadConstraint
  35 setHostnameAsFQDN bool ptr
  36 os PodOS ptr
  37 hostUsers bool ptr
  40 resources ResourceRequirements ptr
  41 hostnameOverride string ptr

Container
  1 name string req
  2 image string
  3 command []string
  4 args []string
  5 workingDir string
  6 ports []ContainerPort
  19 envFrom []EnvFromSource
  7 env []EnvVar
  8 resources ResourceRequirements
  23 resizePolicy []ContainerResizePolicy
  24 restartPolicy string ptr
  9 volumeMounts []VolumeMount
  10 livenessProbe Probe ptr
  11 readinessProbe Probe ptr
  22 startupProbe Probe ptr
  12 lifecycle Lifecycle ptr
  13 terminationMessagePath string
  20 terminationMessagePolicy string
  14 imagePullPolicy string
  15 securityContext SecurityContext ptr
  16 stdin bool
  17 stdinOnce bool
  18 tty bool

ContainerPort
  1 name string
  2 hostPort int32
  3 containerPort int32 req
  4 protocol string
  5 hostIP string

ContainerResizePolicy
  1 resourceName string req
  2 restartPolicy string req

EnvVar
  1 name string req
  2 value string
  3 valueFrom EnvVarSource ptr

EnvVarSource
  1 fieldRef ObjectFieldSelector ptr
  2 resourceFieldRef ResourceFieldSelector ptr
  3 configMapKeyRef ConfigMapKeySelector ptr
  4 secretKeyRef SecretKeySelector ptr

ObjectFieldSelector
  1 apiVersion string
  2 fieldPath string req

ResourceFieldSelector
  1 containerName string
  2 resource string req
  3 divisor Quantity

ConfigMapKeySelector
  1 localObjectReference LocalObjectReference inline
  2 key string req
  3 optional bool ptr

SecretKeySelector
  1 localObjectReference LocalObjectReference inline
  2 key string req
  3 optional bool ptr

EnvFromSource
  1 prefix string
  2 configMapRef ConfigMapEnvSource ptr
  3 secretRef SecretEnvSource ptr

ConfigMapEnvSource
  1 localObjectReference LocalObjectReference inline
  2 optional bool ptr

SecretEnvSource
  1 localObjectReference LocalObjectReference inline
  2 optional bool ptr

LocalObjectReference
  1 name string

ResourceRequirements
  1 limits map<string,Quantity>
  2 requests map<string,Quantity>
  3 claims []ResourceClaim

ResourceClaim
  1 name string req
  2 request string

VolumeMount
  1 name string req
  2 readOnly bool
  7 recursiveReadOnly string ptr
  3 mountPath string req
  4 subPath string
  5 mountPropagation string ptr
  6 subPathExpr string

Volume
  1 name string req
  2 volumeSource VolumeSource inline

VolumeSource
  1 hostPath HostPathVolumeSource ptr
  2 emptyDir EmptyDirVolumeSource ptr
  6 secret SecretVolumeSource ptr
  10 persistentVolumeClaim PersistentVolumeClaimVolumeSource ptr
  19 configMap ConfigMapVolumeSource ptr

HostPathVolumeSource
  1 path string req
  2 type string ptr

EmptyDirVolumeSource
  1 medium string
  2 sizeLimit Quantity ptr

SecretVolumeSource
  1 secretName string
  2 items []KeyToPath
  3 defaultMode int32 ptr
  4 optional bool ptr

ConfigMapVolumeSource
  1 localObjectReference LocalObjectReference inline
  2 items []KeyToPath
  3 defaultMode int32 ptr
  4 optional bool ptr

KeyToPath
  1 key string req
  2 path string req
  3 mode int32 ptr

PersistentVolumeClaimVolumeSource
  1 claimName string req
  2 readOnly bool

Probe
  1 handler ProbeHandler inline
  2 initialDelaySeconds int32
  3 timeoutSeconds int32
  4 periodSeconds int32
  5 successThreshold int32
  6 failureThreshold int32
  7 terminationGracePeriodSeconds int64 ptr

ProbeHandler
  1 exec ExecAction ptr
  2 httpGet HTTPGetAction ptr
  3 tcpSocket TCPSocketAction ptr
  4 grpc GRPCAction ptr

ExecAction
  1 command []string

HTTPGetAction
  1 path string
  2 port IntOrString req
  3 host string
  4 scheme string
  5 httpHeaders []HTTPHeader

HTTPHeader
  1 name string req
  2 value string req

TCPSocketAction
  1 port IntOrString req
  2 host string

GRPCAction
  1 port int32 req
  2 service string ptr req

Lifecycle
  1 postStart LifecycleHandler ptr
  2 preStop LifecycleHandler ptr
  3 stopSignal string ptr

LifecycleHandler
  1 exec ExecAction ptr
  2 httpGet HTTPGetAction ptr
  3 tcpSocket TCPSocketAction ptr
  4 sleep SleepAction ptr

SleepAction
  1 seconds int64 req

SecurityContext
  1 capabilities Capabilities ptr
  2 privileged bool ptr
  3 seLinuxOptions SELinuxOptions ptr
  4 runAsUser int64 ptr
  8 runAsGroup int64 ptr
  5 runAsNonRoot bool ptr
  6 readOnlyRootFilesystem bool ptr
  7 allowPrivilegeEscalation bool ptr
  9 procMount string ptr
  11 seccompProfile SeccompProfile ptr

Capabilities
  1 add []string
  2 drop []string

SELinuxOptions
  1 user string
  2 role string
  3 type string
  4 level string

SeccompProfile
  1 type string req
  2 localhostProfile string ptr

PodSecurityContext
  1 seLinuxOptions SELinuxOptions ptr
  2 runAsUser int64 ptr
  6 runAsGroup int64 ptr
  3 runAsNonRoot bool ptr
  4 supplementalGroups []int64
  5 fsGroup int64 ptr
  7 sysctls []Sysctl
  9 fsGroupChangePolicy string ptr
  10 seccompProfile SeccompProfile ptr

Sysctl
  1 name string req
  2 value string req

Toleration
  1 key string
  2 operator string
  3 value string
  4 effect string
  5 tolerationSeconds int64 ptr

HostAlias
  1 ip string req
  2 hostnames []string

PodDNSConfig
  1 nameservers []string
  2 searches []string
  3 options []PodDNSConfigOption

PodDNSConfigOption
  1 name string
  2 value string ptr

PodReadinessGate
  1 conditionType string req

PodOS
  1 name string req

TopologySpreadConstraint
  1 maxSkew int32 req
  2 topologyKey string req
  3 whenUnsatisfiable string req
  4 labelSelector LabelSelector ptr
  5 minDomains int32 ptr
  6 nodeAffinityPolicy string ptr
  7 nodeTaintsPolicy string ptr
  8 matchLabelKeys []string

Affinity
  1 nodeAffinity NodeAffinity ptr
  2 podAffinity PodAffinity ptr
  3 podAntiAffinity PodAntiAffinity ptr

NodeAffinity
  1 requiredDuringSchedulingIgnoredDuringExecution NodeSelector ptr
  2 preferredDuringSchedulingIgnoredDuringExecution []PreferredSchedulingTerm

NodeSelector
  1 nodeSelectorTerms []NodeSelectorTerm req

NodeSelectorTerm
  1 matchExpressions []NodeSelectorRequirement
  2 matchFields []NodeSelectorRequirement

NodeSelectorRequirement
  1 key string req
  2 operator string req
  3 values []string

PreferredSchedulingTerm
  1 weight int32 req
  2 preference NodeSelectorTerm req

PodAffinity
  1 requiredDuringSchedulingIgnoredDuringExecution []PodAffinityTerm
  2 preferredDuringSchedulingIgnoredDuringExecution []WeightedPodAffinityTerm

PodAntiAffinity
  1 requiredDuringSchedulingIgnoredDuringExecution []PodAffinityTerm
  2 preferredDuringSchedulingIgnoredDuringExecution []WeightedPodAffinityTerm

PodAffinityTerm
  1 labelSelector LabelSelector ptr
  2 namespaces []string
  3 topologyKey string req
  4 namespaceSelector LabelSelector ptr
  5 matchLabelKeys []string
  6 mismatchLabelKeys []string

WeightedPodAffinityTerm
  1 weight int32 req
  2 podAffinityTerm PodAffinityTerm req
"""

# ---------------------------------------------------------------------------------------
# core/v1: the other kinds kubectl create sends
_CORE = """
Namespace
  1 metadata ObjectMeta
  2 spec NamespaceSpec
  3 status NamespaceStatus

NamespaceSpec
  1 finalizers []string

NamespaceStatus
  1 phase string
  2 conditions []NamespaceCondition

NamespaceCondition
  1 type string req
  2 status string req
  4 lastTransitionTime Time
  5 reason string
  6 message string

ConfigMap
  1 metadata ObjectMeta
  4 immutable bool ptr
  2 data map<string,string>
  3 binaryData map<string,bytes>

Secret
  1 metadata ObjectMeta
  5 immutable bool ptr
  2 data map<string,bytes>
  4 stringData map<string,string>
  3 type string

Service
  1 metadata ObjectMeta
  2 spec ServiceSpec
  3 status ServiceStatus

ServiceSpec
  1 ports []ServicePort
  2 selector map<string,string>
  3 clusterIP string
  18 clusterIPs []string
  4 type string
  5 externalIPs []string
  7 sessionAffinity string
  8 loadBalancerIP string
  9 loadBalancerSourceRanges []string
  10 externalName string
  11 externalTrafficPolicy string
  12 healthCheckNodePort int32
  13 publishNotReadyAddresses bool
  14 sessionAffinityConfig SessionAffinityConfig ptr
  19 ipFamilies []string
  17 ipFamilyPolicy string ptr
  20 allocateLoadBalancerNodePorts bool ptr
  21 loadBalancerClass string ptr
  22 internalTrafficPolicy string ptr
  23 trafficDistribution string ptr

ServicePort
  1 name string
  2 protocol string
  6 appProtocol string ptr
  3 port int32 req
  4 targetPort IntOrString
  5 nodePort int32

SessionAffinityConfig
  1 clientIP ClientIPConfig ptr

ClientIPConfig
  1 timeoutSeconds int32 ptr

ServiceStatus
  1 loadBalancer LoadBalancerStatus
  2 conditions []Condition

LoadBalancerStatus
  1 ingress []LoadBalancerIngress

LoadBalancerIngress
  1 ip string
  2 hostname string
  3 ipMode string ptr
  4 ports []PortStatus

PortStatus
  1 port int32 req
  2 protocol string req
  3 error string ptr

ServiceAccount
  1 metadata ObjectMeta
  2 secrets []ObjectReference
  3 imagePullSecrets []LocalObjectReference
  4 automountServiceAccountToken bool ptr

ObjectReference
  1 kind string
  2 namespace string
  3 name string
  4 uid string
  5 apiVersion string
  6 resourceVersion string
  7 fieldPath string

ResourceQuota
  1 metadata ObjectMeta
  2 spec ResourceQuotaSpec
  3 status ResourceQuotaStatus

ResourceQuotaSpec
  1 hard map<string,Quantity>
  2 scopes []string
  3 scopeSelector ScopeSelector ptr

ResourceQuotaStatus
  1 hard map<string,Quantity>
  2 used map<string,Quantity>

ScopeSelector
  1 matchExpressions []ScopedResourceSelectorRequirement

ScopedResourceSelectorRequirement
  1 scopeName string req
  2 operator string req
  3 values []string
"""

# (apiVersion, kind) -> top-level message.
KINDS: dict[tuple[str, str], str] = {
    ("v1", "Namespace"): "Namespace",
    ("v1", "ConfigMap"): "ConfigMap",
    ("v1", "Secret"): "Secret",
    ("v1", "Service"): "Service",
    ("v1", "ServiceAccount"): "ServiceAccount",
    ("v1", "ResourceQuota"): "ResourceQuota",
    ("apps/v1", "Deployment"): "Deployment",
    ("policy/v1", "Eviction"): "Eviction",
    ("policy/v1", "PodDisruptionBudget"): "PodDisruptionBudget",
    ("batch/v1", "Job"): "Job",
    ("batch/v1", "CronJob"): "CronJob",
    ("autoscaling/v2", "HorizontalPodAutoscaler"): "HorizontalPodAutoscaler",
    ("autoscaling/v1", "HorizontalPodAutoscaler"): "HorizontalPodAutoscalerV1",
    ("networking.k8s.io/v1", "Ingress"): "Ingress",
    ("networking.k8s.io/v1", "IngressClass"): "IngressClass",
    ("rbac.authorization.k8s.io/v1", "Role"): "Role",
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): "ClusterRole",
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): "RoleBinding",
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): "ClusterRoleBinding",
    ("authorization.k8s.io/v1", "SelfSubjectAccessReview"): "SelfSubjectAccessReview",
    ("authorization.k8s.io/v1", "SubjectAccessReview"): "SubjectAccessReview",
    ("authorization.k8s.io/v1", "LocalSubjectAccessReview"): "SubjectAccessReview",
    ("authorization.k8s.io/v1", "SelfSubjectRulesReview"): "SelfSubjectRulesReview",
    ("authentication.k8s.io/v1", "SelfSubjectReview"): "SelfSubjectReview",
    ("authentication.k8s.io/v1", "TokenReview"): "TokenReview",
    ("authentication.k8s.io/v1", "TokenRequest"): "TokenRequest",
    ("rbac.authorization.k8s.io/v1", "DeleteOptions"): "DeleteOptions",
    # DELETE bodies: DeleteOptions is registered in every group version (and meta.k8s.io).
    ("meta.k8s.io/v1", "DeleteOptions"): "DeleteOptions",
    ("v1", "DeleteOptions"): "DeleteOptions",
    ("apps/v1", "DeleteOptions"): "DeleteOptions",
    ("policy/v1", "DeleteOptions"): "DeleteOptions",
    ("batch/v1", "DeleteOptions"): "DeleteOptions",
    ("autoscaling/v2", "DeleteOptions"): "DeleteOptions",
    ("autoscaling/v1", "DeleteOptions"): "DeleteOptions",
    ("networking.k8s.io/v1", "DeleteOptions"): "DeleteOptions",
}


def parse_table(text: str) -> dict[str, Message]:
    """Parse table text (the syntax in the module docstring) into messages."""
    messages: dict[str, Message] = {}
    current: str | None = None
    fields: dict[int, Field] = {}

    def close() -> None:
        if current is not None:
            messages[current] = Message(current, dict(fields))

    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if not raw.startswith(" "):
            close()
            current, fields = line, {}
            continue
        if current is None:
            raise ValueError(f"line {lineno}: field outside a message: {line!r}")
        number_s, name, type_s, *flags = line.split()
        unknown = set(flags) - FLAGS
        if unknown:
            raise ValueError(f"line {lineno}: unknown flags {sorted(unknown)}")
        repeated = type_s.startswith("[]")
        is_map = type_s.startswith("map<string,") and type_s.endswith(">")
        elem = type_s[2:] if repeated else type_s[len("map<string,") : -1] if is_map else type_s
        number = int(number_s)
        if number in fields:
            raise ValueError(f"line {lineno}: {current} field number {number} twice")
        fields[number] = Field(
            number,
            name,
            elem,
            repeated=repeated,
            map=is_map,
            ptr="ptr" in flags,
            req="req" in flags,
            omitzero="omitzero" in flags,
            inline="inline" in flags,
        )
    close()
    return messages


def _build() -> dict[str, Message]:
    messages: dict[str, Message] = {}
    for table in (_META, _APPS, _AUTOSCALING, _BATCH, _AUTH, _NETWORKING, _POLICY, _POD, _CORE):
        for name, message in parse_table(table).items():
            if name in messages:
                raise ValueError(f"message {name} defined twice")
            messages[name] = message
    for message in messages.values():
        for f in message.fields.values():
            if f.type not in SCALARS and f.type not in SPECIALS and f.type not in messages:
                raise ValueError(f"{message.name}.{f.name}: unknown type {f.type}")
    return messages


MESSAGES: dict[str, Message] = _build()
