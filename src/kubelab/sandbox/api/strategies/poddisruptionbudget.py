"""policy/v1 PodDisruptionBudgets: validation with upstream wording, and the budget helpers
the eviction subresource and the disruption controller share.

Mirrors ``pkg/registry/policy/poddisruptionbudget/strategy.go`` (status cleared on create
and kept on a main-resource update, ``metadata.generation`` bumped on spec changes; in
policy/v1 the spec is mutable), ``ValidatePodDisruptionBudget`` in
``pkg/apis/policy/validation/validation.go`` (``minAvailable`` xor ``maxUnavailable``, each a
non-negative integer or a percentage of at most 100%, a well-formed selector, a supported
``unhealthyPodEvictionPolicy``) and ``k8s.io/component-helpers/apps/poddisruptionbudget``
(the ``DisruptionAllowed`` condition). In policy/v1 an empty selector (``{}``) selects every
pod of the namespace and a missing one none.
"""

from __future__ import annotations

import hashlib
from typing import Any

from kubelab.apimachinery.selectors import selector_matches
from kubelab.sandbox.api.errors import Cause
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.api.strategies import Obj, Strategy, register
from kubelab.sandbox.api.strategies.deployment import int_or_percent_errors
from kubelab.sandbox.api.validation import (
    GoRepr,
    invalid,
    not_supported,
    validate_label_selector,
    validate_object_meta,
)

UNHEALTHY_POD_EVICTION_POLICIES = ("AlwaysAllow", "IfHealthyBudget")
DISRUPTION_ALLOWED = "DisruptionAllowed"
SUFFICIENT_PODS = "SufficientPods"
INSUFFICIENT_PODS = "InsufficientPods"
SYNC_FAILED = "SyncFailed"


def _go_pointer(type_name: str, value: Any, seed: str) -> str:
    """``%#v`` of a pointer field: ``(*T)(nil)``, or ``(*T)(0xc…)`` with an address (a real
    server prints the heap address; this one derives a stable one from the object)."""
    if value is None:
        return f"(*{type_name})(nil)"
    digest = int(hashlib.sha256(seed.encode()).hexdigest()[:7], 16) & ~0x1F
    return f"(*{type_name})(0xc{digest:09x})"


def _spec_repr(spec: dict[str, Any], name: str) -> GoRepr:
    """``%#v`` of ``policy.PodDisruptionBudgetSpec``, as ``field.Invalid(spec, …)`` prints it."""
    fields = (("MinAvailable", "intstr.IntOrString", "minAvailable"),
              ("Selector", "v1.LabelSelector", "selector"),
              ("MaxUnavailable", "intstr.IntOrString", "maxUnavailable"),
              ("UnhealthyPodEvictionPolicy", "policy.UnhealthyPodEvictionPolicyType",
               "unhealthyPodEvictionPolicy"))
    body = ", ".join(f"{go}:{_go_pointer(t, spec.get(key), f'{name}/{key}')}"
                     for go, t, key in fields)
    return GoRepr("policy.PodDisruptionBudgetSpec{" + body + "}")


def _not_more_than_100_percent(value: Any, path: str) -> list[Cause]:
    """``IsNotMoreThan100Percent``."""
    if isinstance(value, str) and value.endswith("%") and value[:-1].isdigit() \
            and int(value[:-1]) > 100:
        return [invalid(path, value, "must not be greater than 100%")]
    return []


def validate_pdb_spec(spec: dict[str, Any], name: str) -> list[Cause]:
    """``ValidatePodDisruptionBudgetSpec``."""
    causes: list[Cause] = []
    min_available, max_unavailable = spec.get("minAvailable"), spec.get("maxUnavailable")
    if min_available is not None and max_unavailable is not None:
        causes.append(invalid("spec", _spec_repr(spec, name),
                              "minAvailable and maxUnavailable cannot be both set"))
    for key, value in (("minAvailable", min_available), ("maxUnavailable", max_unavailable)):
        if value is not None:
            causes += int_or_percent_errors(value, f"spec.{key}")
            causes += _not_more_than_100_percent(value, f"spec.{key}")
    causes += validate_label_selector(spec.get("selector"), "spec.selector")
    policy = spec.get("unhealthyPodEvictionPolicy")
    if policy is not None and policy not in UNHEALTHY_POD_EVICTION_POLICIES:
        causes.append(not_supported("spec.unhealthyPodEvictionPolicy", policy,
                                    UNHEALTHY_POD_EVICTION_POLICIES))
    return causes


def selects(pdb: Obj, pod: Obj) -> bool:
    """Whether ``pdb`` covers ``pod``: same namespace and its selector matches (nil: none;
    the eviction handler also skips an empty one, ``getPodDisruptionBudgets``)."""
    pdb_meta, pod_meta = pdb.get("metadata") or {}, pod.get("metadata") or {}
    if pdb_meta.get("namespace") != pod_meta.get("namespace"):
        return False
    return selector_matches((pdb.get("spec") or {}).get("selector"), pod_meta.get("labels"))


def conditions_up_to_date(pdb: Obj) -> bool:
    """``ConditionsAreUpToDate``."""
    status = pdb.get("status") or {}
    cond = next((c for c in status.get("conditions") or []
                 if c.get("type") == DISRUPTION_ALLOWED), None)
    if cond is None:
        return False
    if status.get("observedGeneration") != (pdb.get("metadata") or {}).get("generation"):
        return False
    if int(status.get("disruptionsAllowed") or 0) > 0:
        return bool(cond.get("status") == "True" and cond.get("reason") == SUFFICIENT_PODS)
    return bool(cond.get("status") == "False" and cond.get("reason") == INSUFFICIENT_PODS)


def set_condition(status: dict[str, Any], status_value: str, reason: str, message: str,
                  now: str) -> None:
    """``meta.SetStatusCondition`` for ``DisruptionAllowed``: the transition time moves
    only when the status changes."""
    conditions = [dict(c) for c in status.get("conditions") or []]
    new = {"type": DISRUPTION_ALLOWED, "status": status_value,
           "observedGeneration": int(status.get("observedGeneration") or 0),
           "lastTransitionTime": now, "reason": reason, "message": message}
    for i, old in enumerate(conditions):
        if old.get("type") == DISRUPTION_ALLOWED:
            if old.get("status") == status_value:
                new["lastTransitionTime"] = old.get("lastTransitionTime", now)
            conditions[i] = new
            break
    else:
        conditions.append(new)
    status["conditions"] = conditions


def update_disruption_allowed_condition(status: dict[str, Any], now: str) -> None:
    """``UpdateDisruptionAllowedCondition``: True/SufficientPods when a disruption is
    allowed, else False/InsufficientPods."""
    if int(status.get("disruptionsAllowed") or 0) > 0:
        set_condition(status, "True", SUFFICIENT_PODS, "", now)
    else:
        set_condition(status, "False", INSUFFICIENT_PODS, "", now)


class PodDisruptionBudgetStrategy(Strategy):
    """``podDisruptionBudgetStrategy``."""

    has_spec = True
    has_status_subresource = True

    def validate(self, obj: Obj, info: KindInfo) -> list[Cause]:
        spec = obj.get("spec") or {}
        name = str((obj.get("metadata") or {}).get("name", ""))
        return validate_object_meta(obj, info) + validate_pdb_spec(spec, name)

    def initial_status(self, obj: Obj) -> Obj | None:
        # ``PodDisruptionBudgetStatus{}``: its four counts are not omitempty.
        return {"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0,
                "expectedPods": 0}


register("policy/v1", "PodDisruptionBudget", PodDisruptionBudgetStrategy())
