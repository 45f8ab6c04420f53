"""The arithmetic and bookkeeping of a Deployment rollout, as pure functions.

Mirrors ``k8s.io/kubernetes/pkg/controller/deployment/util/deployment_util.go`` (fenceposts,
``NewRSNewReplicas``, revision annotations, conditions, ``EqualIgnoreHash``) and
``pkg/controller/controller_utils.go`` (``ComputeHash``). A learner who reads
``kubectl get rs`` during a rollout sees these numbers, so they follow upstream exactly:
``maxSurge`` percentages round *up*, ``maxUnavailable`` percentages round *down*, and if both
come out 0 the rollout could never move, so ``maxUnavailable`` becomes 1.

The pod-template hash cannot be byte-identical to upstream (Go hashes a ``spew`` dump of the
typed struct), so it is fnv-1a over canonical JSON of the template, encoded the same way
(``rand.SafeEncodeString`` of the decimal number): names look and behave like real ones
(``web-7c5ddbdf54``), and equal templates always get equal hashes.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from kubelab.apimachinery.types import deep_copy_json
from kubelab.sandbox.clock import Clock
from kubelab.sandbox.controllers import common
from kubelab.sandbox.reconcile.types import Obj

UNIQUE_LABEL_KEY = "pod-template-hash"
REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
REVISION_HISTORY_ANNOTATION = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS_ANNOTATION = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS_ANNOTATION = "deployment.kubernetes.io/max-replicas"
LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration"
ROLLBACK_TO_ANNOTATION = "deprecated.deployment.rollback.to"

#: Annotations a Deployment does not copy onto its ReplicaSets (``annotationsToSkip``).
ANNOTATIONS_TO_SKIP = frozenset({
    LAST_APPLIED_ANNOTATION, REVISION_ANNOTATION, REVISION_HISTORY_ANNOTATION,
    DESIRED_REPLICAS_ANNOTATION, MAX_REPLICAS_ANNOTATION, ROLLBACK_TO_ANNOTATION,
})

#: ``maxRevHistoryLengthInChars`` in ``sync.go``.
MAX_REV_HISTORY_LENGTH_IN_CHARS = 2000

# Condition reasons (``deployment_util.go``).
REPLICA_SET_UPDATED_REASON = "ReplicaSetUpdated"
FAILED_RS_CREATE_REASON = "ReplicaSetCreateError"
NEW_REPLICA_SET_REASON = "NewReplicaSetCreated"
FOUND_NEW_RS_REASON = "FoundNewReplicaSet"
NEW_RS_AVAILABLE_REASON = "NewReplicaSetAvailable"
TIMED_OUT_REASON = "ProgressDeadlineExceeded"
PAUSED_DEPLOY_REASON = "DeploymentPaused"
RESUMED_DEPLOY_REASON = "DeploymentResumed"
MINIMUM_REPLICAS_AVAILABLE = "MinimumReplicasAvailable"
MINIMUM_REPLICAS_UNAVAILABLE = "MinimumReplicasUnavailable"

_PERCENT = re.compile(r"^(\d+)%$")


# ----------------------------------------------------------------------------- spec access


def replicas(deploy: Obj) -> int:
    value = deploy.get("spec", {}).get("replicas")
    return 1 if value is None else int(value)


def rs_replicas(rs: Obj | None) -> int:
    if rs is None:
        return 0
    return int(rs.get("spec", {}).get("replicas") or 0)


def rs_status(rs: Obj | None, field: str) -> int:
    if rs is None:
        return 0
    return int(rs.get("status", {}).get(field) or 0)


def strategy_type(deploy: Obj) -> str:
    return str(deploy.get("spec", {}).get("strategy", {}).get("type") or "RollingUpdate")


def is_rolling_update(deploy: Obj) -> bool:
    return strategy_type(deploy) == "RollingUpdate"


def _rolling(deploy: Obj) -> tuple[int | str, int | str]:
    ru = deploy.get("spec", {}).get("strategy", {}).get("rollingUpdate") or {}
    surge = ru.get("maxSurge")
    unavailable = ru.get("maxUnavailable")
    return ("25%" if surge is None else surge), ("25%" if unavailable is None else unavailable)


def min_ready_seconds(obj: Obj) -> int:
    return int(obj.get("spec", {}).get("minReadySeconds") or 0)


def progress_deadline_seconds(deploy: Obj) -> int | None:
    """``spec.progressDeadlineSeconds`` (defaulted to 600); ``None`` when unset (max int32)."""
    spec = deploy.get("spec", {})
    if "progressDeadlineSeconds" not in spec:
        return 600
    value = spec.get("progressDeadlineSeconds")
    if value is None or int(value) == 2**31 - 1:
        return None
    return int(value)


def has_progress_deadline(deploy: Obj) -> bool:
    return progress_deadline_seconds(deploy) is not None


def revision_history_limit(deploy: Obj) -> int | None:
    spec = deploy.get("spec", {})
    if "revisionHistoryLimit" not in spec:
        return 10
    value = spec.get("revisionHistoryLimit")
    return None if value is None else int(value)


# ----------------------------------------------------------------------------- arithmetic


def scaled_value(value: int | str, total: int, round_up: bool) -> int:
    """``intstr.GetScaledValueFromIntOrPercent``: an int, or a percentage of ``total``."""
    if isinstance(value, bool):
        raise ValueError(f"invalid value for IntOrString: {value!r}")
    if isinstance(value, int):
        return value
    match = _PERCENT.match(str(value))
    if not match:
        raise ValueError("invalid value for IntOrString: invalid type: string is not a "
                         "percentage")
    scaled = int(match.group(1)) * total / 100
    return math.ceil(scaled) if round_up else math.floor(scaled)


def resolve_fenceposts(max_surge: int | str | None, max_unavailable: int | str | None,
                       replicas: int) -> tuple[int, int]:
    """``ResolveFenceposts``: (surge, unavailable), surge rounded up, unavailable down.

    Both 0 would freeze the rollout, so unavailable becomes 1 then.
    """
    surge = scaled_value(0 if max_surge is None else max_surge, replicas, True)
    unavailable = scaled_value(0 if max_unavailable is None else max_unavailable,
                               replicas, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def max_surge(deploy: Obj) -> int:
    if not is_rolling_update(deploy):
        return 0
    surge, _ = resolve_fenceposts(*_rolling(deploy), replicas(deploy))
    return surge


def max_unavailable(deploy: Obj) -> int:
    if not is_rolling_update(deploy) or replicas(deploy) == 0:
        return 0
    _, unavailable = resolve_fenceposts(*_rolling(deploy), replicas(deploy))
    return min(unavailable, replicas(deploy))


def new_rs_new_replicas(deploy: Obj, all_rss: list[Obj], new_rs: Obj) -> int:
    """``NewRSNewReplicas``: how big the new ReplicaSet may be right now."""
    if is_rolling_update(deploy):
        surge = scaled_value(_rolling(deploy)[0], replicas(deploy), True)
        current = sum(rs_replicas(rs) for rs in all_rss)
        max_total = replicas(deploy) + surge
        if current >= max_total:
            return rs_replicas(new_rs)
        scale_up = min(max_total - current, replicas(deploy) - rs_replicas(new_rs))
        return rs_replicas(new_rs) + scale_up
    return replicas(deploy)


def round_half_away(value: float) -> int:
    """Go's ``math.Round`` (``integer.RoundToInt32``): halves go away from zero."""
    return math.floor(value + 0.5) if value >= 0 else -math.floor(-value + 0.5)


