"""Lesson 12 — StatefulSets and storage: claims, volumes that outlive pods, stable identities.

The checks read what upstream's storage and StatefulSet machinery writes: a
PersistentVolumeClaim's ``status.phase`` (``Pending`` until the PV controller binds it; with a
``WaitForFirstConsumer`` class such as kind's ``standard``, not before a pod using it is
scheduled), the pods and claims the StatefulSet controller names ``web-0``, ``www-web-0`` …,
and a pod's IP, which the cluster DNS gives to ``web-0.nginx`` through the headless Service.
The predictions are graded as notebook variables stored before the step they predict.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from autograders import checks as k
from autograders.engine import Check, Context, Outcome, answer, ladder, ok, wrong
from autograders.kube import dig
from autograders.lessons import exercise

CLAIM = "notes"
NOTE = "remember me"
STS = "web"
SERVICE = "nginx"
TEMPLATE = "www"


def claim_bound(name: str, *, hint: tuple[str, ...], description: str = "") -> Check:
    """The claim exists and the PV controller has bound it to a volume."""

    def probe(ctx: Context) -> Outcome:
        obj = ctx.snapshot.get("persistentvolumeclaim", name)
        if obj is None:
            return wrong(f"there is no persistentvolumeclaim {name}", missing=True)
        if dig(obj, "metadata.deletionTimestamp"):
            return wrong(f"claim {name} is being deleted", settled=True)
        phase = dig(obj, "status.phase")
        return ok() if phase == "Bound" else wrong(f"claim {name} is {phase or 'new'}")

    return Check(description or f"claim {name} is Bound to a volume", probe, hint=hint)


def web0_ip(ctx: Context) -> Any:
    """The answer to the DNS question: the IP of pod web-0, as the cluster DNS gives it."""
    return dig(ctx.snapshot.get("pod", f"{STS}-0"), "status.podIP")


def first_status(ctx: Context) -> str:
    """The STATUS a new claim shows before any pod uses it, from its StorageClass's binding
    mode: ``Pending`` under ``WaitForFirstConsumer`` (kind's and GKE's defaults), ``Bound``
    under ``Immediate`` (minikube's ``standard``), as the PV controller binds it at once.

    The class is the claim's own, else the cluster's default (the DefaultStorageClass
    admission plugin's choice); with none, no volume is ever made and the claim stays
    ``Pending``.
    """
    wanted = dig(ctx.snapshot.get("persistentvolumeclaim", CLAIM), "spec.storageClassName")
    for sc in ctx.snapshot.list("storageclass", None):
        default = dig(sc, "metadata.annotations.storageclass\\.kubernetes\\.io/"
                          "is-default-class") == "true"
        if dig(sc, "metadata.name") == wanted or (wanted is None and default):
            mode = dig(sc, "volumeBindingMode") or "Immediate"
            return "Pending" if mode == "WaitForFirstConsumer" else "Bound"
    return "Pending"


def prediction(name: str, expected: str | Callable[[Context], str], *, description: str,
               hint: tuple[str, ...]) -> Check:
    """A prediction stored in a variable: compared as words, in any case, without spaces;
    ``expected`` may be read from the cluster."""

    def probe(ctx: Context) -> Outcome:
        given = answer(ctx, name)
        truth = expected(ctx) if callable(expected) else expected
        if str(given).strip().lower() == truth.lower():
            return ok()
        return wrong(f"{name} is {given!r}", settled=True)

    return Check(description, probe, hint=hint)


@exercise("12.claim", "Exercise 1: predict, then claim storage")
def claim() -> list[Check]:
    return [
        prediction("predicted_status", first_status,
                   description="predicted_status is the claim's STATUS before any pod uses it",
                   hint=ladder("kubectl get storageclass: read the VOLUMEBINDINGMODE column.",
                               "WaitForFirstConsumer delays binding (and provisioning) until "
                               "a pod that uses the claim is scheduled, so the volume is made "
                               "on that pod's node.",
                               "predicted_status = '<the STATUS kubectl get pvc shows>'")),
        k.field("persistentvolumeclaim", CLAIM, "spec.resources.requests.storage", "100Mi",
                description=f"claim {CLAIM} asks for 100Mi of storage",
                hint=ladder(f"kubectl get pvc {CLAIM} -o yaml: spec.resources.",
                            "A claim states how much storage it needs; the provisioner makes a "
                            "volume at least that big.",
                            "kubectl explain pvc.spec.resources — spec: {resources: "
                            "{requests: {storage: <size>}}}; a claim's size cannot shrink, "
                            "so kubectl delete pvc <name> and apply again")),
        k.field("persistentvolumeclaim", CLAIM, "spec.accessModes", ["ReadWriteOnce"],
                description=f"claim {CLAIM} is ReadWriteOnce (one node mounts it)",
                hint=ladder(f"kubectl get pvc {CLAIM}: ACCESS MODES.",
                            "ReadWriteOnce is the mode every provisioner supports: the volume "
                            "is mounted read-write by one node at a time.",
                            "kubectl explain pvc.spec.accessModes — accessModes: "
                            "[ReadWriteOnce]")),
    ]


@exercise("12.survives", "Exercise 2: the data outlives the pod")
def survives() -> list[Check]:
    return [
        claim_bound(CLAIM, hint=ladder(
            f"kubectl get pvc {CLAIM}; kubectl describe pod notes-writer: its events.",
            "A WaitForFirstConsumer claim binds once a pod that uses it is scheduled.",
            "volumes: - {name: <v>, persistentVolumeClaim: {claimName: <claim>}}")),
        k.log_contains("notes-reader", f"note: {NOTE}", hint=ladder(
            "kubectl logs notes-reader: what did it find in /data/note.txt?",
            "The reader mounts the same claim at /data; it sees what the writer left "
            "there, so the writer must write the file under its mount of the claim.",
            "command: [sh, -c, 'echo <text> > <mountPath>/note.txt'] with volumeMounts: "
            "- {name: <v>, mountPath: /data}; a pod's spec cannot change, so kubectl "
            "delete pod <name> and apply again")),
    ]


@exercise("12.statefulset", "Exercise 3: a StatefulSet with its own claims")
def statefulset() -> list[Check]:
    return [
        k.field("statefulset", STS, "spec.serviceName", SERVICE,
                description=f"statefulset {STS} names the headless Service {SERVICE}",
                hint=ladder(f"kubectl get statefulset {STS} -o yaml: spec.serviceName.",
                            "The Service named in serviceName gives each pod a DNS name "
                            "<pod>.<service>; a StatefulSet's serviceName cannot change.",
                            "kubectl explain statefulset.spec.serviceName; kubectl delete "
                            "statefulset <name> and apply again")),
        k.field("statefulset", STS, "spec.volumeClaimTemplates[0].metadata.name", TEMPLATE,
                description=f"statefulset {STS} has the claim template {TEMPLATE}",
                hint=ladder(f"kubectl get pvc -l app={SERVICE}: the claims' names.",
                            "Each pod gets its own claim <template>-<pod>, made from "
                            "volumeClaimTemplates and mounted where the container's "
                            "volumeMount of the same name says.",
                            "kubectl explain statefulset.spec.volumeClaimTemplates")),
        k.field("statefulset", STS,
                f"spec.template.spec.containers[0].volumeMounts[{TEMPLATE}].mountPath",
                "/usr/share/nginx/html",
                description=f"the claim template {TEMPLATE} is mounted where nginx serves from",
                hint=ladder(f"kubectl get statefulset {STS} -o yaml: volumeMounts.",
                            "A volumeMount names a volume or claim template and the path the "
                            "container sees it at; nginx serves /usr/share/nginx/html.",
                            "volumeMounts: - {name: <template>, mountPath: <path>}; kubectl "
                            "apply changes the template and the pods roll")),
        k.pods(f"app={SERVICE}", count=2, ready=True,
               description=f"web-0 and web-1 are ready (app={SERVICE})",
               hint=ladder(f"kubectl get pods -l app={SERVICE}",
                           "The controller creates web-0, waits until it is ready, then "
                           "web-1.",
                           f"kubectl rollout status statefulset/{STS}")),
        claim_bound(f"{TEMPLATE}-{STS}-1", description=f"web-1 has its own claim "
                    f"{TEMPLATE}-{STS}-1, Bound",
                    hint=ladder(f"kubectl get pvc -l app={SERVICE}",
                                "A claim made from the template is named "
                                "<template>-<statefulset>-<ordinal>.",
                                "volumeClaimTemplates: - metadata: {name: <template>} "
                                "spec: {accessModes: [...], resources: {requests: "
                                "{storage: <size>}}}")),
        k.variable("web0_ip", compute=web0_ip,
                   description="web0_ip is the address web-0.nginx resolves to",
                   hint=ladder("Compare with kubectl get pod web-0 -o wide: IP.",
                               "The headless Service gives each pod the DNS name "
                               "<pod>.<service>, which resolves to the pod's own IP (the "
                               "last address nslookup prints).",
                               "out = cluster.kubectl('run', 'dns-test', '-i', '--rm', "
                               "'--restart=Never', '--image=busybox:1.28', '--', 'nslookup', "
                               "'web-0.nginx').stdout, then the last IPv4 address in it")),
        own_claims(),
    ]


@exercise("12.scale", "Exercise 4: scale down, keep the claims")
def scale() -> list[Check]:
    return [
        prediction("claims_after_scale_down", "2",
                   description="claims_after_scale_down is how many web claims remain",
                   hint=ladder(f"kubectl get pvc -l app={SERVICE} after scaling down.",
                               "Scaling a StatefulSet down deletes its highest pods but keeps "
                               "their claims (persistentVolumeClaimRetentionPolicy whenScaled: "
                               "Retain), so a scale up finds its data again.",
                               "claims_after_scale_down = <a number>")),
        k.field("statefulset", STS, "spec.replicas", 1,
                hint=ladder(f"kubectl get statefulset {STS}: READY.",
                            "kubectl scale changes spec.replicas.",
                            "kubectl scale statefulset <name> --replicas=<n>")),
        k.pods(f"app={SERVICE}", count=1, field_path="metadata.name", value=f"{STS}-0",
               description="only web-0 runs (the highest ordinal goes first)",
               hint=ladder(f"kubectl get pods -l app={SERVICE}",
                           "A StatefulSet removes pods from the highest ordinal down.",
                           "kubectl scale statefulset <name> --replicas=<n>")),
        claim_bound(f"{TEMPLATE}-{STS}-1",
                    description=f"claim {TEMPLATE}-{STS}-1 is kept, still Bound",
                    hint=ladder(f"kubectl get pvc -l app={SERVICE}",
                                "Scaling down keeps the claims; deleting them is up to you.",
                                "do not delete the claims in this exercise")),
    ]



def own_claims() -> Check:
    """Exercise 3: web-0 and web-1 each mount their own
    claim (``www-web-0``, ``www-web-1``), as the StatefulSet controller names them — no pod
    shares a claim, whatever route the learner took."""

    def probe(ctx: Context) -> Outcome:
        for ordinal in (0, 1):
            name = f"{STS}-{ordinal}"
            pod = ctx.snapshot.get("pod", name)
            if pod is None:
                return wrong(f"there is no pod {name}", missing=True)
            claims = [dig(v, "persistentVolumeClaim.claimName")
                      for v in dig(pod, "spec.volumes") or []]
            if f"{TEMPLATE}-{name}" not in claims:
                shown = ", ".join(str(c) for c in claims if c) or "no claim"
                return wrong(f"pod {name} mounts {shown}", settled=True)
        return ok()

    return Check(f"web-0 and web-1 each mount their own claim {TEMPLATE}-<pod>", probe,
                 hint=ladder(f"kubectl get pod {STS}-0 -o yaml: spec.volumes.",
                             "The controller gives each pod the claims of its ordinal, made "
                             "from volumeClaimTemplates.",
                             "volumeClaimTemplates: - metadata: {name: <template>} …"))
