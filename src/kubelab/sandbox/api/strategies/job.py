"""batch/v1 Jobs: defaults, the generated selector and validation with upstream wording.

Mirrors ``pkg/registry/batch/job/strategy.go`` (status cleared on create, generation bumped
on spec changes, the selector and pod labels generated from the Job's UID unless
``manualSelector`` is true), ``SetDefaults_Job`` in ``pkg/apis/batch/v1/defaults.go`` and
``ValidateJob`` / ``ValidateJobSpecUpdate`` in ``pkg/apis/batch/validation/validation.go``.
The spec checks are shared with a CronJob's ``jobTemplate`` (upstream's
``ValidateJobTemplateSpec`` reuses them too).
"""

from __future__ import annotations

from typing import Any

from kubelab.apimachinery.selectors import selector_matches
from kubelab.sandbox.api.errors import Cause
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.api.strategies import Obj, register
from kubelab.sandbox.api.strategies.pod import default_pod_template, validate_pod_template
from kubelab.sandbox.api.strategies.workload import (
    WorkloadStrategy,
    copy_template_labels,
    spec_to_default,
)
from kubelab.sandbox.api.validation import (
    go_label_selector,
    go_string_map,
    invalid,
    not_supported,
    required,
    validate_immutable,
    validate_label_selector,
    validate_nonnegative,
    validate_object_meta,
)

#: Labels the API server puts on a Job's pod template (and the selector's key).
CONTROLLER_UID_LABEL = "batch.kubernetes.io/controller-uid"
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"
LEGACY_CONTROLLER_UID_LABEL = "controller-uid"
LEGACY_JOB_NAME_LABEL = "job-name"

MAX_INT32 = 2**31 - 1
MAX_PARALLELISM_FOR_INDEXED = 100_000
COMPLETION_MODES = ("NonIndexed", "Indexed")
JOB_RESTART_POLICIES = ("OnFailure", "Never")
POD_FAILURE_ACTIONS = ("Count", "FailIndex", "FailJob", "Ignore")


def default_job_spec(spec: Any, kind: str = "Job") -> None:
    """``SetDefaults_Job``'s spec part (parallelism, completions, backoffLimit, modes)."""
    if not isinstance(spec, dict):
        return
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
        spec["parallelism"] = 1
    if spec.get("parallelism") is None:
        spec["parallelism"] = 1
    if spec.get("backoffLimit") is None:
        spec["backoffLimit"] = MAX_INT32 if spec.get("backoffLimitPerIndex") is not None else 6
    if spec.get("completionMode") is None:
        spec["completionMode"] = "NonIndexed"
    if spec.get("suspend") is None:
        spec["suspend"] = False
    policy = spec.get("podFailurePolicy")
    if isinstance(policy, dict):
        for rule in policy.get("rules") or []:
            for pattern in (rule or {}).get("onPodConditions") or []:
                if isinstance(pattern, dict) and not pattern.get("status"):
                    pattern["status"] = "True"
    if spec.get("podReplacementPolicy") is None:
        spec["podReplacementPolicy"] = "Failed" if policy is not None \
            else "TerminatingOrFailed"
    default_pod_template(spec.get("template"), kind)


def generate_selector(job: Obj) -> None:
    """``generateSelector``: the Job's UID as selector, and the labels on its pod template."""
    spec = job.setdefault("spec", {})
    meta = job.get("metadata") or {}
    uid, name = meta.get("uid", ""), meta.get("name", "")
    template = spec.get("template")
    if not isinstance(template, dict):
        return
    tmeta = template.setdefault("metadata", {}) or {}
    template["metadata"] = tmeta
    labels = tmeta.setdefault("labels", {}) or {}
    tmeta["labels"] = labels
    for key, value in ((CONTROLLER_UID_LABEL, uid), (JOB_NAME_LABEL, name),
                       (LEGACY_CONTROLLER_UID_LABEL, uid), (LEGACY_JOB_NAME_LABEL, name)):
        labels.setdefault(key, value)
    if spec.get("selector") is None:
        spec["selector"] = {"matchLabels": {CONTROLLER_UID_LABEL: uid}}


