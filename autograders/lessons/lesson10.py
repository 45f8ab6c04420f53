"""Lesson 10 — namespaces, labels, ConfigMaps and a real ResourceQuota.

The quota checks read what upstream's quota machinery writes: the ResourceQuota's
``status.used`` (kept by the quota admission plugin and the resource-quota controller) and the
ReplicaSet's ``FailedCreate`` events carrying the admission error ("exceeded quota: …").
"""

from __future__ import annotations

from typing import Any

from autograders import checks as k
from autograders.engine import Check, Context, Outcome, ladder, ok, wrong
from autograders.kube import dig
from autograders.lessons import exercise

TEAM_A = "team-a"
TEAM_B = "team-b"
QUOTA = "team-quota"
APP = "budget-app"
C0 = "spec.containers[0]"


def _labels(obj: Any) -> dict[str, str]:
    return dict(dig(obj, "metadata.labels") or {})


def not_prod(ctx: Context) -> list[str] | None:
    """The answer to Exercise 2: team-b pods whose env label is anything but prod."""
    pods = [p for p in ctx.snapshot.list("pod", TEAM_B)
            if not dig(p, "metadata.deletionTimestamp")]
    if not pods:
        return None
    return sorted(str(dig(p, "metadata.name")) for p in pods if _labels(p).get("env") != "prod")


def only_web_labelled() -> Check:
    """Pods that are not app=web carry no tier label: the learner used a selector."""

    def probe(ctx: Context) -> Outcome:
        pods = ctx.snapshot.list("pod", TEAM_B)
        if not pods:
            return wrong(f"there are no pods in namespace {TEAM_B}", missing=True)
        extra = sorted(str(dig(p, "metadata.name")) for p in pods
                       if _labels(p).get("app") != "web" and "tier" in _labels(p))
        if extra:
            return wrong(f"{', '.join(extra)} also got a tier label", settled=True)
        return ok()

    return Check("only the app=web pods are labelled tier=frontend", probe,
                 hint=ladder("kubectl get pods -n team-b -L tier: who got a tier?",
                             "--all labels every pod; a label selector picks some.",
                             "kubectl label pods -n <namespace> -l <selector> <key>=<value> "
                             "--overwrite"))


def mounts_config_map(pod: str, config_map: str, *, namespace: str) -> Check:
    def probe(ctx: Context) -> Outcome:
        obj = ctx.snapshot.get("pod", pod, namespace)
        if obj is None:
            return wrong(f"there is no pod {pod} in namespace {namespace}", missing=True)
        volumes = {v.get("name"): v for v in dig(obj, "spec.volumes") or []}
        mounted = {m.get("name") for c in dig(obj, "spec.containers") or []
                   for m in c.get("volumeMounts") or []}
        sources = [name for name, v in volumes.items()
                   if dig(v, "configMap.name") == config_map]
        if any(name in mounted for name in sources):
            return ok()
        if sources:
            return wrong(f"volume {sources[0]} is never mounted in a container", settled=True)
        return wrong(f"no volume of the pod comes from configMap {config_map}", settled=True)

    return Check(f"pod {pod} mounts configMap {config_map} as a volume", probe,
                 hint=ladder("Look at the pod's volumes and volumeMounts.",
                             "A configMap volume shows each key as a file once mounted.",
                             "volumes: - {name: <v>, configMap: {name: <configmap>}} and "
                             "volumeMounts: - {name: <v>, mountPath: <path>}; a pod's volumes "
                             "cannot change, so kubectl delete pod <name> -n <namespace> and "
                             "apply again"))


def quota_used(resource: str, expected: str) -> Check:
    return k.field("resourcequota", QUOTA, f"status.used.{resource.replace('.', chr(92) + '.')}",
                   expected, namespace=TEAM_A,
                   description=f"the quota counts {resource} = {expected} in use",
                   hint=ladder("kubectl describe quota team-quota -n team-a: Used.",
                               "The quota admits pods only while they fit under hard; "
                               "used counts the admitted ones.",
                               "kubectl create quota <name> -n <namespace> "
                               "--hard=<resource>=<amount>,…"))


def used_cpu(ctx: Context) -> Any:
    return dig(ctx.snapshot.get("resourcequota", QUOTA, TEAM_A), "status.used.requests\\.cpu")


@exercise("10.namespaces", "Exercise 1: a namespace for each team")
def namespaces() -> list[Check]:
    return [
        k.labels_include("namespace", TEAM_A, {"team": "a"},
                         hint=ladder("kubectl get namespaces --show-labels",
                                     "A namespace is an object like any other and can carry "
                                     "labels.",
                                     "kubectl create namespace <name>, then kubectl label "
                                     "namespace <name> <key>=<value> --overwrite")),
        k.labels_include("namespace", TEAM_B, {"team": "b"},
                         hint=ladder("kubectl get namespaces --show-labels",
                                     "Each team's namespace carries its own team label.",
                                     "kubectl label namespace <name> <key>=<value> "
                                     "--overwrite")),
        k.field("namespace", TEAM_B, "status.phase", "Active", namespace="",
                description="namespace team-b is Active",
                hint=ladder("kubectl get namespace team-b: STATUS.",
                            "A namespace being deleted is Terminating.",
                            "kubectl create namespace <name>")),
    ]


