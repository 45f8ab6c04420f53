"""``/openapi/v2``, client-side validation, APIServices and componentstatuses with the real
kubectl and the official Python client.

What kubectl 1.37 does with ``apply -f``/``create -f`` and the default ``--validate=strict``
(measured with ``-v=6``): for a kind the ``/openapi/v3`` index vouches for (a PATCH operation
with its GVK and a ``fieldValidation`` parameter) it leaves validation to the server and
sends ``fieldValidation=Strict``, never fetching v2; for anything else (an unknown apiVersion,
an unknown kind of a served one, a ``List``) it lists CRDs, fetches ``/openapi/v2`` as
protobuf and validates client-side: ``ValidationError(…)`` wording for a bad field, nothing
for a kind v2 does not know, which the API server then reports as "no matches for kind".
Upstream: ``cli-runtime`` ``query_param_verifier*.go``, ``kubectl/pkg/validation``,
``kube-openapi/pkg/util/proto/validation``; kube-aggregator's APIService controllers;
``pkg/registry/core/componentstatus``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conformance.support import wait_for
from sandbox_support import SandboxHandle

from kubelab.sandbox.api import openapi_v2

pytestmark = pytest.mark.slow

JOB = """apiVersion: batch/v1
kind: Job
metadata:
  name: {name}
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: c
        image: busybox
        {command}: ["true"]
"""
LIST = """apiVersion: v1
kind: List
items:
- apiVersion: batch/v1
  kind: Job
  metadata:
    name: listed
  spec:
    backoffLimit: "six"
    template:
      spec:
        restartPolicy: Never
        containers:
        - name: c
          image: busybox
          comand: ["true"]
"""
APISERVICE = """apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata:
  name: v1alpha1.wardle.k8s.io
spec:
  insecureSkipTLSVerify: true
  group: wardle.k8s.io
  groupPriorityMinimum: 1000
  versionPriority: 15
  service:
    name: api
    namespace: wardle
  version: v1alpha1
