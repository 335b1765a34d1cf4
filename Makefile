# Two commands do everything on a fresh clone: `make synth` and `make test`. Both install what they need
# first (idempotent: the stamp files below are rebuilt only when the lock file changes).
SHELL := /bin/bash
PYTHON ?= python3
PIPENV_VERSION := 2026.10.3
TOOLS := .tools
VENV := .venv
PY := $(VENV)/bin/python
export PIPENV_VENV_IN_PROJECT := 1
export PIPENV_IGNORE_VIRTUALENVS := 1
export PIPENV_YES := 1
# jsii prints an end-of-life banner on Node 20 on every run; Node >= 22 is recommended.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
THIRD_PARTY_DIR ?= .third_party

.PHONY: install synth test bench third-party k8s-names clean

$(TOOLS)/bin/pipenv:
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet pipenv==$(PIPENV_VERSION)

$(VENV)/.synced: Pipfile.lock $(TOOLS)/bin/pipenv
	$(TOOLS)/bin/pipenv sync --dev
	touch $@

install: $(VENV)/.synced

synth: install ## synthesize every environment from config/ into cdktf.out/
	$(PY) main.py

test: install ## the whole test suite (needs the pinned third-party data, see docs/testing.md)
	$(PY) -m pytest

bench: install ## synth benchmark, see docs/performance.md
	$(PY) benchmarks/synth.py

third-party: install ## download the pinned upstream schemas/charts/CRDs into $(THIRD_PARTY_DIR)
	$(PY) scripts/fetch_third_party.py --dest $(THIRD_PARTY_DIR)

k8s-names: install ## regenerate k8s/overlays/*/platform-names.env from config/
	$(PY) -m k8s.generate_platform_names

clean:
	rm -rf cdktf.out $(VENV) $(TOOLS)
