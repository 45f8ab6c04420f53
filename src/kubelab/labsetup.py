"""The course's JupyterLab setup, in one place for ``make lab`` and Binder's ``postBuild``.

Students should meet the course, not the tooling: no "Jupyter news" prompt over the diagram,
no "Select Kernel" dialog on every notebook, and none of nbgrader's instructor parts. Of
nbgrader's JupyterLab plugins only *validate-assignment* (the Validate button) stays on;
*formgrader* and *create-assignment* are for instructors, *course-list* and
*assignment-list* need an exchange directory that neither a laptop nor Binder has, and the
*menu* plugin would be an empty "Nbgrader" menu once those are gone. The matching server
extensions (formgrader, course_list, assignment_list) are disabled too; validate_assignment
serves the button.

Everything is written at the environment (``sys.prefix``) level, the level JupyterLab and
Jupyter Server read for every user of that environment, exactly where
``jupyter labextension disable/lock --level=sys_prefix`` and
``jupyter server extension disable --sys-prefix`` write, through the same config managers:

- ``{prefix}/share/jupyter/lab/settings/overrides.json`` — default settings;
- ``{prefix}/etc/jupyter/labconfig/page_config.json`` — disabled and locked plugins (locked,
  so the Plugin Manager cannot turn them back on);
- ``{prefix}/etc/jupyter/jupyter_server_config.d/<extension>.json`` — server extensions;
- ``{prefix}/etc/jupyter/nbgrader_config.py`` — the Validate button's timeouts (its handler
  reads nbgrader_config.py from the Jupyter config path).

``instructor=True`` turns nbgrader's parts back on (and unlocks them) for an instructor's
own machine. Run it as ``kubelab lab-setup [--instructor]``.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NBGRADER = "@jupyter/nbgrader"
#: nbgrader's JupyterLab plugins students do not get (validate-assignment stays).
INSTRUCTOR_PLUGINS = tuple(f"{NBGRADER}:{name}" for name in (
    "formgrader", "create-assignment", "course-list", "assignment-list", "menu"))
#: nbgrader's server extensions behind those plugins (validate_assignment stays).
INSTRUCTOR_SERVER_EXTENSIONS = tuple(f"nbgrader.server_extensions.{name}" for name in (
    "formgrader", "course_list", "assignment_list"))

#: Default settings for everyone (users may still change them in Settings).
OVERRIDES: dict[str, dict[str, Any]] = {
    # fetchNews is a string enum ("true" | "false" | "none") in JupyterLab 4's schema.
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false",
                                                    "checkForUpdates": False},
    "@jupyterlab/notebook-extension:tracker": {"autoStartDefaultKernel": True},
}

#: Validate runs the whole notebook against a fresh sandbox; graded cells wait (bounded) for
#: the cluster to converge. The same numbers as course/nbgrader_config.py.
VALIDATE_CONFIG = '''\
# Written by `kubelab lab-setup`: timeouts for nbgrader's Validate button (the handler reads
# nbgrader_config.py from the Jupyter config path). Same numbers as course/nbgrader_config.py.
c = get_config()  # noqa: F821

c.Execute.timeout_func = lambda cell: (
    120 if cell.get("metadata", {}).get("nbgrader", {}).get("grade") else 90)
c.Execute.timeout = 90
c.Execute.startup_timeout = 60
c.ExecutePreprocessor.kernel_name = "python3"
'''


@dataclass(frozen=True)
class Setup:
    """What one mode wants, as data: plugin → disabled, extension → enabled, settings."""

    plugins_disabled: dict[str, bool]
    server_extensions: dict[str, bool]
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)


def plan(instructor: bool = False) -> Setup:
    """The student setup, or the instructor's (nbgrader's parts on, same settings)."""
    return Setup(plugins_disabled=dict.fromkeys(INSTRUCTOR_PLUGINS, not instructor),
                 server_extensions=dict.fromkeys(INSTRUCTOR_SERVER_EXTENSIONS, instructor),
                 overrides=OVERRIDES)


def merged_page_config(current: dict[str, Any], setup: Setup) -> dict[str, Any]:
    """``page_config`` with our plugins disabled+locked, or removed from both lists.

    Other entries (another extension's, a site administrator's) are kept.
    """
    page = dict(current)
    for key in ("disabledExtensions", "lockedExtensions"):
        entries = page.get(key) or {}
        if isinstance(entries, list):  # the pre-4.1 list form
            entries = dict.fromkeys(entries, True)
        entries = dict(entries)
        for plugin, off in setup.plugins_disabled.items():
            if off:
                entries[plugin] = True
            else:
                entries.pop(plugin, None)
        page[key] = entries
    return page


def merged_overrides(current: dict[str, Any], setup: Setup) -> dict[str, Any]:
    out = {plugin: dict(values) for plugin, values in current.items()}
    for plugin, values in setup.overrides.items():
        out.setdefault(plugin, {}).update(values)
    return out


def settings_dir(prefix: Path) -> Path:
    return prefix / "share" / "jupyter" / "lab" / "settings"


def config_dir(prefix: Path) -> Path:
    return prefix / "etc" / "jupyter"


def apply(prefix: Path | None = None, *, instructor: bool = False) -> Setup:
    """Write the setup into an environment (default: this Python's ``sys.prefix``)."""
    from jupyter_server.config_manager import BaseJSONConfigManager
    from jupyter_server.extension.config import ExtensionConfigManager

    prefix = Path(sys.prefix if prefix is None else prefix)
    setup = plan(instructor)

    overrides_path = settings_dir(prefix) / "overrides.json"
    current: dict[str, Any] = {}
    if overrides_path.exists():
        current = json.loads(overrides_path.read_text() or "{}")
    overrides_path.parent.mkdir(parents=True, exist_ok=True)
    overrides_path.write_text(json.dumps(merged_overrides(current, setup), indent=2) + "\n")

    labconfig = BaseJSONConfigManager(config_dir=str(config_dir(prefix) / "labconfig"))
    labconfig.set("page_config", merged_page_config(labconfig.get("page_config"), setup))

    extensions = ExtensionConfigManager(
        read_config_path=[str(config_dir(prefix))],
        write_config_dir=str(config_dir(prefix) / "jupyter_server_config.d"))
    for name, on in setup.server_extensions.items():
        if on:
            extensions.enable(name)
        else:
            extensions.disable(name)

    (config_dir(prefix) / "nbgrader_config.py").write_text(VALIDATE_CONFIG)
    return setup


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="kubelab lab-setup",
        description="Write the course's JupyterLab setup into this environment: no news "
                    "prompt, kernels start without a dialog, nbgrader's instructor parts "
                    "hidden (Validate stays).")
    parser.add_argument("--instructor", action="store_true",
                        help="turn nbgrader's formgrader, create-assignment, course and "
                             "assignment lists and menu back on")
    parser.add_argument("--prefix", type=Path, default=None,
                        help="the environment to set up (default: this Python's sys.prefix)")
    args = parser.parse_args(argv)
    apply(args.prefix, instructor=args.instructor)
    where = args.prefix or sys.prefix
    mode = "instructor (nbgrader's parts on)" if args.instructor else "student"
    print(f"JupyterLab set up for the {mode} in {where}")
    return 0
