"""Lesson 05b — debugging: six broken apps diagnosed with describe, events, logs and ``%why``.

The lesson's cluster starts broken on purpose (:data:`BROKEN_SHOP`, created by
:func:`break_the_shop`), one app per failure a learner meets first on a real cluster: an image
tag that does not exist (the kubelet's ``ErrImagePull``/``ImagePullBackOff``), a program that
exits (``CrashLoopBackOff``), a CPU request no node can hold (the scheduler's
``FailedScheduling``), an environment variable from a ConfigMap key that is not there
(``CreateContainerConfigError``), a readiness probe on a path the server answers with 404
(running, never ready), and a Service whose selector matches no pod (no endpoints). The
diagnosis is graded as a variable; the repairs are graded on the repaired cluster: the
Deployments ready, the programs logging what a working program logs, the Service serving.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from autograders import checks as k
from autograders.engine import NOT_ANSWERED, Check, Context, Outcome, answer, ladder, ok, wrong
from autograders.kube import dig
from autograders.lessons import exercise

C0 = "spec.template.spec.containers[0]"
BAD_TAG = "nginx:1.99-typo"
QUEUE = "orders"
GREETING = "Welcome to the shop"
# What the learner may answer for each broken object, in the diagnosis dictionary.
CAUSES = {
    "image": "the image cannot be pulled",
    "crash": "the container's program exits",
    "cpu": "no node has enough free CPU for its request",
    "config": "a ConfigMap key it reads is missing",
    "probe": "its readiness probe fails",
    "selector": "the Service's selector matches no pod",
}
# The truth the diagnosis is compared with: object → cause.
BROKEN = {
    "shop-web": "image",
    "shop-worker": "crash",
    "shop-report": "cpu",
    "shop-greeter": "config",
    "shop-api": "probe",
    "shop-front": "selector",
}

BROKEN_SHOP = f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop-web
spec:
  replicas: 2
  selector:
    matchLabels: {{app: shop-web}}
  template:
    metadata:
      labels: {{app: shop-web}}
    spec:
      containers:
      - name: web
        image: {BAD_TAG}
        ports:
        - containerPort: 80
---
apiVersion: v1
kind: Service
metadata:
  name: shop-front
spec:
  selector:
    app: shop-frontend
  ports:
  - port: 80
    targetPort: 80
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop-worker
spec:
  replicas: 1
  selector:
    matchLabels: {{app: shop-worker}}
  template:
    metadata:
      labels: {{app: shop-worker}}
    spec:
      containers:
      - name: worker
        image: busybox:1.37
        command: ["sh", "-c"]
        args:
        - |
          if [ -z "$QUEUE" ]; then echo "fatal: QUEUE is not set"; exit 1; fi
          while true; do echo "worker: waiting for orders on queue $QUEUE"; sleep 30; done
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop-report
spec:
  replicas: 1
  selector:
    matchLabels: {{app: shop-report}}
  template:
    metadata:
      labels: {{app: shop-report}}
    spec:
      containers:
      - name: report
        image: busybox:1.37
        command: ["sh", "-c", "while true; do echo report ready; sleep 60; done"]
        resources:
          requests:
            cpu: "64"
            memory: 64Mi
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: shop-settings
data:
  greeting: {GREETING}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop-greeter
spec:
  replicas: 1
  selector:
    matchLabels: {{app: shop-greeter}}
  template:
    metadata:
      labels: {{app: shop-greeter}}
    spec:
      containers:
      - name: greeter
        image: busybox:1.37
        command: ["sh", "-c", "while true; do echo \\"$GREETING\\"; sleep 30; done"]
        env:
        - name: GREETING
          valueFrom:
            configMapKeyRef:
              name: shop-settings
              key: greting
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop-api
spec:
  replicas: 2
  selector:
    matchLabels: {{app: shop-api}}
  template:
    metadata:
      labels: {{app: shop-api}}
    spec:
      containers:
      - name: api
        image: nginx:1.27
        ports:
        - containerPort: 80
        readinessProbe:
          httpGet:
            path: /ready
            port: 80
          periodSeconds: 5
"""


def break_the_shop(cluster: Any) -> None:
    """Create the broken shop: only what is missing, so running it again keeps your repairs.

    ``kubectl create`` (not ``apply``) refuses an object that exists; those lines are said as
    "left as it is", never on stderr.
    """
    run = cluster.kubectl("create", "-f", "-", input=BROKEN_SHOP)
    for line in run.stdout.splitlines():
        print(line)
    for line in run.stderr.splitlines():
        found = re.search(r'(\S+) "([^"]+)" already exists', line)
        if found:
            print(f"{found.group(1)}/{found.group(2)} already exists: left as it is")
        elif line.strip():
            print(line)


def cpu_millis(value: Any) -> float | None:
    """A CPU quantity (``100m``, ``0.1``, ``1``) in millicores; ``None`` if not one."""
    text = str(value or "").strip()
    try:
        return float(text[:-1]) if text.endswith("m") else float(text) * 1000
    except ValueError:
        return None


