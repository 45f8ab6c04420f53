"""The table of API resources the sandbox serves.

One row per resource, like the kube-apiserver's registry of REST storages: group, version,
kind, plural, scope, verbs, short names, categories and subresources. Discovery (both the
aggregated v2 document and the legacy ``APIResourceList``), routing, store keys and the
OpenAPI documents are all derived from this table, so adding a kind is adding a row plus
its strategy module in :mod:`kubelab.sandbox.api.strategies`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
READ_ONLY_VERBS = ("get", "list", "watch")


@dataclass(frozen=True)
class Subresource:
    name: str
    kind: str
    verbs: tuple[str, ...]
    group: str = ""
    version: str = "v1"


@dataclass(frozen=True)
class KindInfo:
    group: str
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    subresources: tuple[Subresource, ...] = field(default=())
    # The module name of the official Python client's model, e.g. ``V1Deployment``.
    model: str = ""
    # Set on a row of :data:`ALSO_SERVED`: the version its objects are stored at (the
    # apiserver's storage version); reads and writes convert (:mod:`.versions`).
    storage_version: str = ""

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_resource(self) -> str:
        """``deployments.apps`` or ``pods``: how Status messages name the resource."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    def path_prefix(self) -> str:
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"

    def subresource(self, name: str) -> Subresource | None:
        for sub in self.subresources:
            if sub.name == name:
                return sub
        return None


def _status(kind: str, group: str = "", version: str = "v1") -> Subresource:
    return Subresource("status", kind, ("get", "patch", "update"), group, version)


def _scale() -> Subresource:
    return Subresource("scale", "Scale", ("get", "patch", "update"), "autoscaling", "v1")


