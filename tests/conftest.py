"""Shared fixtures. Third-party reference data (schemas, CRDs, chart defaults) is read from the directory
named by PLATFORM_THIRD_PARTY_DIR; see docs/testing.md."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from constructs_lib import provider_loader
from stacks.config import environment_names

# As main.py does, before anything starts the jsii kernel: the fast loader on both the Python and the Node
# side (constructs_lib/provider_loader.py), so the suite pays for one lean provider load.
provider_loader.configure(eager=False)

REPO_ROOT = Path(__file__).resolve().parent.parent
THIRD_PARTY_ENV = "PLATFORM_THIRD_PARTY_DIR"


@pytest.fixture(scope="session")
def third_party_dir() -> Path:
    """The pinned upstream files (MANIFEST.tsv layout). Missing data fails the test, it never skips it."""
    value = os.environ.get(THIRD_PARTY_ENV)
    if not value:
        pytest.fail(
            f"{THIRD_PARTY_ENV} is not set. Run `make third-party` (downloads the pinned files listed in "
            f"third_party.lock.tsv into .third_party/ and checks their sha256) or point {THIRD_PARTY_ENV} "
            "at an existing copy, e.g. ../shared/third_party.",
            pytrace=False,
        )
    path = Path(value).resolve()
    if not (path / "MANIFEST.tsv").is_file():
        pytest.fail(
            f"{THIRD_PARTY_ENV}={value} has no MANIFEST.tsv. Run `make third-party` to download the pinned files.",
            pytrace=False,
        )
    return path


# Discovered, never listed: a new config/<env>.yaml is covered by every test that iterates over these.
ENVIRONMENTS = environment_names(REPO_ROOT / "config")


@pytest.fixture(scope="session")
def configs():
    from stacks.config import load_configs

    return {config.name: config for config in load_configs(REPO_ROOT / "config")}


@pytest.fixture(scope="session")
def synthesized(configs, tmp_path_factory):
    """One real `App.synth()` of every environment per test session, shared by all tests."""
    from stacks.app import build_app
    from tests.synth import Synthesized

    outdir = tmp_path_factory.mktemp("cdktf.out")
    build_app(configs.values(), outdir=outdir).synth()
    return Synthesized.read(outdir)


@pytest.fixture(autouse=True)
def _private_synth_cache(tmp_path_factory, monkeypatch):
    """Tests that run main.main() in this process (some with a stand-in synth) never read or write the
    checkout's .synth-cache/."""
    import main

    monkeypatch.setattr(main, "CACHE_DIR", tmp_path_factory.mktemp("synth-cache"))
