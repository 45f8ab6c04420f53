"""What a container sees: its environment and the files its volumes mount.

Mirrors the kubelet's ``makeEnvironmentVariables`` (``pkg/kubelet/kubelet_pods.go``: ``env``
with ``value``/``valueFrom`` secretKeyRef, configMapKeyRef, fieldRef; ``envFrom`` with
``prefix``; the Service variables of ``enableServiceLinks``) and the
secret/configMap/emptyDir/downwardAPI/projected volume plugins
(``pkg/volume/{secret,configmap,emptydir,downwardapi,projected}``): a secret volume is a
directory with one file per key (or per ``items[]`` entry) holding the decoded value; a
projected one gathers its sources' files, a ServiceAccount token among them. Errors carry the
kubelet's wording: a missing secret in ``env`` is ``CreateContainerConfigError`` with
``secret "x" not found``; a missing one in a volume is a ``FailedMount`` event.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from datetime import datetime

from kubelab.apimachinery.types import Obj
from kubelab.sandbox.api import kinds, serviceaccount_token
from kubelab.sandbox.kubelet import expansion
from kubelab.sandbox.kubelet.disks import Disks, Mount
from kubelab.sandbox.reconcile.types import Snapshot

SECRETS = kinds.core("secrets")
CONFIGMAPS = kinds.core("configmaps")
SERVICES = kinds.core("services")
SERVICEACCOUNTS = kinds.core("serviceaccounts")
NODES = kinds.core("nodes")
PVCS = kinds.core("persistentvolumeclaims")
PVS = kinds.core("persistentvolumes")
#: Services of the ``default`` namespace whose variables every pod gets, links or not.
MASTER_SERVICES = frozenset({"kubernetes"})


class ConfigError(Exception):
    """``env`` cannot be built: the container waits in ``CreateContainerConfigError``."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MountError(Exception):
    """A volume cannot be set up: the pod stays ``ContainerCreating`` (event FailedMount)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _secret_data(secret: Obj) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in (secret.get("data") or {}).items():
        try:
            out[key] = base64.b64decode(value or "").decode("utf-8", errors="replace")
        except (binascii.Error, ValueError):
            out[key] = ""
    out.update(secret.get("stringData") or {})
    return out


def _configmap_data(cm: Obj) -> dict[str, str]:
    return dict(cm.get("data") or {})


def field_ref(pod: Obj, path: str, node_ip: str, pod_ip: str) -> str:
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    if path.startswith("metadata.labels['") or path.startswith("metadata.annotations['"):
        kind = "labels" if "labels" in path else "annotations"
        key = path.split("['", 1)[1].rstrip("']")
        return str((meta.get(kind) or {}).get(key, ""))
    if path in ("metadata.labels", "metadata.annotations"):
        # a downward API file of the whole map: fieldpath.FormatMap's key="value" lines in
        # key order, Go-quoted values (JSON's quoting for printable text), no final newline
        found = meta.get(path.split(".", 1)[1]) or {}
        return "\n".join(f"{key}={json.dumps(str(found[key]), ensure_ascii=False)}"
                         for key in sorted(found))
    values = {
        "metadata.name": meta.get("name", ""), "metadata.namespace": meta.get("namespace", ""),
        "metadata.uid": meta.get("uid", ""), "spec.nodeName": spec.get("nodeName", ""),
        "spec.serviceAccountName": spec.get("serviceAccountName", ""),
        "status.hostIP": node_ip, "status.podIP": pod_ip,
    }
    return str(values.get(path, ""))


def runtime_env(pod: Obj) -> dict[str, str]:
    """What the image and the container runtime set, not the kubelet: ``PATH``,
    ``HOSTNAME``, ``HOME`` (so ``$(HOME)`` in a command is not expanded, as upstream)."""
    return {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOSTNAME": (pod.get("metadata") or {}).get("name", ""),
        "HOME": "/root",
    }


def container_env(snapshot: Snapshot, pod: Obj, container: Obj, *, node_ip: str,
                  pod_ip: str) -> dict[str, str]:
    """The environment a container starts with; raise :class:`ConfigError`."""
    return runtime_env(pod) | kubelet_env(snapshot, pod, container, node_ip=node_ip,
                                          pod_ip=pod_ip)


def kubelet_env(snapshot: Snapshot, pod: Obj, container: Obj, *, node_ip: str,
                pod_ip: str) -> dict[str, str]:
    """The variables the kubelet passes to the runtime (``envFrom``, ``env``, Services): what
    ``$(VAR)`` in command and args may refer to; raise :class:`ConfigError`."""
    ns = (pod.get("metadata") or {}).get("namespace", "")
    env: dict[str, str] = {}
    links = (pod.get("spec") or {}).get("enableServiceLinks")
    services = service_env(snapshot, ns, enable_links=links is None or bool(links))

    def source(kind: str, name: str) -> dict[str, str] | None:
        if kind == "secret":
            obj = snapshot.get(SECRETS, ns, name)
            return None if obj is None else _secret_data(obj)
        obj = snapshot.get(CONFIGMAPS, ns, name)
        return None if obj is None else _configmap_data(obj)

    for ref in container.get("envFrom") or []:
        for kind, field in (("secret", "secretRef"), ("configmap", "configMapRef")):
            if field not in ref:
                continue
            name = ref[field].get("name", "")
            data = source(kind, name)
            if data is None:
                if ref[field].get("optional"):
                    continue
                raise ConfigError(f'{kind} "{name}" not found')
            prefix = ref.get("prefix") or ""
            env.update({prefix + k: v for k, v in data.items()})
    lookup = expansion.mapping_for(env, services)
    for var in container.get("env") or []:
        name = var.get("name", "")
        if "value" in var or "valueFrom" not in var:
            env[name] = expansion.expand(str(var.get("value") or ""), lookup)
            continue
        value_from = var["valueFrom"]
        if "fieldRef" in value_from:
            env[name] = field_ref(pod, value_from["fieldRef"].get("fieldPath", ""),
                                  node_ip, pod_ip)
            continue
        for kind, field, label in (("secret", "secretKeyRef", "Secret"),
                                   ("configmap", "configMapKeyRef", "ConfigMap")):
            if field not in value_from:
                continue
            ref = value_from[field]
            data = source(kind, ref.get("name", ""))
            if data is None:
                if ref.get("optional"):
                    break
                raise ConfigError(f'{kind} "{ref.get("name", "")}" not found')
            if ref.get("key") not in data:
                if ref.get("optional"):
                    break
                raise ConfigError(f"couldn't find key {ref.get('key')} in {label} "
                                  f"{ns}/{ref.get('name', '')}")
            env[name] = data[ref["key"]]
            break
    # Service variables come last and never override what the pod set itself.
    for name, value in services.items():
        env.setdefault(name, value)
    return env


def _env_name(name: str) -> str:
    return name.upper().replace("-", "_")


def _service_variables(service: Obj) -> dict[str, str]:
    """One Service's variables (``pkg/kubelet/envvars``): ``<NAME>_SERVICE_HOST``/``_PORT``
    (plus ``_PORT_<PORTNAME>`` per named port) and the Docker-link style ``<NAME>_PORT``,
    ``<NAME>_PORT_<port>_<PROTO>`` with ``_PROTO``, ``_PORT`` and ``_ADDR``."""
    spec = service.get("spec") or {}
    ip = str(spec.get("clusterIP", ""))
    ports = spec.get("ports") or []
    prefix = _env_name((service.get("metadata") or {}).get("name", ""))
    env = {f"{prefix}_SERVICE_HOST": ip}
    if not ports:
        return env
    env[f"{prefix}_SERVICE_PORT"] = str(ports[0].get("port", ""))
    for port in ports:
        if port.get("name"):
            env[f"{prefix}_SERVICE_PORT_{_env_name(port['name'])}"] = str(port.get("port", ""))
    for i, port in enumerate(ports):
        proto = str(port.get("protocol") or "TCP")
        url = f"{proto.lower()}://{ip}:{port.get('port', '')}"
        if i == 0:
            env[f"{prefix}_PORT"] = url
        base = f"{prefix}_PORT_{port.get('port', '')}_{proto.upper()}"
        env.update({base: url, f"{base}_PROTO": proto.lower(),
                    f"{base}_PORT": str(port.get("port", "")), f"{base}_ADDR": ip})
    return env


def service_env(snapshot: Snapshot, namespace: str, *, enable_links: bool) -> dict[str, str]:
    """The kubelet's ``getServiceEnvVarMap``: the ``default`` namespace's master service
    always, and with ``enableServiceLinks`` (the default) every Service of the pod's namespace
    that has a cluster IP (headless ones have none)."""
    chosen: dict[str, Obj] = {}
    for service in snapshot.list(SERVICES):
        ip = (service.get("spec") or {}).get("clusterIP")
        if not ip or ip == "None":
            continue
        meta = service.get("metadata") or {}
        name = meta.get("name", "")
        if meta.get("namespace") == "default" and name in MASTER_SERVICES:
            chosen.setdefault(name, service)
        elif meta.get("namespace") == namespace and enable_links:
            chosen[name] = service
    env: dict[str, str] = {}
    for service in chosen.values():
        env.update(_service_variables(service))
    return env


class VolumeBacking:
    """Where the writable volumes of one pod keep their files: a bound claim's volume on the
    node's :class:`~.disks.Disks` (by the PersistentVolume's uid), an ``emptyDir`` in the
    pod's own record. ``resolved`` remembers each volume name's directory once asked."""

    def __init__(self, disks: Disks, pod_volumes: dict[str, dict[str, str]]) -> None:
        self.disks = disks
        self.pod_volumes = pod_volumes
        self.resolved: dict[str, dict[str, str]] = {}

    def __call__(self, volume: Obj, pv: Obj | None) -> dict[str, str] | None:
        name = str(volume.get("name", ""))
        if pv is not None:
            uid = str((pv.get("metadata") or {}).get("uid") or (pv.get("metadata") or {}).get(
                "name", ""))
            files = self.disks.volume(uid)
        elif "emptyDir" in volume:
            files = self.pod_volumes.setdefault(name, {})
        else:
            return None
        self.resolved[name] = files
        return files

    def mounts(self, container: Obj) -> list[Mount]:
        """The container's writable mounts of resolved volumes."""
        return [Mount(str(m.get("mountPath", "")), str(m.get("subPath") or ""),
                      self.resolved[m["name"]])
                for m in container.get("volumeMounts") or []
                if m.get("name") in self.resolved and not m.get("readOnly")]


