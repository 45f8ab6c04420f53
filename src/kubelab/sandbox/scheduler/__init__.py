"""The sandbox's kube-scheduler: explainable filter + score, bound through ``pods/binding``.

:func:`scheduler` builds the component the reconcile runner drives; :func:`explain` answers
"why is my pod Pending?" node by node without scheduling anything. See :mod:`.plugins` for
the filters, scores and the exact ``FailedScheduling`` wording, and :mod:`.scheduler` for the
queue back-off and the assume cache.
"""

from __future__ import annotations

from kubelab.sandbox.reconcile.types import Reconciler
from kubelab.sandbox.scheduler.plugins import NodeVerdict, fit_error
from kubelab.sandbox.scheduler.scheduler import Scheduler, backoff_seconds, explain

__all__ = ["NodeVerdict", "Scheduler", "backoff_seconds", "explain", "fit_error", "scheduler"]


def scheduler() -> Reconciler:
    """A fresh ``default-scheduler`` (its assume cache and back-off start empty)."""
    return Scheduler()
