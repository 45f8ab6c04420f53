"""Lesson 11 — Jobs and CronJobs: work that runs to completion, once or on a schedule.

The checks read what upstream's batch controllers write: the Job controller
(``pkg/controller/job``) counts finished pods in ``status.succeeded``/``status.failed`` and
ends a Job with a ``Complete`` or ``Failed`` condition (reason ``BackoffLimitExceeded`` once
``backoffLimit`` retries are spent); the CronJob controller (``pkg/controller/cronjob``)
records ``status.lastScheduleTime`` for each scheduled run; ``kubectl create job --from``
marks its Job with the annotation ``cronjob.kubernetes.io/instantiate: manual``. A Job's pods
carry the label ``job-name`` (also ``batch.kubernetes.io/job-name`` since 1.27).
"""

from __future__ import annotations

from autograders import checks as k
from autograders.engine import Check, Context, Outcome, ladder, ok, wrong
from autograders.kube import dig
from autograders.lessons import exercise

BACKOFF_LIMIT = 2
CRON = "ticker"
MANUAL = "ticker-now"


def _condition(job: object, kind: str) -> bool:
    return dig(job, f"status.conditions[{kind}].status") == "True"


def finished(name: str, *, succeeded: int) -> Check:
    """Job ``name`` ended ``Complete`` with ``succeeded`` pods; a finished Job is settled."""

    def probe(ctx: Context) -> Outcome:
        job = ctx.snapshot.get("job", name)
        if job is None:
            return wrong(f"there is no job {name}", missing=True)
        done = int(dig(job, "status.succeeded") or 0)
        failed = int(dig(job, "status.failed") or 0)
        if _condition(job, "Complete") and done == succeeded:
            return ok(f"{done} succeeded")
        if _condition(job, "Complete"):
            return wrong(f"it completed after {done} succeeded pods", settled=True)
        if _condition(job, "Failed"):
            reason = dig(job, "status.conditions[Failed].reason")
            return wrong(f"it failed ({reason}) with {failed} failed pods", settled=True)
        return wrong(f"it is still running: {done} succeeded, {failed} failed")

    return Check(f"job {name} completed with {succeeded} succeeded pods", probe,
                 hint=ladder(f"kubectl get job {name}: STATUS and COMPLETIONS.",
                             "A Job is Complete once spec.completions pods have succeeded.",
                             f"kubectl describe job {name}; kubectl logs job/{name}"))


def gave_up(name: str) -> Check:
    """Job ``name`` ended ``Failed`` because its back-off limit was reached."""

    def probe(ctx: Context) -> Outcome:
        job = ctx.snapshot.get("job", name)
        if job is None:
            return wrong(f"there is no job {name}", missing=True)
        if _condition(job, "Failed"):
            reason = dig(job, "status.conditions[Failed].reason")
            if reason == "BackoffLimitExceeded":
                return ok()
            return wrong(f"it failed with reason {reason}", settled=True)
        if _condition(job, "Complete"):
            return wrong("it completed: its command must fail", settled=True)
        return wrong(f"it is still retrying: {int(dig(job, 'status.failed') or 0)} failed pods")

    return Check(f"job {name} failed with BackoffLimitExceeded", probe,
                 hint=ladder(f"kubectl describe job {name}: the conditions and events.",
                             "The Job controller gives up after backoffLimit retries.",
                             "spec.backoffLimit, and a command that exits non-zero"))


def pi_head(ctx: Context) -> str | None:
    """The answer to Exercise 1: the first ten characters of job pi's log."""
    pods = [p for p in ctx.snapshot.list("pod", "default", "job-name=pi")
            if dig(p, "status.phase") == "Succeeded"]
    if not pods:
        return None
    log = ctx.snapshot.log(str(dig(pods[0], "metadata.name"))) or ""
    return log.strip()[:10] or None


def pi_printed(digits: int = 2000) -> Check:
    """Job pi ran the tutorial's computation (π to ``digits`` digits), not an echo."""

    def probe(ctx: Context) -> Outcome:
        if ctx.snapshot.get("job", "pi") is None:
            return wrong("there is no job pi", missing=True)
        pods = [p for p in ctx.snapshot.list("pod", "default", "job-name=pi")
                if dig(p, "status.phase") == "Succeeded"]
        if not pods:
            return wrong("no pod of job pi has succeeded yet")
        log = ctx.snapshot.log(str(dig(pods[0], "metadata.name"))) or ""
        printed = "".join(log.split()).replace(".", "", 1)
        if printed.startswith("314159") and printed.isdigit() and len(printed) >= digits:
            return ok(f"{len(printed)} digits")
        return wrong(f"it printed {len(printed)} characters, not {digits} digits of pi",
                     settled=True)

    return Check(f"job pi printed pi to {digits} digits", probe,
                 hint=ladder("kubectl logs job/pi",
                             "The tutorial's command prints 2000 digits.",
                             "perl -Mbignum=bpi -wle 'print bpi(2000)'"))


def job_logs(name: str, text: str) -> Check:
    """A pod of Job ``name`` printed ``text`` (what ``kubectl logs job/<name>`` shows)."""

    def probe(ctx: Context) -> Outcome:
        if ctx.snapshot.get("job", name) is None:
            return wrong(f"there is no job {name}", missing=True)
        pods = ctx.snapshot.list("pod", "default", f"job-name={name}")
        if not pods:
            return wrong("it has no pods yet")
        logs = [ctx.snapshot.log(str(dig(p, "metadata.name"))) or "" for p in pods]
        if any(text in log for log in logs):
            return ok()
        last = next((ln for log in logs for ln in log.strip().splitlines()[-1:]), "an empty log")
        return wrong(f"its pods logged {last[:120]!r}")

    return Check(f"job {name}'s pod logs {text!r}", probe,
                 hint=ladder(f"kubectl logs job/{name}",
                             "The Job's pods run the CronJob's jobTemplate.",
                             "kubectl create cronjob <name> --image=<image> "
                             "--schedule='<cron>' -- sh -c '<command>'"))


def every_minute(value: object) -> bool:
    return isinstance(value, str) and value.split() in (["*/1", "*", "*", "*", "*"],
                                                         ["*", "*", "*", "*", "*"])


@exercise("11.jobs", "Exercise 1: run to completion, once and four times")
def jobs() -> list[Check]:
    return [
        k.field("job", "pi", "spec.template.spec.containers[0].image",
                test=lambda v: isinstance(v, str) and v.startswith("perl"),
                description="job pi runs a perl image",
                hint=ladder("kubectl get job pi -o wide: IMAGES.",
                            "The pi computation needs an image that has perl.",
                            "kubectl create job <name> --image=<image> -- <command> …")),
        finished("pi", succeeded=1),
        k.variable("pi_head", compute=pi_head,
                   description="pi_head holds the first ten characters job pi printed",
                   hint=ladder("kubectl logs job/pi",
                               "A Job's output is its pod's log; it outlives the pod's end.",
                               "the log's text[:10], as a string")),
        k.field("job", "batch", "spec.completions", 4,
                hint=ladder("kubectl get job batch: COMPLETIONS.",
                            "spec.completions is how many pods must succeed.",
                            "kubectl explain job.spec.completions")),
        k.field("job", "batch", "spec.parallelism", 2,
                hint=ladder("kubectl get job batch -o yaml: spec.",
                            "spec.parallelism is how many pods run at the same time.",
                            "kubectl explain job.spec.parallelism")),
        finished("batch", succeeded=4),
        pi_printed(),
    ]


@exercise("11.backoff", "Exercise 2: predict, then watch a Job give up")
def backoff() -> list[Check]:
    return [
        k.variable("predicted_pods", expected=BACKOFF_LIMIT + 1, points=2,
                   description="predicted_pods: how many pods job flaky creates before it "
                               "gives up",
                   hint=ladder("kubectl explain job.spec.backoffLimit",
                               "backoffLimit counts retries, after the first try.",
                               "the first pod plus one pod per retry")),
        k.field("job", "flaky", "spec.backoffLimit", BACKOFF_LIMIT,
                hint=ladder("kubectl get job flaky -o yaml: spec.backoffLimit.",
                            "Without it a Job retries six times.",
                            "spec: backoffLimit: <retries>")),
        gave_up("flaky"),
        k.pods("job-name=flaky", count=BACKOFF_LIMIT + 1, phase="Failed",
               description=f"job flaky left {BACKOFF_LIMIT + 1} failed pods",
               hint=ladder("kubectl get pods -l job-name=flaky",
                           "Each retry is a new pod; failed pods stay for their logs.",
                           "restartPolicy: Never, and a command that exits 1")),
    ]


@exercise("11.cron", "Exercise 3: a CronJob every minute, run now, then paused")
def cron() -> list[Check]:
    return [
        k.field("cronjob", CRON, "spec.schedule", test=every_minute,
                description=f"cronjob {CRON} runs every minute",
                hint=ladder(f"kubectl get cronjob {CRON}: SCHEDULE.",
                            "Five fields: minute, hour, day of month, month, day of week.",
                            "--schedule='<minute> <hour> <day> <month> <weekday>'")),
        k.field("cronjob", CRON, "status.lastScheduleTime",
                test=lambda v: bool(v),
                description=f"cronjob {CRON} started a Job on its schedule",
                hint=ladder(f"kubectl get cronjob {CRON}: LAST SCHEDULE.",
                            "The CronJob controller starts a Job at each scheduled minute "
                            "unless the CronJob is suspended.",
                            f"kubectl wait --for=jsonpath='{{.status.lastScheduleTime}}' "
                            f"cronjob/{CRON}")),
        k.field("job", MANUAL, "metadata.annotations.cronjob\\.kubernetes\\.io/instantiate",
                "manual", description=f"job {MANUAL} was made from cronjob {CRON}",
                hint=ladder(f"kubectl get job {MANUAL} -o yaml: annotations and "
                            "ownerReferences.",
                            "kubectl create job can copy a CronJob's jobTemplate.",
                            "kubectl create job <name> --from=cronjob/<cronjob>")),
        job_logs(MANUAL, "tick"),
        k.field("cronjob", CRON, "spec.suspend", True,
                hint=ladder(f"kubectl get cronjob {CRON}: SUSPEND.",
                            "A suspended CronJob keeps its definition and history but starts "
                            "no new Jobs.",
                            "kubectl patch cronjob <name> -p '<JSON merge patch of "
                            "spec.suspend>'")),
    ]
