"""Pods: defaulting, validation and the create/update rules of ``core/v1`` Pods.

Mirrors kube-apiserver's ``pkg/registry/core/pod/strategy.go`` (status reset to
``Pending`` with a QoS class on create, ``metadata.generation`` 1 and bumped on every spec
change, DELETE answering with the pod, the selectable fields ``kubectl describe node`` and
the kubelet list by), ``pkg/apis/core/v1/defaults.go`` (``SetDefaults_PodSpec``,
``SetDefaults_Container``, probes, volumes, requests copied from limits) and
``pkg/apis/core/validation`` (``ValidatePodSpec``, ``ValidatePodUpdate``). It also does the
work of three admission plugins a learner sees the result of on every pod:
``Priority`` (``priority: 0``, ``preemptionPolicy``), ``DefaultTolerationSeconds`` (the
``not-ready``/``unreachable`` tolerations for 300 s) and ``ServiceAccount``
(``serviceAccountName: default``; its ``kube-api-access-xxxxx`` token volume, which needs the
ServiceAccount object, is :mod:`.serviceaccount_admission`'s, called by the pod storage).

The pod-spec helpers here are shared by the workload kinds (Deployment, ReplicaSet,
DaemonSet), whose templates get ``SetDefaults_PodSpec`` but not the Pod-only defaults.
"""

from __future__ import annotations

import json
from fractions import Fraction
from typing import Any

from kubelab.apimachinery import quantity
from kubelab.apimachinery.types import deep_copy_json
from kubelab.sandbox.api.errors import Cause, bad_request
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.api.strategies import Obj, Strategy, register
from kubelab.sandbox.api.validation import (
    config_key_errors,
    dns1123_label_errors,
    dns1123_subdomain_errors,
    duplicate,
    forbidden,
    invalid,
    label_value_errors,
    not_supported,
    port_name_errors,
    port_num_errors,
    qualified_name_errors,
    required,
    validate_annotations,
    validate_labels,
    validate_object_meta,
)

RESTART_POLICIES = ("Always", "OnFailure", "Never")
DNS_POLICIES = ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
PROTOCOLS = ("SCTP", "TCP", "UDP")
TERMINATION_MESSAGE_POLICIES = ("File", "FallbackToLogsOnError")
STANDARD_CONTAINER_RESOURCES = ("cpu", "memory", "ephemeral-storage")
DEFAULT_TOLERATION_SECONDS = 300
NOT_READY_TAINT = "node.kubernetes.io/not-ready"
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"
SYSTEM_PRIORITIES = {"system-node-critical": 2000001000, "system-cluster-critical": 2000000000}

UPDATABLE_POD_SPEC_FIELDS = (
    "`spec.containers[*].image`",
    "`spec.initContainers[*].image`",
    "`spec.activeDeadlineSeconds`",
    "`spec.tolerations` (only additions to existing tolerations)",
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously "
    "negative)",
)

_PROBES = ("livenessProbe", "readinessProbe", "startupProbe")


# --- defaulting ---------------------------------------------------------------------------

def image_tag(image: str) -> str:
    """The tag ``parsers.ParseImageName`` finds: ``latest`` when there is neither tag nor digest."""
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        return last.rsplit(":", 1)[1]
    return "" if digest else "latest"


def _decode_error(kind: str, version: str, detail: str) -> Exception:
    return bad_request(f'{kind} in version "{version}" cannot be handled as a {kind}: {detail}')


def canonical_resource_list(resources: Any, kind: str, version: str = "v1") -> None:
    """Parse each quantity (400 when it is not one) and store its canonical form.

    ``SetDefaults_ResourceList`` rounds up to milli precision; the JSON decoder rejects
    anything that is not a quantity before validation ever runs, hence a 400, not a 422.
    """
    if not isinstance(resources, dict):
        return
    for key, value in list(resources.items()):
        if isinstance(value, bool) or value is None:
            raise _decode_error(kind, version, quantity.FORMAT_ERROR)
        try:
            resources[key] = quantity.canonicalize(str(value), milli=True)
        except ValueError as err:
            raise _decode_error(kind, version, str(err)) from None


def _default_handler(handler: Any) -> None:
    if not isinstance(handler, dict):
        return
    http = handler.get("httpGet")
    if isinstance(http, dict):
        http.setdefault("path", "/")
        http.setdefault("scheme", "HTTP")


