"""Bound ServiceAccount tokens: claims as kube-apiserver issues them, signature checked."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from kubelab.sandbox.api import serviceaccount_token as tokens

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _issue(now: datetime = NOW, **changes: Any) -> str:
    args: dict[str, Any] = {
        "namespace": "team", "service_account": "default", "service_account_uid": "sa-uid",
        "pod": "web", "pod_uid": "pod-uid", "node": "worker", "node_uid": "node-uid",
        "audience": "", "expiration_seconds": 3607, "now": now, **changes}
    return tokens.pod_token(**args)


def _part(token: str, index: int) -> Any:
    part = token.split(".")[index]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def test_claims_bind_the_token_to_pod_node_and_service_account() -> None:
    token = _issue()
    assert _part(token, 0) == {"alg": "ES256", "kid": tokens.key_id()}
    claims = _part(token, 1)
    iat = int(NOW.timestamp())
    assert claims["sub"] == "system:serviceaccount:team:default"
    assert claims["iss"] == "https://kubernetes.default.svc.cluster.local"
    assert claims["aud"] == ["https://kubernetes.default.svc.cluster.local"]
    assert (claims["iat"], claims["nbf"]) == (iat, iat)
    # The admission plugin's 3607 s: extended to a year, with a warning after 3607 s.
    assert claims["exp"] == iat + 365 * 24 * 3600
    assert claims["kubernetes.io"] == {
        "namespace": "team", "serviceaccount": {"name": "default", "uid": "sa-uid"},
        "pod": {"name": "web", "uid": "pod-uid"}, "node": {"name": "worker", "uid": "node-uid"},
        "warnafter": iat + 3607}
    assert tokens.verify(token, NOW) == claims


def test_other_lifetimes_and_audiences_are_taken_as_asked() -> None:
    claims = _part(_issue(expiration_seconds=600, audience="vault", pod_uid="other"), 1)
    assert claims["exp"] == claims["iat"] + 600
    assert claims["aud"] == ["vault"]
    assert "warnafter" not in claims["kubernetes.io"]


def test_a_tampered_or_expired_token_does_not_verify() -> None:
    token = _issue(expiration_seconds=600, pod_uid="short")
    header, _payload, signature = token.split(".")
    forged = _part(token, 1) | {"sub": "system:serviceaccount:kube-system:admin"}
    forged_part = base64.urlsafe_b64encode(json.dumps(forged).encode()).decode().rstrip("=")
    assert tokens.verify(f"{header}.{forged_part}.{signature}", NOW) is None
    assert tokens.verify(token, NOW + timedelta(seconds=599)) is not None
    assert tokens.verify(token, NOW + timedelta(seconds=600)) is None
    assert tokens.verify("not-a-token", NOW) is None
    assert tokens.verify(f"{header}.WzFd.{signature}", NOW) is None  # payload [1]


def test_the_kubelet_reuses_a_token_until_80_percent_of_its_lifetime() -> None:
    first = _issue(pod_uid="cached")
    assert _issue(NOW + timedelta(seconds=2800), pod_uid="cached") == first
    renewed = _issue(NOW + timedelta(seconds=2900), pod_uid="cached")
    assert renewed != first
    assert _part(renewed, 1)["iat"] == int(NOW.timestamp()) + 2900
