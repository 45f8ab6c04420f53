"""The Deployment controller: rolling updates, Recreate, scaling, rollback and status.

Mirrors kube-controller-manager's ``pkg/controller/deployment``: ``deployment_controller.go``
(``syncDeployment``, ReplicaSet adoption through ``ClaimReplicaSets``), ``sync.go``
(``getNewReplicaSet``, proportional ``scale``, ``cleanupDeployment``, ``calculateStatus``,
``isScalingEvent``), ``rolling.go`` (``reconcileNewReplicaSet``, ``reconcileOldReplicaSets``,
``cleanupUnhealthyReplicas``), ``recreate.go`` and ``progress.go`` (``syncRolloutStatus``,
``requeueStuckDeployment``).

A Deployment never touches pods. It only sets ``spec.replicas`` of its ReplicaSets, one
step per sync, and the ReplicaSet controller turns those numbers into pods. The next step
happens when a ReplicaSet's status changes (pods became available), which is why a rollout
advances at the pace of readiness plus ``minReadySeconds``. ``kubectl rollout undo`` is just
a template change that happens to match an old ReplicaSet: that ReplicaSet becomes "new"
again, gets the next revision number and remembers its old one in ``revision-history``.

:meth:`DeploymentController.reconcile` is purely computational: it reads a snapshot and the
clock and returns the writes and events; ``requeue_after`` carries the progress deadline.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kubelab.apimachinery.types import deep_copy_json
from kubelab.sandbox.api import kinds
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.clock import Clock, parse_time
from kubelab.sandbox.controllers import common
from kubelab.sandbox.controllers import deployment_util as du
from kubelab.sandbox.reconcile.types import Key, Obj, Result, Snapshot

DEPLOYMENTS = kinds.apps("deployments")
REPLICASETS = kinds.apps("replicasets")
PODS = kinds.core("pods")
COMPONENT = "deployment-controller"


class _Stop(Exception):
    """Stop this sync early (upstream returns an error and requeues)."""


class DeploymentController:
    """``deployment-controller``: Deployments → ReplicaSets."""

    name = COMPONENT
    watches: tuple[KindInfo, ...] = (DEPLOYMENTS, REPLICASETS, PODS)

    def keys_for(self, info: KindInfo, obj: Obj, snapshot: Snapshot) -> Iterable[Key]:
        ns = common.namespace_of(obj)
        if info == DEPLOYMENTS:
            yield Key.of(info, obj)
        elif info == REPLICASETS:
            ref = common.controller_ref(obj)
            if ref is not None:
                if ref.get("kind") == "Deployment":
                    yield Key(DEPLOYMENTS.group_resource, ns, ref.get("name", ""))
                return
            labels = common.labels_of(obj)
            for deploy in snapshot.list(DEPLOYMENTS, ns):
                if not common.selector_is_empty(deploy) and \
                        common.selector_of(deploy).matches(labels):
                    yield Key.of(DEPLOYMENTS, deploy)
        elif info == PODS:
            # Only Recreate waits on pods (for the old ones to be gone).
            ref = common.controller_ref(obj)
            if ref is None or ref.get("kind") != "ReplicaSet":
                return
            rs = snapshot.get(REPLICASETS, ns, ref.get("name", ""))
            owner = common.controller_ref(rs) if rs else None
            if owner is None or owner.get("kind") != "Deployment":
                return
            target = snapshot.get(DEPLOYMENTS, ns, owner.get("name", ""))
            if target is not None and du.strategy_type(target) == "Recreate":
                yield Key.of(DEPLOYMENTS, target)

    def reconcile(self, snapshot: Snapshot, key: Key, clock: Clock) -> Result:
        """Pure: one ``syncDeployment`` pass over ``key``; no side effects."""
        deploy = snapshot.get(DEPLOYMENTS, key.namespace, key.name)
        if deploy is None:
            return Result()
        return _Sync(snapshot, clock, deploy).run()


class _Sync:
    """The state of one sync: working copies of the Deployment and its ReplicaSets."""

    def __init__(self, snapshot: Snapshot, clock: Clock, deploy: Obj) -> None:
        self.snapshot = snapshot
        self.clock = clock
        self.orig = deploy
        self.d = deep_copy_json(deploy)
        self.d.setdefault("status", {})
        self.writes = common.Writes()
        self.rss: dict[str, Obj] = {}
        self.requeue: float | None = None

    # ------------------------------------------------------------------ driver

    def run(self) -> Result:
        d = self.d
        try:
            if common.selector_is_empty(d):
                self.writes.event(self.orig, "Warning", "SelectingAll",
                                  "This deployment is selecting all pods. A non-empty "
                                  "selector is required.", COMPONENT)
                generation = int(d["metadata"].get("generation") or 0)
                if int(d["status"].get("observedGeneration") or 0) < generation:
                    d["status"]["observedGeneration"] = generation
                return self.finish()
            self.claim_replica_sets()
            if common.is_deleting(d):
                new, olds = self.get_all(create=False)
                self.sync_deployment_status(self.all_of(olds, new), new)
            else:
                self.check_paused_conditions()
                if d.get("spec", {}).get("paused") or self.is_scaling_event():
                    self.sync()
                elif du.strategy_type(d) == "Recreate":
                    self.rollout_recreate()
                else:
                    self.rollout_rolling()
        except _Stop:
            pass
        return self.finish()

    def finish(self) -> Result:
        """One status write carries both status and the revision annotation.

        Upstream writes ``deployment.kubernetes.io/revision`` through ``UpdateStatus`` too:
        the status strategy keeps annotation changes, while a main-resource write that
        changes annotations would bump ``metadata.generation``.
        """
        d, orig = self.d, self.orig
        annotations_changed = (d["metadata"].get("annotations")
                               != orig.get("metadata", {}).get("annotations"))
        if annotations_changed or d.get("status") != orig.get("status", {}):
            self.writes.update_status(DEPLOYMENTS, d)
        return Result(self.writes.actions(), self.requeue)

    @staticmethod
    def all_of(olds: list[Obj], new: Obj | None) -> list[Obj]:
        return [*olds, new] if new is not None else list(olds)

    # ------------------------------------------------------------------ adoption

    def claim_replica_sets(self) -> None:
        """``getReplicaSetsForDeployment``: owned RSs, adopt matching orphans, release others."""
        d = self.d
        uid = common.uid_of(d)
        selector = common.selector_of(d)
        deleting = common.is_deleting(d)
        for rs in common.by_creation(common.controlled_and_orphans(self.snapshot, REPLICASETS,
                                                                   d)):
            ref = common.controller_ref(rs)
            matches = selector.matches(common.labels_of(rs))
            if ref is not None:
                if ref.get("uid") != uid:
                    continue
                if matches:
                    self.rss[common.name_of(rs)] = deep_copy_json(rs)
                elif not deleting:
                    released = deep_copy_json(rs)
                    released["metadata"]["ownerReferences"] = [
                        r for r in rs["metadata"].get("ownerReferences", [])
                        if r.get("uid") != uid]
                    self.writes.update(REPLICASETS, released)
                continue
            if deleting or common.is_deleting(rs) or not matches:
                continue
            adopted = deep_copy_json(rs)
            refs = adopted["metadata"].setdefault("ownerReferences", [])
            refs.append(common.new_controller_ref(d, DEPLOYMENTS))
            self.writes.update(REPLICASETS, adopted)
            self.rss[common.name_of(rs)] = adopted

    # ------------------------------------------------------------------ new / old RSs

    def get_all(self, create: bool) -> tuple[Obj | None, list[Obj]]:
        """``getAllReplicaSetsAndSyncRevision``."""
        rss = common.by_creation(self.rss.values())
        existing = next((rs for rs in rss if du.equal_ignore_hash(
            rs.get("spec", {}).get("template"), self.d["spec"].get("template"))), None)
        olds = [rs for rs in rss if rs is not existing]
        new = self.get_new_replica_set(existing, olds, create)
        return new, olds

    def set_revision(self, value: str | int) -> None:
        annotations = self.d["metadata"].setdefault("annotations", {})
        if annotations.get(du.REVISION_ANNOTATION) != str(value):
            annotations[du.REVISION_ANNOTATION] = str(value)

    def get_new_replica_set(self, existing: Obj | None, olds: list[Obj],
                            create: bool) -> Obj | None:
        d = self.d
        new_revision = du.max_revision(olds) + 1
        status = d["status"]
        if existing is not None:
            annotations_updated = du.set_new_replica_set_annotations(d, existing, new_revision,
                                                                     True)
            want_mrs = du.min_ready_seconds(d)
            if annotations_updated or du.min_ready_seconds(existing) != want_mrs:
                self._set_min_ready(existing, want_mrs)
                self.writes.update(REPLICASETS, existing)
                return existing
            self.set_revision(common.annotations_of(existing).get(du.REVISION_ANNOTATION, ""))
            if du.has_progress_deadline(d) and du.get_condition(status, "Progressing") is None:
                du.set_deployment_condition(status, du.new_condition(
                    "Progressing", "True", du.FOUND_NEW_RS_REASON,
                    f'Found new replica set "{common.name_of(existing)}"', self.clock))
            return existing
        if not create:
            return None
        template = deep_copy_json(d["spec"].get("template") or {})
        collision = status.get("collisionCount")
        pod_hash = du.compute_hash(template, collision)
        labels = dict(template.setdefault("metadata", {}).get("labels") or {})
        labels[du.UNIQUE_LABEL_KEY] = pod_hash
        template["metadata"]["labels"] = labels
        selector = deep_copy_json(d["spec"].get("selector") or {})
        selector.setdefault("matchLabels", {})[du.UNIQUE_LABEL_KEY] = pod_hash
        name = f"{common.name_of(d)}-{pod_hash}"
        new_rs: Obj = {
            "apiVersion": REPLICASETS.api_version, "kind": REPLICASETS.kind,
            "metadata": {"name": name, "namespace": common.namespace_of(d),
                         "labels": dict(labels),
                         "ownerReferences": [common.new_controller_ref(d, DEPLOYMENTS)]},
            "spec": {"replicas": 0, "selector": selector, "template": template},
        }
        self._set_min_ready(new_rs, du.min_ready_seconds(d))
        count = du.new_rs_new_replicas(d, [*olds, new_rs], new_rs)
        new_rs["spec"]["replicas"] = count
        du.set_new_replica_set_annotations(d, new_rs, new_revision, False)
        clash = self.snapshot.get(REPLICASETS, common.namespace_of(d), name)
        if clash is not None:
            ref = common.controller_ref(clash)
            if ref is not None and ref.get("uid") == common.uid_of(d) and du.equal_ignore_hash(
                    d["spec"].get("template"), clash.get("spec", {}).get("template")):
                return deep_copy_json(clash)
            # A hash collision: the next hash mixes in a bumped collisionCount.
            status["collisionCount"] = int(collision or 0) + 1
            raise _Stop
        self.writes.create_tracked(REPLICASETS, new_rs)
        new_rs["metadata"]["creationTimestamp"] = common.now_str(self.clock)
        self.rss[name] = new_rs
        if count > 0:
            self.writes.event(self.orig, "Normal", "ScalingReplicaSet",
                              f"Scaled up replica set {name} from 0 to {count}", COMPONENT)
        self.set_revision(new_revision)
        if du.has_progress_deadline(d):
            du.set_deployment_condition(status, du.new_condition(
                "Progressing", "True", du.NEW_REPLICA_SET_REASON,
                f'Created new replica set "{name}"', self.clock))
        return new_rs

    @staticmethod
    def _set_min_ready(rs: Obj, value: int) -> None:
        if value:
            rs["spec"]["minReadySeconds"] = value
        else:
            rs["spec"].pop("minReadySeconds", None)

    # ------------------------------------------------------------------ scaling

    def scale_and_record(self, rs: Obj, new_scale: int) -> bool:
        """``scaleReplicaSetAndRecordEvent``."""
        if du.rs_replicas(rs) == new_scale:
            return False
        op = "up" if du.rs_replicas(rs) < new_scale else "down"
        return self.scale_rs(rs, new_scale, op)

    def scale_rs(self, rs: Obj, new_scale: int, operation: str) -> bool:
        """``scaleReplicaSet``: size and the desired/max-replicas annotations, one write."""
        d = self.d
        desired, most = du.replicas(d), du.replicas(d) + du.max_surge(d)
        size_changes = du.rs_replicas(rs) != new_scale
        if not size_changes and not du.replicas_annotations_need_update(rs, desired, most):
            return False
        old_scale = du.rs_replicas(rs)
        rs["spec"]["replicas"] = new_scale
        du.set_replicas_annotations(rs, desired, most)
        self.writes.update(REPLICASETS, rs)
        if size_changes:
            self.writes.event(self.orig, "Normal", "ScalingReplicaSet",
                              f"Scaled {operation} replica set {common.name_of(rs)} from "
                              f"{old_scale} to {new_scale}", COMPONENT)
        return size_changes

    def is_scaling_event(self) -> bool:
        """``isScalingEvent``: an active RS's desired-replicas differs from spec.replicas."""
        new, olds = self.get_all(create=False)
        for rs in self.all_of(olds, new):
            if du.rs_replicas(rs) <= 0:
                continue
            desired = du.desired_replicas_annotation(rs)
            if desired is not None and desired != du.replicas(self.d):
                return True
        return False

    def sync(self) -> None:
        """``sync``: scaling (proportional mid-rollout) and paused deployments."""
        new, olds = self.get_all(create=False)
        self.scale(new, olds)
        if self.d.get("spec", {}).get("paused"):
            self.cleanup(olds)
        self.sync_deployment_status(self.all_of(olds, new), new)

    def scale(self, new: Obj | None, olds: list[Obj]) -> None:
        """``scale``: proportional scaling across active ReplicaSets."""
        d = self.d
        want = du.replicas(d)
        latest = self.find_active_or_latest(new, olds)
        if latest is not None:
            if du.rs_replicas(latest) != want:
                self.scale_and_record(latest, want)
            return
        if self.is_saturated(new):
            for old in olds:
                if du.rs_replicas(old) > 0:
                    self.scale_and_record(old, 0)
            return
        if not du.is_rolling_update(d):
            return
        active = [rs for rs in self.all_of(olds, new) if du.rs_replicas(rs) > 0]
        allowed = want + du.max_surge(d) if want > 0 else 0
        to_add = allowed - sum(du.rs_replicas(rs) for rs in active)
        operation = ""
        if to_add > 0:
            # Larger first; among equals, newer first when scaling up.
            active.sort(key=lambda rs: (common.created_at(rs), common.name_of(rs)),
                        reverse=True)
            active.sort(key=lambda rs: -du.rs_replicas(rs))
            operation = "up"
        elif to_add < 0:
            active = common.by_creation(active)
            active.sort(key=lambda rs: -du.rs_replicas(rs))
            operation = "down"
        sizes: dict[str, int] = {}
        added = 0
        for rs in active:
            if to_add != 0:
                share = du.proportion(rs, d, to_add, added)
                sizes[common.name_of(rs)] = du.rs_replicas(rs) + share
                added += share
            else:
                sizes[common.name_of(rs)] = du.rs_replicas(rs)
        for i, rs in enumerate(active):
            name = common.name_of(rs)
            if i == 0 and to_add != 0:
                sizes[name] = max(0, sizes[name] + to_add - added)
            self.scale_rs(rs, sizes[name], operation)

    @staticmethod
    def find_active_or_latest(new: Obj | None, olds: list[Obj]) -> Obj | None:
        if new is None and not olds:
            return None
        newest_first = list(reversed(common.by_creation(olds)))
        active = [rs for rs in [*newest_first, new] if rs is not None and du.rs_replicas(rs) > 0]
        if not active:
            return new if new is not None else newest_first[0]
        return active[0] if len(active) == 1 else None

    def is_saturated(self, rs: Obj | None) -> bool:
        if rs is None:
            return False
        want = du.replicas(self.d)
        return (du.rs_replicas(rs) == want and du.desired_replicas_annotation(rs) == want
                and du.rs_status(rs, "availableReplicas") == want)

    # ------------------------------------------------------------------ rolling

    def rollout_rolling(self) -> None:
        new, olds = self.get_all(create=True)
        assert new is not None
        all_rss = self.all_of(olds, new)
        if self.reconcile_new_replica_set(all_rss, new):
            self.sync_rollout_status(all_rss, new)
            return
        active_olds = [rs for rs in olds if du.rs_replicas(rs) > 0]
        if self.reconcile_old_replica_sets(all_rss, active_olds, new):
            self.sync_rollout_status(all_rss, new)
            return
        if du.deployment_complete(self.d, self.d["status"]):
            self.cleanup(olds)
        self.sync_rollout_status(all_rss, new)

    def reconcile_new_replica_set(self, all_rss: list[Obj], new: Obj) -> bool:
        want = du.replicas(self.d)
        if du.rs_replicas(new) == want:
            return False
        if du.rs_replicas(new) > want:
            return self.scale_and_record(new, want)
        return self.scale_and_record(new, du.new_rs_new_replicas(self.d, all_rss, new))

    def reconcile_old_replica_sets(self, all_rss: list[Obj], olds: list[Obj],
                                   new: Obj) -> bool:
        if sum(du.rs_replicas(rs) for rs in olds) == 0:
            return False
        all_pods = sum(du.rs_replicas(rs) for rs in all_rss)
        min_available = du.replicas(self.d) - du.max_unavailable(self.d)
        new_unavailable = du.rs_replicas(new) - du.rs_status(new, "availableReplicas")
        max_scaled_down = all_pods - min_available - new_unavailable
        if max_scaled_down <= 0:
            return False
        cleaned = self.cleanup_unhealthy_replicas(olds, max_scaled_down)
        scaled = self.scale_down_old_for_rolling_update([*olds, new], olds)
        return cleaned + scaled > 0

    def cleanup_unhealthy_replicas(self, olds: list[Obj], max_cleanup: int) -> int:
        """Scale old RSs down by their unavailable pods first (kubernetes#16737)."""
        total = 0
        for rs in common.by_creation(olds):
            if total >= max_cleanup:
                break
            current, available = du.rs_replicas(rs), du.rs_status(rs, "availableReplicas")
            if current == 0 or current == available:
                continue
            count = min(max_cleanup - total, current - available)
            self.scale_and_record(rs, current - count)
            total += count
        return total

    def scale_down_old_for_rolling_update(self, all_rss: list[Obj], olds: list[Obj]) -> int:
        min_available = du.replicas(self.d) - du.max_unavailable(self.d)
        available = sum(du.rs_status(rs, "availableReplicas") for rs in all_rss)
        if available <= min_available:
            return 0
        budget = available - min_available
        total = 0
        for rs in common.by_creation(olds):
            if total >= budget:
                break
            if du.rs_replicas(rs) == 0:
                continue
            count = min(du.rs_replicas(rs), budget - total)
            self.scale_and_record(rs, du.rs_replicas(rs) - count)
            total += count
        return total

    # ------------------------------------------------------------------ recreate

    def rollout_recreate(self) -> None:
        new, olds = self.get_all(create=False)
        all_rss = self.all_of(olds, new)
        scaled_down = False
        for rs in olds:
            if du.rs_replicas(rs) > 0 and self.scale_and_record(rs, 0):
                scaled_down = True
        if scaled_down or self.old_pods_running(new, olds):
            self.sync_rollout_status(all_rss, new)
            return
        if new is None:
            new, olds = self.get_all(create=True)
            assert new is not None
            all_rss = self.all_of(olds, new)
        self.scale_and_record(new, du.replicas(self.d))
        if du.deployment_complete(self.d, self.d["status"]):
            self.cleanup(olds)
        self.sync_rollout_status(all_rss, new)

    def old_pods_running(self, new: Obj | None, olds: list[Obj]) -> bool:
        """``oldPodsRunning``: old RSs report pods, or any old pod still exists unfinished."""
        if sum(du.rs_status(rs, "replicas") for rs in olds) > 0:
            return True
        old_uids = {common.uid_of(rs) for rs in olds}
        if new is not None:
            old_uids.discard(common.uid_of(new))
        return any(not common.is_pod_terminal(pod) for pod in common.controlled_by(
            self.snapshot, PODS, old_uids, common.namespace_of(self.d)))

    # ------------------------------------------------------------------ cleanup

    def cleanup(self, olds: list[Obj]) -> None:
        """``cleanupDeployment``: keep only ``revisionHistoryLimit`` old, empty RSs."""
        limit = du.revision_history_limit(self.d)
        if limit is None:
            return
        cleanable = [rs for rs in olds if not common.is_deleting(rs)]
        diff = len(cleanable) - limit
        if diff <= 0:
            return
        cleanable.sort(key=lambda rs: (du.revision(rs), common.created_at(rs),
                                       common.name_of(rs)))
        for rs in cleanable[:diff]:
            if du.rs_status(rs, "replicas") != 0 or du.rs_replicas(rs) != 0:
                continue
            if int(rs.get("metadata", {}).get("generation") or 0) > \
                    du.rs_status(rs, "observedGeneration"):
                continue
            self.writes.delete(REPLICASETS, rs)

    # ------------------------------------------------------------------ status

    def check_paused_conditions(self) -> None:
        d = self.d
        if not du.has_progress_deadline(d):
            return
        cond = du.get_condition(d["status"], "Progressing")
        if cond is not None and cond.get("reason") == du.TIMED_OUT_REASON:
            return
        paused_exists = cond is not None and cond.get("reason") == du.PAUSED_DEPLOY_REASON
        paused = bool(d.get("spec", {}).get("paused"))
        if paused and not paused_exists:
            du.set_deployment_condition(d["status"], du.new_condition(
                "Progressing", "Unknown", du.PAUSED_DEPLOY_REASON, "Deployment is paused",
                self.clock))
        elif not paused and paused_exists:
            du.set_deployment_condition(d["status"], du.new_condition(
                "Progressing", "Unknown", du.RESUMED_DEPLOY_REASON, "Deployment is resumed",
                self.clock))

    def calculate_status(self, all_rss: list[Obj], new: Obj | None) -> Obj:
        """``calculateStatus``: counts summed over the ReplicaSets, Available condition."""
        d = self.d
        available = sum(du.rs_status(rs, "availableReplicas") for rs in all_rss)
        total = sum(du.rs_replicas(rs) for rs in all_rss)
        counts = {
            "observedGeneration": int(d["metadata"].get("generation") or 0),
            "replicas": sum(du.rs_status(rs, "replicas") for rs in all_rss),
            "updatedReplicas": du.rs_status(new, "replicas"),
            "readyReplicas": sum(du.rs_status(rs, "readyReplicas") for rs in all_rss),
            "availableReplicas": available,
            "unavailableReplicas": max(0, total - available),
        }
        status: Obj = {k: v for k, v in counts.items() if v}  # omitempty
        if d["status"].get("conditions"):
            status["conditions"] = deep_copy_json(d["status"]["conditions"])
        if "collisionCount" in d["status"]:
            status["collisionCount"] = d["status"]["collisionCount"]
        if available >= du.replicas(d) - du.max_unavailable(d):
            cond = du.new_condition("Available", "True", du.MINIMUM_REPLICAS_AVAILABLE,
                                    "Deployment has minimum availability.", self.clock)
        else:
            cond = du.new_condition("Available", "False", du.MINIMUM_REPLICAS_UNAVAILABLE,
                                    "Deployment does not have minimum availability.",
                                    self.clock)
        du.set_deployment_condition(status, cond)
        return status

    def sync_deployment_status(self, all_rss: list[Obj], new: Obj | None) -> None:
        self.d["status"] = self.calculate_status(all_rss, new)

    def sync_rollout_status(self, all_rss: list[Obj], new: Obj | None) -> None:
        """``syncRolloutStatus``: the Progressing condition and the progress deadline."""
        d = self.d
        status = self.calculate_status(all_rss, new)
        if not du.has_progress_deadline(d):
            du.remove_condition(status, "Progressing")
        current = du.get_condition(d["status"], "Progressing")
        complete_before = (status.get("replicas", 0) == status.get("updatedReplicas", 0)
                           and current is not None
                           and current.get("reason") == du.NEW_RS_AVAILABLE_REASON)
        subject = (f'ReplicaSet "{common.name_of(new)}"' if new is not None
                   else f'Deployment "{common.name_of(d)}"')
        if du.has_progress_deadline(d) and not complete_before:
            if du.deployment_complete(d, status):
                du.set_deployment_condition(status, du.new_condition(
                    "Progressing", "True", du.NEW_RS_AVAILABLE_REASON,
                    f"{subject} has successfully progressed.", self.clock))
            elif du.deployment_progressing(d, status):
                cond = du.new_condition("Progressing", "True", du.REPLICA_SET_UPDATED_REASON,
                                        f"{subject} is progressing.", self.clock)
                if current is not None:
                    if current.get("status") == "True":
                        cond["lastTransitionTime"] = current.get("lastTransitionTime")
                    du.remove_condition(status, "Progressing")
                status.setdefault("conditions", []).append(cond)
            elif du.deployment_timed_out(d, status, self.clock):
                du.set_deployment_condition(status, du.new_condition(
                    "Progressing", "False", du.TIMED_OUT_REASON,
                    f"{subject} has timed out progressing.", self.clock))
        failure = self.replica_failure(all_rss, new)
        if failure is not None:
            du.set_deployment_condition(status, failure)
        else:
            du.remove_condition(status, "ReplicaFailure")
        d["status"] = status
        self.requeue = self.stuck_requeue(status)

    @staticmethod
    def replica_failure(all_rss: list[Obj], new: Obj | None) -> dict[str, Any] | None:
        """``getReplicaFailures``: the new ReplicaSet's ``ReplicaFailure`` condition, else an
        old one's, as a Deployment condition (``ReplicaSetToDeploymentCondition``: both times
        are the ReplicaSet condition's transition time)."""
        ordered = ([new] if new is not None else []) + [
            rs for rs in all_rss if new is None or common.uid_of(rs) != common.uid_of(new)]
        for rs in ordered:
            for cond in rs.get("status", {}).get("conditions") or []:
                if cond.get("type") == "ReplicaFailure":
                    since = cond.get("lastTransitionTime")
                    return {"type": "ReplicaFailure", "status": cond.get("status", "True"),
                            "lastUpdateTime": since, "lastTransitionTime": since,
                            "reason": cond.get("reason", ""), "message": cond.get("message", "")}
        return None

    def stuck_requeue(self, status: Obj) -> float | None:
        """``requeueStuckDeployment``: look again just after the progress deadline."""
        d = self.d
        deadline = du.progress_deadline_seconds(d)
        current = du.get_condition(d["status"], "Progressing")
        if deadline is None or current is None:
            return None
        if du.deployment_complete(d, status) or current.get("reason") == du.TIMED_OUT_REASON:
            return None
        since = parse_time(current.get("lastUpdateTime"))
        if since is None:
            return None
        after = deadline - self.clock.sim_elapsed(since)
        return 1.0 if after < 1 else after + 1
