"""Bearer-token authentication: the admin token and ServiceAccount tokens.

Mirrors kube-apiserver's token authenticators in the order its union tries them: the
static token of the kubeconfig's user (kubeadm's cluster-admin; here the sandbox's random
token, compared in constant time), then the ServiceAccount JWT authenticator
(``pkg/serviceaccount/jwt.go`` ``Validator``, ``claims.go``): a token this API server signed,
for its audience, not expired, whose ServiceAccount — and the pod or Secret it is bound to —
still exists with the UID the token names. Such a request is
``system:serviceaccount:<ns>:<name>`` in the groups ``system:serviceaccounts``,
``system:serviceaccounts:<ns>`` and ``system:authenticated``, with the pod's name and UID
as extra attributes. Anything else presented as a bearer token is 401 Unauthorized. Token
values never reach a log.

Simulation note: kubeadm leaves anonymous requests on, so a real cluster answers a request
with no token as ``system:anonymous`` (RBAC then allows ``/version`` and the health paths
and refuses the rest with 403). The sandbox serves those same paths anonymously and answers
any other request without a token 401, as its API server always has.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from typing import Any

from kubelab.sandbox.api import kinds, serviceaccount_token
from kubelab.sandbox.auth.user import (
    ADMIN,
    AUTHENTICATED,
    UserInfo,
    service_account_groups,
    service_account_name,
)
from kubelab.sandbox.clock import Clock
from kubelab.sandbox.store.registry import Registry

EXTRA_PREFIX = "authentication.kubernetes.io/"
#: kube-apiserver caches a token's authentication for 10 seconds (``tokenSuccessCacheTTL``);
#: here only the signature check is cached (a few hundred microseconds of ECDSA per request),
#: under a digest of the token, and the account and pod are still looked up every time.
CACHE_SECONDS = 10
CACHE_SIZE = 1024


def bearer_token(header: str) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (None if not one)."""
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class Authenticator:
    """Tokens → users, over the registry (ServiceAccounts, pods and Secrets)."""

    def __init__(self, admin_token: str, registry: Registry, clock: Clock) -> None:
        self._admin = f"{admin_token}".encode()
        self.registry = registry
        self.clock = clock
        self._verified: dict[bytes, tuple[datetime, dict[str, Any]]] = {}

    def authenticate(self, token: str, audiences: tuple[str, ...] = ()) -> UserInfo | None:
        """The user a token stands for, or None (401)."""
        if hmac.compare_digest(token.encode(), self._admin):
            return ADMIN
        if token.count(".") != 2:
            return None
        return self.service_account_user(token, audiences)

    def _verify(self, token: str) -> dict[str, Any] | None:
        """:func:`serviceaccount_token.verify`, remembered for :data:`CACHE_SECONDS`."""
        now = self.clock.now()
        digest = hashlib.sha256(token.encode()).digest()
        cached = self._verified.get(digest)
        if cached is not None:
            if now < cached[0]:
                return cached[1]
            del self._verified[digest]
        claims = serviceaccount_token.verify(token, now)
        if claims is not None:
            if len(self._verified) >= CACHE_SIZE:
                self._verified.pop(next(iter(self._verified)))
            expiry = datetime.fromtimestamp(int(claims.get("exp", 0)), now.tzinfo)
            self._verified[digest] = (min(now + timedelta(seconds=CACHE_SECONDS), expiry),
                                      claims)
        return claims

    def service_account_user(self, token: str,
                             audiences: tuple[str, ...] = ()) -> UserInfo | None:
        claims = self._verify(token)
        if claims is None:
            return None
        wanted = audiences or (serviceaccount_token.ISSUER,)
        aud = claims.get("aud")
        token_audiences = aud if isinstance(aud, list) else [aud]
        if not any(a in token_audiences for a in wanted):
            return None
        private: Any = claims.get("kubernetes.io")
        if not isinstance(private, dict):
            return None
        namespace = private.get("namespace") or ""
        sa_ref = private.get("serviceaccount") or {}
        sa = self.registry.peek(kinds.core("serviceaccounts"), namespace, sa_ref.get("name", ""))
        if sa is None or sa["metadata"].get("uid") != sa_ref.get("uid"):
            return None
        extra: dict[str, tuple[str, ...]] = {}
        for key, plural in (("pod", "pods"), ("secret", "secrets")):
            ref = private.get(key)
            if not isinstance(ref, dict):
                continue
            bound = self.registry.peek(kinds.core(plural), namespace, ref.get("name", ""))
            if bound is None or bound["metadata"].get("uid") != ref.get("uid") or \
                    bound["metadata"].get("deletionTimestamp"):
                return None
            if key == "pod":
                extra[f"{EXTRA_PREFIX}pod-name"] = (ref.get("name", ""),)
                extra[f"{EXTRA_PREFIX}pod-uid"] = (ref.get("uid", ""),)
        node = private.get("node")
        if isinstance(node, dict):
            extra[f"{EXTRA_PREFIX}node-name"] = (node.get("name", ""),)
            extra[f"{EXTRA_PREFIX}node-uid"] = (node.get("uid", ""),)
        if claims.get("jti"):
            extra[f"{EXTRA_PREFIX}credential-id"] = (f"JTI={claims['jti']}",)
        return UserInfo(service_account_name(namespace, sa["metadata"]["name"]),
                        uid=sa["metadata"].get("uid", ""),
                        groups=(*service_account_groups(namespace), AUTHENTICATED),
                        extra=dict(sorted(extra.items())))
