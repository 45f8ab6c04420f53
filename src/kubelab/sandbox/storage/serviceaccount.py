"""v1 ServiceAccount storage and its ``token`` subresource (TokenRequest).

Mirrors ``pkg/registry/core/serviceaccount/storage/token.go`` (``TokenREST.Create``) and
``ValidateTokenRequest`` (``pkg/apis/authentication/validation``): ``POST
serviceaccounts/<name>/token`` with an ``authentication.k8s.io/v1 TokenRequest`` (what
``kubectl create token <name>`` sends) answers with the request, defaulted — audiences the
API server's own (``https://kubernetes.default.svc.cluster.local``), an hour's lifetime —
and ``status.token``, a JWT signed by the sandbox's ServiceAccount key
(:mod:`kubelab.sandbox.api.serviceaccount_token`), with its ``expirationTimestamp``. A token
may be bound to a Pod or a Secret of the namespace (``--bound-object-kind``): it then dies
with that object. The API server's authenticator accepts these tokens as the ServiceAccount.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from kubelab.apimachinery.times import rfc3339
from kubelab.apimachinery.types import Obj
from kubelab.sandbox.api import errors, kinds, serviceaccount_token
from kubelab.sandbox.api.errors import ApiError
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.api.validation import invalid
from kubelab.sandbox.store.registry import Registry
from kubelab.sandbox.store.storage import CreateSubresource, Storage, Strategy

SERVICEACCOUNTS = kinds.core("serviceaccounts")
TOKEN_REQUEST = KindInfo("authentication.k8s.io", "v1", "TokenRequest", "tokenrequests",
                         "tokenrequest", True, model="AuthenticationV1TokenRequest")
#: ``MinTokenAgeSec`` and the 2^32 seconds ceiling of ``ValidateTokenRequest``.
MIN_SECONDS = 10 * 60
MAX_SECONDS = 1 << 32
DEFAULT_SECONDS = 3600
_BINDABLE = {"Pod": "pods", "Secret": "secrets"}


def _invalid_request(causes: list[errors.Cause]) -> ApiError:
    return errors.invalid(TOKEN_REQUEST, "", causes)


class TokenSubresource(CreateSubresource):
    """``serviceaccounts/<name>/token``."""

    body_kind = TOKEN_REQUEST

    def create(self, registry: Registry, namespace: str, name: str, body: Obj, *,
               dry_run: bool = False) -> Obj | None:
        spec = dict(body.get("spec") or {})
        seconds = spec.get("expirationSeconds")
        seconds = DEFAULT_SECONDS if seconds is None else int(seconds)
        if seconds < MIN_SECONDS:
            raise _invalid_request([invalid("spec.expirationSeconds", seconds,
                                            "may not specify a duration less than 10 minutes")])
        if seconds > MAX_SECONDS:
            raise _invalid_request([invalid("spec.expirationSeconds", seconds,
                                            "may not specify a duration larger than 2^32 "
                                            "seconds")])
        meta = body.get("metadata") or {}
        if meta.get("name") and meta["name"] != name:
            raise _invalid_request([invalid("metadata.name", meta["name"],
                                            "must match the service account name if "
                                            "specified")])
        account = registry.peek(SERVICEACCOUNTS, namespace, name)
        if account is None:
            raise errors.not_found(SERVICEACCOUNTS, name)
        bound: dict[str, str] = {}
        ref = spec.get("boundObjectRef")
        if ref:
            kind = ref.get("kind", "")
            if kind not in _BINDABLE:
                raise errors.bad_request(f"cannot bind token for object of kind {kind}")
            target = registry.peek(kinds.core(_BINDABLE[kind]), namespace, ref.get("name", ""))
            if target is None:
                raise errors.not_found(kinds.core(_BINDABLE[kind]), ref.get("name", ""))
            uid = target["metadata"].get("uid", "")
            if ref.get("uid") and ref["uid"] != uid:
                raise errors.conflict(
                    kinds.core(_BINDABLE[kind]), ref.get("name", ""),
                    f"the UID in the bound object reference ({ref['uid']}) does not match the "
                    "UID in record. The object might have been deleted and then recreated")
            bound = {"kind": kind, "name": ref.get("name", ""), "uid": uid}
        audiences = list(spec.get("audiences") or [serviceaccount_token.ISSUER])
        now = registry.clock.now()
        node, node_uid = "", ""
        if bound.get("kind") == "Pod":
            pod = registry.peek(kinds.core("pods"), namespace, bound["name"]) or {}
            node = (pod.get("spec") or {}).get("nodeName", "")
            found = registry.peek(kinds.core("nodes"), "", node) if node else None
            node_uid = (found or {}).get("metadata", {}).get("uid", "")
        payload = serviceaccount_token.claims(
            namespace=namespace, service_account=name,
            service_account_uid=account["metadata"].get("uid", ""),
            pod=bound["name"] if bound.get("kind") == "Pod" else "",
            pod_uid=bound["uid"] if bound.get("kind") == "Pod" else "",
            secret=bound["name"] if bound.get("kind") == "Secret" else "",
            secret_uid=bound["uid"] if bound.get("kind") == "Secret" else "",
            node=node, node_uid=node_uid, audiences=audiences, expiration_seconds=seconds,
            now=now, jti=str(uuid.uuid4()))
        token = "" if dry_run else serviceaccount_token.sign(payload)
        spec["audiences"] = audiences
        spec["expirationSeconds"] = seconds
        if ref:
            spec["boundObjectRef"] = {**ref, "uid": bound["uid"]}
        return {"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
                "metadata": {"name": name, "namespace": namespace, "creationTimestamp": None},
                "spec": spec,
                "status": {"token": token,
                           "expirationTimestamp": rfc3339(now + timedelta(seconds=seconds))}}


class ServiceAccountStorage(Storage):
    """The ServiceAccount REST with its ``token`` subresource."""

    def __init__(self, strategy: Strategy) -> None:
        super().__init__(strategy)
        self.subresources["token"] = TokenSubresource()
