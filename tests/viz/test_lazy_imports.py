"""kubelab.viz imports its parts on first use: the pure layers never pull in the widgets."""

from __future__ import annotations

import subprocess
import sys

import pytest

import kubelab.viz


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", f"import sys\n{code}\nprint(*sys.modules)"],
                         capture_output=True, text=True, check=True, timeout=120).stdout
    return set(out.split())


def test_importing_the_package_or_the_pure_layers_loads_no_widgets_or_client() -> None:
    loaded = _modules_after("import kubelab.viz\nfrom kubelab.viz import render, project")
    assert "kubelab.viz.render" in loaded and "kubelab.viz.model" in loaded
    assert not {"ipywidgets", "anywidget", "kubelab.viz.widgets", "kubernetes"} & loaded


def test_public_names_resolve_to_their_modules() -> None:
    from kubelab.viz import widgets

    assert kubelab.viz.show_cluster is widgets.show_cluster
    assert sorted(kubelab.viz.__all__) == sorted(n for n in dir(kubelab.viz)
                                                 if n in kubelab.viz.__all__)
    for name in kubelab.viz.__all__:
        assert getattr(kubelab.viz, name) is not None


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_thing"):
        kubelab.viz.no_such_thing  # noqa: B018