def default_probe(probe: Any) -> None:
    if not isinstance(probe, dict):
        return
    for key, value in (("timeoutSeconds", 1), ("periodSeconds", 10),
                       ("successThreshold", 1), ("failureThreshold", 3)):
        if not probe.get(key):
            probe[key] = value
    _default_handler(probe)
    grpc = probe.get("grpc")
    if isinstance(grpc, dict) and grpc.get("service") is None:
        # ``GRPCAction.Service`` is ``+default=""``: stored as "", never absent (kubectl
        # describe dereferences it).
        grpc["service"] = ""


def default_container(container: Any, kind: str) -> None:
    """``SetDefaults_Container`` plus the declarative defaults of its ports and probes."""
    if not isinstance(container, dict):
        return
    if not container.get("imagePullPolicy"):
        tag = image_tag(str(container.get("image") or ""))
        container["imagePullPolicy"] = "Always" if tag == "latest" else "IfNotPresent"
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    for port in container.get("ports") or []:
        if isinstance(port, dict) and not port.get("protocol"):
            port["protocol"] = "TCP"
    resources = container.get("resources")
    if not isinstance(resources, dict):
        resources = container["resources"] = {}
    for part in ("limits", "requests"):
        canonical_resource_list(resources.get(part), kind)
    for probe in _PROBES:
        default_probe(container.get(probe))
    lifecycle = container.get("lifecycle")
    if isinstance(lifecycle, dict):
        _default_handler(lifecycle.get("postStart"))
        _default_handler(lifecycle.get("preStop"))
    for env in container.get("env") or []:
        field_ref = ((env or {}).get("valueFrom") or {}).get("fieldRef")
        if isinstance(field_ref, dict):
            field_ref.setdefault("apiVersion", "v1")


def default_volume(volume: Any) -> None:
    if not isinstance(volume, dict):
        return
    sources = [k for k in volume if k != "name"]
    if not sources:
        volume["emptyDir"] = {}
    for source in ("secret", "configMap", "downwardAPI", "projected"):
        spec = volume.get(source)
        if isinstance(spec, dict) and spec.get("defaultMode") is None:
            spec["defaultMode"] = 420
    host_path = volume.get("hostPath")
    if isinstance(host_path, dict):
        host_path.setdefault("type", "")
    _default_downward_items(volume.get("downwardAPI"))
    projected = volume.get("projected")
    for source in (projected.get("sources") or []) if isinstance(projected, dict) else []:
        if not isinstance(source, dict):
            continue
        token = source.get("serviceAccountToken")
        if isinstance(token, dict) and token.get("expirationSeconds") is None:
            token["expirationSeconds"] = 3600  # SetDefaults_ServiceAccountTokenProjection
        _default_downward_items(source.get("downwardAPI"))


def _default_downward_items(downward: Any) -> None:
    """``SetDefaults_ObjectFieldSelector``: a downward API ``fieldRef`` names ``apiVersion: v1``."""
    if not isinstance(downward, dict):
        return
    for item in downward.get("items") or []:
        field_ref = (item or {}).get("fieldRef")
        if isinstance(field_ref, dict) and not field_ref.get("apiVersion"):
            field_ref["apiVersion"] = "v1"


def default_pod_spec(spec: Any, kind: str) -> None:
    """``SetDefaults_PodSpec`` and everything nested: what pods *and* templates get."""
    if not isinstance(spec, dict):
        return
    if not spec.get("dnsPolicy"):
        spec["dnsPolicy"] = "ClusterFirst"
    if not spec.get("restartPolicy"):
        spec["restartPolicy"] = "Always"
    if spec.get("securityContext") is None:
        spec["securityContext"] = {}
    if spec.get("terminationGracePeriodSeconds") is None:
        spec["terminationGracePeriodSeconds"] = 30
    if not spec.get("schedulerName"):
        spec["schedulerName"] = "default-scheduler"
    for volume in spec.get("volumes") or []:
        default_volume(volume)
    for group in ("initContainers", "containers", "ephemeralContainers"):
        for container in spec.get(group) or []:
            default_container(container, kind)


def default_pod_template(template: Any, kind: str) -> None:
    """Defaults of a ``PodTemplateSpec`` inside a workload."""
    if not isinstance(template, dict):
        return
    meta = template.get("metadata")
    if isinstance(meta, dict) and "creationTimestamp" in meta and not meta["creationTimestamp"]:
        # ``kubectl rollout undo`` sends ``creationTimestamp: null``; keep templates equal.
        del meta["creationTimestamp"]
    default_pod_spec(template.get("spec"), kind)