KINDS: tuple[KindInfo, ...] = (
    KindInfo("", "v1", "Binding", "bindings", "binding", True, verbs=("create",),
             model="V1Binding"),
    KindInfo("", "v1", "ComponentStatus", "componentstatuses", "componentstatus", False,
             ("cs",), verbs=("get", "list"), model="V1ComponentStatus"),
    KindInfo("", "v1", "ConfigMap", "configmaps", "configmap", True, ("cm",),
             model="V1ConfigMap"),
    KindInfo("", "v1", "Endpoints", "endpoints", "endpoints", True, ("ep",),
             model="V1Endpoints"),
    KindInfo("", "v1", "Event", "events", "event", True, ("ev",), model="CoreV1Event"),
    KindInfo("", "v1", "LimitRange", "limitranges", "limitrange", True, ("limits",),
             model="V1LimitRange"),
    KindInfo("", "v1", "Namespace", "namespaces", "namespace", False, ("ns",),
             verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
             subresources=(_status("Namespace"),
                           Subresource("finalize", "Namespace", ("update",))),
             model="V1Namespace"),
    KindInfo("", "v1", "Node", "nodes", "node", False, ("no",),
             subresources=(_status("Node"), Subresource("proxy", "NodeProxyOptions",
                                                        ("create", "delete", "get", "patch",
                                                         "update"))),
             model="V1Node"),
    KindInfo("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims",
             "persistentvolumeclaim", True, ("pvc",),
             subresources=(_status("PersistentVolumeClaim"),),
             model="V1PersistentVolumeClaim"),
    KindInfo("", "v1", "PersistentVolume", "persistentvolumes", "persistentvolume", False,
             ("pv",), subresources=(_status("PersistentVolume"),), model="V1PersistentVolume"),
    KindInfo("", "v1", "Pod", "pods", "pod", True, ("po",), ("all",),
             subresources=(
                 Subresource("attach", "PodAttachOptions", ("create", "get")),
                 Subresource("binding", "Binding", ("create",)),
                 Subresource("ephemeralcontainers", "Pod", ("get", "patch", "update")),
                 Subresource("eviction", "Eviction", ("create",), "policy", "v1"),
                 Subresource("exec", "PodExecOptions", ("create", "get")),
                 Subresource("log", "Pod", ("get",)),
                 Subresource("portforward", "PodPortForwardOptions", ("create", "get")),
                 Subresource("proxy", "PodProxyOptions",
                             ("create", "delete", "get", "patch", "update")),
                 _status("Pod"),
             ),
             model="V1Pod"),
    KindInfo("", "v1", "ReplicationController", "replicationcontrollers",
             "replicationcontroller", True, ("rc",), ("all",),
             subresources=(_scale(), _status("ReplicationController")),
             model="V1ReplicationController"),
    KindInfo("", "v1", "ResourceQuota", "resourcequotas", "resourcequota", True, ("quota",),
             subresources=(_status("ResourceQuota"),), model="V1ResourceQuota"),
    KindInfo("", "v1", "Secret", "secrets", "secret", True, model="V1Secret"),
    KindInfo("", "v1", "ServiceAccount", "serviceaccounts", "serviceaccount", True, ("sa",),
             subresources=(Subresource("token", "TokenRequest", ("create",),
                                       "authentication.k8s.io", "v1"),),
             model="V1ServiceAccount"),
    KindInfo("", "v1", "Service", "services", "service", True, ("svc",), ("all",),
             subresources=(
                 Subresource("proxy", "ServiceProxyOptions",
                             ("create", "delete", "get", "patch", "update")),
                 _status("Service"),
             ),
             model="V1Service"),
    KindInfo("apps", "v1", "ControllerRevision", "controllerrevisions", "controllerrevision",
             True, model="V1ControllerRevision"),
    # Listed so clients can ask (kubectl's validation lists CRDs before it reports an
    # unknown kind); the sandbox serves no custom resources, so it takes no writes.
    KindInfo("apiextensions.k8s.io", "v1", "CustomResourceDefinition",
             "customresourcedefinitions", "customresourcedefinition", False, ("crd", "crds"),
             ("api-extensions",), verbs=READ_ONLY_VERBS),
    KindInfo("apiregistration.k8s.io", "v1", "APIService", "apiservices", "apiservice", False,
             categories=("api-extensions",),
             subresources=(_status("APIService", "apiregistration.k8s.io"),),
             model="V1APIService"),
    KindInfo("apps", "v1", "DaemonSet", "daemonsets", "daemonset", True, ("ds",), ("all",),
             subresources=(_status("DaemonSet", "apps"),), model="V1DaemonSet"),
    KindInfo("apps", "v1", "Deployment", "deployments", "deployment", True, ("deploy",),
             ("all",), subresources=(_scale(), _status("Deployment", "apps")),
             model="V1Deployment"),
    KindInfo("apps", "v1", "ReplicaSet", "replicasets", "replicaset", True, ("rs",), ("all",),
             subresources=(_scale(), _status("ReplicaSet", "apps")), model="V1ReplicaSet"),
    KindInfo("apps", "v1", "StatefulSet", "statefulsets", "statefulset", True, ("sts",),
             ("all",), subresources=(_scale(), _status("StatefulSet", "apps")),
             model="V1StatefulSet"),
    KindInfo("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers",
             "horizontalpodautoscaler", True, ("hpa",), ("all",),
             subresources=(_status("HorizontalPodAutoscaler", "autoscaling", "v2"),),
             model="V2HorizontalPodAutoscaler"),
    KindInfo("batch", "v1", "CronJob", "cronjobs", "cronjob", True, ("cj",), ("all",),
             subresources=(_status("CronJob", "batch"),), model="V1CronJob"),
    KindInfo("batch", "v1", "Job", "jobs", "job", True, (), ("all",),
             subresources=(_status("Job", "batch"),), model="V1Job"),
    KindInfo("authentication.k8s.io", "v1", "SelfSubjectReview", "selfsubjectreviews",
             "selfsubjectreview", False, verbs=("create",), model="V1SelfSubjectReview"),
    KindInfo("authentication.k8s.io", "v1", "TokenReview", "tokenreviews", "tokenreview",
             False, verbs=("create",), model="V1TokenReview"),
    KindInfo("authorization.k8s.io", "v1", "LocalSubjectAccessReview",
             "localsubjectaccessreviews", "localsubjectaccessreview", True, verbs=("create",),
             model="V1LocalSubjectAccessReview"),
    KindInfo("authorization.k8s.io", "v1", "SelfSubjectAccessReview",
             "selfsubjectaccessreviews", "selfsubjectaccessreview", False, verbs=("create",),
             model="V1SelfSubjectAccessReview"),
    KindInfo("authorization.k8s.io", "v1", "SelfSubjectRulesReview", "selfsubjectrulesreviews",
             "selfsubjectrulesreview", False, verbs=("create",),
             model="V1SelfSubjectRulesReview"),
    KindInfo("authorization.k8s.io", "v1", "SubjectAccessReview", "subjectaccessreviews",
             "subjectaccessreview", False, verbs=("create",), model="V1SubjectAccessReview"),
    KindInfo("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings",
             "clusterrolebinding", False, model="V1ClusterRoleBinding"),
    KindInfo("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", "clusterrole",
             False, model="V1ClusterRole"),
    KindInfo("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", "rolebinding",
             True, model="V1RoleBinding"),
    KindInfo("rbac.authorization.k8s.io", "v1", "Role", "roles", "role", True,
             model="V1Role"),
    KindInfo("coordination.k8s.io", "v1", "Lease", "leases", "lease", True,
             model="V1Lease"),
    KindInfo("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", "endpointslice",
             True, model="V1EndpointSlice"),
    KindInfo("events.k8s.io", "v1", "Event", "events", "event", True, ("ev",),
             model="EventsV1Event"),
    KindInfo("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets",
             "poddisruptionbudget", True, ("pdb",),
             subresources=(_status("PodDisruptionBudget", "policy"),),
             model="V1PodDisruptionBudget"),
    KindInfo("networking.k8s.io", "v1", "IngressClass", "ingressclasses", "ingressclass",
             False, model="V1IngressClass"),
    KindInfo("networking.k8s.io", "v1", "Ingress", "ingresses", "ingress", True, ("ing",),
             subresources=(_status("Ingress", "networking.k8s.io"),), model="V1Ingress"),
    KindInfo("storage.k8s.io", "v1", "StorageClass", "storageclasses", "storageclass", False,
             ("sc",), model="V1StorageClass"),
)