"""
CRD = """apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}]
"""
V2_REQUEST = re.compile(r'verb="GET" url="[^"]*/openapi/v2\?timeout=32s" status="200 OK"')


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_a_typo_in_a_served_kind_is_refused_by_the_server(cluster_sandbox: SandboxHandle,
                                                          tmp_path: Path) -> None:
    sb = cluster_sandbox
    typo = _write(tmp_path, "typo.yaml", JOB.format(name="typo", command="comand"))
    proc = sb.kubectl("apply", "-f", typo, "-v=6", check=False)
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[-1] == (
        f'Error from server (BadRequest): error when creating "{typo}": Job in version "v1" '
        'cannot be handled as a Job: strict decoding error: unknown field '
        '"spec.template.spec.containers[0].comand"')
    assert "fieldValidation=Strict" in proc.stderr
    assert "/openapi/v2" not in proc.stderr  # the v3 document vouched for batch/v1 Job

    valid = _write(tmp_path, "valid.yaml", JOB.format(name="valid", command="command"))
    assert sb.kubectl("create", "-f", valid).stdout == "job.batch/valid created\n"


@pytest.mark.parametrize(("api_version", "kind"), [("v1", "Foo"), ("example.com/v1", "Widget")])
def test_an_unknown_kind_reads_no_matches_for_kind(cluster_sandbox: SandboxHandle,
                                                   tmp_path: Path, api_version: str,
                                                   kind: str) -> None:
    manifest = _write(tmp_path, "unknown.yaml",
                      f"apiVersion: {api_version}\nkind: {kind}\nmetadata:\n  name: w\n")
    proc = cluster_sandbox.kubectl("apply", "-f", manifest, "-v=6", check=False)
    assert proc.returncode == 1
    assert V2_REQUEST.search(proc.stderr), proc.stderr[-2000:]
    assert proc.stderr.splitlines()[-2:] == [
        f'error: resource mapping not found for name: "w" namespace: "" from "{manifest}": '
        f'no matches for kind "{kind}" in version "{api_version}"',
        "ensure CRDs are installed first"]


def test_a_list_is_validated_client_side_from_openapi_v2(cluster_sandbox: SandboxHandle,
                                                         tmp_path: Path) -> None:
    sb = cluster_sandbox
    manifest = _write(tmp_path, "list.yaml", LIST)
    proc = sb.kubectl("create", "-f", manifest, check=False)
    assert proc.returncode == 1
    assert proc.stderr == (
        f'error: error validating "{manifest}": error validating data: '
        '[ValidationError(Job.spec.backoffLimit): invalid type for '
        'io.k8s.api.batch.v1.JobSpec.backoffLimit: got "string", expected "integer", '
        'ValidationError(Job.spec.template.spec.containers[0]): unknown field "comand" in '
        'io.k8s.api.core.v1.Container]; if you choose to ignore these errors, turn validation '
        'off with --validate=false\n')
    assert sb.kubectl("get", "job", "listed", check=False).returncode == 1


def test_explain_still_works(cluster_sandbox: SandboxHandle) -> None:
    out = cluster_sandbox.kubectl("explain", "job.spec.backoffLimit").stdout
    assert "FIELD: backoffLimit <integer>" in out
    out = cluster_sandbox.kubectl("explain", "apiservice.spec.service").stdout
    assert "FIELD: service <ServiceReference>" in out


def test_get_apiservices(cluster_sandbox: SandboxHandle, tmp_path: Path) -> None:
    sb = cluster_sandbox
    versions = sb.kubectl("api-versions").stdout.split()
    expected = {f"{v.split('/')[1]}.{v.split('/')[0]}" if "/" in v else f"{v}."
                for v in versions}

    def listed() -> dict[str, list[str]]:
        lines = sb.kubectl("get", "apiservices").stdout.splitlines()
        assert lines[0].split() == ["NAME", "SERVICE", "AVAILABLE", "AGE"]
        return {line.split()[0]: line.split()[1:] for line in lines[1:]}

    wait_for(lambda: expected <= set(listed()), 30, "an APIService per group-version")
    rows = listed()
    assert rows["v1."][:2] == ["Local", "True"] and rows["v1.apps"][:2] == ["Local", "True"]
    assert rows["v1.apiregistration.k8s.io"][:2] == ["Local", "True"]
    assert all(cells[1] == "True" for cells in rows.values())

    manifest = _write(tmp_path, "api-service.yaml", APISERVICE)
    assert sb.kubectl("apply", "-f", manifest).stdout == \
        "apiservice.apiregistration.k8s.io/v1alpha1.wardle.k8s.io created\n"
    wait_for(lambda: listed().get("v1alpha1.wardle.k8s.io", [])[:3] ==
             ["wardle/api", "False", "(ServiceNotFound)"], 30, "the availability check")
    status = json.loads(sb.kubectl("get", "apiservice", "v1alpha1.wardle.k8s.io",
                                   "-o", "json").stdout)["status"]
    assert status["conditions"][0]["message"] == 'service/api in "wardle" is not present'
    again = sb.kubectl("create", "-f", manifest, check=False)
    assert again.stderr.strip().endswith(
        'apiservices.apiregistration.k8s.io "v1alpha1.wardle.k8s.io" already exists')
    sb.kubectl("delete", "apiservice", "v1alpha1.wardle.k8s.io")


def test_get_componentstatuses(cluster_sandbox: SandboxHandle) -> None:
    proc = cluster_sandbox.kubectl("get", "cs")
    assert proc.stderr == "Warning: v1 ComponentStatus is deprecated in v1.19+\n"
    assert [line.split() for line in proc.stdout.splitlines()] == [
        ["NAME", "STATUS", "MESSAGE", "ERROR"],
        ["scheduler", "Healthy", "ok"],
        ["controller-manager", "Healthy", "ok"],
        ["etcd-0", "Healthy", "ok"]]
    one = cluster_sandbox.kubectl("get", "componentstatus", "etcd-0", "-o", "json")
    assert json.loads(one.stdout)["conditions"] == [
        {"type": "Healthy", "status": "True", "message": "ok"}]
    missing = cluster_sandbox.kubectl("get", "cs", "nope", check=False)
    assert 'componentstatuses "nope" not found' in missing.stderr


def test_custom_resource_definitions_are_listed_but_not_served(
        cluster_sandbox: SandboxHandle, tmp_path: Path) -> None:
    sb = cluster_sandbox
    assert sb.kubectl("get", "crd").stderr == "No resources found\n"
    proc = sb.kubectl("create", "-f", _write(tmp_path, "crd.yaml", CRD), check=False)
    assert proc.returncode == 1
    assert "(MethodNotAllowed)" in proc.stderr and \
        "the server does not allow this method on the requested resource" in proc.stderr


def test_the_official_client_reads_openapi_v2(cluster_sandbox: SandboxHandle) -> None:
    client = cluster_sandbox.api_client()

    def get(accept: str, etag: str = "") -> tuple[int, dict[str, str], bytes]:
        headers = {"Accept": accept, **({"If-None-Match": etag} if etag else {})}
        method, url, headers, _body, _post = client.param_serialize(
            "GET", "/openapi/v2", header_params=headers, auth_settings=["BearerToken"])
        response = client.call_api(method, url, headers)
        return response.status, dict(response.getheaders()), response.read()

    status, headers, data = get(openapi_v2.PROTOBUF)
    assert status == 200
    assert headers["Content-Type"] == "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
    document = openapi_v2.from_protobuf(data)
    status, json_headers, raw = get("application/json")
    assert status == 200 and json_headers["Content-Type"] == "application/json"
    assert json.loads(raw) == document
    assert "io.k8s.kube-aggregator.pkg.apis.apiregistration.v1.APIService" in \
        document["definitions"]
    # ETag revalidation, per format.
    assert get(openapi_v2.PROTOBUF, headers["Etag"])[0] == 304
    assert get("application/json", json_headers["Etag"])[0] == 304
    assert get("application/json", headers["Etag"])[0] == 200
    assert get("text/html")[0] == 406


def _get(sb: SandboxHandle, path: str, etag: str | None = None) -> tuple[int, dict[str, str]]:
    """A raw GET that keeps the response's headers and does not follow redirects."""
    import http.client
    import ssl
    import urllib.parse

    from kubelab.sandbox import daemon

    url = urllib.parse.urlsplit(sb.url)
    ctx = ssl.create_default_context(cadata=daemon.ca_of(sb.state_dir).decode())
    conn = http.client.HTTPSConnection(url.hostname or "127.0.0.1", url.port, context=ctx,
                                       timeout=30)
    headers = {"Authorization": f"Bearer {sb.info.token}", "Accept": "application/json"}
    if etag:
        headers["If-None-Match"] = etag
    conn.request("GET", path, headers=headers)
    resp = conn.getresponse()
    resp.read()
    conn.close()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}