@exercise("10.labels", "Exercise 2: select pods by label")
def labels() -> list[Check]:
    return [
        k.pods("app=web", count=2, namespace=TEAM_B, field_path="metadata.labels.tier",
               value="frontend", description="both app=web pods in team-b have tier=frontend",
               hint=ladder("kubectl get pods -n team-b -l app=web -L tier",
                           "kubectl label adds a label to the objects you select.",
                           "kubectl label pods -n <namespace> -l <selector> <key>=<value>")),
        only_web_labelled(),
        k.variable("not_prod", compute=not_prod,
                   description="not_prod lists the team-b pods whose env is not prod, sorted",
                   hint=ladder("Compare with kubectl get pods -n team-b -L env.",
                               "A set-based selector (notin) also matches pods without the "
                               "label.",
                               "label_selector='<key> notin (<value>)', names sorted")),
    ]


@exercise("10.config", "Exercise 3: a ConfigMap as environment and as files")
def config() -> list[Check]:
    return [
        k.field("configmap", "app-config", "data.greeting", "hello", namespace=TEAM_B,
                hint=ladder("kubectl get configmap app-config -n team-b -o yaml",
                            "Each --from-literal=<key>=<value> becomes one data key.",
                            "kubectl create configmap <name> -n <namespace> "
                            "--from-literal=<key>=<value> …")),
        k.field("configmap", "app-config", "data.color", "blue", namespace=TEAM_B,
                hint=ladder("kubectl get configmap app-config -n team-b -o yaml",
                            "Each --from-literal=<key>=<value> becomes one data key.",
                            "--from-literal=<key>=<value>")),
        k.field("pod", "config-reader", f"{C0}.env[GREETING].valueFrom.configMapKeyRef.name",
                "app-config", namespace=TEAM_B,
                hint=ladder("Where does GREETING get its value?",
                            "valueFrom.configMapKeyRef reads one key of a ConfigMap into an "
                            "environment variable.",
                            "env: - {name: <VAR>, valueFrom: {configMapKeyRef: "
                            "{name: <configmap>, key: <key>}}}; a pod's env cannot change, so "
                            "kubectl delete pod <name> -n <namespace> and apply again")),
        mounts_config_map("config-reader", "app-config", namespace=TEAM_B),
        k.log_contains("config-reader", "greeting=hello", namespace=TEAM_B,
                       hint=ladder("kubectl logs config-reader -n team-b",
                                   "The container echoes greeting=$GREETING.",
                                   "command: [sh, -c, 'echo greeting=$GREETING; …']")),
        k.log_contains("config-reader", "color=blue", namespace=TEAM_B,
                       hint=ladder("kubectl logs config-reader -n team-b",
                                   "The container prints the file color of the mounted "
                                   "ConfigMap.",
                                   "cat <mountPath>/<key> in the container's command")),
    ]


@exercise("10.quota", "Exercise 4: a ResourceQuota for team-a")
def quota() -> list[Check]:
    return [
        k.field("resourcequota", QUOTA, "spec.hard.pods", "4", namespace=TEAM_A,
                hint=ladder("kubectl describe quota team-quota -n team-a: Hard.",
                            "A ResourceQuota's spec.hard caps a namespace's total.",
                            "kubectl create quota <name> -n <namespace> "
                            "--hard=<resource>=<amount>,…")),
        k.field("resourcequota", QUOTA, "spec.hard.requests\\.cpu", "500m", namespace=TEAM_A,
                description="resourcequota team-quota in namespace team-a: "
                            "spec.hard requests.cpu = '500m'",
                hint=ladder("kubectl describe quota team-quota -n team-a: Hard.",
                            "requests.cpu caps the sum of the pods' CPU requests.",
                            "--hard=requests.cpu=<millicores>,…")),
        k.field("deployment", APP, "spec.replicas", 6, namespace=TEAM_A,
                hint=ladder("Look at spec.replicas of budget-app.",
                            "The Deployment asks for more pods than the quota allows.",
                            "spec: replicas: <n>")),
        k.pods(f"app={APP}", count=4, namespace=TEAM_A,
               description="the quota lets only 4 budget-app pods exist",
               hint=ladder("kubectl get pods -n team-a -l app=budget-app",
                           "The quota rejects the pods beyond its limits.",
                           "kubectl describe quota <name> -n <namespace>")),
        k.event("FailedCreate", message_contains="exceeded quota", namespace=TEAM_A,
                name_prefix=f"{APP}-", description="the ReplicaSet reported exceeded quota",
                hint=ladder("kubectl get events -n team-a: any FailedCreate?",
                            "Each pod asks for CPU; the quota refuses the one that would "
                            "break a limit, and the ReplicaSet records why.",
                            "kubectl describe replicaset -n <namespace> -l app=<app>")),
        quota_used("pods", "4"),
    ]


@exercise("10.used", "Exercise 5: read the quota's usage with the Python client")
def used() -> list[Check]:
    return [k.variable("used_cpu", compute=used_cpu, converging=True,
                       description="used_cpu is the CPU the quota counts as requested",
                       hint=ladder("Compare with kubectl describe quota team-quota -n team-a.",
                                   "status.used is a map keyed by resource name.",
                                   "read_namespaced_resource_quota(<name>, <namespace>)"
                                   ".status.used[<resource>]"))]
