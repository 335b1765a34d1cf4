"""One JSON snapshot per stack per environment, from a real App.synth() (cross-stack outputs included).
Review a snapshot diff like a terraform plan; update with `make snapshots`."""
from __future__ import annotations

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from stacks.layers import LAYERS
from tests.conftest import ENVIRONMENTS as ENVS


@pytest.fixture
def snapshot_json(snapshot):
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("stack", [f"{env}-{layer}" for env in ENVS for layer in LAYERS])
def test_stack_matches_snapshot(synthesized, snapshot_json, stack):
    assert stack in synthesized.stacks, f"{stack} was not synthesized"
    assert synthesized.stacks[stack] == snapshot_json


def test_no_unexpected_stacks(synthesized):
    assert set(synthesized.stacks) == {f"{env}-{layer}" for env in ENVS for layer in LAYERS}