def validate_job_spec(spec: Any, path: str) -> list[Cause]:
    """``validateJobSpec``: counts, completion mode, podFailurePolicy and the pod template."""
    spec = spec if isinstance(spec, dict) else {}
    causes: list[Cause] = []
    for field in ("parallelism", "completions", "activeDeadlineSeconds", "backoffLimit",
                  "ttlSecondsAfterFinished", "backoffLimitPerIndex", "maxFailedIndexes"):
        causes += validate_nonnegative(spec.get(field), f"{path}.{field}")
    mode = spec.get("completionMode")
    if mode is not None and mode not in COMPLETION_MODES:
        causes.append(not_supported(f"{path}.completionMode", mode, COMPLETION_MODES))
    if mode == "Indexed":
        if spec.get("completions") is None:
            causes.append(required(f"{path}.completions", "when completion mode is Indexed"))
        parallelism = spec.get("parallelism")
        if isinstance(parallelism, int) and parallelism > MAX_PARALLELISM_FOR_INDEXED:
            causes.append(invalid(f"{path}.parallelism", parallelism,
                                  "must be less than or equal to 100000 when completion mode "
                                  "is Indexed"))
    template = spec.get("template")
    if not isinstance(template, dict):
        causes.append(required(f"{path}.template"))
        return causes
    causes += validate_pod_template(template, f"{path}.template")
    pod_spec = template.get("spec") or {}
    restart = pod_spec.get("restartPolicy", "")
    if restart not in JOB_RESTART_POLICIES:
        causes.append(not_supported(f"{path}.template.spec.restartPolicy", restart,
                                    JOB_RESTART_POLICIES))
    policy = spec.get("podFailurePolicy")
    if isinstance(policy, dict):
        if restart == "OnFailure":
            causes.append(invalid(f"{path}.template.spec.restartPolicy", restart,
                                  "only \"Never\" is supported when podFailurePolicy is "
                                  "specified"))
        for i, rule in enumerate(policy.get("rules") or []):
            rule = rule if isinstance(rule, dict) else {}
            rpath = f"{path}.podFailurePolicy.rules[{i}]"
            action = rule.get("action", "")
            if action not in POD_FAILURE_ACTIONS:
                causes.append(not_supported(f"{rpath}.action", action, POD_FAILURE_ACTIONS))
            has_codes = rule.get("onExitCodes") is not None
            has_conditions = bool(rule.get("onPodConditions"))
            if has_codes == has_conditions:
                causes.append(invalid(rpath, "specifying one of OnExitCodes and "
                                             "OnPodConditions is required", ""))
            codes = rule.get("onExitCodes") or {}
            operator = codes.get("operator", "")
            if has_codes and operator not in ("In", "NotIn"):
                causes.append(not_supported(f"{rpath}.onExitCodes.operator", operator,
                                            ("In", "NotIn")))
    return causes


class JobStrategy(WorkloadStrategy):
    """``jobStrategy``: spec/status split; the selector generated from the UID."""

    def default(self, obj: Obj) -> None:
        spec = spec_to_default(obj)
        if spec is None:
            return
        default_job_spec(spec)
        copy_template_labels(
            obj, ((spec.get("template") or {}).get("metadata") or {}).get("labels"))

    def validate(self, obj: Obj, info: KindInfo) -> list[Cause]:
        spec = obj.get("spec") or {}
        if not spec.get("manualSelector"):
            generate_selector(obj)
            spec = obj.get("spec") or {}
            # The stored Job is defaulted again when read (``SetDefaults_Job`` copies the
            # template's labels to a Job without labels), so a real cluster shows them.
            self.default(obj)
        causes = validate_object_meta(obj, info)
        selector = spec.get("selector")
        if selector is None:
            causes.append(required("spec.selector"))
        else:
            causes += validate_label_selector(selector, "spec.selector")
            labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels")
            if not selector_matches(selector, labels):
                causes.append(invalid("spec.template.metadata.labels", go_string_map(labels),
                                      "`selector` does not match template `labels`"))
        causes += validate_job_spec(spec, "spec")
        return causes

    def validate_update(self, obj: Obj, old: Obj, info: KindInfo) -> list[Cause]:
        spec, old_spec = obj.get("spec") or {}, old.get("spec") or {}
        causes = validate_object_meta(obj, info) + validate_job_spec(spec, "spec")
        causes += validate_immutable(spec.get("selector"), old_spec.get("selector"),
                                     "spec.selector", go_label_selector(spec.get("selector")))
        causes += validate_immutable(spec.get("completionMode"),
                                     old_spec.get("completionMode"), "spec.completionMode")
        if spec.get("completionMode") != "Indexed":
            causes += validate_immutable(spec.get("completions"), old_spec.get("completions"),
                                         "spec.completions")
        causes += validate_immutable(spec.get("podFailurePolicy"),
                                     old_spec.get("podFailurePolicy"), "spec.podFailurePolicy",
                                     "podFailurePolicy")
        if not old_spec.get("suspend") and spec.get("template") != old_spec.get("template"):
            causes += validate_immutable(spec.get("template"), old_spec.get("template"),
                                         "spec.template", "core.PodTemplateSpec{…}")
        return causes

    def initial_status(self, obj: Obj) -> Obj | None:
        return {}

    def selectable_fields(self, obj: Obj) -> dict[str, str]:
        succeeded = (obj.get("status") or {}).get("succeeded", 0)
        return super().selectable_fields(obj) | {"status.successful": str(succeeded)}


register("batch/v1", "Job", JobStrategy())
