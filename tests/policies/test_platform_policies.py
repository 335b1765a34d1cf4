"""Policies that hold for every stack of every environment."""
from __future__ import annotations

import json
import re

import pytest

from constructs_lib.provider_loader import google

PRIMITIVE = {"roles/owner", "roles/editor", "roles/viewer"}
IAM_TYPES = re.compile(r"^google_.*_iam_(member|binding|policy)$")


def test_no_iam_grant_uses_a_primitive_role(synthesized):
    for stack, type_, _, body in synthesized.all_resources():
        if IAM_TYPES.match(type_):
            assert body.get("role") not in PRIMITIVE, f"{stack} {body['//']['metadata']['path']}: {body.get('role')}"


def test_nothing_is_granted_to_the_public(synthesized):
    for stack, type_, _, body in synthesized.all_resources():
        if IAM_TYPES.match(type_):
            members = body.get("members", []) + [body.get("member", "")]
            assert not {"allUsers", "allAuthenticatedUsers"} & set(members), f"{stack} {type_}"


def test_no_service_account_keys_exist(synthesized):
    assert not [t for _, t, _, _ in synthesized.all_resources() if t in ("google_service_account_key", "google_service_account_keys")]


def test_every_stack_keeps_state_in_its_environments_bucket_under_its_own_prefix(synthesized, configs):
    prefixes = set()
    for name, document in synthesized.stacks.items():
        env = name.split("-", 1)[0]
        gcs = document["terraform"]["backend"]["gcs"]
        assert gcs["bucket"] == configs[env].state_bucket, name
        prefixes.add(gcs["prefix"])
    assert len(prefixes) == len(synthesized.stacks)


def test_every_stack_labels_its_resources_by_environment_and_layer(synthesized):
    for name, document in synthesized.stacks.items():
        env, layer = name.split("-", 1)
        for provider in document["provider"]["google"] + document["provider"].get("google-beta", []):
            labels = provider["default_labels"]
            assert (labels["env"], labels["layer"], labels["managed_by"]) == (env, layer, "cdktf-platform"), name


# Resource types from the google-beta provider (not in the GA bindings); none of them takes labels.
BETA_ONLY_TYPES = {"project_service_identity"}


def label_argument(type_: str) -> str | None:
    """The argument that holds resource labels in the provider schema: `user_labels` where the type
    uses `labels` for something else (monitoring), `labels` otherwise; None for unlabelable types."""
    name = type_.removeprefix("google_")
    if name in BETA_ONLY_TYPES:
        return None
    config_class = "".join(part.capitalize() for part in name.split("_")) + "Config"
    arguments = dir(getattr(getattr(google, name), config_class))
    return next((arg for arg in ("user_labels", "labels") if arg in arguments), None)


def test_every_labelable_resource_names_its_component(synthesized):
    checked = 0
    for stack, type_, _, body in synthesized.all_resources():
        argument = label_argument(type_) if type_.startswith("google_") else None
        if argument:
            checked += 1
            assert body.get(argument, {}).get("component"), f"{stack} {body['//']['metadata']['path']} has no component label"
    assert checked >= 6


@pytest.mark.parametrize("field", ["project_id", "prefix", "state_bucket"])
def test_no_two_environments_share_identity(configs, field):
    values = [getattr(c, field) for c in configs.values()]
    assert len(set(values)) == len(values)


DATA_SOURCE_REFERENCE = re.compile(r"\$\{data\.(?!terraform_remote_state\.)")


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def test_no_provider_block_carries_a_token_from_a_data_source(synthesized):
    """Terraform stores data-source results in state: a credential read by a data source and handed to a
    provider would be readable by everyone who reads state. Providers authenticate with exec plugins."""
    checked = 0
    for name, document in synthesized.stacks.items():
        assert "google_client_config" not in document.get("data", {}), name
        for provider, blocks in document.get("provider", {}).items():
            for block in blocks:
                checked += 1
                offending = [v for v in _strings(block) if DATA_SOURCE_REFERENCE.search(v)]
                assert not offending, f"{name} provider {provider}: {offending}"
                assert "token" not in json.dumps(block), f"{name} provider {provider} carries a token"
    assert checked >= len(synthesized.stacks)
