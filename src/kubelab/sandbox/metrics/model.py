"""The CPU and memory model of the simulated images (pure).

A container's CPU use over a scrape interval is the sum of

* its image's idle baseline (a web server waiting for requests uses about a millicore);
* the CPU its requests cost: the app counts the HTTP requests it served, and an image that
  does work per request says how much (``HttpApp.cpu_seconds_per_request``: hpa-example's
  square-root loop is 20 ms of CPU per request);
* a busy shell loop (``while true; do :; done``, a program that used its whole step budget
  when last stepped) runs flat out: its CPU limit, or a whole core without one; a program
  busy sending requests (a load generator's ``wget`` loop) pays 2 ms per request instead;

and never more than its CPU limit: the CFS quota throttles a container at its limit, which
is why hpa-example under load shows 500m (its limit), not the 2 cores the load asks for.
Memory is the image's working set, constant. The figures are plausible values for these
images, not measurements; the behaviour (what rises with load, what the limit caps) is the
point.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

#: (idle CPU in millicores, working set in MiB) by image repository; shells and sleepers
#: use next to nothing.
BASELINES: dict[str, tuple[float, float]] = {
    "registry.k8s.io/hpa-example": (1.0, 10.8),
    "docker.io/library/nginx": (0.5, 3.6),
    "docker.io/library/httpd": (1.0, 5.2),
    "docker.io/library/redis": (2.0, 3.1),
    "docker.io/library/busybox": (0.0, 0.4),
    "docker.io/library/alpine": (0.0, 0.5),
    "docker.io/library/perl": (0.5, 2.8),
    "docker.io/library/python": (1.0, 9.5),
    "registry.k8s.io/e2e-test-images/agnhost": (1.0, 4.4),
    "registry.k8s.io/coredns/coredns": (2.0, 13.6),
    "registry.k8s.io/kube-proxy": (1.0, 11.9),
}
DEFAULT_BASELINE = (1.0, 6.0)
#: What one request costs the program sending it (BusyBox ``wget``: a fork, a DNS lookup, a
#: connection and the copy of the answer).
CLIENT_CPU_SECONDS_PER_REQUEST = 0.002
#: A busy loop without a CPU limit runs on one core.
UNLIMITED_BUSY_CORES = 1.0
MIB = 1024 * 1024


@dataclass(frozen=True)
class ContainerFacts:
    """What a kubelet knows about one running container, for its resource metrics."""

    namespace: str
    pod: str
    pod_uid: str
    container: str
    restart: int
    image: str  # the normalised repository (``docker.io/library/nginx``)
    started_at: datetime
    requests_served: float = 0.0
    cpu_seconds_per_request: float = 0.0
    busy: bool = False
    cpu_limit_cores: float | None = None
    #: Requests the container's own program sent (a ``wget`` loop), weighted as served.
    client_requests: float = 0.0

    @property
    def instance(self) -> tuple[str, str, int]:
        """One run of the container: a restart starts its counters again."""
        return (self.pod_uid, self.container, self.restart)


@dataclass(frozen=True)
class Usage:
    """A container's usage over one interval: CPU in cores, memory in bytes."""

    cpu_cores: float
    memory_bytes: int


def baseline(image: str) -> tuple[float, float]:
    return BASELINES.get(image, DEFAULT_BASELINE)


def interval_usage(facts: ContainerFacts, seconds: float, new_requests: float,
                   sent: float = 0.0) -> Usage:
    """The container's usage over ``seconds`` simulated seconds in which it served
    ``new_requests`` requests and its program sent ``sent`` (the module docstring's model)."""
    idle_millicores, memory_mib = baseline(facts.image)
    memory = int(memory_mib * MIB) // 1024 * 1024
    if seconds <= 0:
        return Usage(idle_millicores / 1000, memory)
    cpu_seconds = idle_millicores / 1000 * seconds
    cpu_seconds += max(new_requests, 0) * facts.cpu_seconds_per_request
    cpu_seconds += max(sent, 0) * CLIENT_CPU_SECONDS_PER_REQUEST
    if facts.busy:
        cpu_seconds += (facts.cpu_limit_cores or UNLIMITED_BUSY_CORES) * seconds
    cores = cpu_seconds / seconds
    if facts.cpu_limit_cores is not None:
        cores = min(cores, facts.cpu_limit_cores)
    return Usage(cores, memory)