def replica_set_fraction(rs: Obj, deploy: Obj) -> int:
    """``getReplicaSetFraction``: this RS's share of a scale from max-replicas to now."""
    if replicas(deploy) == 0:
        return -rs_replicas(rs)
    deployment_max = replicas(deploy) + max_surge(deploy)
    before = _int_annotation(rs, MAX_REPLICAS_ANNOTATION)
    if not before:
        before = int(deploy.get("status", {}).get("replicas") or 0)
        if before == 0:
            return 0
    size = rs_replicas(rs) * deployment_max / before
    return round_half_away(size) - rs_replicas(rs)


def proportion(rs: Obj | None, deploy: Obj, to_add: int, added: int) -> int:
    """``GetProportion``: replicas to add to (or remove from) ``rs``, capped by what's left."""
    if rs is None or rs_replicas(rs) == 0 or to_add == 0 or to_add == added:
        return 0
    fraction = replica_set_fraction(rs, deploy)
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


# ----------------------------------------------------------------------------- hash


def fnv32a(data: bytes) -> int:
    h = 0x811C9DC5
    for byte in data:
        h ^= byte
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def safe_encode(text: str) -> str:
    """``rand.SafeEncodeString``: each byte mapped into the vowel-free alphabet."""
    alphabet = common.SAFE_ALPHABET
    return "".join(alphabet[ord(c) % len(alphabet)] for c in text)