Backing = Callable[[Obj, Obj | None], dict[str, str] | None]


def _claim_volume(snapshot: Snapshot, ns: str, name: str, source: Obj) -> Obj:
    """The bound PersistentVolume behind a ``persistentVolumeClaim`` volume; raise
    :class:`MountError` with the kubelet volume manager's wording when there is none."""
    claim_name = str(source.get("claimName", ""))
    prefix = (f"Unable to attach or mount volumes: unmounted volumes=[{name}], unattached "
              f"volumes=[], failed to process volumes=[{name}]: error processing PVC "
              f"{ns}/{claim_name}: ")
    claim = snapshot.get(PVCS, ns, claim_name)
    if claim is None:
        raise MountError(prefix + "failed to fetch PVC from API server: "
                         f'persistentvolumeclaims "{claim_name}" not found')
    volume_name = str((claim.get("spec") or {}).get("volumeName") or "")
    if not volume_name or (claim.get("status") or {}).get("phase") != "Bound":
        raise MountError(prefix + "PVC is not bound")
    pv = snapshot.get(PVS, "", volume_name)
    if pv is None:
        raise MountError(prefix + f"failed to fetch PV {volume_name} from API server: "
                         f'persistentvolumes "{volume_name}" not found')
    return pv


def volume_files(snapshot: Snapshot, pod: Obj, *, node_ip: str = "",
                 pod_ip: str = "", now: datetime | None = None,
                 backing: Backing | None = None) -> dict[str, dict[str, str]]:
    """Each volume's files (relative path → content); raise :class:`MountError`.

    ``now`` is when the kubelet asks for the tokens of projected ``serviceAccountToken``
    sources; without it (a mount check) no token is issued. ``backing`` gives the directory
    of a claim's volume or an ``emptyDir`` (their files so far); without it they start
    empty."""
    ns = (pod.get("metadata") or {}).get("namespace", "")
    volumes: dict[str, dict[str, str]] = {}
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        name = volume.get("name", "")
        data: dict[str, str] | None
        if "secret" in volume:
            source = volume["secret"]
            ref = source.get("secretName", "")
            obj = snapshot.get(SECRETS, ns, ref)
            if obj is None and not source.get("optional"):
                raise MountError(f'MountVolume.SetUp failed for volume "{name}" : '
                                 f'secret "{ref}" not found')
            data = _secret_data(obj) if obj else {}
            volumes[name] = _project(data, source.get("items"))
        elif "configMap" in volume:
            source = volume["configMap"]
            ref = source.get("name", "")
            obj = snapshot.get(CONFIGMAPS, ns, ref)
            if obj is None and not source.get("optional"):
                raise MountError(f'MountVolume.SetUp failed for volume "{name}" : '
                                 f'configmap "{ref}" not found')
            data = _configmap_data(obj) if obj else {}
            volumes[name] = _project(data, source.get("items"))
        elif "downwardAPI" in volume:
            volumes[name] = _downward_files(volume["downwardAPI"], pod, node_ip, pod_ip)
        elif "projected" in volume:
            volumes[name] = _projected_files(snapshot, pod, name, volume["projected"],
                                             node_ip=node_ip, pod_ip=pod_ip, now=now)
        elif "persistentVolumeClaim" in volume:
            pv = _claim_volume(snapshot, ns, name, volume["persistentVolumeClaim"] or {})
            found = backing(volume, pv) if backing is not None else None
            volumes[name] = dict(found or {})
        else:
            found = backing(volume, None) if backing is not None else None
            volumes[name] = dict(found or {})
    return volumes


