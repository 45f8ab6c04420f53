"""The normaliser replaces exactly what differs between runs, and nothing a reader relies on."""

from __future__ import annotations

from conformance.normalise import normalise, same_text


def test_ages_are_replaced_but_quantities_and_periods_are_kept() -> None:
    text = ("web    3/3     3            3           59s   nginx\n"
            "  Normal  Pulled  2m3s (x4 over 10m)  kubelet  done\n"
            "      cpu:         100m\n"
            "Tolerations: node.kubernetes.io/not-ready:NoExecute op=Exists for 300s\n"
            '{"requests":{"cpu":"100m"}}')
    out = normalise(text).split("\n")
    assert out[0].split() == ["web", "3/3", "3", "3", "<age>", "nginx"]
    assert "<age> (x4 over <age>)" in out[1]
    assert out[2].endswith("100m")
    assert out[3].endswith("for 300s")
    assert out[4] == '{"requests":{"cpu":"100m"}}'


def test_generated_names_hashes_and_identifiers() -> None:
    text = ("pod/web-5d8f7c9b4d-x2kqz   app=web,pod-template-hash=5d8f7c9b4d\n"
            "replicaset.apps/web-5d8f7c9b4d\n"
            "kube-proxy-m2z44   kubelab-worker2\n"
            "  uid: 39de5b3e-9b6b-4151-b5d6-e079cd2eecda\n"
            '  resourceVersion: "113"\n'
            '  creationTimestamp: "2026-11-25T12:38:50Z"\n'
            "Start Time:   Wed, 25 Nov 2026 12:34:18 +0000\n"
            "Container ID: containerd://" + "ab12" * 16 + "\n")
    assert normalise(text).split("\n") == [
        "pod/web-<hash>-<suffix>   app=web,pod-template-hash=<hash>",
        "replicaset.apps/web-<hash>",
        "kube-proxy-<suffix>   kubelab-worker2",
        "  uid: <uid>",
        '  resourceVersion: "<rv>"',
        '  creationTimestamp: "<timestamp>"',
        "Start Time:   <timestamp>",
        "Container ID: containerd://<container-id>",
        "",
    ]


def test_addresses_ports_and_diff_headers() -> None:
    text = ("Kubernetes control plane is running at https://127.0.0.1:41661\n"
            "web   ClusterIP   10.107.247.77   <none>   80:31234/TCP\n"
            "kubernetes   ClusterIP   10.96.0.1   kube-dns 10.96.0.10\n"
            "IP:  10.244.1.5  node 172.18.0.3  PodCIDR: 10.244.3.0/24\n"
            "--- /tmp/LIVE-1930985377/apps.v1.Deployment.default.web\t"
            "2026-11-25 12:38:52.386324573 +0000")
    assert normalise(text).split("\n") == [
        "Kubernetes control plane is running at https://127.0.0.1:<port>",
        "web   ClusterIP   <cluster-ip>   <none>   80:<node-port>/TCP",
        "kubernetes   ClusterIP   10.96.0.1   kube-dns 10.96.0.10",
        "IP:  <pod-ip>  node 172.18.0.3  PodCIDR: 10.244.3.0/24",
        "--- LIVE/apps.v1.Deployment.default.web\t<timestamp>",
    ]


def test_comparison_ignores_column_padding_only() -> None:
    assert same_text("NAME   AGE\nweb    <age>\n", "NAME AGE\nweb  <age>")
    assert not same_text("NAME   AGE\nweb    <age>", "NAME   AGE\nweb2   <age>")
    assert not same_text("a b", "ab")
