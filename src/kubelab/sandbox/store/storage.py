"""The per-kind half of the registry: the hooks a kind's storage answers.

kube-apiserver builds one REST storage per resource (``pkg/registry/<group>/<kind>/storage``):
a ``genericregistry.Store`` configured with that kind's strategy (``CreateStrategy``,
``UpdateStrategy``, ``DeleteStrategy``, ``TTLFunc``…), wrapped where a kind needs more (the
Service REST allocates ClusterIPs and NodePorts before the create, the Namespace REST keeps a
deleted namespace until its finalizers ran, the Pod REST adds ``binding``, ``eviction``,
``log``, ``exec``…). The generic :class:`~kubelab.sandbox.store.registry.Registry` asks a
:class:`Storage` at those fixed points and knows no kind by name; every kind's storage lives
in :mod:`kubelab.sandbox.storage`, a layer above this one, beside its strategy
(:mod:`kubelab.sandbox.api.strategies`). HTTP requests and in-process components (controllers,
scheduler, kubelet) reach the same storage objects through the same registry, so both follow
the same rules.

A storage declares its subresources in a table (name → :class:`Subresource`); the HTTP layer
dispatches on the *type* of the entry, never on a kind or subresource name:

* :class:`UpdateSubresource` — written with PUT/PATCH of the whole object (``status``,
  ``finalize``, ``ephemeralcontainers``), through the registry's generic update;
* :class:`CreateSubresource` — a POST of another kind's body (``binding``, ``eviction``);
* :class:`ScaleSubresource` — ``autoscaling/v1`` Scale read from and written to the object;
* :class:`ConnectSubresource` — a stream the server serves itself (``log``, ``exec``,
  ``attach``, ``portforward``, ``proxy``), as upstream's connect REST hands the request to
  the kubelet.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from kubelab.apimachinery.selectors import selector_string
from kubelab.apimachinery.types import Obj, deep_copy_json
from kubelab.sandbox.api.errors import Cause
from kubelab.sandbox.api.kinds import KindInfo

if TYPE_CHECKING:
    from kubelab.sandbox.store.registry import Registry


class Strategy(Protocol):
    """What the registry needs of a kind's strategy (``rest.RESTCreateStrategy`` and
    friends); implemented by :class:`kubelab.sandbox.api.strategies.Strategy`."""

    has_status_subresource: bool
    returns_deleted_object: bool

    def default(self, obj: Obj) -> None: ...
    def validate(self, obj: Obj, info: KindInfo) -> list[Cause]: ...
    def validate_update(self, obj: Obj, old: Obj, info: KindInfo) -> list[Cause]: ...
    def prepare_for_create(self, obj: Obj) -> None: ...
    def prepare_for_update(self, obj: Obj, old: Obj) -> None: ...
    def prepare_for_status_update(self, obj: Obj, old: Obj) -> None: ...
    def selectable_fields(self, obj: Obj) -> dict[str, str]: ...


class Subresource:
    """One entry of a storage's subresource table."""


class UpdateSubresource(Subresource):
    """A subresource written by PUT/PATCH of the object (``/status``, ``/finalize``…): it
    decides which part of the written object counts and how that part is validated."""

    def prepare(self, obj: Obj, old: Obj) -> Obj:
        """The object to store, a new one, from the written one (the writer's: read, not
        changed, nothing of it kept uncopied) and the stored one."""
        raise NotImplementedError

    def validate(self, obj: Obj, old: Obj, info: KindInfo) -> list[Cause]:
        return []


class StatusSubresource(UpdateSubresource):
    """``/status``: the strategy's ``PrepareForUpdate`` of its status strategy."""

    def __init__(self, strategy: Strategy) -> None:
        self.strategy = strategy

    def prepare(self, obj: Obj, old: Obj) -> Obj:
        # Only status and annotations of the write count: copy those, not the whole pod
        # the kubelet wrote (a full copy was 5 % of the loop in a 5,000-pod bring-up).
        meta = obj.get("metadata") or {}
        taken: Obj = {"metadata": {}}
        if "annotations" in meta:
            taken["metadata"]["annotations"] = deep_copy_json(meta["annotations"])
        if "status" in obj:
            taken["status"] = deep_copy_json(obj["status"])
        self.strategy.prepare_for_status_update(taken, old)
        return taken


class CreateSubresource(Subresource):
    """A subresource that takes a POST of its own kind (``pods/binding`` takes a Binding,
    ``pods/eviction`` an Eviction); the server decodes the body as :attr:`body_kind`."""

    body_kind: KindInfo

    def create(self, registry: Registry, namespace: str, name: str, body: Obj, *,
               dry_run: bool = False) -> Obj | None:
        """Apply the POST; return the Status body to answer with (None: the default
        ``Success``/201)."""
        raise NotImplementedError