def test_group_version_documents_carry_kube_openapis_cache_headers(
        api_sandbox: SandboxHandle) -> None:
    """kube-openapi's handler3: the hashed URL is immutable and expires in a year, the ETag
    is the hash, a stale hash is redirected, If-None-Match gets 304."""
    from email.utils import parsedate_to_datetime

    status, root = api_sandbox.request("GET", "/openapi/v3")
    assert status == 200
    url = root["paths"]["apis/apps/v1"]["serverRelativeURL"]
    current = url.split("hash=")[1]
    status, headers = _get(api_sandbox, url)
    assert status == 200
    assert headers["cache-control"] == "public, immutable" and headers["vary"] == "Accept"
    assert headers["etag"] == f'"{current}"'
    assert headers["expires"].endswith(" UTC")
    lifetime = parsedate_to_datetime(headers["expires"]) - parsedate_to_datetime(headers["date"])
    assert 364 <= lifetime.days <= 366
    status, headers = _get(api_sandbox, "/openapi/v3/apis/apps/v1?hash=0BSOLETE")
    assert status == 301 and headers["location"] == url
    assert _get(api_sandbox, url, etag=f'"{current}"')[0] == 304
    status, headers = _get(api_sandbox, "/openapi/v3/apis/apps/v1")  # no hash: not immutable
    assert status == 200 and "expires" not in headers and headers["etag"] == f'"{current}"'


def test_kubectl_apply_reads_the_schema_once_then_from_its_cache(
        api_sandbox: SandboxHandle, tmp_path: Path) -> None:
    """As against a real API server: the second apply takes the group-version document
    from kubectl's HTTP cache (a year's Expires) and asks only for the index."""
    manifest = _write(tmp_path, "cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
                      "  name: cached-schema\ndata:\n  a: b\n")
    def schema_from_cache(log: str) -> bool:
        # -v=8 logs each response and its headers; the HTTP cache answers below that logging
        # and marks what it served itself with X-From-Cache.
        request = re.search(r'"Request" verb="GET" url="[^"]*/openapi/v3/api/v1\?hash=', log)
        assert request is not None, log
        block = log[request.end():].split('"Request" verb=', 1)[0]
        return "X-From-Cache: 1" in block

    first = api_sandbox.kubectl("apply", "-f", manifest, "-v=8").stderr
    second = api_sandbox.kubectl("apply", "-f", manifest, "-v=8").stderr
    assert not schema_from_cache(first), first
    assert schema_from_cache(second), second
