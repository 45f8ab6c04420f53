"""Deliberately wrong submissions, one lesson at a time, with the scores they must get.

Each variant replaces some answer cells (by nbgrader grade id) of an otherwise correct
submission. ``expected`` gives the points every graded cell must earn (cells not listed must
get full marks); ``messages`` gives text the failing report must contain, so a learner is
told what is wrong. The scores follow from the checks' points: e.g. a Deployment labelled
``app=hello-world`` instead of ``run=load-balancer-example`` loses the template-label check and
the labelled-pods check (2 of 6 points).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from workshop.manifests import HELLO_WORLD


@dataclass(frozen=True)
class Variant:
    name: str
    answers: dict[str, str | None]
    expected: dict[str, float | tuple[float, ...]]
    messages: dict[str, str] = field(default_factory=dict)


# The workshop's hello-world Deployment, as a %%kubectl cell with another replica count.
HELLO_MANIFEST = "%%kubectl apply -f -\n" + HELLO_WORLD.lstrip().replace("replicas: 5",
                                                                          "replicas: {replicas}")

VARIANTS: dict[str, list[Variant]] = {
    "01-cluster-and-architecture": [
        Variant("counts-every-node", {"ex-01-workers": (
            "worker_names = sorted(n.metadata.name for n in core.list_node().items)\n"
            "worker_count = len(worker_names)")},
            {"test-01-workers": 0}, {"test-01-workers": "worker_count is 4"}),
        Variant("coredns-instead-of-proxies", {"ex-01-proxies": (
            "pods = core.list_namespaced_pod('kube-system').items\n"
            "proxy_nodes = sorted(p.spec.node_name for p in pods "
            "if p.metadata.name.startswith('coredns'))")},
            {"test-01-proxies": 1}, {"test-01-proxies": "proxy_nodes is ["}),
        Variant("namespace-without-label", {"ex-01-namespace": (
            "%kubectl create namespace workshop --dry-run=client -o yaml | kubectl apply -f -")},
            {"test-01-namespace": 1}, {"test-01-namespace": "metadata.labels has "}),
    ],
    "02-pods-deployments-scaling": [
        Variant("create-deployment-labels-app", {"ex-02-deploy": (
            "%%kubectl apply -f -\n" + HELLO_WORLD.lstrip().replace(
                "run: load-balancer-example", "app: hello-world"))},
            {"test-02-deploy": 4, "test-02-scale": 2, "test-02-client": 1},
            {"test-02-deploy": "spec.template.metadata.labels has app=hello-world"}),
        Variant("three-replicas", {"ex-02-deploy": HELLO_MANIFEST.format(replicas=3)},
                {"test-02-deploy": 4}, {"test-02-deploy": "spec asks for 3"}),
        Variant("never-scaled", {"ex-02-scale": "# not done"},
                {"test-02-scale": 0}, {"test-02-scale": "spec.replicas is 5"}),
        # The self-check used to pass both (issue 11): a list that is not sorted and holds a
        # name that is no pod, and a container that declares no port.
        Variant("pod-names-unsorted-and-made-up", {"ex-02-client": (
            "found = cluster.core().list_namespaced_pod('default', "
            "label_selector='run=load-balancer-example')\n"
            "pod_names = sorted((p.metadata.name for p in found.items), reverse=True) "
            "+ ['not-a-pod']")},
            {"test-02-client": 0}, {"test-02-client": "pod_names is ["}),
        Variant("no-container-port", {"ex-02-deploy": None},
                {"test-02-deploy": 5}, {"test-02-deploy": "containerPort is nothing"}),
    ],
    "03-services": [
        Variant("cluster-ip", {"ex-03-expose": (
            "%kubectl expose deployment hello-world --name=hello-world --port=80 "
            "--target-port=8080 --dry-run=client -o yaml | kubectl apply -f -")},
            {"test-03-expose": 5, "test-03-nodeport": 0},
            {"test-03-expose": "spec.type is 'ClusterIP'"}),
        Variant("wrong-target-port", {"ex-03-expose": (
            "%kubectl expose deployment hello-world --name=hello-world --type=LoadBalancer "
            "--port=80 --target-port=80 --dry-run=client -o yaml | kubectl apply -f -")},
            {"test-03-expose": 4, "test-03-browse": 0},
            {"test-03-expose": "spec.ports[0].targetPort is 80"}),
        Variant("greeting-made-up", {"ex-03-browse": "greeting = 'Hello'"},
                {"test-03-browse": 1}, {"test-03-browse": "greeting is 'Hello'"}),
    ],
    "04-rolling-update-rollback": [
        Variant("careless-strategy", {"ex-04-deploy": None},  # filled in below
                {"test-04-deploy": 6}, {"test-04-deploy": "minReadySeconds is nothing"}),
        Variant("upgrade-skipped", {"ex-04-upgrade": "# not done"},
                {"test-04-upgrade": 1, "test-04-rollback": 3},
                {"test-04-upgrade": "image is 'apprenda/kdemo:v1'"}),
        Variant("undo-twice", {"ex-04-rollback": (
            "%kubectl rollout undo deployment/kdemo-dep\n"
            "%kubectl rollout status deployment/kdemo-dep --timeout=180s\n"
            "%kubectl rollout undo deployment/kdemo-dep")},
            {"test-04-rollback": 1}, {"test-04-rollback": "revision is '4'"}),
    ],
    "05-health-checks": [
        Variant("no-readiness-probe", {"ex-05-healthy": None},
                {"test-05-healthy": 6}, {"test-05-healthy": "readinessProbe.httpGet.path is nothing"}),
        Variant("broken-rollout-skipped", {"ex-05-broken": "# not done"},
                {"test-05-broken": 2}, {"test-05-broken": "no Unhealthy event yet"}),
        # The undo cell rolls back only while 1.1 runs (safe to run twice), so a release
        # stuck on a tag that does not exist stays stuck: no undo points either.
        Variant("unknown-tag", {"ex-05-broken": None},
                {"test-05-broken": 3, "test-05-undo": 0},
                {"test-05-broken": "image is 'quay.io/apprenda/k8s-workshop-probes:1.2'",
                 "test-05-undo": "image is 'quay.io/apprenda/k8s-workshop-probes:1.2'"}),
    ],
    # The debugging lesson: each of the six breakages left unfixed, alone, is named by the
    # self-check of its exercise (the other repair of that exercise done).
    "05b-debugging": [
        Variant("diagnosis-cpu-and-config-swapped", {"ex-05b-diagnose": (
            'diagnosis = {"shop-web": "image", "shop-worker": "crash", '
            '"shop-report": "config", "shop-greeter": "cpu", "shop-api": "probe", '
            '"shop-front": "selector"}')},
            {"test-05b-diagnose": 4}, {"test-05b-diagnose": "diagnosis['shop-report'] is 'config'"}),
        Variant("selector-left-broken", {"ex-05b-front": (
            "%kubectl set image deployment/shop-web web=nginx:1.27\n"
            "%kubectl rollout status deployment/shop-web --timeout=120s")},
            {"test-05b-front": 2}, {"test-05b-front": "spec.selector.app is still 'shop-frontend'"}),
        Variant("worker-left-crashing", {"ex-05b-backoffice": (
            "%kubectl set env deployment/shop-greeter --from=configmap/shop-settings "
            "--keys=greeting\n"
            "%kubectl rollout status deployment/shop-greeter --timeout=120s")},
            {"test-05b-backoffice": 3}, {"test-05b-backoffice": "env[QUEUE].value is still unset"}),
        Variant("report-asks-too-much", {"ex-05b-capacity": (
            "%kubectl patch deployment shop-api -p '{\"spec\": {\"template\": {\"spec\": "
            "{\"containers\": [{\"name\": \"api\", \"readinessProbe\": {\"httpGet\": "
            "{\"path\": \"/\"}}}]}}}}'\n"
            "%kubectl rollout status deployment/shop-api --timeout=120s")},
            {"test-05b-capacity": 2}, {"test-05b-capacity": "requests.cpu is still '64'"}),
        # The Service selects the shop-web pods, but none is ready: no endpoints, no page.
        Variant("image-left-broken", {"ex-05b-front": (
            "%kubectl set selector service shop-front app=shop-web")},
            {"test-05b-front": 1}, {"test-05b-front": "image is still 'nginx:1.99-typo'"}),
        Variant("config-key-left-broken", {"ex-05b-backoffice": (
            "%kubectl set env deployment/shop-worker QUEUE=orders\n"
            "%kubectl rollout status deployment/shop-worker --timeout=120s")},
            {"test-05b-backoffice": 3},
            {"test-05b-backoffice": "configMapKeyRef.key is still 'greting'"}),
        Variant("probe-left-broken", {"ex-05b-capacity": (
            "%kubectl set resources deployment/shop-report --requests=cpu=100m\n"
            "%kubectl rollout status deployment/shop-report --timeout=120s")},
            {"test-05b-capacity": 2},
            {"test-05b-capacity": "readinessProbe.httpGet.path is still '/ready'"}),
    ],
    "06-secrets": [
        Variant("key-named-pass", {"ex-06-secret": (
            "%kubectl create secret generic app-secret --from-literal=user=steven "
            "--from-literal=pass=randompassword --dry-run=client -o yaml | kubectl apply -f -")},
            {"test-06-secret": 3, "test-06-pod": 4, "test-06-decode": 0},
            {"test-06-secret": "it has no key 'password'"}),
        Variant("mounted-elsewhere", {"ex-06-pod": None},
                {"test-06-pod": 3}, {"test-06-pod": "mountPath is '/etc/secrets'"}),
        Variant("still-base64", {"ex-06-decode": (
            "secret = cluster.core().read_namespaced_secret('app-secret', 'default')\n"
            "password = secret.data['password']")},
            {"test-06-decode": 1}, {"test-06-decode": "password is 'cmFuZG9tcGFzc3dvcmQ='"}),
    ],
    "07-resources-scheduling": [
        Variant("no-requests", {"ex-07-deploy": None},
                # All 100 fit, so no pod stays unscheduled for long: whether the grader
                # still catches one waiting for the scheduler, and whether the learner's
                # count of Pending (incl. still-starting) pods matches a recount taken a
                # moment later, races with the cluster; the hidden tests fail either way.
                {"test-07-deploy": 3, "test-07-scale": (1, 2), "test-07-count": (0, 1)},
                {"test-07-deploy": "resources.requests.cpu is nothing"}),
        Variant("counts-every-pod", {"ex-07-count": (
            "pods = cluster.core().list_namespaced_pod('default', "
            "label_selector='app=resource-quota-demo').items\npending = len(pods)")},
            {"test-07-count": 0}, {"test-07-count": "pending is 100"}),
        Variant("never-scaled-back", {"ex-07-back": "# not done"},
                {"test-07-back": 0}, {"test-07-back": "spec.replicas is 100"}),
    ],
    "08-web-api": [
        Variant("service-targets-80", {"ex-08-service": None},
                {"test-08-service": 3, "test-08-call": 0},
                {"test-08-service": "spec.ports[0].targetPort is 80"}),
        Variant("labels-renamed", {"ex-08-deploy": None},
                {"test-08-deploy": 5, "test-08-service": 4, "test-08-call": 0},
                {"test-08-deploy": "spec.template.metadata.labels has app=dotnet"}),
        Variant("name-mismatch", {"ex-08-call": (
            "my_name = 'Ada'\nurl = '/api/v1/namespaces/default/services/dotnetcorek8s-lb:80/"
            "proxy/api/hello?myname=Bob'\nahoy = cluster.kubectl('get', '--raw', url).stdout")},
            {"test-08-call": 1}, {"test-08-call": "ahoy is 'Ahoy there, Bob!'"}),
    ],
    "09-self-healing": [
        Variant("made-up-pod-name", {"ex-09-replace": "deleted_pod = 'hello-web-5d8f7c9b6-x2x2x'"},
                {"test-09-replace": 2},
                {"test-09-replace": "no Killing event for pod hello-web-5d8f7c9b6-x2x2x"}),
        Variant("kubelet-left-stopped", {"ex-09-maintenance": None},
                {"test-09-maintenance": 3},
                {"test-09-maintenance": "its Ready condition is Unknown"}),
        Variant("cordon-only", {"ex-09-maintenance": None},
                {"test-09-maintenance": 4},
                {"test-09-maintenance": "hello-web pods still run on"}),
    ],
    "10-namespaces-labels-config-quota": [
        Variant("labelled-every-pod", {"ex-10-labels": None},
                {"test-10-labels": 2}, {"test-10-labels": "also got a tier label"}),
        Variant("greeting-hard-coded", {"ex-10-pod": None},
                {"test-10-config": 5},
                {"test-10-config": "valueFrom.configMapKeyRef.name is nothing"}),
        Variant("quota-too-generous", {"ex-10-quota": None},
                # used_cpu is read from the learner's own (too generous) quota: right.
                {"test-10-quota": 3},
                {"test-10-quota": "spec.hard.pods is '10'"}),
    ],
    # Lesson 11: the prediction off by one (backoffLimit read as the number of pods), the two
    # counts of a Job swapped, a run started from scratch instead of from the CronJob.
    "11-jobs-cronjobs": [
        Variant("predicts-backoff-limit", {"ex-11-predict": "predicted_pods = 2"},
                {"test-11-backoff": 3}, {"test-11-backoff": "predicted_pods is 2"}),
        Variant("completions-and-parallelism-swapped", {"ex-11-batch": None},
                # 4 of 7 checks pass (the hidden one, pi's 2000 digits, included): 4/7 of 6.
                {"test-11-jobs": 3.43}, {"test-11-jobs": "spec.completions is 2"}),
        Variant("job-not-from-cronjob", {"ex-11-now": None},
                {"test-11-cron": 4}, {"test-11-cron": "instantiate is nothing"}),
    ],
    # Lesson 12: each prediction wrong once, a claim of the wrong size, a note written outside
    # the claim's mount (the reader finds nothing).
    "12-statefulsets-storage": [
        Variant("predicted-bound", {"ex-12-predict": "predicted_status = 'Bound'"},
                {"test-12-claim": 2}, {"test-12-claim": "predicted_status is 'Bound'"}),
        Variant("claim-too-big", {"ex-12-claim": None},
                {"test-12-claim": 2},
                {"test-12-claim": "spec.resources.requests.storage is '1Gi'"}),
        Variant("note-written-outside-the-claim", {"ex-12-writer": None},
                {"test-12-survives": 1}, {"test-12-survives": "the log shows 'note:'"}),
        Variant("claims-go-with-their-pods", {"ex-12-predict-scale": "claims_after_scale_down = 1"},
                {"test-12-scale": 3}, {"test-12-scale": "claims_after_scale_down is 1"}),
        # 6 of the 7 checks (one hidden) pass: 6/7 of 6 points.
        Variant("html-not-on-the-claim", {"ex-12-statefulset": None},
                {"test-12-statefulset": 5.14},
                {"test-12-statefulset": "volumeMounts[www].mountPath is '/data'"}),
    ],
    "13-rbac-serviceaccounts": [
        Variant("predicted-yes", {"ex-13-account": (
            "%kubectl create serviceaccount log-reader -n rbac-lab --dry-run=client -o yaml "
            "| kubectl apply -f -\nmay_list = True")},
            {"test-13-account": 1}, {"test-13-account": "may_list is True"}),
        # kubectl create role gives every verb to every resource: list and watch on pods/log
        # were not asked for.
        Variant("create-role-shortcut", {"ex-13-role": (
            "%kubectl create role pod-log-reader --verb=get,list,watch --resource=pods,pods/log "
            "-n rbac-lab --dry-run=client -o yaml | kubectl apply -f -")},
            {"test-13-role": 4}, {"test-13-role": "it also grants list, watch on pods/log"}),
        # A User named log-reader is not the ServiceAccount: the token reads nothing (one of
        # the five checks of Exercise 3, the hidden one included, fails).
        Variant("binding-to-a-user", {"ex-13-binding": None},
                {"test-13-role": 5, "test-13-token": 3.2},
                {"test-13-role": "its subjects are User log-reader",
                 "test-13-token": "web_log is empty"}),
    ],
    "14-ingress": [
        Variant("predicted-503", {"ex-14-predict": "unknown_host_status = 503"},
                {"test-14-ingress": 5}, {"test-14-ingress": "unknown_host_status is 503"}),
        # No * after /v2: pathType Exact, so /v2/hello gets the controller's 404 (the hidden
        # check) and the route check names the pathType.
        Variant("v2-path-exact", {"ex-14-ingress": None},
                {"test-14-ingress": 5},
                {"test-14-ingress": "hello.example/v2 has pathType Exact"}),
        Variant("shop-port-left-broken", {"ex-14-shop": (
            "shop_status, _ = via_ingress('shop.example')\n%kubectl describe ingress shop")},
            {"test-14-broken": 1}, {"test-14-broken": "shop.example/ goes to hello-v1:8081"}),
    ],
    # Lesson 15: each prediction wrong once (no request read as 0 %; the first step read as a
    # jump to maxReplicas), and the default 300 s scale-down window left in the manifest (the
    # HPA still gets back to 1 replica: grading runs on virtual time).
    "15-metrics-autoscaling": [
        Variant("predicted-zero-percent", {"ex-15-predict-targets": (
            'predicted_targets = "cpu: 0%/50%"')},
            {"test-15-requests": 4}, {"test-15-requests": "predicted_targets is 'cpu: 0%/50%'"}),
        Variant("predicted-max-replicas", {"ex-15-predict-load": (
            "predicted_utilisation = 250\npredicted_replicas = 10")},
            {"test-15-scale-up": 2}, {"test-15-scale-up": "predicted_replicas is 10"}),
        Variant("default-window", {"ex-15-behavior": None},
                {"test-15-scale-down": 4},
                {"test-15-scale-down": "stabilizationWindowSeconds is 300"}),
    ],
}

# Variants that edit the instructor's manifest: (lesson, variant, cell) -> (old, new) text.
EDITS: dict[tuple[str, str, str], list[tuple[str, str]]] = {
    ("04-rolling-update-rollback", "careless-strategy", "ex-04-deploy"): [
        ("  minReadySeconds: 30\n", ""), ("maxSurge: 1", "maxSurge: 2")],
    ("05-health-checks", "no-readiness-probe", "ex-05-healthy"): [
        ("        readinessProbe:\n          httpGet:\n            path: /\n            port: 80\n"
         "          initialDelaySeconds: 30\n          timeoutSeconds: 10", "")],
    ("05-health-checks", "unknown-tag", "ex-05-broken"): [("probes:1.1", "probes:1.2")],
    ("06-secrets", "mounted-elsewhere", "ex-06-pod"): [
        ("mountPath: /etc/secret-volume", "mountPath: /etc/secrets")],
    ("07-resources-scheduling", "no-requests", "ex-07-deploy"): [
        ("        resources:\n          requests:\n            cpu: 100m\n"
         "            memory: 100Mi\n", "")],
    ("08-web-api", "service-targets-80", "ex-08-service"): [
        ("targetPort: 8080", "targetPort: 80")],
    ("08-web-api", "labels-renamed", "ex-08-deploy"): [
        ("app: dotnetcorek8s", "app: dotnet")],
    ("09-self-healing", "kubelet-left-stopped", "ex-09-maintenance"): [
        ('    cluster.fault("start-kubelet", node=failed_node)\n'
         '%kubectl wait --for=condition=Ready node/$failed_node --timeout=180s\n',
         "    pass  # the kubelet is never started again\n")],
    ("09-self-healing", "cordon-only", "ex-09-maintenance"): [
        ("%kubectl drain $drained_node --ignore-daemonsets", "%kubectl cordon $drained_node")],
    ("02-pods-deployments-scaling", "no-container-port", "ex-02-deploy"): [
        ("\n        ports:\n        - containerPort: 8080", "")],
    ("10-namespaces-labels-config-quota", "labelled-every-pod", "ex-10-labels"): [
        ("-l app=web tier=frontend", "--all tier=frontend")],
    ("10-namespaces-labels-config-quota", "greeting-hard-coded", "ex-10-pod"): [
        ("      valueFrom:\n        configMapKeyRef:\n          name: app-config\n"
         "          key: greeting\n", "      value: hello\n")],
    ("10-namespaces-labels-config-quota", "quota-too-generous", "ex-10-quota"): [
        ("pods=4", "pods=10")],
    ("11-jobs-cronjobs", "completions-and-parallelism-swapped", "ex-11-batch"): [
        ("completions: 4", "completions: 2"), ("parallelism: 2", "parallelism: 4")],
    ("11-jobs-cronjobs", "job-not-from-cronjob", "ex-11-now"): [
        ("--from=cronjob/ticker --dry-run=client -o yaml",
         "--image=busybox:1.36 --dry-run=client -o yaml -- sh -c 'echo tick'")],
    ("12-statefulsets-storage", "claim-too-big", "ex-12-claim"): [
        ("storage: 100Mi", "storage: 1Gi")],
    ("12-statefulsets-storage", "note-written-outside-the-claim", "ex-12-writer"): [
        ("> /data/note.txt", "> /tmp/note.txt")],
    ("12-statefulsets-storage", "html-not-on-the-claim", "ex-12-statefulset"): [
        ("mountPath: /usr/share/nginx/html", "mountPath: /data")],
    ("13-rbac-serviceaccounts", "binding-to-a-user", "ex-13-binding"): [
        ("--serviceaccount=rbac-lab:log-reader", "--user=log-reader")],
    ("14-ingress", "v2-path-exact", "ex-14-ingress"): [
        ("hello.example/v2*=", "hello.example/v2=")],
    ("15-metrics-autoscaling", "default-window", "ex-15-behavior"): [
        ("stabilizationWindowSeconds: 30", "stabilizationWindowSeconds: 300")],
}
