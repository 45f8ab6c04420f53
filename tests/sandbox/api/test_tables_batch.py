"""``printJob`` and ``printCronJob`` (``pkg/printers/internalversion/printers.go``): the
columns kubectl prints for ``get jobs`` and ``get cronjobs`` and how each cell is formed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from kubelab.sandbox.api import kinds, tables
from kubelab.sandbox.clock import ManualClock, rfc3339

NOW = ManualClock().now()
T0 = rfc3339(NOW - timedelta(minutes=5))
T1 = rfc3339(NOW - timedelta(minutes=4, seconds=30))


def cond(ctype: str, status: str = "True") -> dict[str, str]:
    return {"type": ctype, "status": status}


def job(spec: dict[str, Any], status: dict[str, Any], deleting: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "pi", "creationTimestamp": T0}
    if deleting:
        meta["deletionTimestamp"] = rfc3339(NOW)
    return {"metadata": meta, "spec": {**spec, "template": {"spec": {"containers": [
        {"name": "pi", "image": "perl:5.34.0"}]}}}, "status": status}


def test_job_columns_are_kubectls() -> None:
    names = [c["name"] for c in tables.column_definitions(kinds.resource("jobs.batch"))]
    assert names == ["Name", "Status", "Completions", "Duration", "Age", "Containers",
                     "Images", "Selector"]
    names = [c["name"] for c in tables.column_definitions(kinds.resource("cronjobs.batch"))]
    assert names == ["Name", "Schedule", "Timezone", "Suspend", "Active", "Last Schedule",
                     "Age", "Containers", "Images", "Selector"]


@pytest.mark.parametrize(("spec", "status", "deleting", "cells"), [
    ({"completions": 1, "parallelism": 1}, {"startTime": T0, "active": 1}, False,
     ["Running", "0/1", "5m"]),
    ({"completions": 3}, {"startTime": T0, "completionTime": T1, "succeeded": 3,
                          "conditions": [cond("SuccessCriteriaMet"), cond("Complete")]},
     False, ["Complete", "3/3", "30s"]),
    ({"parallelism": 4}, {"succeeded": 1}, False, ["Running", "1/1 of 4", ""]),
    ({"parallelism": 1}, {}, False, ["Running", "0/1", ""]),
    ({"completions": 1}, {"conditions": [cond("FailureTarget"), cond("Failed")]}, False,
     ["Failed", "0/1", ""]),
    ({"completions": 1}, {"conditions": [cond("FailureTarget")]}, True,
     ["Terminating", "0/1", ""]),
    ({"completions": 1}, {"conditions": [cond("Suspended")]}, False, ["Suspended", "0/1", ""]),
    ({"completions": 1}, {"conditions": [cond("Suspended", "False")]}, False,
     ["Running", "0/1", ""]),
    ({"completions": 1}, {"conditions": [cond("SuccessCriteriaMet")]}, False,
     ["SuccessCriteriaMet", "0/1", ""]),
])
def test_job_cells(spec: dict[str, Any], status: dict[str, Any], deleting: bool,
                   cells: list[str]) -> None:
    row = tables.print_job(job(spec, status, deleting), NOW)
    assert row.cells[:5] == ["pi", *cells, "5m"]
    assert row.cells[5:7] == ["pi", "perl:5.34.0"]


def test_cronjob_cells() -> None:
    obj = {"metadata": {"name": "hello", "creationTimestamp": T0},
           "spec": {"schedule": "*/1 * * * *", "suspend": False, "jobTemplate": {"spec": {
               "template": {"spec": {"containers": [{"name": "hello", "image": "busybox"}]}}}}},
           "status": {"active": [{"name": "hello-1"}], "lastScheduleTime": T1}}
    row = tables.print_cron_job(obj, NOW)
    assert row.cells == ["hello", "*/1 * * * *", "<none>", "False", 1, "4m30s", "5m", "hello",
                         "busybox", "<none>"]
    obj["spec"]["timeZone"] = "Europe/Berlin"
    del obj["spec"]["suspend"]
    del obj["status"]
    row = tables.print_cron_job(obj, NOW)
    assert row.cells[2:6] == ["Europe/Berlin", "<unset>", 0, "<none>"]
