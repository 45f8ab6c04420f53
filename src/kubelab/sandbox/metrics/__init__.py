"""Resource metrics: what the kubelet's cAdvisor measures and metrics-server serves.

On a real cluster the kubelet reports each container's cumulative CPU time and working-set
memory (``/metrics/resource``), metrics-server scrapes every kubelet every 15 s
(``--metric-resolution``), turns two samples into a CPU rate and serves the result as the
aggregated API ``metrics.k8s.io/v1beta1`` (``NodeMetrics``, ``PodMetrics``): what
``kubectl top`` prints and what the HorizontalPodAutoscaler controller scales on.

The sandbox runs no processes, so the numbers come from a model of its simulated images
(:mod:`.model`: an idle baseline per image, CPU per HTTP request an app served, a busy
shell loop using its whole CPU limit, memory per image), integrated on the sandbox clock by
:class:`.server.MetricsServer`, which scrapes the simulated kubelets through the fabric on
metrics-server's schedule. This is simulation: the shape of the API, the resolution, the
window and the way CPU is capped by a limit follow upstream; the absolute numbers are
plausible, not measured.
"""

from __future__ import annotations

from kubelab.sandbox.metrics.model import ContainerFacts, Usage
from kubelab.sandbox.metrics.server import METRIC_RESOLUTION, MetricsServer, PodUsage

__all__ = ["METRIC_RESOLUTION", "ContainerFacts", "MetricsServer", "PodUsage", "Usage"]
