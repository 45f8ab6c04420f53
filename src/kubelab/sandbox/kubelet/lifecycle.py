"""Run the stage tables of :mod:`.stages` over one pod's runtime record.

This is the kubelet's ``SyncPod`` (``pkg/kubelet/kubelet.go`` → ``kuberuntime_manager.go``
``SyncPod``/``computePodActions``), made data-driven: compute the facts about the pod and
each container, find the first stage whose selector matches, wait its delay, record its
events, apply its effect, move on — until nothing more is due. What it returns (events, a
deletion, when to look again) the reconciler turns into actions.

Facts read the pod object, the snapshot (for secrets and configMaps), the node's runtime
record and the clock; effects change only the runtime record. No I/O happens here: the
agent hears about started and stopped containers through the runtime's listeners.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from kubelab.apimachinery.types import Obj
from kubelab.sandbox import images
from kubelab.sandbox.clock import Clock, rfc3339
from kubelab.sandbox.images import Image, ImageNotFound, InvalidImageName, ProgramRun, Shell
from kubelab.sandbox.kubelet import expansion, stages
from kubelab.sandbox.kubelet.disks import MountedFiles
from kubelab.sandbox.kubelet.probes import ProbeWorker, container_probes
from kubelab.sandbox.kubelet.runtime import (
    ContainerRecord,
    LogLine,
    NodeRuntime,
    PodRecord,
    container_id,
)
from kubelab.sandbox.kubelet.volumes import (
    ConfigError,
    MountError,
    VolumeBacking,
    container_files,
    kubelet_env,
    kubelet_managed_files,
    mount_paths,
    runtime_env,
    volume_files,
)
from kubelab.sandbox.reconcile.types import Snapshot

#: Simulated seconds an app takes to exit after SIGTERM.
APP_STOP_SECONDS = 0.5
DEFAULT_GRACE = 30
#: Real seconds between two looks at a running program, and at one that used its whole
#: step budget (a busy loop): what keeps simulated programs from starving the API server,
#: whose event loop they share. A program's steps and exit are still seen in order; a log
#: or exec request advances it on demand in between.
PROGRAM_TICK = 0.05
BUSY_PROGRAM_TICK = 0.5
_MAX_TRANSITIONS = 200


@dataclass
class SyncOutcome:
    """What one sync decided: events to record, whether to delete, when to sync again."""

    events: list[tuple[str, str, str, str]] = field(default_factory=list)
    delete: bool = False
    wake_in: float | None = None

    def wake(self, seconds: float) -> None:
        seconds = max(0.0, seconds)
        self.wake_in = seconds if self.wake_in is None else min(self.wake_in, seconds)


def format_duration(seconds: float) -> str:
    """Go's ``time.Duration.String`` for the durations the kubelet prints (``1.287s``)."""
    if seconds < 1:
        ms = round(seconds * 1000, 3)
        return f"{ms:g}ms"
    minutes, rest = divmod(round(seconds, 3), 60)
    text = f"{rest:.3f}".rstrip("0").rstrip(".") + "s"
    return f"{int(minutes)}m{text}" if minutes else text


