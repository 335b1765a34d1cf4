"""Stack order and dependents come from cdktf's manifest.json, and a bad manifest gets one clear message."""
from __future__ import annotations

import json

import pytest

from ci import manifest
from tests.ci.conftest import layered
from tests.conftest import ENVIRONMENTS


def test_every_stack_comes_after_the_stacks_it_depends_on(synth_dir):
    stacks = manifest.load(synth_dir("out", {**layered("dev"), **layered("prod")}))
    order = manifest.dependency_order(stacks)
    assert sorted(order) == sorted(stacks)
    for name, stack in stacks.items():
        assert all(order.index(dep) < order.index(name) for dep in stack.dependencies), name
    assert order[:2] == ["dev-bootstrap", "prod-bootstrap"]  # ties in name order: stable output


def test_the_real_manifest_orders_bootstrap_first_and_data_after_cluster(synthesized):
    stacks = manifest.load(synthesized.outdir)
    order = manifest.dependency_order(stacks)
    for env in ENVIRONMENTS:
        assert order.index(f"{env}-bootstrap") < order.index(f"{env}-network") < order.index(f"{env}-cluster")
        assert order.index(f"{env}-cluster") < order.index(f"{env}-data")
    assert {stacks[name].env for name in order} == set(ENVIRONMENTS)


def test_dependents_are_transitive(synth_dir):
    stacks = manifest.load(synth_dir("out", layered("dev")))
    assert manifest.with_dependents(stacks, {"dev-network"}) == {"dev-network", "dev-cluster", "dev-data"}
    assert manifest.with_dependents(stacks, {"dev-data"}) == {"dev-data"}
    assert manifest.with_dependents(stacks, set()) == set()


def test_a_cycle_is_reported_with_the_stacks_in_it(synth_dir):
    stacks = manifest.load(synth_dir("out", {"dev-a": (["dev-b"], {}), "dev-b": (["dev-a"], {}), "dev-c": ([], {})}))
    with pytest.raises(manifest.ManifestError, match="cycle among stacks: dev-a, dev-b"):
        manifest.dependency_order(stacks)


def test_an_unknown_dependency_names_the_stack_and_the_dependency(synth_dir):
    with pytest.raises(manifest.ManifestError, match="stack dev-a depends on 'dev-missing'"):
        manifest.load(synth_dir("out", {"dev-a": (["dev-missing"], {})}))


def test_a_missing_or_foreign_manifest_says_what_to_do(tmp_path):
    with pytest.raises(manifest.ManifestError, match="not found; synthesize first"):
        manifest.load(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"stacks": {"a": {"deps": []}}}))
    with pytest.raises(manifest.ManifestError, match="not a cdktf manifest"):
        manifest.load(tmp_path)


HELM_AND_KUBERNETES = {"provider": {
    "google": [{"project": "p"}],
    "helm": [{"kubernetes": {"host": "https://h", "exec": {"api_version": "v1beta1", "command": "gke-gcloud-auth-plugin"}}}],
    "kubernetes": [{"host": "https://h", "exec": [{"api_version": "v1beta1", "command": "gke-gcloud-auth-plugin"}]}],
}}


def test_exec_credential_plugins_are_read_from_the_providers_of_each_stack(synth_dir):
    stacks = manifest.load(synth_dir("out", layered("dev", data=HELM_AND_KUBERNETES)))
    assert stacks["dev-data"].exec_commands == ("gke-gcloud-auth-plugin",)
    assert all(stack.exec_commands == () for name, stack in stacks.items() if name != "dev-data")


def test_every_real_stack_that_talks_to_the_cluster_names_the_auth_plugin(synthesized):
    """Derived from the synthesized providers, so a layer that gains helm/kubernetes resources (data,
    observability) gets the plugin in its CI jobs without anyone listing it."""
    stacks = manifest.load(synthesized.outdir)
    for name, stack in stacks.items():
        providers = synthesized.stacks[name].get("provider", {})
        talks_to_cluster = bool({"helm", "kubernetes"} & set(providers))
        assert stack.exec_commands == (("gke-gcloud-auth-plugin",) if talks_to_cluster else ()), name
    assert {stack.layer for stack in stacks.values() if stack.exec_commands} >= {"data"}


def test_a_stack_document_missing_from_the_synth_output_is_named(synth_dir):
    outdir = synth_dir("out", layered("dev"))
    (outdir / "stacks" / "dev-data" / "cdk.tf.json").unlink()
    with pytest.raises(manifest.ManifestError, match=r"dev-data/cdk.tf.json: named by manifest.json but missing"):
        manifest.load(outdir)