def _downward_files(source: Obj, pod: Obj, node_ip: str, pod_ip: str) -> dict[str, str]:
    files: dict[str, str] = {}
    for item in source.get("items") or []:
        if "fieldRef" in item:
            files[item.get("path", "")] = field_ref(
                pod, item["fieldRef"].get("fieldPath", ""), node_ip, pod_ip)
    return files


def _projected_files(snapshot: Snapshot, pod: Obj, name: str, projected: Obj, *,
                     node_ip: str, pod_ip: str, now: datetime | None) -> dict[str, str]:
    """The projected volume plugin (``pkg/volume/projected``): each source's files in one
    directory: secrets, ConfigMaps, downward API items and ServiceAccount tokens (the
    ``kube-api-access-xxxxx`` volume of every pod is one)."""
    meta = pod.get("metadata") or {}
    ns = meta.get("namespace", "")
    files: dict[str, str] = {}
    for source in projected.get("sources") or []:
        if not isinstance(source, dict):
            continue
        for field, info, read, what in (("secret", SECRETS, _secret_data, "secret"),
                                        ("configMap", CONFIGMAPS, _configmap_data,
                                         "configmap")):
            if field not in source:
                continue
            ref = source[field].get("name", "")
            obj = snapshot.get(info, ns, ref)
            if obj is None and not source[field].get("optional"):
                raise MountError(f'MountVolume.SetUp failed for volume "{name}" : '
                                 f'{what} "{ref}" not found')
            files.update(_project(read(obj) if obj else {}, source[field].get("items")))
        if "downwardAPI" in source:
            files.update(_downward_files(source["downwardAPI"], pod, node_ip, pod_ip))
        token = source.get("serviceAccountToken")
        if isinstance(token, dict) and now is not None:
            files[token.get("path", "")] = _token(snapshot, pod, token, now)
    return files


