"""Fixtures for the pipeline tests: small synth outputs and plan JSON documents written as cdktf and
`terraform show -json` write them."""
from __future__ import annotations

import json
from pathlib import Path

import pytest


def write_synth(outdir: Path, stacks: dict[str, tuple[list[str], dict]]) -> Path:
    """`stacks`: name -> (dependencies, cdk.tf.json document)."""
    entries = {}
    for name, (dependencies, document) in stacks.items():
        directory = outdir / "stacks" / name
        directory.mkdir(parents=True)
        (directory / "cdk.tf.json").write_text(json.dumps(document, indent=2))
        entries[name] = {
            "annotations": [], "constructPath": name, "dependencies": dependencies, "name": name,
            "stackMetadataPath": f"stacks/{name}/metadata.json",
            "synthesizedStackPath": f"stacks/{name}/cdk.tf.json", "workingDirectory": f"stacks/{name}",
        }
    (outdir / "manifest.json").write_text(json.dumps({"stacks": entries, "version": "0.21.0"}))
    return outdir


def layered(env: str, **documents: dict) -> dict[str, tuple[list[str], dict]]:
    """An environment shaped like the platform's: bootstrap <- network <- security, cluster <- data."""
    deps = {"bootstrap": [], "network": ["bootstrap"], "security": ["bootstrap"],
            "cluster": ["security", "network", "bootstrap"], "data": ["cluster"]}
    return {f"{env}-{layer}": ([f"{env}-{d}" for d in needs], documents.get(layer, {"resource": {"x": {layer: {}}}}))
            for layer, needs in deps.items()}


def plan_document(*changes: tuple[str, str, list[str]]) -> dict:
    """(address, type, actions) -> a `terraform show -json` plan document."""
    return {
        "format_version": "1.2",
        "resource_changes": [
            {"address": address, "type": type_, "name": address.rsplit(".", 1)[-1], "mode": "managed",
             "change": {"actions": actions, "before": {}, "after": {}}}
            for address, type_, actions in changes
        ],
    }


@pytest.fixture
def synth_dir(tmp_path):
    return lambda name, stacks: write_synth(tmp_path / name, stacks)
