# kubelab — two commands matter: `make lab` (start the course) and `make test` (run the tests).
# Both create their own virtualenv in .venv and install what they need from PyPI.

PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
export KUBELAB_STATE_DIR ?= $(HOME)/.local/state/kubelab

.PHONY: lab instructor test lint unit conformance notebooks browser bench soak release verify-release publish clean venv

venv: $(STAMP)
# The stamp's name holds pyproject.toml's checksum, so an edit means a new stamp; no mtime
# prerequisite (a fresh clone's files are all newer than an existing venv's stamp).
# uv (from PyPI, into the venv) installs and byte-compiles in parallel: a fresh clone's
# `make lab` served lesson 1 after 41 s with empty caches, against 93 s with pip alone, whose
# serial compile of some 9,000 modules was most of it. Compiled they must be: kernels under
# grading run as another user, who cannot write the venv's __pycache__.
# An editable install leaves the course's own modules uncompiled (the installer compiles only
# site-packages); with PYTHONDONTWRITEBYTECODE set, every sandbox, kernel and grading process would
# then compile them again (about 0.3 s of CPU per sandbox). `bench` refreshes them too.
$(STAMP):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q uv
	$(BIN)/uv pip install -q --python $(PY) --compile-bytecode -e ".[course,test]"
	$(PY) -m compileall -q src autograders
	touch $@

## Start the sandbox and JupyterLab on lesson 1 of your working copy (my-notebooks/, made
## from notebooks/ on first run, never overwritten). Ctrl-C stops both.
lab: venv
	$(BIN)/kubelab lab

## The same with nbgrader's instructor tools (formgrader, create assignment) on course/.
instructor: venv
	$(BIN)/kubelab lab --instructor

## Everything CI runs: lint, types, architecture, unit, conformance, notebooks.
test: venv lint
	$(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check src autograders tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: venv
	$(PY) -m pytest -q -m "not notebooks and not browser" tests

browser: venv
	$(PY) -m pytest -q -m browser tests

## Performance figures, each beside a floor measured in the same run (not a test).
bench: venv
	$(PY) -m compileall -q src autograders
	$(PY) -m benchmarks

## Soak: 5,000 pods created and deleted; RSS, datastore size and live Events per round.
soak: venv
	$(PY) -m benchmarks.soak --pods 5000

## Regenerate the student notebooks from course/source (nbgrader generate_assignment).
release: venv
	$(PY) -m autograders.release

verify-release: venv
	$(PY) -m autograders.release --check

## The students' repository (no solutions, hidden tests or grading tools) in DEST;
## REPO=OWNER/REPO points its Binder badge at where you push it.
DEST ?= published
publish: venv release
	$(BIN)/kubelab publish $(DEST) $(if $(REPO),--repo $(REPO))

clean:
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache
