"""Probe workers: when a probe is due, and what consecutive results mean.

Mirrors the kubelet's prober (``pkg/kubelet/prober/worker.go`` and ``prober.go``): each
container probe gets a worker that first runs ``initialDelaySeconds`` after the container
started, then every ``periodSeconds``; ``successThreshold`` consecutive successes flip the
result to Success and ``failureThreshold`` consecutive failures to Failure. Readiness and
startup start as Failure (a container is neither ready nor started until a probe passes),
liveness as Success. While a startup probe has not succeeded the other probes wait; once it
has, it stops running.
Every failed probe records a ``Warning Unhealthy`` event ``<Kind> probe failed: <output>``.

The worker is pure state; who runs the probe (the agent over real HTTP, a test with a fake)
calls :meth:`ProbeWorker.observe` with the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from kubelab.apimachinery.types import Obj
from kubelab.sandbox.clock import Clock

KINDS = ("startup", "liveness", "readiness")
_FIELD = {"startup": "startupProbe", "liveness": "livenessProbe", "readiness": "readinessProbe"}


@dataclass(frozen=True)
class ProbeSpec:
    """A container probe with upstream defaults (``SetDefaults_Probe``)."""

    kind: str
    handler: Obj
    initial_delay: float = 0.0
    period: float = 10.0
    timeout: float = 1.0
    success_threshold: int = 1
    failure_threshold: int = 3

    @classmethod
    def of(cls, kind: str, probe: Obj) -> ProbeSpec:
        handler = {k: v for k, v in probe.items()
                   if k in ("httpGet", "tcpSocket", "exec", "grpc")}
        return cls(kind, handler,
                   float(probe.get("initialDelaySeconds") or 0),
                   float(probe.get("periodSeconds") or 10),
                   float(probe.get("timeoutSeconds") or 1),
                   int(probe.get("successThreshold") or 1),
                   int(probe.get("failureThreshold") or 3))


def container_probes(container: Obj) -> dict[str, ProbeSpec]:
    return {kind: ProbeSpec.of(kind, container[_FIELD[kind]])
            for kind in KINDS if container.get(_FIELD[kind])}


@dataclass
class ProbeWorker:
    spec: ProbeSpec
    started_at: datetime
    runs: int = 0
    successes: int = 0
    failures: int = 0
    result: bool = True
    #: Failure outputs not yet turned into events by the kubelet.
    pending_failures: list[str] = field(default_factory=list)
    #: Fault injection: every probe fails with this output.
    forced_failure: str | None = None
    #: The last outcome (None before the first run) and whether a fault was forced then.
    last_ok: bool | None = None
    last_output: str = ""
    last_forced: bool = False

    def __post_init__(self) -> None:
        self.result = self.spec.kind == "liveness"

    @property
    def gave_up(self) -> bool:
        """``failureThreshold`` consecutive failures: the container must be restarted."""
        return self.failures >= self.spec.failure_threshold

    @property
    def steady(self) -> bool:
        """Whether another outcome like the last would change nothing: the result already
        says what it says (successes enough to pass, or a failing readiness probe whose
        container is not ready: it stays so, with an ``Unhealthy`` event per run), and no fault was
        forced or lifted since. A failing liveness or startup probe never is (it is counting
        towards a restart), nor a startup probe at all (it runs only until it passes).
        Whether the container will answer as it did is the prober's question, not this."""
        if self.last_ok is None or self.spec.kind == "startup" \
                or self.last_forced != (self.forced_failure is not None):
            return False
        if self.last_ok:
            return self.result and self.successes >= self.spec.success_threshold
        return self.spec.kind == "readiness" and not self.result

    def due_in(self, clock: Clock) -> float:
        """Simulated seconds until the next probe (0 or less: due now)."""
        next_at = self.spec.initial_delay + self.runs * self.spec.period
        return next_at - clock.sim_elapsed(self.started_at)

    def observe(self, ok: bool, output: str) -> bool:
        """Count one probe outcome; return True when the result flipped."""
        self.runs += 1
        self.last_forced = self.forced_failure is not None
        if self.forced_failure is not None:
            ok, output = False, self.forced_failure
        self.last_ok, self.last_output = ok, output
        if ok:
            self.successes += 1
            self.failures = 0
        else:
            self.failures += 1
            self.successes = 0
            self.pending_failures.append(output)
        before = self.result
        if ok and self.successes >= self.spec.success_threshold:
            self.result = True
        elif not ok and self.failures >= self.spec.failure_threshold:
            self.result = False
        return before != self.result


def event_message(kind: str, output: str) -> str:
    """``Liveness probe failed: HTTP probe failed with statuscode: 404``."""
    return f"{kind.capitalize()} probe failed: {output}"