def _tolerates(tolerations: list[Any], key: str) -> bool:
    for tol in tolerations:
        if not isinstance(tol, dict):
            continue
        effect = tol.get("effect", "")
        if effect not in ("", "NoExecute"):
            continue
        if tol.get("operator") == "Exists" and not tol.get("key"):
            return True
        if tol.get("key") == key:
            return True
    return False


def admit_pod(pod: Obj) -> None:
    """What the ``Priority``, ``DefaultTolerationSeconds`` and ``ServiceAccount`` plugins add."""
    spec = pod.setdefault("spec", {})
    if spec.get("priority") is None:
        spec["priority"] = SYSTEM_PRIORITIES.get(spec.get("priorityClassName", ""), 0)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    tolerations = spec.get("tolerations") or []
    for key in (NOT_READY_TAINT, UNREACHABLE_TAINT):
        if not _tolerates(tolerations, key):
            tolerations.append({"key": key, "operator": "Exists", "effect": "NoExecute",
                                "tolerationSeconds": DEFAULT_TOLERATION_SECONDS})
    spec["tolerations"] = tolerations
    if not spec.get("serviceAccountName"):
        spec["serviceAccountName"] = spec.get("serviceAccount") or "default"
    spec.setdefault("serviceAccount", spec["serviceAccountName"])


# --- QoS ----------------------------------------------------------------------------------

def _amount(value: Any) -> Fraction:
    try:
        return quantity.parse_quantity(str(value))
    except ValueError:
        return Fraction(0)


def qos_class(pod: Obj) -> str:
    """``qos.GetPodQOS``: BestEffort, Burstable or Guaranteed."""
    spec = pod.get("spec") or {}
    requests: dict[str, Fraction] = {}
    limits: dict[str, Fraction] = {}
    guaranteed = True
    for container in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        resources = (container or {}).get("resources") or {}
        for name, value in (resources.get("requests") or {}).items():
            if name in ("cpu", "memory") and _amount(value) > 0:
                requests[name] = requests.get(name, Fraction(0)) + _amount(value)
        found = set()
        for name, value in (resources.get("limits") or {}).items():
            if name in ("cpu", "memory") and _amount(value) > 0:
                found.add(name)
                limits[name] = limits.get(name, Fraction(0)) + _amount(value)
        if found != {"cpu", "memory"}:
            guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    if guaranteed and all(limits.get(k) == v for k, v in requests.items()) \
            and len(requests) == len(limits):
        return "Guaranteed"
    return "Burstable"


# --- validation ---------------------------------------------------------------------------

def _validate_resource_name(name: str, path: str) -> list[Cause]:
    causes = [invalid(path, name, e) for e in qualified_name_errors(name)]
    if causes:
        return causes
    if "/" not in name:
        if name not in STANDARD_CONTAINER_RESOURCES and not name.startswith("hugepages-"):
            return [invalid(path, name, "must be a standard resource for containers")]
    elif name.startswith("kubernetes.io/") or name.startswith("requests."):
        return [invalid(path, name, "doesn't follow extended resource name standard")]
    return []


def validate_resources(resources: Any, path: str) -> list[Cause]:
    """``ValidateResourceRequirements``: names, non-negative values, requests <= limits."""
    causes: list[Cause] = []
    if not isinstance(resources, dict):
        return causes
    limits = resources.get("limits") or {}
    requests = resources.get("requests") or {}
    parsed_limits: dict[str, Fraction] = {}
    for name in sorted(limits):
        field = f"{path}.limits[{name}]"
        causes += _validate_resource_name(name, field)
        try:
            value = quantity.parse_quantity(str(limits[name]))
        except ValueError as err:
            causes.append(invalid(field, str(limits[name]), str(err)))
            continue
        parsed_limits[name] = value
        if value < 0:
            causes.append(invalid(field, str(limits[name]), "must be greater than or equal to 0"))
    for name in sorted(requests):
        field = f"{path}.requests[{name}]"
        causes += _validate_resource_name(name, field)
        try:
            value = quantity.parse_quantity(str(requests[name]))
        except ValueError as err:
            causes.append(invalid(field, str(requests[name]), str(err)))
            continue
        if value < 0:
            causes.append(invalid(field, str(requests[name]),
                                  "must be greater than or equal to 0"))
        if name in parsed_limits and value > parsed_limits[name]:
            causes.append(invalid(
                f"{path}.requests", str(requests[name]),
                f"must be less than or equal to {name} limit of {limits[name]}"))
    return causes


def _validate_ports(ports: Any, path: str) -> list[Cause]:
    causes: list[Cause] = []
    names: set[str] = set()
    for i, port in enumerate(ports or []):
        p = f"{path}[{i}]"
        port = port or {}
        name = port.get("name", "")
        if name:
            errs = port_name_errors(name)
            if errs:
                causes += [invalid(f"{p}.name", name, e) for e in errs]
            elif name in names:
                causes.append(duplicate(f"{p}.name", name))
            else:
                names.add(name)
        container_port = port.get("containerPort", 0)
        if not container_port:
            causes.append(required(f"{p}.containerPort"))
        else:
            causes += [invalid(f"{p}.containerPort", container_port, e)
                       for e in port_num_errors(container_port)]
        host_port = port.get("hostPort", 0)
        if host_port:
            causes += [invalid(f"{p}.hostPort", host_port, e) for e in port_num_errors(host_port)]
        protocol = port.get("protocol", "")
        if not protocol:
            causes.append(required(f"{p}.protocol"))
        elif protocol not in PROTOCOLS:
            causes.append(not_supported(f"{p}.protocol", protocol, PROTOCOLS))
    return causes


def _validate_probe(probe: Any, path: str) -> list[Cause]:
    causes: list[Cause] = []
    if not isinstance(probe, dict):
        return causes
    handlers = [k for k in ("exec", "httpGet", "tcpSocket", "grpc") if probe.get(k) is not None]
    if not handlers:
        causes.append(required(path, "must specify a handler type"))
    elif len(handlers) > 1:
        causes.append(forbidden(f"{path}.{handlers[1]}", "may not specify more than 1 handler type"))
    for key in ("initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold",
                "failureThreshold"):
        value = probe.get(key)
        if isinstance(value, int) and value < 0:
            causes.append(invalid(f"{path}.{key}", value, "must be greater than or equal to 0"))
    for key in ("httpGet", "tcpSocket"):
        handler = probe.get(key)
        if isinstance(handler, dict):
            port = handler.get("port")
            if isinstance(port, str):
                causes += [invalid(f"{path}.{key}.port", port, e) for e in port_name_errors(port)]
            else:
                causes += [invalid(f"{path}.{key}.port", port, e) for e in port_num_errors(port)]
    return causes


def _validate_container(container: Any, path: str, volumes: set[str]) -> list[Cause]:
    causes: list[Cause] = []
    ctr = container if isinstance(container, dict) else {}
    name = ctr.get("name", "")
    if not name:
        causes.append(required(f"{path}.name"))
    else:
        causes += [invalid(f"{path}.name", name, e) for e in dns1123_label_errors(name)]
    if not ctr.get("image"):
        causes.append(required(f"{path}.image"))
    policy = ctr.get("terminationMessagePolicy", "")
    if not policy:
        causes.append(required(f"{path}.terminationMessagePolicy"))
    elif policy not in TERMINATION_MESSAGE_POLICIES:
        causes.append(not_supported(f"{path}.terminationMessagePolicy", policy,
                                    TERMINATION_MESSAGE_POLICIES))
    causes += _validate_ports(ctr.get("ports"), f"{path}.ports")
    for i, env in enumerate(ctr.get("env") or []):
        env_name = (env or {}).get("name", "")
        if not env_name:
            causes.append(required(f"{path}.env[{i}].name"))
    for i, mount in enumerate(ctr.get("volumeMounts") or []):
        mount = mount or {}
        mp = f"{path}.volumeMounts[{i}]"
        if not mount.get("name"):
            causes.append(required(f"{mp}.name"))
        elif mount["name"] not in volumes:
            causes.append(Cause("FieldValueNotFound",
                                f"Not found: {json.dumps(mount['name'])}", f"{mp}.name"))
        if not mount.get("mountPath"):
            causes.append(required(f"{mp}.mountPath"))
    pull = ctr.get("imagePullPolicy", "")
    if not pull:
        causes.append(required(f"{path}.imagePullPolicy"))
    elif pull not in PULL_POLICIES:
        causes.append(not_supported(f"{path}.imagePullPolicy", pull, PULL_POLICIES))
    causes += validate_resources(ctr.get("resources"), f"{path}.resources")
    for probe in _PROBES:
        causes += _validate_probe(ctr.get(probe), f"{path}.{probe}")
    return causes