def diagnosed(name: str) -> Check:
    """``diagnosis[name]`` names the cause of that object's trouble."""
    cause = BROKEN[name]
    kind = "service" if name == "shop-front" else "deployment"
    short = "svc" if kind == "service" else "deploy"

    def probe(ctx: Context) -> Outcome:
        given = answer(ctx, "diagnosis")
        if not isinstance(given, dict):
            return wrong(f"diagnosis is a {type(given).__name__}, not a dict", settled=True)
        value = given.get(name)
        if value is None:
            return wrong(f"diagnosis has no entry for {name!r}", settled=True)
        if value not in CAUSES:
            return wrong(f"diagnosis[{name!r}] is {value!r}, which is none of "
                         f"{', '.join(sorted(CAUSES))}", settled=True)
        return ok() if value == cause else wrong(f"diagnosis[{name!r}] is {value!r}",
                                                 settled=True)

    look = {"image": "the pods' State (Waiting: …) and the Failed events",
            "crash": "the pod's RESTARTS, its Last State and kubectl logs",
            "cpu": "why the pod is Pending: the FailedScheduling event",
            "config": "the container's Waiting reason and its message",
            "probe": "READY 0/1 while Running, and the Unhealthy events",
            "selector": "its Selector and its Endpoints (none)"}[cause]
    return Check(f"the diagnosis of {name}", probe, hint=ladder(
        f"kubectl describe {kind} {name}, and describe one of its pods: look at {look}.",
        "describe shows the state, conditions and events that say why an object is not "
        "working; kubectl logs shows what its program printed.",
        f"%why {short}/{name} — then set diagnosis[{name!r}] to one of the keys of CAUSES"))


def repaired(kind: str, name: str, path: str, broken: Any, *,
             test: Callable[[Any], bool], description: str,
             hint: tuple[str, ...]) -> Check:
    """``kind/name``'s field at ``path`` is repaired: ``test`` holds.

    While the field still holds the value the shop was deployed with, the learner has not
    started on it: "not answered yet", as a blank answer cell is (so Run All on a fresh
    notebook reads as unanswered, not as wrong).
    """

    def probe(ctx: Context) -> Outcome:
        obj = ctx.snapshot.get(kind, name)
        if obj is None:
            return wrong(f"there is no {kind} {name} (run the cell that breaks the shop)",
                         missing=True)
        value = dig(obj, path)
        if value == broken:
            shown = "unset" if broken is None else repr(broken)
            return wrong(f"{NOT_ANSWERED}: {name}'s {path} is still {shown}, as the shop was "
                         "deployed", missing=True)
        if test(value):
            return ok(repr(value))
        return wrong(f"{name}'s {path} is {value!r}", settled=True)

    return Check(description, probe, hint=hint)


def logs_of(app: str, text: str, *, description: str,
            hint: tuple[str, ...]) -> Check:
    """A ready pod of ``app=<app>`` (not terminating) has ``text`` in its log."""

    def probe(ctx: Context) -> Outcome:
        live = [p for p in ctx.snapshot.list("pod", "default", f"app={app}")
                if not dig(p, "metadata.deletionTimestamp")]
        if not live:
            return wrong(f"there is no pod with app={app}")
        seen = ""
        for pod in live:
            name = str(dig(pod, "metadata.name"))
            log = ctx.snapshot.log(name) or ""
            if text in log:
                return ok()
            seen = seen or (log.strip().splitlines() or [""])[-1][:120]
        return wrong(f"the log shows {seen!r}" if seen else "no pod has logged anything yet")

    return Check(description, probe, hint=hint)


@exercise("05b.diagnose", "Exercise 1: diagnose the six broken objects")
def diagnose() -> list[Check]:
    return [diagnosed(name) for name in BROKEN]


@exercise("05b.front", "Exercise 2: repair the web front (image and Service)")
def front() -> list[Check]:
    return [
        repaired("deployment", "shop-web", f"{C0}.image", BAD_TAG,
                 test=lambda v: bool(v),
                 description="shop-web no longer asks for the missing tag 1.99-typo",
                 hint=ladder("kubectl describe pod -l app=shop-web: which image does it pull?",
                             "The kubelet cannot pull a tag the registry does not have; the "
                             "event names the nearest tags that exist.",
                             "kubectl set image deployment/<name> <container>=<image>:<tag>")),
        k.ready_replicas("shop-web", 2,
                         hint=ladder("kubectl get deployment shop-web",
                                     "A fixed template rolls out as a new ReplicaSet.",
                                     "kubectl rollout status deployment/<name>")),
        repaired("service", "shop-front", "spec.selector.app", "shop-frontend",
                 test=lambda v: v == "shop-web",
                 description="service shop-front selects the shop-web pods (app=shop-web)",
                 hint=ladder("kubectl describe service shop-front: Selector and Endpoints.",
                             "A Service sends traffic to the ready pods whose labels match "
                             "its selector; compare it with kubectl get pods --show-labels.",
                             "kubectl set selector service <name> <key>=<value>")),
        k.endpoints("shop-front", 2,
                    hint=ladder("kubectl get endpointslices -l "
                                "kubernetes.io/service-name=shop-front",
                                "Only ready pods that match the selector are endpoints.",
                                "kubectl describe service <name> (Endpoints)")),
        k.serves("shop-front", 80, contains="Welcome to nginx",
                 description="service shop-front serves nginx's welcome page",
                 hint=ladder("kubectl get --raw /api/v1/namespaces/default/services/"
                             "shop-front:80/proxy/",
                             "The page comes from a ready shop-web pod behind the Service.",
                             "fix the image first, then the selector")),
    ]


