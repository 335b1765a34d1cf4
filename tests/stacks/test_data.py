"""Data layer, as policies: KEDA from its pinned chart, values reviewed against upstream, providers that
authenticate with short-lived tokens only."""
from __future__ import annotations

import json
import re

import pytest
import yaml

from stacks.cluster import THIRD_PARTY_IMAGES
from stacks.data import KEDA_CHART, KEDA_REPOSITORY, KEDA_VERSION, keda_values_files
from tests.conftest import ENVIRONMENTS as ENVS

LAYER = "data"
COMPONENTS = ("operator", "metricServer", "webhooks")
# Keys that name a component's Deployment settings, spelled as upstream spells them.
REPLICA_KEYS = {"operator": "operator", "metricServer": "metricsServer", "webhooks": "webhooks"}


def release(synthesized, env):
    return synthesized.by_path(env, LAYER, "helm_release", "keda/release")


def load(path):
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def merged(env) -> dict:
    base, override = (load(path) for path in keda_values_files(env))
    return deep_merge(base, override)


def deep_merge(base, override):
    if isinstance(base, dict) and isinstance(override, dict):
        return {key: deep_merge(base.get(key), override[key]) if key in base else override[key] for key in override} | {
            key: value for key, value in base.items() if key not in override
        }
    return override


def leaves(values, path=()):
    if isinstance(values, dict) and values:
        for key, item in values.items():
            yield from leaves(item, (*path, key))
    else:
        yield path, values


@pytest.mark.parametrize("env", ENVS)
def test_keda_is_installed_from_its_pinned_chart_into_the_keda_namespace(synthesized, env):
    body = release(synthesized, env)
    assert (body["chart"], body["version"], body["repository"]) == (KEDA_CHART, KEDA_VERSION, KEDA_REPOSITORY)
    assert (body["chart"], body["version"], body["repository"]) == ("keda", "2.20.2", "https://kedacore.github.io/charts")
    assert (body["name"], body["namespace"], body["create_namespace"]) == ("keda", "keda", False)
    assert body["atomic"] is True and body["wait"] is True


@pytest.mark.parametrize("env", ENVS)
def test_release_values_are_the_base_file_then_the_environments_differences(synthesized, env):
    body = release(synthesized, env)
    assert [yaml.safe_load(text) or {} for text in body["values"]] == [load(path) for path in keda_values_files(env)]
    assert not body.get("set") and not body.get("set_sensitive")


def _exists_upstream(upstream, path) -> bool:
    node = upstream
    for key in path:
        if isinstance(node, dict) and not node:
            return True  # an empty upstream map is free-form (e.g. podDisruptionBudget.operator: {})
        if not isinstance(node, dict) or key not in node:
            return False
        node = node[key]
    return True


@pytest.mark.parametrize("file_index", [0, 1, 2, 3])
def test_every_values_key_exists_in_the_upstream_chart(third_party_dir, file_index):
    upstream = load(third_party_dir / "charts" / f"keda-{KEDA_VERSION}" / "values.yaml")
    files = sorted({path for env in ENVS for path in keda_values_files(env)})
    assert len(files) == 4
    path = files[file_index]
    unknown = [".".join(p) for p, _ in leaves(load(path)) if p and not _exists_upstream(upstream, p)]
    assert not unknown, f"{path.name}: keys the keda {KEDA_VERSION} chart does not have: {unknown}"


@pytest.mark.parametrize("env", ENVS)
def test_environment_values_hold_only_differences(env):
    base_path, env_path = keda_values_files(env)
    assert env_path.is_file(), f"{env_path} must exist (an empty mapping when nothing differs)"
    base = dict(leaves(load(base_path)))
    same = [".".join(p) for p, value in leaves(load(env_path)) if p and p in base and base[p] == value]
    assert not same, f"{env_path.name} repeats the base values: {same}"


@pytest.mark.parametrize("env", ENVS)
def test_every_keda_component_runs_restricted(env):
    values = merged(env)
    for component in COMPONENTS:
        container = values["securityContext"][component]
        assert container["allowPrivilegeEscalation"] is False
        assert container["readOnlyRootFilesystem"] is True
        assert container["capabilities"]["drop"] == ["ALL"]
        assert container["seccompProfile"] == {"type": "RuntimeDefault"}
        assert values["podSecurityContext"][component]["runAsNonRoot"] is True


@pytest.mark.parametrize("env", ENVS)
def test_every_keda_component_has_requests_and_limits(env):
    values = merged(env)
    for component in COMPONENTS:
        resources = values["resources"][component]
        assert set(resources["requests"]) == {"cpu", "memory"} and set(resources["limits"]) == {"cpu", "memory"}


@pytest.mark.parametrize("env", ENVS)
def test_availability_per_environment(configs, env):
    values = merged(env)
    replicas = {component: values[REPLICA_KEYS[component]]["replicaCount"] for component in COMPONENTS}
    budgets = values.get("podDisruptionBudget", {})
    if configs[env].tier == "prod":
        assert all(count >= 2 for count in replicas.values()), replicas
        for component in COMPONENTS:
            assert budgets[component] == {"minAvailable": 1}
            spread = values["topologySpreadConstraints"][REPLICA_KEYS[component]]
            assert spread[0]["topologyKey"] == "topology.kubernetes.io/zone"
    else:
        # A PDB over a single replica would block every node drain.
        assert all(not budgets.get(component) or replicas[component] > 1 for component in COMPONENTS)


@pytest.mark.parametrize("env", ENVS)
def test_keda_images_pass_binary_authorization(env):
    values = merged(env)
    for component in ("keda", "metricsApiServer", "webhooks"):
        assert values["image"][component]["registry"] == "ghcr.io"
    assert "ghcr.io/kedacore/*" in THIRD_PARTY_IMAGES


@pytest.mark.parametrize("env", ENVS)
def test_providers_reach_the_dns_endpoint_and_authenticate_with_the_exec_plugin(synthesized, env):
    document = synthesized.stack(env, LAYER)
    helm_config = document["provider"]["helm"][0]["kubernetes"]
    kubernetes_config = document["provider"]["kubernetes"][0]
    for config in (helm_config, kubernetes_config):
        assert set(config) == {"host", "exec"}
        (plugin,) = config["exec"] if isinstance(config["exec"], list) else [config["exec"]]
        assert plugin["command"] == "gke-gcloud-auth-plugin"
        assert plugin["api_version"] == "client.authentication.k8s.io/v1beta1"
        assert re.fullmatch(r"https://\$\{data\.terraform_remote_state\.cross-stack-reference-input-[a-z]+-cluster\.outputs\.[^}]+endpoint\}", config["host"])
    assert "google_client_config" not in document.get("data", {}), "its access_token would be stored in state"
    text = json.dumps(document)
    assert "config_path" not in text and "kubeconfig" not in text.lower() and "client_key" not in text
