"""Image references normalise the way containerd names them."""

from __future__ import annotations

import pytest

from kubelab.sandbox.images.reference import InvalidImageName, parse


@pytest.mark.parametrize(("text", "full"), [
    ("nginx", "docker.io/library/nginx:latest"),
    ("nginx:latest", "docker.io/library/nginx:latest"),
    ("docker.io/library/nginx:latest", "docker.io/library/nginx:latest"),
    ("nginx:1.25", "docker.io/library/nginx:1.25"),
    ("apprenda/kdemo:v1", "docker.io/apprenda/kdemo:v1"),
    ("quay.io/apprenda/alpine:latest", "quay.io/apprenda/alpine:latest"),
    ("gcr.io/google-samples/node-hello:1.0", "gcr.io/google-samples/node-hello:1.0"),
    ("localhost:5000/app:2", "localhost:5000/app:2"),
], ids=lambda v: v)
def test_normalises(text: str, full: str) -> None:
    assert parse(text).full == full


def test_image_id_is_a_stable_sha256_digest() -> None:
    ref = parse("nginx")
    image_id = ref.image_id()
    assert image_id.startswith("docker.io/library/nginx@sha256:")
    assert len(image_id.split(":")[-1]) == 64
    assert image_id == parse("docker.io/library/nginx:latest").image_id()
    assert image_id != parse("nginx:1.25").image_id()


@pytest.mark.parametrize("text", ["", "Nginx", "nginx:", "ngi nx", "nginx::1"])
def test_rejects_malformed(text: str) -> None:
    with pytest.raises(InvalidImageName, match="invalid reference format"):
        parse(text)