def _validate_volumes(volumes: Any, path: str) -> tuple[set[str], list[Cause]]:
    names: set[str] = set()
    causes: list[Cause] = []
    for i, volume in enumerate(volumes or []):
        volume = volume or {}
        vp = f"{path}[{i}]"
        name = volume.get("name", "")
        if not name:
            causes.append(required(f"{vp}.name"))
        else:
            causes += [invalid(f"{vp}.name", name, e) for e in dns1123_label_errors(name)]
            if name in names:
                causes.append(duplicate(f"{vp}.name", name))
            names.add(name)
        sources = [k for k in volume if k != "name"]
        if len(sources) > 1:
            causes.append(forbidden(f"{vp}.{sources[1]}", "may not specify more than 1 volume type"))
        for source, key in (("secret", "secretName"), ("configMap", "name")):
            spec = volume.get(source)
            if isinstance(spec, dict):
                if not spec.get(key):
                    causes.append(required(f"{vp}.{source}.{key}"))
                for j, item in enumerate(spec.get("items") or []):
                    for err in config_key_errors(str((item or {}).get("key", ""))):
                        causes.append(invalid(f"{vp}.{source}.items[{j}].key",
                                              (item or {}).get("key", ""), err))
    return names, causes


def _validate_tolerations(tolerations: Any, path: str) -> list[Cause]:
    causes: list[Cause] = []
    for i, tol in enumerate(tolerations or []):
        tol = tol or {}
        tp = f"{path}[{i}]"
        key, op = tol.get("key", ""), tol.get("operator", "")
        if key:
            causes += [invalid(f"{tp}.key", key, e) for e in qualified_name_errors(key)]
        if not key and op != "Exists":
            causes.append(invalid(f"{tp}.operator", op,
                                  'operator must be Exists when `key` is empty, which means '
                                  '"match all values and all keys"'))
        if tol.get("tolerationSeconds") is not None and tol.get("effect") != "NoExecute":
            causes.append(invalid(f"{tp}.effect", tol.get("effect", ""),
                                  "effect must be 'NoExecute' when `tolerationSeconds` is set"))
        if op in ("Equal", ""):
            errs = label_value_errors(str(tol.get("value", "")))
            if errs:
                causes.append(invalid(f"{tp}.operator", tol.get("value", ""), ";".join(errs)))
        elif op == "Exists":
            if tol.get("value"):
                causes.append(invalid(f"{tp}.operator", tol.get("value"),
                                      "value must be empty when `operator` is 'Exists'"))
        else:
            causes.append(not_supported(f"{tp}.operator", op, ("Equal", "Exists")))
        effect = tol.get("effect", "")
        if effect and effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
            causes.append(not_supported(f"{tp}.effect", effect,
                                        ("NoSchedule", "PreferNoSchedule", "NoExecute")))
    return causes


def validate_pod_spec(spec: Any, path: str) -> list[Cause]:
    """``ValidatePodSpec``: volumes, containers, policies, names and tolerations."""
    spec = spec if isinstance(spec, dict) else {}
    volumes, causes = _validate_volumes(spec.get("volumes"), f"{path}.volumes")
    containers = spec.get("containers") or []
    if not containers:
        causes.append(required(f"{path}.containers"))
    names: set[str] = set()
    for i, ctr in enumerate(containers):
        cp = f"{path}.containers[{i}]"
        causes += _validate_container(ctr, cp, volumes)
        name = (ctr or {}).get("name", "")
        if name in names:
            causes.append(duplicate(f"{cp}.name", name))
        names.add(name)
    for i, ctr in enumerate(spec.get("initContainers") or []):
        cp = f"{path}.initContainers[{i}]"
        causes += _validate_container(ctr, cp, volumes)
        name = (ctr or {}).get("name", "")
        if name in names:
            causes.append(duplicate(f"{cp}.name", name))
        names.add(name)
    causes += validate_ephemeral_containers(spec.get("ephemeralContainers"),
                                            f"{path}.ephemeralContainers", names, volumes)
    restart = spec.get("restartPolicy", "")
    if not restart:
        causes.append(required(f"{path}.restartPolicy"))
    elif restart not in RESTART_POLICIES:
        causes.append(not_supported(f"{path}.restartPolicy", restart, RESTART_POLICIES))
    dns = spec.get("dnsPolicy", "")
    if not dns:
        causes.append(required(f"{path}.dnsPolicy"))
    elif dns not in DNS_POLICIES:
        causes.append(not_supported(f"{path}.dnsPolicy", dns, DNS_POLICIES))
    causes += validate_labels(spec.get("nodeSelector"), f"{path}.nodeSelector")
    for field in ("serviceAccountName", "nodeName"):
        value = spec.get(field)
        if value:
            causes += [invalid(f"{path}.{field}", value, e)
                       for e in dns1123_subdomain_errors(value)]
    deadline = spec.get("activeDeadlineSeconds")
    if deadline is not None and not (isinstance(deadline, int) and 1 <= deadline <= 2**31 - 1):
        causes.append(invalid(f"{path}.activeDeadlineSeconds", deadline,
                              "must be between 1 and 2147483647, inclusive"))
    for field in ("hostname", "subdomain"):
        value = spec.get(field)
        if value:
            causes += [invalid(f"{path}.{field}", value, e) for e in dns1123_label_errors(value)]
    causes += _validate_tolerations(spec.get("tolerations"), f"{path}.tolerations")
    return causes


