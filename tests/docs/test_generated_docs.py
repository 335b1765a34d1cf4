"""Every generated document in docs/ is what its generator produces from the current code (`make docs`)."""
from __future__ import annotations

import importlib

import pytest

from scripts.docgen.synthesized import SynthesizedApp


def generator(name: str):
    return importlib.import_module(f"scripts.{name}")


@pytest.fixture(scope="session")
def app(synthesized) -> SynthesizedApp:
    return SynthesizedApp.read(synthesized.outdir)


def test_access_policies_are_current(app, configs):
    module = generator("access_policies")
    assert module.TARGET.read_text(encoding="utf-8") == module.render(app, configs), "run `make docs`"


def test_access_policies_list_every_grant(app, configs):
    """Each IAM resource of every stack yields at least one row; a new IAM type the generator cannot read fails."""
    module = generator("access_policies")
    iam_resources = sum(1 for stack in app.stacks for type_, _, _ in app.resources(stack) if module.IAM_TYPE.match(type_))
    assert iam_resources and sum(len(envs) for envs in module.grants(app, configs).values()) >= iam_resources
