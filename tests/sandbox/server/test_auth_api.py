"""Authentication, TokenRequest and the review APIs through the in-process API server.

Upstream: ``pkg/registry/core/serviceaccount/storage/token.go`` (TokenRequest defaults and
validation), ``pkg/serviceaccount`` (a bound token dies with its pod), the review REST
storages of ``pkg/registry/authorization`` and ``authentication`` and the impersonation
filter. Requests carry the tokens a client would; no token value is asserted on beyond its
shape.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from kubelab.sandbox import bootstrap
from kubelab.sandbox.api import kinds, serviceaccount_token
from kubelab.sandbox.clock import ManualClock
from kubelab.sandbox.server.app import KubeApi, ServerConfig
from kubelab.sandbox.storage import Registry

ADMIN = {"Authorization": "Bearer t"}
SA_USER = "system:serviceaccount:default:bot"
Api = tuple[TestClient, Registry, ManualClock]  # type: ignore[type-arg]


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    clock = ManualClock()
    registry = Registry(clock)
    bootstrap.seed(registry, 1)
    registry.create(kinds.core("serviceaccounts"), {"metadata": {"name": "bot"}},
                    namespace="default")
    server = TestServer(KubeApi(registry, clock, ServerConfig("t", {})).app(),
                        host="127.0.0.1")
    async with TestClient(server) as client:
        yield client, registry, clock
    registry.close()


async def token_for(client: TestClient, body: dict[str, Any] | None = None,  # type: ignore[type-arg]
                    name: str = "bot") -> tuple[int, dict[str, Any]]:
    response = await client.post(f"/api/v1/namespaces/default/serviceaccounts/{name}/token",
                                 json=body or {"apiVersion": "authentication.k8s.io/v1",
                                               "kind": "TokenRequest", "spec": {}},
                                 headers=ADMIN)
    return response.status, await response.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_token_request_defaults_and_authentication(api: Api) -> None:
    client, _, clock = api
    status, body = await token_for(client)
    assert status == 201, body
    assert body["kind"] == "TokenRequest"
    assert body["spec"]["audiences"] == ["https://kubernetes.default.svc.cluster.local"]
    assert body["spec"]["expirationSeconds"] == 3600
    token = body["status"]["token"]
    assert token.count(".") == 2
    review = await client.post("/apis/authentication.k8s.io/v1/selfsubjectreviews",
                               json={"apiVersion": "authentication.k8s.io/v1",
                                     "kind": "SelfSubjectReview"}, headers=bearer(token))
    assert review.status == 201
    info = (await review.json())["status"]["userInfo"]
    assert info["username"] == SA_USER
    assert info["groups"] == ["system:serviceaccounts", "system:serviceaccounts:default",
                              "system:authenticated"]
    assert info["extra"]["authentication.kubernetes.io/credential-id"][0].startswith("JTI=")
    denied = await client.get("/api/v1/namespaces/default/pods", headers=bearer(token))
    body = await denied.json()
    assert denied.status == 403
    assert body["message"] == (f'pods is forbidden: User "{SA_USER}" cannot list resource '
                               '"pods" in API group "" in the namespace "default"')
    assert body["details"] == {"kind": "pods"}
    clock.advance(3601)
    expired = await client.get("/api/v1/namespaces/default/pods", headers=bearer(token))
    assert expired.status == 401
    assert (await expired.json())["message"] == "Unauthorized"


async def test_token_request_validation(api: Api) -> None:
    client, _, _ = api
    status, body = await token_for(client, {"spec": {"expirationSeconds": 60}})
    assert status == 422
    assert body["message"] == ('TokenRequest.authentication.k8s.io "" is invalid: '
                               "spec.expirationSeconds: Invalid value: 60: may not specify a "
                               "duration less than 10 minutes")
    status, body = await token_for(client, name="nobody")
    assert status == 404
    assert body["message"] == 'serviceaccounts "nobody" not found'


async def test_a_token_dies_with_its_account_and_its_pod(api: Api) -> None:
    client, registry, clock = api
    _, body = await token_for(client)
    token = body["status"]["token"]
    assert (await client.get("/api/v1/namespaces/default/pods/x",
                             headers=bearer(token))).status == 403
    registry.delete(kinds.core("serviceaccounts"), "default", "bot")
    assert (await client.get("/api/v1/namespaces/default/pods/x",
                             headers=bearer(token))).status == 401
    # A kubelet-style pod-bound token is accepted while its pod exists.
    sa = registry.create(kinds.core("serviceaccounts"), {"metadata": {"name": "bot"}},
                         namespace="default")
    pod = registry.create(kinds.core("pods"), {"metadata": {"name": "web"}, "spec": {
        "containers": [{"name": "c", "image": "nginx"}]}}, namespace="default")
    pod_token = serviceaccount_token.pod_token(
        namespace="default", service_account="bot", service_account_uid=sa["metadata"]["uid"],
        pod="web", pod_uid=pod["metadata"]["uid"], node="", node_uid="", audience="",
        expiration_seconds=3607, now=clock.now())
    review = await client.post("/apis/authentication.k8s.io/v1/selfsubjectreviews",
                               json={}, headers=bearer(pod_token))
    info = (await review.json())["status"]["userInfo"]
    assert info["extra"]["authentication.kubernetes.io/pod-name"] == ["web"]
    registry.delete(kinds.core("pods"), "default", "web", grace_period_seconds=0)
    gone = await client.post("/apis/authentication.k8s.io/v1/selfsubjectreviews",
                             json={}, headers=bearer(pod_token))
    assert gone.status == 401
    assert clock.now() < clock.now() + timedelta(seconds=1)


async def test_access_reviews(api: Api) -> None:
    client, _, _ = api
    spec = {"resourceAttributes": {"namespace": "default", "verb": "create",
                                   "resource": "pods"}}
    response = await client.post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                                 json={"spec": spec}, headers=ADMIN)
    body = await response.json()
    assert response.status == 201
    assert body["kind"] == "SelfSubjectAccessReview" and body["status"] == {"allowed": True}
    response = await client.post("/apis/authorization.k8s.io/v1/subjectaccessreviews",
                                 json={"spec": {**spec, "user": SA_USER}}, headers=ADMIN)
    assert (await response.json())["status"] == {"allowed": False}
    response = await client.post(
        "/apis/authorization.k8s.io/v1/subjectaccessreviews",
        json={"spec": {"user": SA_USER, "groups": ["system:authenticated"],
                       "nonResourceAttributes": {"verb": "get", "path": "/healthz"}}},
        headers=ADMIN)
    status = (await response.json())["status"]
    assert status == {"allowed": True, "reason": (
        'RBAC: allowed by ClusterRoleBinding "system:discovery" of ClusterRole '
        '"system:discovery" to Group "system:authenticated"')}
    response = await client.post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                                 json={"spec": {}}, headers=ADMIN)
    body = await response.json()
    assert response.status == 422
    assert "exactly one of nonResourceAttributes or resourceAttributes must be specified" in \
        body["message"]
    response = await client.post(
        "/apis/authorization.k8s.io/v1/namespaces/team/localsubjectaccessreviews",
        json={"spec": {"user": "jane", "resourceAttributes": {
            "namespace": "default", "verb": "get", "resource": "pods"}}}, headers=ADMIN)
    body = await response.json()
    assert response.status == 422
    assert "spec.resourceAttributes.namespace: Invalid value: \"default\": must match " \
        "metadata.namespace" in body["message"]
    response = await client.get("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                                headers=ADMIN)
    assert response.status == 405


async def test_impersonation_headers(api: Api) -> None:
    client, _, _ = api
    as_sa = {**ADMIN, "Impersonate-User": SA_USER}
    response = await client.get("/api/v1/namespaces/default/secrets", headers=as_sa)
    assert response.status == 403
    _, body = await token_for(client)
    as_bob = {**bearer(body["status"]["token"]), "Impersonate-User": "bob"}
    response = await client.get("/api/v1/namespaces/default/pods", headers=as_bob)
    body = await response.json()
    assert response.status == 403
    assert body["message"] == (f'users "bob" is forbidden: User "{SA_USER}" cannot '
                               'impersonate resource "users" in API group "" at the cluster '
                               "scope")
    only_group = {**ADMIN, "Impersonate-Group": "devs"}
    response = await client.get("/api/v1/namespaces/default/pods", headers=only_group)
    assert response.status == 400


async def test_anonymous_and_bad_tokens(api: Api) -> None:
    client, _, _ = api
    assert (await client.get("/version")).status == 200
    assert (await client.get("/api/v1/pods")).status == 401
    assert (await client.get("/api/v1/pods", headers=bearer("not-a-token"))).status == 401
    assert (await client.get("/api/v1/pods", headers=bearer("a.b.c"))).status == 401


async def test_patching_a_role_cannot_escalate(api: Api) -> None:
    client, registry, _ = api
    rbac = "/apis/rbac.authorization.k8s.io/v1/namespaces/default"
    registry.create(kinds.resource("roles.rbac.authorization.k8s.io"), {
        "metadata": {"name": "role-editor", "namespace": "default"},
        "rules": [{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"],
                   "verbs": ["get", "patch", "create"]},
                  {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]})
    registry.create(kinds.resource("rolebindings.rbac.authorization.k8s.io"), {
        "metadata": {"name": "role-editor", "namespace": "default"},
        "roleRef": {"kind": "Role", "name": "role-editor"},
        "subjects": [{"kind": "ServiceAccount", "name": "bot"}]})
    _, body = await token_for(client)
    as_bot = bearer(body["status"]["token"])
    created = await client.post(f"{rbac}/roles", headers=as_bot, json={
        "metadata": {"name": "small"},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]})
    assert created.status == 201, await created.text()
    patch = {"rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "delete"]}]}
    response = await client.patch(f"{rbac}/roles/small", headers={
        **as_bot, "Content-Type": "application/merge-patch+json"}, json=patch)
    body = await response.json()
    assert response.status == 403
    assert body["message"].endswith(
        'is attempting to grant RBAC permissions not currently held:\n'
        '{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}')
    stored = registry.get(kinds.resource("roles.rbac.authorization.k8s.io"), "default", "small")
    assert stored["rules"][0]["verbs"] == ["get"]
    admin = await client.patch(f"{rbac}/roles/small", headers={
        **ADMIN, "Content-Type": "application/merge-patch+json"}, json=patch)
    assert admin.status == 200