def _token(snapshot: Snapshot, pod: Obj, source: Obj, now: datetime) -> str:
    """What the kubelet's token manager gets from ``TokenRequest`` for the pod.

    A ServiceAccount missing from the store still gets a token (with no uid): this sandbox
    creates no ``default`` ServiceAccount in new namespaces yet, where upstream's kubelet
    would report ``failed to fetch token``."""
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    ns = meta.get("namespace", "")
    sa_name = spec.get("serviceAccountName") or "default"
    sa = snapshot.get(SERVICEACCOUNTS, ns, sa_name) or {}
    node_name = spec.get("nodeName", "")
    node = snapshot.get(NODES, "", node_name) if node_name else None
    return serviceaccount_token.pod_token(
        namespace=ns, service_account=sa_name,
        service_account_uid=(sa.get("metadata") or {}).get("uid", ""),
        pod=meta.get("name", ""), pod_uid=meta.get("uid", ""), node=node_name,
        node_uid=((node or {}).get("metadata") or {}).get("uid", ""),
        audience=source.get("audience", ""),
        expiration_seconds=int(source.get("expirationSeconds") or 3600), now=now)


def _project(data: dict[str, str], items: list[Obj] | None) -> dict[str, str]:
    if not items:
        return dict(data)
    return {str(item.get("path") or item.get("key") or ""): data[item["key"]]
            for item in items if item.get("key") in data}