class ScaleSubresource(Subresource):
    """``/scale``: an ``autoscaling/v1`` Scale view of ``spec.replicas`` and the selector."""

    def selector(self, obj: Obj) -> str:
        """``status.selector``: the object's ``metav1.LabelSelector`` as a string."""
        return selector_string((obj.get("spec") or {}).get("selector"))


@dataclass(frozen=True)
class ConnectSubresource(Subresource):
    """A stream served by the server itself (upstream: a connect REST proxying to the
    kubelet); :attr:`methods` are the HTTP methods it accepts."""

    methods: tuple[str, ...] = ("GET", "POST")


@dataclass(frozen=True)
class ProxySubresource(ConnectSubresource):
    """``<kind>/<name>[:port]/proxy``: the kind's storage says where the request goes
    (upstream's ``ResourceLocation``: a ready endpoint of a Service, a pod's IP, a node's
    kubelet); the server forwards it there."""

    methods: tuple[str, ...] = ("GET", "POST", "PUT", "PATCH", "DELETE")

    def location(self, registry: Registry, namespace: str, name: str,
                 port: str) -> tuple[str, int]:
        """The (IP, port) the request goes to; an ApiError when there is none."""
        raise NotImplementedError



class Storage:
    """A kind's storage: its strategy, its kind-specific hooks and its subresources.

    The defaults are ``genericregistry.Store``'s: no allocation, immediate deletion, no
    TTL, admitted by ResourceQuota, a ``/status`` subresource when the strategy has one.
    """

    #: Whether ResourceQuota admission looks at creates of this kind.
    quota_admitted: bool = True
    #: Whether an object expires ``Registry.event_ttl`` simulated seconds after its last
    #: write (``genericregistry.Store.TTLFunc``: kube-apiserver's ``--event-ttl`` lease).
    leased: bool = False
    #: A resource whose create is a POST to a subresource of the object its body names
    #: (``bindings`` is ``pods/<name>/binding``): (kind, subresource).
    creates_through: tuple[KindInfo, str] | None = None
    #: Whether the UID is assigned before validation, as kube-apiserver's ``BeforeCreate``
    #: fills system fields before ``Validate`` (the Job strategy's generated selector names
    #: the Job's UID).
    uid_before_validation: bool = False

    def __init__(self, strategy: Strategy) -> None:
        self.strategy = strategy
        self.subresources: dict[str, Subresource] = {}
        if strategy.has_status_subresource:
            self.subresources["status"] = StatusSubresource(strategy)

    def subresource(self, name: str) -> Subresource | None:
        return self.subresources.get(name)

    def admit(self, registry: Registry, obj: Obj) -> None:
        """Mutating admission of a create: after defaulting and the field manager, before
        ``PrepareForCreate`` and validation, as kube-apiserver's create handler runs it
        (the LimitRanger plugin's default requests and limits)."""

    def before_create(self, registry: Registry, obj: Obj) -> list[Cause]:
        """After validation, before the write (``BeginCreate``; the Service REST allocates
        here). Return causes to refuse with 422."""
        return []

    def before_update(self, registry: Registry, obj: Obj, old: Obj) -> list[Cause]:
        """After validation of a main-resource update, before the write."""
        return []

    @property
    def changes_on_update(self) -> bool:
        """Whether :meth:`before_update` may change a main-resource write after its field
        manager ran (a kind that overrides it)."""
        return type(self).before_update is not Storage.before_update

    def deletion_grace(self, obj: Obj, requested: int | None) -> int:
        """``CheckGracefulDelete``: seconds the object stays terminating (0: at once)."""
        return 0

    def before_delete(self, registry: Registry, info: KindInfo, obj: Obj) -> None:
        """Admission of a DELETE of ``obj`` (raise an ApiError to refuse it), such as
        NamespaceLifecycle keeping the namespaces the cluster itself needs."""

    def prepare_for_delete(self, obj: Obj) -> None:
        """Changes the first DELETE makes besides ``deletionTimestamp`` (a namespace's
        phase)."""

    def finalizing(self, obj: Obj) -> bool:
        """Whether kind-specific finalisation still holds a deleted object (a namespace's
        ``spec.finalizers``), besides ``metadata.finalizers``."""
        return False


#: How the registry finds a kind's storage.
StorageTable = Callable[[KindInfo], Storage]
