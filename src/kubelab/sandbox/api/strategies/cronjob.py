"""batch/v1 CronJobs: defaults and validation with upstream wording.

Mirrors ``pkg/registry/batch/cronjob/strategy.go``, ``SetDefaults_CronJob`` in
``pkg/apis/batch/v1/defaults.go`` (``concurrencyPolicy: Allow``, ``suspend: false``, history
limits 3 and 1; the ``jobTemplate``'s Job spec is not defaulted, only its pod template) and
``ValidateCronJobCreate`` in ``pkg/apis/batch/validation/validation.go``: the name leaves room
for the 11-character suffix of the Jobs it creates (52 characters), the schedule parses as a
standard 5-field cron line or a ``@`` descriptor (upstream uses robfig/cron's
``ParseStandard``; the sandbox parses with croniter, reporting robfig's wording for the
common mistakes), the time zone is a tz database name, and the job template is a valid Job
spec whose selector will be generated.
"""

from __future__ import annotations

import re
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from kubelab.sandbox.api.errors import Cause
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.api.strategies import Obj, register
from kubelab.sandbox.api.strategies.job import validate_job_spec
from kubelab.sandbox.api.strategies.pod import default_pod_template
from kubelab.sandbox.api.strategies.workload import WorkloadStrategy, spec_to_default
from kubelab.sandbox.api.validation import (
    go_label_selector,
    invalid,
    not_supported,
    required,
    validate_nonnegative,
    validate_object_meta,
)

CONCURRENCY_POLICIES = ("Allow", "Forbid", "Replace")
#: ``validation.DNS1123SubdomainMaxLength`` minus the 11 characters of ``-<scheduled time>``.
MAX_CRONJOB_NAME = 52

#: robfig/cron's descriptors (``ParseStandard`` accepts these and ``@every``).
DESCRIPTORS = {
    "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))


def standard_schedule(schedule: str) -> str:
    """The 5-field form of a schedule (descriptors expanded, ``?`` as ``*``)."""
    text = schedule.strip()
    return DESCRIPTORS.get(text, text).replace("?", "*")


def schedule_error(schedule: str) -> str | None:
    """Why ``cron.ParseStandard`` refuses ``schedule`` (None when it parses)."""
    text = schedule.strip()
    if not text:
        return "empty spec string"
    if text.startswith("@") and text not in DESCRIPTORS:
        if text.startswith("@every "):
            return None
        return f"unrecognized descriptor: {text}"
    fields = standard_schedule(text).split()
    if len(fields) != 5:
        return f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]"
    for field, (low, high) in zip(fields, _BOUNDS, strict=True):
        for number in re.findall(r"\d+", field):
            value = int(number)
            if value > high and "/" not in field.split(number)[0]:
                return f"end of range ({value}) above maximum ({high}): {field}"
            if value < low and "/" not in field.split(number)[0]:
                return f"beginning of range ({value}) below minimum ({low}): {field}"
    if not croniter.is_valid(" ".join(fields)):
        return f"failed to parse {text}"
    return None


def time_zone_error(name: str) -> str | None:
    """``time.LoadLocation``'s refusal of ``name``, as upstream's validation reports it."""
    if name in ("", "Local") or name.startswith(("/", ".")) or ".." in name:
        return f"unknown time zone {name}"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return f"unknown time zone {name}"
    return None


def validate_job_template(template: Any, path: str) -> list[Cause]:
    """``ValidateJobTemplateSpec``: a Job spec whose selector the Job's API will generate."""
    template = template if isinstance(template, dict) else {}
    spec = template.get("spec") or {}
    causes = validate_job_spec(spec, f"{path}.spec")
    if spec.get("selector") is not None:
        causes.append(invalid(f"{path}.spec.selector", go_label_selector(spec["selector"]),
                              "`selector` will be auto-generated"))
    if spec.get("manualSelector"):
        causes.append(not_supported(f"{path}.spec.manualSelector", True, ("nil", "false")))
    return causes


class CronJobStrategy(WorkloadStrategy):
    """``cronJobStrategy``: spec/status split, generation follows the spec."""

    def default(self, obj: Obj) -> None:
        spec = spec_to_default(obj)
        if spec is None:
            return
        if not spec.get("concurrencyPolicy"):
            spec["concurrencyPolicy"] = "Allow"
        if spec.get("suspend") is None:
            spec["suspend"] = False
        if spec.get("successfulJobsHistoryLimit") is None:
            spec["successfulJobsHistoryLimit"] = 3
        if spec.get("failedJobsHistoryLimit") is None:
            spec["failedJobsHistoryLimit"] = 1
        job_template = spec.get("jobTemplate")
        if isinstance(job_template, dict) and isinstance(job_template.get("spec"), dict):
            default_pod_template(job_template["spec"].get("template"), "CronJob")

    def validate(self, obj: Obj, info: KindInfo) -> list[Cause]:
        spec = obj.get("spec") or {}
        causes = validate_object_meta(obj, info)
        name = (obj.get("metadata") or {}).get("name", "")
        if len(name) > MAX_CRONJOB_NAME:
            causes.append(invalid("metadata.name", name,
                                  f"must be no more than {MAX_CRONJOB_NAME} characters"))
        schedule = spec.get("schedule")
        time_zone = spec.get("timeZone")
        if not schedule:
            causes.append(required("spec.schedule"))
        else:
            if "TZ" in schedule:
                detail = ("cannot use both timeZone field and TZ or CRON_TZ in schedule"
                          if time_zone is not None else
                          "cannot use TZ or CRON_TZ in schedule, use timeZone field instead")
                causes.append(invalid("spec.schedule", schedule, detail))
            else:
                error = schedule_error(schedule)
                if error is not None:
                    causes.append(invalid("spec.schedule", schedule, error))
        if time_zone is not None:
            error = time_zone_error(time_zone)
            if error is not None:
                causes.append(invalid("spec.timeZone", time_zone, error))
        policy = spec.get("concurrencyPolicy", "")
        if policy not in CONCURRENCY_POLICIES:
            causes.append(not_supported("spec.concurrencyPolicy", policy, CONCURRENCY_POLICIES))
        for field in ("startingDeadlineSeconds", "successfulJobsHistoryLimit",
                      "failedJobsHistoryLimit"):
            causes += validate_nonnegative(spec.get(field), f"spec.{field}")
        if spec.get("jobTemplate") is None:
            causes.append(required("spec.jobTemplate"))
        else:
            causes += validate_job_template(spec.get("jobTemplate"), "spec.jobTemplate")
        return causes

    def initial_status(self, obj: Obj) -> Obj | None:
        return {}


register("batch/v1", "CronJob", CronJobStrategy())