@exercise("05b.backoffice", "Exercise 3: repair the worker and the greeter")
def backoffice() -> list[Check]:
    return [
        repaired("deployment", "shop-worker", f"{C0}.env[QUEUE].value", None,
                 test=lambda v: v == QUEUE,
                 description=f"shop-worker's container has QUEUE={QUEUE}",
                 hint=ladder("kubectl logs deploy/shop-worker: why does it exit?",
                             "A program configured by environment variables exits when one "
                             "is missing; the Deployment's template sets them.",
                             "kubectl set env deployment/<name> <VAR>=<value>")),
        k.ready_replicas("shop-worker", 1,
                         hint=ladder("kubectl get pods -l app=shop-worker: RESTARTS?",
                                     "A container that keeps exiting is restarted with a "
                                     "growing back-off (CrashLoopBackOff).",
                                     "kubectl rollout status deployment/<name>")),
        logs_of("shop-worker", f"waiting for orders on queue {QUEUE}",
                description=f"the worker logs that it waits on queue {QUEUE}",
                hint=ladder("kubectl logs deploy/shop-worker",
                            "The worker prints its queue once it starts.",
                            "kubectl set env deployment/<name> <VAR>=<value>")),
        repaired("deployment", "shop-greeter",
                  f"{C0}.env[GREETING].valueFrom.configMapKeyRef.key", "greting",
                 test=lambda v: v == "greeting",
                 description="shop-greeter reads the key greeting of ConfigMap shop-settings",
                 hint=ladder("kubectl describe pod -l app=shop-greeter: the Waiting reason.",
                             "An env var from a ConfigMap key that does not exist keeps the "
                             "container from being created (CreateContainerConfigError); "
                             "kubectl get configmap shop-settings -o yaml lists the keys.",
                             "kubectl set env deployment/<name> --from=configmap/<configmap> "
                             "--keys=<key>")),
        k.ready_replicas("shop-greeter", 1,
                         hint=ladder("kubectl get pods -l app=shop-greeter",
                                     "The kubelet retries by itself once the key is right.",
                                     "kubectl rollout status deployment/<name>")),
        logs_of("shop-greeter", GREETING,
                description="the greeter logs the shop's greeting",
                hint=ladder("kubectl logs deploy/shop-greeter",
                            "The greeter prints $GREETING, from the ConfigMap.",
                            "env: valueFrom: configMapKeyRef: {name: <cm>, key: <key>}")),
    ]


@exercise("05b.capacity", "Exercise 4: repair the report and the API")
def capacity() -> list[Check]:
    return [
        repaired("deployment", "shop-report", f"{C0}.resources.requests.cpu", "64",
                 test=lambda v: cpu_millis(v) == 100,
                 description="shop-report requests a tenth of a CPU (100m)",
                 hint=ladder("kubectl describe pod -l app=shop-report: the FailedScheduling "
                             "event.",
                             "The scheduler places a pod only where its requests fit; ask for "
                             "what the program needs, a tenth of a core.",
                             "kubectl set resources deployment/<name> --requests=cpu=<amount>")),
        k.ready_replicas("shop-report", 1,
                         hint=ladder("kubectl get pods -l app=shop-report",
                                     "A pod that fits is scheduled at once.",
                                     "kubectl rollout status deployment/<name>")),
        repaired("deployment", "shop-api", f"{C0}.readinessProbe.httpGet.path", "/ready",
                 test=lambda v: v == "/",
                 description="shop-api's readiness probe asks for / (which nginx answers)",
                 hint=ladder("kubectl describe pod -l app=shop-api: the Unhealthy events.",
                             "An HTTP probe passes on 200 to 399; nginx answers /ready with 404 "
                             "and / with its welcome page.",
                             "kubectl patch deployment <name> -p '{\"spec\": {\"template\": "
                             "{\"spec\": {\"containers\": [{\"name\": <container>, "
                             "\"readinessProbe\": {\"httpGet\": {\"path\": <path>}}}]}}}}'")),
        k.ready_replicas("shop-api", 2,
                         hint=ladder("kubectl get pods -l app=shop-api: READY?",
                                     "A pod is ready once its readiness probe passes.",
                                     "kubectl rollout status deployment/<name>")),
    ]
