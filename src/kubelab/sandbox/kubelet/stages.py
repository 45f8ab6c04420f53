"""The pod lifecycle as data: kwok-style Stages, extended with what containers do.

kwok (``kubernetes-sigs/kwok``, ``pkg/apis/v1alpha1/stage_types.go`` and
``kustomize/stage/pod/general/*.yaml``) simulates kubelets with *Stages*: a selector over the
object's observed state, a delay, then steps (a status patch, an event, a deletion). Each
transition's output is matched by the next stage's selector, so the whole lifecycle reads as a
table. The sandbox keeps that shape and adds the stages kwok leaves out because it has no
containers: image pull with back-off, container start, liveness kills, restart back-off
(``CrashLoopBackOff``) and graceful termination.

A selector matches *facts* the kubelet observes about a pod or a container (its current
``step``, whether the image is on the node, whether the process exited, the liveness result…;
see :mod:`.lifecycle`). ``delay`` is seconds, or the name of a fact that holds seconds,
counted from when the record entered its current step. When a stage fires, its events are
recorded (message templates are ``str.format`` over the facts), its ``effect`` updates the
runtime record (named functions in :mod:`.lifecycle`), and the record moves to ``next``.
Stages are tried in order; the first whose selector matches is the one that applies.

Event texts are the kubelet's own (``pkg/kubelet/events/event.go`` reasons,
``pkg/kubelet/images/image_manager.go``, ``kuberuntime_container.go``,
``kuberuntime_manager.go``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class EventSpec:
    type: str
    reason: str
    message: str


@dataclass(frozen=True)
class Stage:
    """One transition: ``selector`` (fact → allowed values) → ``delay`` → events, effect, next."""

    name: str
    selector: Mapping[str, tuple[object, ...]]
    next: str
    delay: float | str = 0.0
    events: tuple[EventSpec, ...] = ()
    effect: str = ""
    #: Human-readable intent, shown when the stage table is printed for learners.
    doc: str = field(default="", compare=False)

    def matches(self, facts: Mapping[str, object]) -> bool:
        return all(facts.get(key) in allowed for key, allowed in self.selector.items())


#: Simulated seconds the runtime takes to set up a pod sandbox (network, pause container).
SANDBOX_SECONDS = 0.5
#: Simulated seconds between an image being ready and the container running.
CREATE_SECONDS = 0.5
#: How long a pull of an image that does not exist takes to fail.
FAILED_PULL_SECONDS = 1.0
#: Delay between ErrImagePull and the next sync reporting ImagePullBackOff.
PULL_RESYNC_SECONDS = 1.0
#: Retry interval for config errors and failed mounts.
CONFIG_RETRY_SECONDS = 10.0

POD_STAGES: tuple[Stage, ...] = (
    Stage("pod-mount-failed", {"step": ("accepted",), "deleting": (False,), "mount": ("error",)},
          next="accepted", delay="mount_retry",
          events=(EventSpec("Warning", "FailedMount", "{mount_error}"),),
          doc="A secret/configMap volume is missing: stay ContainerCreating, retry."),
    Stage("pod-sandbox", {"step": ("accepted",), "deleting": (False,), "mount": ("ok",)},
          next="ready", delay=SANDBOX_SECONDS, effect="create_sandbox",
          doc="The runtime creates the sandbox: the pod gets its IP."),
    Stage("pod-stop", {"step": ("accepted", "ready"), "deleting": (True,)},
          next="stopping", effect="stop_pod",
          doc="deletionTimestamp set: stop every container within the grace period."),
    Stage("pod-delete", {"step": ("stopping",), "all_stopped": (True,)},
          next="deleted", effect="delete_pod",
          doc="Every container stopped: delete the pod with grace 0 (kwok's pod-delete)."),
)

_PULLED_ALREADY = EventSpec("Normal", "Pulled",
                            'Container image "{image}" already present on machine')

CONTAINER_STAGES: tuple[Stage, ...] = (
    # --- stopping on deletion (highest priority)
    Stage("container-stop", {"deleting": (True,), "step": ("running", "killing")},
          next="stopping", effect="stop_for_deletion",
          events=(EventSpec("Normal", "Killing", "Stopping container {name}"),)),
    Stage("container-stopped", {"deleting": (True,), "step": ("stopping",)},
          next="stopped", delay="stop_seconds", effect="stopped"),
    Stage("container-discard", {"deleting": (True,),
                                "step": ("waiting", "pulling", "pull-failed", "pull-backoff",
                                         "pulled", "config-error", "terminated",
                                         "crash-backoff", "invalid", "never-pull",
                                         "terminated-final")},
          next="stopped", effect="discard"),
    # --- image
    Stage("image-invalid", {"step": ("waiting",), "pod_ready": (True,), "image_state": ("invalid",)},
          next="invalid", effect="invalid_image",
          events=(EventSpec("Warning", "InspectFailed", "{image_error}"),
                  EventSpec("Warning", "Failed", "Error: InvalidImageName"))),
    Stage("image-never-pull", {"step": ("waiting",), "pod_ready": (True,),
                               "image_state": ("absent",), "pull_policy": ("Never",)},
          next="never-pull", effect="never_pull",
          events=(EventSpec("Warning", "ErrImageNeverPull",
                            'Container image "{image}" is not present with pull policy of Never'),
                  EventSpec("Warning", "Failed", "Error: ErrImageNeverPull"))),
    Stage("image-present", {"step": ("waiting",), "pod_ready": (True,), "image_state": ("present",)},
          next="pulled", events=(_PULLED_ALREADY,)),
    Stage("image-pull-backoff", {"step": ("waiting",), "pod_ready": (True,),
                                 "image_state": ("absent", "unknown"), "pull_backoff": (True,)},
          next="pull-backoff", effect="pull_backoff",
          events=(EventSpec("Normal", "BackOff", 'Back-off pulling image "{image}"'),
                  EventSpec("Warning", "Failed", "Error: ImagePullBackOff"))),
    Stage("image-pull", {"step": ("waiting",), "pod_ready": (True,),
                         "image_state": ("absent", "unknown")},
          next="pulling", events=(EventSpec("Normal", "Pulling", 'Pulling image "{image}"'),)),
    Stage("image-pulled", {"step": ("pulling",), "image_state": ("absent",)},
          next="pulled", delay="pull_seconds", effect="pulled",
          events=(EventSpec("Normal", "Pulled",
                            'Successfully pulled image "{image}" in {pull_took} ({pull_took} '
                            "including waiting). Image size: {size} bytes."),)),
    Stage("image-pull-failed", {"step": ("pulling",), "image_state": ("unknown",)},
          next="pull-failed", delay=FAILED_PULL_SECONDS, effect="pull_failed",
          events=(EventSpec("Warning", "Failed", 'Failed to pull image "{image}": {image_error}'),
                  EventSpec("Warning", "Failed", "Error: ErrImagePull"))),
    Stage("image-pull-resync", {"step": ("pull-failed",)},
          next="waiting", delay=PULL_RESYNC_SECONDS),
    Stage("image-pull-retry", {"step": ("pull-backoff",)},
          next="waiting", delay="pull_backoff_left"),
    # --- create and start
    Stage("container-config-error", {"step": ("pulled",), "runnable": (True,),
                                     "config": ("error",)},
          next="config-error", delay=CREATE_SECONDS, effect="config_error",
          events=(EventSpec("Warning", "Failed", "Error: {config_error}"),)),
    Stage("container-config-retry", {"step": ("config-error",)},
          next="pulled", delay=CONFIG_RETRY_SECONDS),
    Stage("container-start", {"step": ("pulled",), "runnable": (True,), "config": ("ok",)},
          next="running", delay=CREATE_SECONDS, effect="start",
          events=(EventSpec("Normal", "Created", "Created container: {name}"),
                  EventSpec("Normal", "Started", "Started container {name}"))),
    # --- running
    Stage("container-killed", {"step": ("running",), "kill_requested": (True,)},
          next="terminated", effect="killed"),
    Stage("container-exited", {"step": ("running",), "exited": (True,)},
          next="terminated", effect="exited"),
    Stage("container-liveness-failed", {"step": ("running",), "liveness": ("failure",)},
          next="killing", effect="kill_unhealthy",
          events=(EventSpec("Normal", "Killing",
                            "Container {name} failed {failed_probe} probe, will be restarted"),)),
    Stage("container-killed-unhealthy", {"step": ("killing",)},
          next="terminated", delay="stop_seconds", effect="stopped"),
    # --- restart policy and back-off
    Stage("container-completed", {"step": ("terminated",), "restart": (False,)},
          next="terminated-final"),
    Stage("container-crashloop", {"step": ("terminated",), "restart": (True,),
                                  "crash_backoff": (True,)},
          next="crash-backoff", effect="crash_loop",
          events=(EventSpec("Warning", "BackOff",
                            "Back-off restarting failed container {name} in pod {pod}"),)),
    Stage("container-restart", {"step": ("terminated",), "restart": (True,),
                                "crash_backoff": (False,)},
          next="waiting", effect="restart"),
    Stage("container-crashloop-done", {"step": ("crash-backoff",)},
          next="waiting", delay="crash_backoff_left", effect="restart"),
)