def validate_pod_template(template: Any, path: str) -> list[Cause]:
    """``ValidatePodTemplateSpec``: template labels/annotations and the pod spec."""
    template = template if isinstance(template, dict) else {}
    meta = template.get("metadata") or {}
    causes = validate_labels(meta.get("labels"), f"{path}.metadata.labels")
    causes += validate_annotations(meta.get("annotations"), f"{path}.metadata.annotations")
    causes += validate_pod_spec(template.get("spec"), f"{path}.spec")
    return causes


# --- pod updates --------------------------------------------------------------------------

def _go_field(key: str) -> str:
    special = {"dnsPolicy": "DNSPolicy", "nodeName": "NodeName", "hostIPC": "HostIPC",
               "hostPID": "HostPID"}
    return special.get(key, key[:1].upper() + key[1:])


def spec_diff(old: Obj, new: Obj) -> str:
    """A short ``cmp.Diff``-like rendering of the fields that changed (old ``-``, new ``+``)."""
    lines = ["  core.PodSpec{"]
    for key in sorted(set(old) | set(new)):
        if old.get(key) == new.get(key):
            continue
        if key in old:
            lines.append(f"- \t{_go_field(key)}: {json.dumps(old[key], sort_keys=True)},")
        if key in new:
            lines.append(f"+ \t{_go_field(key)}: {json.dumps(new[key], sort_keys=True)},")
    lines.append("  }")
    return "\n".join(lines) + "\n"


def _toleration_matches(old: dict[str, Any], new: dict[str, Any]) -> bool:
    keys = ("key", "operator", "value", "effect")
    if any(old.get(k, "") != new.get(k, "") for k in keys):
        return False
    old_s, new_s = old.get("tolerationSeconds"), new.get("tolerationSeconds")
    if old_s is None:
        return new_s is None
    return new_s is not None and new_s <= old_s and old.get("effect") == "NoExecute"


def validate_pod_update(new: Obj, old: Obj) -> list[Cause]:
    """``ValidatePodUpdate``: only images, activeDeadlineSeconds and added tolerations change."""
    new_spec: dict[str, Any] = new.get("spec") or {}
    old_spec: dict[str, Any] = old.get("spec") or {}
    causes: list[Cause] = []
    for group in ("containers", "initContainers"):
        new_ctrs = new_spec.get(group) or []
        old_ctrs = old_spec.get(group) or []
        if len(new_ctrs) != len(old_ctrs):
            return [*causes, forbidden(f"spec.{group}", "pod updates may not add or remove containers")]
    deadline, old_deadline = new_spec.get("activeDeadlineSeconds"), old_spec.get("activeDeadlineSeconds")
    if deadline is not None:
        if not isinstance(deadline, int) or not 0 <= deadline <= 2**31 - 1:
            return [*causes, invalid("spec.activeDeadlineSeconds", deadline, "must be between 0 and 2147483647, inclusive")]
        if old_deadline is not None and old_deadline < deadline:
            return [*causes, invalid("spec.activeDeadlineSeconds", deadline, "must be less than or equal to previous value")]
    elif old_deadline is not None:
        causes.append(invalid("spec.activeDeadlineSeconds", None,
                              "must not update from a positive integer to nil value"))
    munged = deep_copy_json(new_spec)
    for group in ("containers", "initContainers"):
        for ctr, old_ctr in zip(munged.get(group) or [], old_spec.get(group) or [], strict=True):
            if isinstance(ctr, dict) and isinstance(old_ctr, dict):
                if "image" in old_ctr:
                    ctr["image"] = old_ctr["image"]
                else:
                    ctr.pop("image", None)
    for key in ("activeDeadlineSeconds", "tolerations"):
        if key in old_spec:
            munged[key] = deep_copy_json(old_spec[key])
        else:
            munged.pop(key, None)
    old_grace = old_spec.get("terminationGracePeriodSeconds")
    if isinstance(old_grace, int) and old_grace < 0 and munged.get("terminationGracePeriodSeconds") == 1:
        munged["terminationGracePeriodSeconds"] = old_grace
    new_tols = list(new_spec.get("tolerations") or [])
    for i, old_tol in enumerate(old_spec.get("tolerations") or []):
        if not any(_toleration_matches(old_tol, t) for t in new_tols if isinstance(t, dict)):
            causes.append(forbidden(f"spec.tolerations[{i}]",
                                    "existing toleration can not be modified except its "
                                    "tolerationSeconds"))
    if munged != old_spec:
        causes.append(forbidden(
            "spec",
            "pod updates may not change fields other than "
            + ",".join(UPDATABLE_POD_SPEC_FIELDS) + "\n" + spec_diff(old_spec, munged)))
    return causes


