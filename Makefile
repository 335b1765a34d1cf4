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
# Pinned upstream schemas/charts/CRDs the tests validate against (docs/testing.md). CI points this at a
# shared copy; elsewhere `make test` downloads them once into .third_party/.
PLATFORM_THIRD_PARTY_DIR ?= $(CURDIR)/.third_party
export PLATFORM_THIRD_PARTY_DIR

.PHONY: install synth test snapshots bench third-party tools-check k8s-names docs clean

$(TOOLS)/bin/pipenv:
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet pipenv==$(PIPENV_VERSION)

$(VENV)/.synced: Pipfile.lock $(TOOLS)/bin/pipenv
	$(TOOLS)/bin/pipenv sync --dev
	touch $@

install: $(VENV)/.synced

synth: install ## synthesize every environment from config/ into cdktf.out/
	$(PY) main.py

# gitlab-ci-local (package-lock.json), which the pipeline tests run (tests/ci/).
node_modules/.installed: package-lock.json
	npm ci --no-audit --no-fund
	touch $@

test: install tools-check third-party node_modules/.installed ## the whole test suite
	$(PY) -m pytest

snapshots: install ## accept changed stack snapshots after reviewing the diff like a plan
	$(PY) -m pytest tests/test_snapshots.py --snapshot-update

bench: install ## synth benchmark, see docs/performance.md
	$(PY) benchmarks/synth.py

third-party: install ## the pinned upstream files, downloaded and verified once (needs internet)
	@if [ ! -f "$(PLATFORM_THIRD_PARTY_DIR)/MANIFEST.tsv" ]; then \
		$(PY) scripts/fetch_third_party.py --dest "$(PLATFORM_THIRD_PARTY_DIR)"; fi

tools-check: ## tools the suite needs besides Python packages
	@command -v node >/dev/null || { echo "node (20+, 22+ recommended) is required by jsii/CDKTF" >&2; exit 1; }
	@command -v npm >/dev/null || { echo "npm is required to install gitlab-ci-local for the pipeline tests" >&2; exit 1; }
	@command -v kubectl >/dev/null || { echo "kubectl (with built-in kustomize) is required to render k8s/ overlays" >&2; exit 1; }
	@command -v wget >/dev/null || { echo "wget is required by the canary-check test (the check runs busybox wget)" >&2; exit 1; }

k8s-names: install ## regenerate k8s/overlays/*/platform-names.env from config/
	$(PY) -m k8s.generate_platform_names

docs: install ## regenerate every generated document in docs/ (tests fail while a committed copy is stale)
	$(PY) scripts/config_reference.py
	$(PY) scripts/access_policies.py
	$(PY) scripts/architecture.py
	$(PY) scripts/environment_differences.py
	$(PY) scripts/dr_objectives.py
	$(PY) scripts/runbook_sections.py
	$(PY) scripts/security_review.py
	$(PY) scripts/observability_docs.py

clean:
	rm -rf cdktf.out .synth-cache $(VENV) $(TOOLS)
