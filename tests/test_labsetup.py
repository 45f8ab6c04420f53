"""``kubelab lab-setup`` writes the student setup into an environment, switches to the
instructor's and back, and leaves other extensions' entries alone. (What a running JupyterLab
makes of it, read over REST, is checked after Binder's postBuild in test_binder.py.)"""

from __future__ import annotations

import json
from pathlib import Path

from kubelab import labsetup
from kubelab.cli import main as cli


def _page_config(prefix: Path) -> dict:
    return json.loads((prefix / "etc/jupyter/labconfig/page_config.json").read_text())


def _server_extension(prefix: Path, name: str) -> bool:
    path = prefix / "etc/jupyter/jupyter_server_config.d" / f"{name}.json"
    return bool(json.loads(path.read_text())["ServerApp"]["jpserver_extensions"][name])


def test_student_then_instructor_then_student(tmp_path: Path) -> None:
    (tmp_path / "etc/jupyter/labconfig").mkdir(parents=True)
    (tmp_path / "etc/jupyter/labconfig/page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"other:plugin": True}, "lockedExtensions": {}}))
    settings = labsetup.settings_dir(tmp_path)
    settings.mkdir(parents=True)
    (settings / "overrides.json").write_text(json.dumps(
        {"@jupyterlab/apputils-extension:themes": {"theme": "JupyterLab Dark"}}))

    assert cli(["lab-setup", "--prefix", str(tmp_path)]) == 0
    page = _page_config(tmp_path)
    for plugin in labsetup.INSTRUCTOR_PLUGINS:
        assert page["disabledExtensions"][plugin] is True
        assert page["lockedExtensions"][plugin] is True
    assert "@jupyter/nbgrader:validate-assignment" not in page["disabledExtensions"]
    assert page["disabledExtensions"]["other:plugin"] is True
    for name in labsetup.INSTRUCTOR_SERVER_EXTENSIONS:
        assert _server_extension(tmp_path, name) is False
    overrides = json.loads((settings / "overrides.json").read_text())
    assert overrides["@jupyterlab/notebook-extension:tracker"]["autoStartDefaultKernel"] is True
    assert overrides["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"
    assert overrides["@jupyterlab/apputils-extension:themes"]["theme"] == "JupyterLab Dark"
    validate = (tmp_path / "etc/jupyter/nbgrader_config.py").read_text()
    assert "c.Execute.timeout = 90" in validate

    assert cli(["lab-setup", "--instructor", "--prefix", str(tmp_path)]) == 0
    page = _page_config(tmp_path)
    assert not set(labsetup.INSTRUCTOR_PLUGINS) & set(page["disabledExtensions"])
    assert not set(labsetup.INSTRUCTOR_PLUGINS) & set(page["lockedExtensions"])
    assert page["disabledExtensions"]["other:plugin"] is True
    assert all(_server_extension(tmp_path, n) for n in labsetup.INSTRUCTOR_SERVER_EXTENSIONS)

    labsetup.apply(tmp_path)
    assert set(labsetup.INSTRUCTOR_PLUGINS) <= set(_page_config(tmp_path)["lockedExtensions"])


def test_validate_config_matches_the_course_config() -> None:
    """The Validate button and the course's graders use the same timeouts."""
    course = (Path(__file__).resolve().parents[1] / "course" / "nbgrader_config.py").read_text()
    for line in labsetup.VALIDATE_CONFIG.splitlines():
        if line.startswith(("c.", "    120 if")):
            assert line in course, line