# --- ephemeral containers (``kubectl debug``) -----------------------------------------------

#: The fields of a Container an EphemeralContainer may not set (``validateFieldAllowList``
#: over ``allowedEphemeralContainerFields``): what the pod's own workload relies on.
EPHEMERAL_FORBIDDEN = ("ports", "resources", "resizePolicy", "lifecycle", "livenessProbe",
                       "readinessProbe", "startupProbe", "restartPolicy")
EPHEMERAL_NOT_ALLOWED = "cannot be set for an Ephemeral Container"


def validate_ephemeral_containers(containers: Any, path: str, others: set[str],
                                  volumes: set[str]) -> list[Cause]:
    """``validateEphemeralContainers``: each is a valid container whose name no other container
    of the pod has, whose target is one of the pod's (non-ephemeral) containers, and that sets
    none of :data:`EPHEMERAL_FORBIDDEN` nor a volume ``subPath``."""
    causes: list[Cause] = []
    names: set[str] = set()
    for i, ctr in enumerate(containers or []):
        cp = f"{path}[{i}]"
        ctr = ctr if isinstance(ctr, dict) else {}
        causes += _validate_container(ctr, cp, volumes)
        name = ctr.get("name", "")
        if name in others:
            causes.append(invalid(f"{cp}.name", name, "must be unique among all containers, "
                                  "init containers and ephemeral containers"))
        elif name in names:
            causes.append(duplicate(f"{cp}.name", name))
        else:
            names.add(name)
        target = ctr.get("targetContainerName")
        if target and target not in others:
            causes.append(Cause("FieldValueNotFound", f"Not found: {json.dumps(target)}",
                                f"{cp}.targetContainerName"))
        for key in EPHEMERAL_FORBIDDEN:
            if ctr.get(key):
                causes.append(forbidden(f"{cp}.{key}", EPHEMERAL_NOT_ALLOWED))
        for j, mount in enumerate(ctr.get("volumeMounts") or []):
            if (mount or {}).get("subPath"):
                causes.append(forbidden(f"{cp}.volumeMounts[{j}].subPath",
                                        EPHEMERAL_NOT_ALLOWED))
    return causes


def prepare_ephemeral_update(obj: Obj, old: Obj) -> Obj:
    """``podEphemeralContainersStrategy.PrepareForUpdate``: of a write to
    ``pods/<name>/ephemeralcontainers`` only ``spec.ephemeralContainers`` counts; the rest of
    the pod (metadata, spec, status) stays as stored. Generation counts the change."""
    updated = deep_copy_json(old)
    wanted = (obj.get("spec") or {}).get("ephemeralContainers")
    spec = updated.setdefault("spec", {})
    if wanted:
        spec["ephemeralContainers"] = deep_copy_json(wanted)
        for container in spec["ephemeralContainers"]:
            default_container(container, "Pod")
    else:
        spec.pop("ephemeralContainers", None)
    if spec.get("ephemeralContainers") != (old.get("spec") or {}).get("ephemeralContainers"):
        meta = updated.setdefault("metadata", {})
        meta["generation"] = int(meta.get("generation") or 1) + 1
    return updated