def _normalise(value: Any) -> Any:
    """Drop nulls and empty maps/lists: the typed Go struct cannot tell them apart."""
    if isinstance(value, dict):
        out = {k: _normalise(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not None and v != {} and v != []}
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    return value


def compute_hash(template: Obj, collision_count: int | None = None) -> str:
    """``controller.ComputeHash``: the ``pod-template-hash`` of a pod template."""
    canonical = json.dumps(_normalise(template), sort_keys=True, separators=(",", ":"))
    data = canonical.encode()
    if collision_count is not None:
        data += (collision_count & 0xFFFFFFFF).to_bytes(4, "little") + bytes(4)
    return safe_encode(str(fnv32a(data)))


def equal_ignore_hash(t1: Obj | None, t2: Obj | None) -> bool:
    """``EqualIgnoreHash``: templates equal once ``pod-template-hash`` labels are dropped.

    Semantic equality: ``creationTimestamp: null``, absent fields and empty maps are equal.
    """
    a, b = deep_copy_json(t1 or {}), deep_copy_json(t2 or {})
    for t in (a, b):
        t.get("metadata", {}).get("labels", {}).pop(UNIQUE_LABEL_KEY, None)
    return bool(_normalise(a) == _normalise(b))


# ----------------------------------------------------------------------------- revisions


def _int_annotation(obj: Obj, key: str) -> int | None:
    raw = common.annotations_of(obj).get(key)
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        return None


def revision(obj: Obj) -> int:
    """The ``deployment.kubernetes.io/revision`` annotation (0 when absent or garbled)."""
    return _int_annotation(obj, REVISION_ANNOTATION) or 0


def max_revision(rss: list[Obj]) -> int:
    return max((revision(rs) for rs in rss), default=0)


def copy_deployment_annotations(deploy: Obj, rs: Obj) -> bool:
    """``copyDeploymentAnnotationsToReplicaSet``: everything but the skip list."""
    changed = False
    annotations = common.meta(rs).setdefault("annotations", {})
    for key, value in common.annotations_of(deploy).items():
        if key in ANNOTATIONS_TO_SKIP:
            continue
        if annotations.get(key) != value:
            annotations[key] = value
            changed = True
    return changed


def set_replicas_annotations(rs: Obj, desired: int, max_replicas: int) -> bool:
    annotations = common.meta(rs).setdefault("annotations", {})
    changed = False
    for key, value in ((DESIRED_REPLICAS_ANNOTATION, str(desired)),
                       (MAX_REPLICAS_ANNOTATION, str(max_replicas))):
        if annotations.get(key) != value:
            annotations[key] = value
            changed = True
    return changed


def replicas_annotations_need_update(rs: Obj, desired: int, max_replicas: int) -> bool:
    annotations = common.annotations_of(rs)
    return (annotations.get(DESIRED_REPLICAS_ANNOTATION) != str(desired)
            or annotations.get(MAX_REPLICAS_ANNOTATION) != str(max_replicas))


def set_new_replica_set_annotations(deploy: Obj, rs: Obj, new_revision: int, exists: bool,
                                    limit_in_chars: int = MAX_REV_HISTORY_LENGTH_IN_CHARS
                                    ) -> bool:
    """``SetNewReplicaSetAnnotations``: copy annotations, bump revision, keep its history.

    When an existing ReplicaSet's revision is raised (a rollback, or re-applying an old
    template), its previous number joins ``revision-history``.
    """
    changed = copy_deployment_annotations(deploy, rs)
    annotations = common.meta(rs).setdefault("annotations", {})
    old_raw = annotations.get(REVISION_ANNOTATION)
    try:
        old = int(old_raw) if old_raw is not None else 0
    except ValueError:
        return False
    if old < new_revision:
        annotations[REVISION_ANNOTATION] = str(new_revision)
        changed = True
        if old_raw is not None:
            history = annotations.get(REVISION_HISTORY_ANNOTATION, "")
            previous = history.split(",") if history else []
            if not previous:
                annotations[REVISION_HISTORY_ANNOTATION] = old_raw
            else:
                total = len(history) + len(old_raw) + 1
                start = 0
                while total > limit_in_chars and start < len(previous):
                    total -= len(previous[start]) + 1
                    start += 1
                if total <= limit_in_chars:
                    annotations[REVISION_HISTORY_ANNOTATION] = ",".join(
                        [*previous[start:], old_raw])
    if not exists and set_replicas_annotations(rs, replicas(deploy),
                                               replicas(deploy) + max_surge(deploy)):
        changed = True
    return changed


def desired_replicas_annotation(rs: Obj) -> int | None:
    return _int_annotation(rs, DESIRED_REPLICAS_ANNOTATION)


# ----------------------------------------------------------------------------- pods


def is_pod_available(pod: Obj, min_ready_seconds: int, clock: Clock) -> bool:
    """``podutil.IsPodAvailable``: Ready for more than ``minReadySeconds`` (simulated)."""
    return common.available_in(pod, min_ready_seconds, clock) == 0.0


# ----------------------------------------------------------------------------- conditions


def new_condition(ctype: str, status: str, reason: str, message: str,
                  clock: Clock) -> dict[str, Any]:
    now = common.now_str(clock)
    return {"type": ctype, "status": status, "lastUpdateTime": now,
            "lastTransitionTime": now, "reason": reason, "message": message}


def get_condition(status: Obj, ctype: str) -> dict[str, Any] | None:
    for cond in status.get("conditions") or []:
        if cond.get("type") == ctype:
            return dict(cond)
    return None


def set_deployment_condition(status: Obj, cond: dict[str, Any]) -> None:
    """``SetDeploymentCondition``: same status and reason → keep the old one untouched."""
    conditions = status.setdefault("conditions", [])
    common.set_condition(conditions, cond)


def remove_condition(status: Obj, ctype: str) -> None:
    conds = [c for c in status.get("conditions") or [] if c.get("type") != ctype]
    if conds:
        status["conditions"] = conds
    else:
        status.pop("conditions", None)


def deployment_complete(deploy: Obj, status: Obj) -> bool:
    """``DeploymentComplete``: all replicas updated and available, and the spec observed."""
    want = replicas(deploy)
    return (int(status.get("updatedReplicas") or 0) == want
            and int(status.get("replicas") or 0) == want
            and int(status.get("availableReplicas") or 0) == want
            and int(status.get("observedGeneration") or 0)
            >= int(deploy.get("metadata", {}).get("generation") or 0))


def deployment_progressing(deploy: Obj, new_status: Obj) -> bool:
    """``DeploymentProgressing``: more updated/ready/available pods, or fewer old ones."""
    old = deploy.get("status", {})

    def g(s: Obj, f: str) -> int:
        return int(s.get(f) or 0)

    old_old = g(old, "replicas") - g(old, "updatedReplicas")
    new_old = g(new_status, "replicas") - g(new_status, "updatedReplicas")
    return (g(new_status, "updatedReplicas") > g(old, "updatedReplicas")
            or new_old < old_old
            or g(new_status, "readyReplicas") > g(old, "readyReplicas")
            or g(new_status, "availableReplicas") > g(old, "availableReplicas"))


def deployment_timed_out(deploy: Obj, new_status: Obj, clock: Clock) -> bool:
    """``DeploymentTimedOut``: no progress for ``progressDeadlineSeconds`` (simulated)."""
    deadline = progress_deadline_seconds(deploy)
    if deadline is None:
        return False
    cond = get_condition(new_status, "Progressing")
    if cond is None or cond.get("reason") == NEW_RS_AVAILABLE_REASON:
        return False
    if cond.get("reason") == TIMED_OUT_REASON:
        return True
    since = common.parse_time(cond.get("lastUpdateTime"))
    return since is not None and clock.sim_elapsed(since) > deadline