# Groups in the order discovery lists them (core first, as the real server does).
GROUP_ORDER: tuple[str, ...] = (
    "", "apiregistration.k8s.io", "apps", "events.k8s.io", "authentication.k8s.io", "authorization.k8s.io",
    "autoscaling", "batch",
    "rbac.authorization.k8s.io", "networking.k8s.io", "storage.k8s.io",
    "apiextensions.k8s.io", "coordination.k8s.io", "discovery.k8s.io", "policy",
)

#: Aggregated APIs: served by an extension API server behind kube-aggregator (an APIService),
#: not stored here. metrics-server's ``metrics.k8s.io/v1beta1`` (``kubectl top`` reads it) is
#: answered from the sandbox's usage model (:mod:`kubelab.sandbox.metrics`). Discovery lists
#: them after the built-in groups, as kube-aggregator does.
AGGREGATED: tuple[KindInfo, ...] = (
    KindInfo("metrics.k8s.io", "v1beta1", "NodeMetrics", "nodes", "node", False,
             verbs=("get", "list")),
    KindInfo("metrics.k8s.io", "v1beta1", "PodMetrics", "pods", "pod", True,
             verbs=("get", "list")),
)

#: Kinds also served at an older version than the one they are stored at, as kube-apiserver
#: serves one stored object at every version of its group (``autoscaling/v1`` HPAs are the
#: ``autoscaling/v2`` objects converted). Discovery lists the storage row's version first,
#: so it stays the preferred one; the conversions are registered in :mod:`.versions`.
ALSO_SERVED: tuple[KindInfo, ...] = (
    KindInfo("autoscaling", "v1", "HorizontalPodAutoscaler", "horizontalpodautoscalers",
             "horizontalpodautoscaler", True, ("hpa",), ("all",),
             subresources=(_status("HorizontalPodAutoscaler", "autoscaling", "v1"),),
             model="V1HorizontalPodAutoscaler", storage_version="v2"),
)

_BY_PATH: dict[tuple[str, str, str], KindInfo] = {
    (k.group, k.version, k.plural): k for k in (*KINDS, *ALSO_SERVED)
}
_BY_GVK: dict[tuple[str, str], KindInfo] = {
    (k.api_version, k.kind): k for k in (*KINDS, *ALSO_SERVED)
}


def by_resource(group: str, version: str, plural: str) -> KindInfo | None:
    return _BY_PATH.get((group, version, plural))


def by_kind(api_version: str, kind: str) -> KindInfo | None:
    return _BY_GVK.get((api_version, kind))


def core(plural: str) -> KindInfo:
    info = _BY_PATH[("", "v1", plural)]
    return info


def apps(plural: str) -> KindInfo:
    return _BY_PATH[("apps", "v1", plural)]


def resource(name: str) -> KindInfo:
    """Look a resource up by ``plural`` or ``plural.group`` (``deployments.apps``)."""
    plural, _, group = name.partition(".")
    for info in KINDS:
        if info.plural == plural and (not group or info.group == group):
            return info
    raise KeyError(name)


def served_groups() -> list[tuple[str, list[KindInfo]]]:
    """Resources grouped by API group, in discovery order (every version: the storage
    versions' rows first, so a group's preferred version is the one its kinds are stored
    at)."""
    result: list[tuple[str, list[KindInfo]]] = []
    for group in GROUP_ORDER:
        result.append((group, [k for k in (*KINDS, *ALSO_SERVED) if k.group == group]))
    return result


def storage_info(info: KindInfo) -> KindInfo:
    """The row a kind's objects are stored under (``info`` itself unless it is a row of
    :data:`ALSO_SERVED`)."""
    if not info.storage_version:
        return info
    return _BY_PATH[(info.group, info.storage_version, info.plural)]