CLUSTER_DNS = "10.96.0.10"
CLUSTER_DOMAIN = "cluster.local"


def kubelet_managed_files(pod: Obj, pod_ip: str) -> dict[str, str]:
    """The files the kubelet writes into every container that does not use the host network:
    ``/etc/hosts`` (``pkg/kubelet/kubelet_pods.go`` ``managedHostsFileContent``),
    ``/etc/hostname``, and ``/etc/resolv.conf`` for ``dnsPolicy: ClusterFirst``
    (``pkg/kubelet/network/dns``: the cluster DNS Service, search path, ``ndots:5``)."""
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    hostname = spec.get("hostname") or meta.get("name", "")
    ns = meta.get("namespace", "default")
    hosts = ("# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n"
             "::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
             "fe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n")
    if pod_ip:
        hosts += f"{pod_ip}\t{hostname}\n"
    files = {"/etc/hosts": hosts, "/etc/hostname": hostname + "\n"}
    if (spec.get("dnsPolicy") or "ClusterFirst") == "ClusterFirst":
        files["/etc/resolv.conf"] = (
            f"search {ns}.svc.{CLUSTER_DOMAIN} svc.{CLUSTER_DOMAIN} {CLUSTER_DOMAIN}\n"
            f"nameserver {CLUSTER_DNS}\noptions ndots:5\n")
    return files


def container_files(volumes: dict[str, dict[str, str]], container: Obj) -> dict[str, str]:
    """Map each ``volumeMounts[]`` entry's files under its ``mountPath`` (``subPath`` too)."""
    files: dict[str, str] = {}
    for mount in container.get("volumeMounts") or []:
        content = volumes.get(mount.get("name", ""), {})
        path = mount.get("mountPath", "").rstrip("/")
        sub = mount.get("subPath") or ""
        if sub:
            if sub in content:
                files[path] = content[sub]
            inside = sub.strip("/") + "/"
            for rel, text in content.items():
                if rel.startswith(inside) and rel != inside:
                    files[f"{path}/{rel[len(inside):]}"] = text
            continue
        for rel, text in content.items():
            files[f"{path}/{rel}"] = text
    return files


def mount_paths(container: Obj) -> list[str]:
    """The paths ``volumeMounts[]`` mount over: the image's files there are hidden by the
    mount (the runtime's bind mount over the image's root file system)."""
    return [str(m.get("mountPath", "")) for m in container.get("volumeMounts") or []
            if m.get("mountPath")]
