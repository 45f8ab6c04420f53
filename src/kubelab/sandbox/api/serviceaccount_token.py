"""Bound ServiceAccount tokens: the JWT a pod finds in ``…/serviceaccount/token``.

Mirrors kube-apiserver's token issuer (``pkg/serviceaccount/jwt.go`` ``JWTTokenGenerator``
and ``claims.go`` ``Claims``) as the kubelet's token manager
(``pkg/kubelet/token/token_manager.go``) obtains it through ``TokenRequest`` for a projected
``serviceAccountToken`` source: a signed JWT whose header names the key (``kid``: the
base64url SHA-256 of the public key's DER) and whose claims bind it to the pod, its node
and its ServiceAccount: ``iss``/``aud`` ``https://kubernetes.default.svc.cluster.local``
(kubeadm's issuer and default audience), ``sub`` ``system:serviceaccount:<ns>:<name>``,
``iat``/``nbf``/``exp``, ``jti`` and the private ``kubernetes.io`` claim. A token asked for
with the admission plugin's 3607 seconds gets the extended one-year lifetime with
``warnafter`` at the requested expiry (``--service-account-extend-token-expiration``, on by
default). The kubelet reuses a token until 80 % of its requested lifetime has passed, as its
token manager does.

Simulation note: the signing key is made once per sandbox process and lives only in its
memory (the sandbox keeps no ``sa.key``). It is an ECDSA P-256 key (ES256, which
kube-apiserver's issuer supports as it does RSA): kubeadm's ``sa.key`` is RSA, but an RS256
signature costs milliseconds per pod where ES256 costs a fraction of one, and a key is made
at once. :func:`verify` checks a token's signature and lifetime; the API server's
authenticator (:mod:`kubelab.sandbox.auth.authenticate`) accepts a verified token as its
ServiceAccount while the account (and the pod or Secret it is bound to) exists.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import threading
import uuid
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

ISSUER = "https://kubernetes.default.svc.cluster.local"
#: ``serviceaccount.WarnOnlyBoundTokenExpirationSeconds``.
WARN_ONLY_EXPIRATION_SECONDS = 3607
#: ``serviceaccount.ExpirationExtensionSeconds``: one year.
EXTENDED_EXPIRATION_SECONDS = 365 * 24 * 3600
#: The token manager refreshes a token older than this share of its requested lifetime.
REFRESH_SHARE = 0.8

_lock = threading.Lock()
_key: ec.EllipticCurvePrivateKey | None = None
#: Bytes of each of r and s in a P-256 JWS signature (RFC 7518 section 3.4).
_HALF = 32
_issued: dict[tuple[str, ...], tuple[int, str]] = {}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signing_key() -> ec.EllipticCurvePrivateKey:
    global _key
    with _lock:
        if _key is None:
            _key = ec.generate_private_key(ec.SECP256R1())
        return _key


@functools.cache
def key_id() -> str:
    """``keyIDFromPublicKey``: base64url SHA-256 of the public key's DER."""
    der = _signing_key().public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return _b64(hashlib.sha256(der).digest())


def claims(*, namespace: str, service_account: str, service_account_uid: str,
           pod: str, pod_uid: str, node: str, node_uid: str, audiences: list[str],
           expiration_seconds: int, now: datetime, jti: str,
           secret: str = "", secret_uid: str = "") -> dict[str, Any]:
    """``Claims`` + ``ScopedClaims`` for a token requested at ``now``: bound to a pod (the
    kubelet's), a Secret, or nothing (``kubectl create token``)."""
    iat = int(now.timestamp())
    private: dict[str, Any] = {"namespace": namespace,
                               "serviceaccount": {"name": service_account,
                                                  "uid": service_account_uid}}
    if pod:
        private["pod"] = {"name": pod, "uid": pod_uid}
    if secret:
        private["secret"] = {"name": secret, "uid": secret_uid}
    if node:
        private["node"] = {"name": node, "uid": node_uid}
    exp = iat + expiration_seconds
    if expiration_seconds == WARN_ONLY_EXPIRATION_SECONDS and pod:
        private["warnafter"] = exp
        exp = iat + EXTENDED_EXPIRATION_SECONDS
    return {"aud": audiences, "exp": exp, "iat": iat, "iss": ISSUER, "jti": jti,
            "kubernetes.io": private, "nbf": iat,
            "sub": f"system:serviceaccount:{namespace}:{service_account}"}


def sign(payload: dict[str, Any]) -> str:
    """A compact JWS (ES256) of ``payload``."""
    header = {"alg": "ES256", "kid": key_id()}
    signing_input = ".".join(_b64(json.dumps(part, separators=(",", ":")).encode())
                             for part in (header, payload))
    r, s = decode_dss_signature(_signing_key().sign(signing_input.encode(),
                                                    ec.ECDSA(hashes.SHA256())))
    signature = r.to_bytes(_HALF, "big") + s.to_bytes(_HALF, "big")
    return f"{signing_input}.{_b64(signature)}"


def verify(token: str, now: datetime) -> dict[str, Any] | None:
    """The claims of a token this process issued and that is valid at ``now``, else None."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        header = json.loads(_unb64(parts[0]))
        payload = json.loads(_unb64(parts[1]))
        raw = _unb64(parts[2])
        if len(raw) != 2 * _HALF:
            return None
        der = encode_dss_signature(int.from_bytes(raw[:_HALF], "big"),
                                   int.from_bytes(raw[_HALF:], "big"))
        _signing_key().public_key().verify(der, f"{parts[0]}.{parts[1]}".encode(),
                                           ec.ECDSA(hashes.SHA256()))
    except (ValueError, InvalidSignature):
        return None
    if not isinstance(header, dict) or not isinstance(payload, dict) or \
            header.get("alg") != "ES256" or payload.get("iss") != ISSUER:
        return None
    at = int(now.timestamp())
    if not payload.get("nbf", 0) <= at < payload.get("exp", 0):
        return None
    return payload


def pod_token(*, namespace: str, service_account: str, service_account_uid: str, pod: str,
              pod_uid: str, node: str, node_uid: str, audience: str,
              expiration_seconds: int, now: datetime) -> str:
    """The token the kubelet mounts for one projected source: the cached one while it is
    fresh (token manager), a new one otherwise."""
    audiences = [audience] if audience else [ISSUER]
    key = (namespace, service_account, service_account_uid, pod, pod_uid, node,
           ",".join(audiences), str(expiration_seconds))
    at = int(now.timestamp())
    with _lock:
        cached = _issued.get(key)
    if cached is not None and 0 <= at - cached[0] < expiration_seconds * REFRESH_SHARE:
        return cached[1]
    token = sign(claims(namespace=namespace, service_account=service_account,
                        service_account_uid=service_account_uid, pod=pod, pod_uid=pod_uid,
                        node=node, node_uid=node_uid, audiences=audiences,
                        expiration_seconds=expiration_seconds, now=now,
                        jti=str(uuid.uuid4())))
    with _lock:
        _issued[key] = (at, token)
    return token