def validate_ephemeral_update(new: Obj, old: Obj) -> list[Cause]:
    """``ValidatePodEphemeralContainersUpdate``: the new list is valid, and every existing
    ephemeral container is still there, unchanged (upstream appends a ``cmp.Diff`` of the
    change to its message; here the message ends with the name)."""
    spec = new.get("spec") or {}
    others = {str((c or {}).get("name", "")) for group in ("containers", "initContainers")
              for c in spec.get(group) or []}
    volumes = {str((v or {}).get("name", "")) for v in spec.get("volumes") or []}
    causes = validate_ephemeral_containers(spec.get("ephemeralContainers"),
                                           "spec.ephemeralContainers", others, volumes)
    if ((old.get("metadata") or {}).get("annotations") or {}).get(
            "kubernetes.io/config.mirror"):
        return [forbidden("", "static pods do not support ephemeral containers")]
    by_name = {str((c or {}).get("name", "")): c for c in spec.get("ephemeralContainers") or []}
    for existing in (old.get("spec") or {}).get("ephemeralContainers") or []:
        name = existing.get("name", "")
        if name not in by_name:
            causes.append(forbidden("spec.ephemeralContainers",
                                    f'existing ephemeral containers "{name}" may not be '
                                    "removed\n"))
        elif by_name[name] != existing:
            causes.append(forbidden("spec.ephemeralContainers",
                                    f'existing ephemeral containers "{name}" may not be '
                                    "changed\n"))
    return causes


# --- the strategy -------------------------------------------------------------------------

class PodStrategy(Strategy):
    """``podStrategy``: generation counts spec changes; status belongs to the kubelet."""

    has_spec = True
    has_status_subresource = True
    returns_deleted_object = True

    def default(self, obj: Obj) -> None:
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            return
        for group in ("initContainers", "containers"):
            for ctr in spec.get(group) or []:
                resources = (ctr or {}).get("resources") if isinstance(ctr, dict) else None
                if isinstance(resources, dict) and resources.get("limits"):
                    requests = resources.setdefault("requests", {})
                    for key, value in resources["limits"].items():
                        requests.setdefault(key, value)
        default_pod_spec(spec, "Pod")
        if spec.get("enableServiceLinks") is None:
            spec["enableServiceLinks"] = True
        if spec.get("hostNetwork"):
            for group in ("initContainers", "containers"):
                for ctr in spec.get(group) or []:
                    for port in (ctr or {}).get("ports") or []:
                        if not port.get("hostPort"):
                            port["hostPort"] = port.get("containerPort", 0)

    def validate(self, obj: Obj, info: KindInfo) -> list[Cause]:
        return validate_object_meta(obj, info) + validate_pod_spec(obj.get("spec"), "spec")

    def validate_update(self, obj: Obj, old: Obj, info: KindInfo) -> list[Cause]:
        return self.validate(obj, info) + validate_pod_update(obj, old)

    def prepare_for_create(self, obj: Obj) -> None:
        admit_pod(obj)
        super().prepare_for_create(obj)

    def initial_status(self, obj: Obj) -> Obj | None:
        return {"phase": "Pending", "qosClass": qos_class(obj)}

    def prepare_for_status_update(self, obj: Obj, old: Obj) -> None:
        super().prepare_for_status_update(obj, old)
        status = obj.get("status")
        old_qos = (old.get("status") or {}).get("qosClass")
        if isinstance(status, dict) and not status.get("qosClass") and old_qos:
            status["qosClass"] = old_qos

    def selectable_fields(self, obj: Obj) -> dict[str, str]:
        spec = obj.get("spec") or {}
        status = obj.get("status") or {}
        pod_ips = status.get("podIPs") or []
        pod_ip = (pod_ips[0] or {}).get("ip", "") if pod_ips else ""
        return super().selectable_fields(obj) | {
            "spec.nodeName": spec.get("nodeName", ""),
            "spec.restartPolicy": spec.get("restartPolicy", ""),
            "spec.schedulerName": spec.get("schedulerName", ""),
            "spec.serviceAccountName": spec.get("serviceAccountName", ""),
            "spec.hostNetwork": "true" if spec.get("hostNetwork") else "false",
            "status.phase": status.get("phase", ""),
            "status.podIP": pod_ip or status.get("podIP", ""),
            "status.nominatedNodeName": status.get("nominatedNodeName", ""),
        }


register("v1", "Pod", PodStrategy())
