"""batch/v1 storage: Jobs and CronJobs.

Mirrors ``pkg/registry/batch/job/storage`` and ``.../cronjob/storage``: the generic store
with a ``/status`` subresource. A Job's UID exists before its validation runs (upstream's
``BeforeCreate`` fills system fields before ``Validate``), because the selector the Job
strategy generates, and the labels it puts on the pod template, name that UID.
"""

from __future__ import annotations

from kubelab.sandbox.store.storage import Storage


class JobStorage(Storage):
    """The Job REST: the UID assigned before the strategy generates the selector."""

    uid_before_validation = True