class PodSync:
    """One sync of one pod (the facts and effects the stage tables refer to)."""

    def __init__(self, runtime: NodeRuntime, record: PodRecord, pod: Obj, snapshot: Snapshot,
                 clock: Clock) -> None:
        self.runtime = runtime
        self.record = record
        self.pod = pod
        self.snapshot = snapshot
        self.clock = clock
        self.out = SyncOutcome()
        self.spec = pod.get("spec") or {}
        self._config_cache: dict[str, tuple[str, dict[str, str], dict[str, str]]] = {}
        #: The kubelet-built variables per container, for ``$(VAR)`` in command and args.
        self._declared_env: dict[str, dict[str, str]] = {}
        #: Where this pod's claims and emptyDirs keep their files (the bind mounts' sources).
        self._backing = VolumeBacking(runtime.disks, record.volumes)

    # ------------------------------------------------------------------ engine

    def run(self) -> SyncOutcome:
        for _ in range(_MAX_TRANSITIONS):
            if not self._step_once():
                break
        self._schedule_wakes()
        return self.out

    def _step_once(self) -> bool:
        rec = self.record
        facts = self.pod_facts()
        for stage in stages.POD_STAGES:
            if stage.matches(facts):
                if self._fire(stage, facts, rec, None):
                    return True
                break
        if rec.step not in ("ready", "stopping"):
            return False
        for container in rec.ordered():
            cfacts = self.container_facts(container)
            for stage in stages.CONTAINER_STAGES:
                if stage.matches(cfacts):
                    if self._fire(stage, cfacts, rec, container):
                        return True
                    break
        return False

    def _delay(self, stage: stages.Stage, facts: dict[str, Any]) -> float:
        if isinstance(stage.delay, str):
            return float(facts.get(stage.delay) or 0.0)
        return stage.delay

    def _fire(self, stage: stages.Stage, facts: dict[str, Any], rec: PodRecord,
              container: ContainerRecord | None) -> bool:
        since = container.since if container else (rec.since or rec.accepted_at)
        left = self._delay(stage, facts) - self.clock.sim_elapsed(since)
        if left > 1e-9:
            self.out.wake(left)
            return False
        path = container.field_path if container else ""
        for event in stage.events:
            self.out.events.append((event.type, event.reason, event.message.format(**facts), path))
        if stage.effect:
            getattr(self, f"effect_{stage.effect}")(container) if container else getattr(
                self, f"effect_{stage.effect}")()
        if container is not None:
            container.step = stage.next
            container.since = self.clock.now()
        else:
            rec.step = stage.next
            rec.since = self.clock.now()
        return True

    def _schedule_wakes(self) -> None:
        for container in self.record.containers.values():
            if container.step == "running" and container.run is not None:
                wake = container.run.next_wake
                if wake is not None and container.started_at is not None:
                    tick = BUSY_PROGRAM_TICK if container.run.busy else PROGRAM_TICK
                    self.out.wake(max(wake - self.clock.sim_elapsed(container.started_at),
                                      tick * self.clock.speed))

    # ------------------------------------------------------------------ facts

    def pod_facts(self) -> dict[str, Any]:
        rec = self.record
        facts: dict[str, Any] = {
            "step": rec.step,
            "deleting": bool((self.pod.get("metadata") or {}).get("deletionTimestamp")),
            "all_stopped": all(c.step == "stopped" for c in rec.containers.values()),
            "mount": "ok", "mount_error": "", "mount_retry": stages.CONFIG_RETRY_SECONDS,
        }
        if rec.step == "accepted" and not facts["deleting"]:
            try:
                volume_files(self.snapshot, self.pod, node_ip=self.runtime.node_ip)
            except MountError as err:
                facts["mount"] = "error"
                facts["mount_error"] = err.message
                # The first failure is reported at once, later ones every retry interval.
                if not rec.mount_error:
                    facts["mount_retry"] = 0.0
                rec.mount_error = err.message
        return facts

    def container_facts(self, c: ContainerRecord) -> dict[str, Any]:
        rec = self.record
        image_text = str(c.spec.get("image") or "")
        facts: dict[str, Any] = {
            "step": c.step, "name": c.name, "image": image_text,
            "pod": rec.full_name, "pod_ready": rec.step == "ready",
            "deleting": rec.step == "stopping",
            "pull_policy": self._pull_policy(c), "stop_seconds": c.stop_seconds,
            "kill_requested": c.kill_requested,
        }
        image = self._resolve_image(c)
        cached = image is not None and image.ref.full in self.runtime.images
        if facts["pull_policy"] == "Never" and not cached:
            state = "absent"
        elif image is None:
            state = "invalid" if c.image_error.startswith("Failed to apply") else "unknown"
        elif c.step != "pulling" and cached and facts["pull_policy"] != "Always":
            state = "present"
        else:
            state = "absent"
        facts["image_state"] = state
        facts["image_error"] = c.image_error
        if image is not None:
            facts["size"] = image.behaviour.size
            seconds = 0.3 if cached else images.pull_seconds(image)
            facts["pull_seconds"] = seconds
            facts["pull_took"] = format_duration(seconds)
        backoff_key = f"{rec.uid}_{image_text}"
        left = self.runtime.pull_backoff.remaining_since_update(backoff_key, self.clock)
        facts["pull_backoff"] = left > 1e-9
        facts["pull_backoff_left"] = left
        facts["runnable"] = self._runnable(c)
        if c.step == "pulled" and facts["runnable"]:
            error = self._config(c)[0]
            facts["config"] = "error" if error else "ok"
            facts["config_error"] = error
        if c.step == "running" and c.run is not None and c.started_at is not None:
            c.run.advance(self.clock.sim_elapsed(c.started_at))
            facts["exited"] = c.run.exit_code is not None
        elif c.step == "running" and c.interactive:
            facts["exited"] = c.attach_exit is not None
        liveness = c.probes.get("liveness")
        startup = c.probes.get("startup")
        facts["liveness"] = "ok"
        if startup is not None and not startup.result and startup.gave_up:
            facts["liveness"], facts["failed_probe"] = "failure", "startup"
        elif liveness is not None and not liveness.result:
            facts["liveness"], facts["failed_probe"] = "failure", "liveness"
        if c.step == "terminated":
            facts["restart"] = self._should_restart(c)
            if c.finished_at is not None:
                key = self._crash_key(c)
                left = self.runtime.crash_backoff.remaining_since(key, c.finished_at, self.clock)
                facts["crash_backoff"] = left > 1e-9
        if c.step == "crash-backoff" and c.finished_at is not None:
            facts["crash_backoff_left"] = self.runtime.crash_backoff.remaining_since(
                self._crash_key(c), c.finished_at, self.clock)
        return facts

    def _pull_policy(self, c: ContainerRecord) -> str:
        policy = c.spec.get("imagePullPolicy")
        if policy:
            return str(policy)
        image = str(c.spec.get("image") or "")
        tagged = ":" in image.rsplit("/", 1)[-1] or "@" in image
        return "Always" if not tagged or image.endswith(":latest") else "IfNotPresent"

    def _resolve_image(self, c: ContainerRecord) -> Image | None:
        if c.image is not None or c.image_error:
            return c.image
        try:
            c.image = images.lookup(str(c.spec.get("image") or ""))
        except InvalidImageName as err:
            c.image_error = str(err)
        except ImageNotFound as err:
            c.image_error = err.message
        return c.image

    def _runnable(self, c: ContainerRecord) -> bool:
        """Init containers run one at a time, in order; app containers after all of them."""
        for other in self.record.ordered():
            if other is c:
                return True
            if other.init and not (other.done and other.exit_code == 0):
                return False
        return True

    def _config(self, c: ContainerRecord) -> tuple[str, dict[str, str], dict[str, str]]:
        if c.name in self._config_cache:
            return self._config_cache[c.name]
        try:
            declared = kubelet_env(self.snapshot, self.pod, c.spec,
                                   node_ip=self.runtime.node_ip, pod_ip=self.record.ip)
            env = runtime_env(self.pod) | declared
            self._declared_env[c.name] = declared
            volumes = volume_files(self.snapshot, self.pod, node_ip=self.runtime.node_ip,
                                   pod_ip=self.record.ip, now=self.clock.now(),
                                   backing=self._backing)
            files = ({} if self.spec.get("hostNetwork")
                     else kubelet_managed_files(self.pod, self.record.ip))
            files.update(container_files(volumes, c.spec))
            result = ("", env, files)
        except (ConfigError, MountError) as err:
            result = (err.message, {}, {})
        self._config_cache[c.name] = result
        return result

    def _should_restart(self, c: ContainerRecord) -> bool:
        if c.ephemeral:
            return False  # ephemeral containers are never restarted
        policy = self.spec.get("restartPolicy") or "Always"
        if c.init and c.spec.get("restartPolicy") == "Always":
            return True
        if c.init:
            return c.exit_code != 0 and policy != "Never"
        if policy == "Always":
            return True
        return policy == "OnFailure" and c.exit_code != 0

    def _crash_key(self, c: ContainerRecord) -> str:
        return f"{self.record.name}_{self.record.namespace}_{self.record.uid}_{c.name}"

    # ------------------------------------------------------------------ effects

    def effect_create_sandbox(self) -> None:
        # hostNetwork pods (kube-proxy, static control-plane pods) share the node's IP.
        if self.spec.get("hostNetwork"):
            self.record.ip = self.runtime.node_ip
        else:
            self.record.ip = self.runtime.allocate_ip()
        self.record.sandbox_ready = True
        self.record.mount_error = ""

    def effect_stop_pod(self) -> None:
        self.record.stopping = True
        self.record.stop_started = self.clock.now()

    def effect_delete_pod(self) -> None:
        self.out.delete = True

    def _grace(self) -> float:
        meta = self.pod.get("metadata") or {}
        grace = meta.get("deletionGracePeriodSeconds")
        if grace is None:
            grace = self.spec.get("terminationGracePeriodSeconds")
        return float(DEFAULT_GRACE if grace is None else grace)

    def _stop_time(self, c: ContainerRecord) -> float:
        grace = self._grace()
        if c.image is not None and c.image.behaviour.stops_on_sigterm and c.run is None:
            return min(grace, APP_STOP_SECONDS)
        return grace

    def effect_stop_for_deletion(self, c: ContainerRecord) -> None:
        c.stop_seconds = self._stop_time(c)

    def effect_stopped(self, c: ContainerRecord) -> None:
        graceful = c.stop_seconds < self._grace() or (
            c.image is not None and c.image.behaviour.stops_on_sigterm and c.run is None)
        self._terminate(c, 0 if graceful else 137, "Completed" if graceful else "Error")

    def effect_discard(self, c: ContainerRecord) -> None:
        c.waiting_reason = c.waiting_reason or "ContainerCreating"

    def effect_invalid_image(self, c: ContainerRecord) -> None:
        c.waiting_reason, c.waiting_message = "InvalidImageName", c.image_error

    def effect_never_pull(self, c: ContainerRecord) -> None:
        c.waiting_reason = "ErrImageNeverPull"
        c.waiting_message = (f'Container image "{c.spec.get("image", "")}" is not present '
                             "with pull policy of Never")

    def effect_pulled(self, c: ContainerRecord) -> None:
        if c.image is not None:
            self.runtime.images[c.image.ref.full] = c.image

    def effect_pull_failed(self, c: ContainerRecord) -> None:
        key = f"{self.record.uid}_{c.spec.get('image', '')}"
        self.runtime.pull_backoff.next(key, self.clock.now())
        c.waiting_reason, c.waiting_message = "ErrImagePull", c.image_error

    def effect_pull_backoff(self, c: ContainerRecord) -> None:
        c.waiting_reason = "ImagePullBackOff"
        c.waiting_message = (f'Back-off pulling image "{c.spec.get("image", "")}": '
                             f"ErrImagePull: {c.image_error}")

    def effect_config_error(self, c: ContainerRecord) -> None:
        c.waiting_reason, c.waiting_message = "CreateContainerConfigError", self._config(c)[0]

    def effect_start(self, c: ContainerRecord) -> None:
        if c.ever_started:
            c.last_terminated = self._terminated_state(c)
            c.restart_count += 1
            c.previous_logs = c.all_logs(self.clock)
        _, env, files = self._config(c)
        now = self.clock.now()
        c.ever_started = True
        c.container_id = container_id(self.record.uid, c.name, c.restart_count)
        c.started_at = now
        c.finished_at = None
        c.exit_code = None
        c.term_reason = ""
        c.kill_reason = ""
        c.kill_requested = False
        c.waiting_reason = c.waiting_message = ""
        mounts = self._backing.mounts(c.spec)
        c.files = MountedFiles(files, mounts) if mounts else dict(files)
        if c.image is not None:
            images.root_filesystem(c.image, c.files, mount_paths(c.spec))
        c.env = dict(env)
        c.logs = []
        c.run = None
        c.attach_exit = None
        behaviour = c.image.behaviour if c.image is not None else None
        declared = self._declared_env.get(c.name, {})
        command = expansion.expand_all(c.spec.get("command") or [], declared)
        args = expansion.expand_all(c.spec.get("args") or [], declared)
        if c.image is not None:
            # The argv decides what a runner image (agnhost, perl, python) runs and serves.
            c.image = images.with_argv(c.image, command, args)
        c.interactive = self._interactive_shell(c, command, args)
        if c.interactive:
            pass  # the shell waits on stdin for an attached session (agent.attach)
        elif c.image is not None and images.runs_program(c.image, command, args):
            network = self.runtime.program_network(self.record)
            c.run = ProgramRun(images.program(c.image, command, args,
                                              Shell(env, c.files, now=self._program_clock(c),
                                                    network=network)))
        elif behaviour is not None and c.image is not None:
            for line in images.start_log_lines(c.image, self.record.name, now, self.record.ip):
                c.logs.append(LogLine(now, line))
        c.probes = {kind: ProbeWorker(spec, now) for kind, spec in container_probes(c.spec).items()}
        self.runtime.notify_started(self.record, c)

    @staticmethod
    def _interactive_shell(c: ContainerRecord, command: list[str], args: list[str]) -> bool:
        """A shell with ``stdin: true`` and no script (``kubectl debug -it``, ``kubectl run
        -it -- sh``, busybox's default ``sh``) reads its stdin instead of exiting at once."""
        if not c.spec.get("stdin") or c.image is None or not c.image.behaviour.shell:
            return False
        behaviour = c.image.behaviour
        argv = ([*command, *args] if command
                else [*behaviour.entrypoint, *(args or behaviour.default_command)])
        return (bool(argv) and argv[0].rsplit("/", 1)[-1] in ("sh", "ash", "bash")
                and "-c" not in argv[1:])

    def _program_clock(self, c: ContainerRecord) -> Callable[[], datetime]:
        clock = self.clock

        def now() -> datetime:
            started = c.started_at or clock.now()
            offset = c.run.offset if c.run is not None else 0.0
            return started + timedelta(seconds=offset / clock.speed)

        return now

    def effect_exited(self, c: ContainerRecord) -> None:
        run = c.run
        code = run.exit_code if run is not None and run.exit_code is not None else 0
        if run is None and c.attach_exit is not None:
            code = c.attach_exit
        finished = self.clock.now()
        if run is not None and run.exit_at is not None and c.started_at is not None:
            finished = c.started_at + timedelta(seconds=run.exit_at / self.clock.speed)
        self._terminate(c, code, "Completed" if code == 0 else "Error", finished)

    def effect_killed(self, c: ContainerRecord) -> None:
        self._terminate(c, 137, "Error")

    def effect_kill_unhealthy(self, c: ContainerRecord) -> None:
        c.stop_seconds = self._stop_time_for_kill(c)

    def _stop_time_for_kill(self, c: ContainerRecord) -> float:
        grace = float(self.spec.get("terminationGracePeriodSeconds") or DEFAULT_GRACE)
        if c.image is not None and c.image.behaviour.stops_on_sigterm and c.run is None:
            return min(grace, APP_STOP_SECONDS)
        return grace

    def _terminate(self, c: ContainerRecord, code: int, reason: str,
                   finished: datetime | None = None) -> None:
        was_running = c.started_at is not None and c.finished_at is None
        c.exit_code = code
        c.term_reason = reason
        if c.started_at is not None:
            c.finished_at = finished or self.clock.now()
        if c.run is not None:
            c.run.advance(self.clock.sim_elapsed(c.started_at) if c.started_at else 0.0)
        for worker in c.probes.values():
            worker.pending_failures.clear()
        c.probes = {}
        if was_running:
            self.runtime.notify_stopped(self.record, c)

    def effect_crash_loop(self, c: ContainerRecord) -> None:
        backoff = self.runtime.crash_backoff.get(self._crash_key(c))
        c.waiting_reason = "CrashLoopBackOff"
        c.waiting_message = (f"back-off {format_duration(backoff)} restarting failed "
                             f"container={c.name} pod={self.record.full_name}")

    def effect_restart(self, c: ContainerRecord) -> None:
        if c.finished_at is not None:
            self.runtime.crash_backoff.next(self._crash_key(c), c.finished_at)
        c.waiting_reason = "ContainerCreating" if not c.ever_started else ""
        c.waiting_message = ""
        if c.image is None:
            c.image_error = ""

    def _terminated_state(self, c: ContainerRecord) -> Obj:
        return {"terminated": {
            "exitCode": c.exit_code if c.exit_code is not None else 0,
            "reason": c.term_reason or "Completed",
            "startedAt": rfc3339(c.started_at) if c.started_at else None,
            "finishedAt": rfc3339(c.finished_at) if c.finished_at else None,
            "containerID": c.container_id,
        }}
