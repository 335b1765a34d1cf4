"""skaffold.yaml: valid against Skaffold's own v4beta14 schema (profiles included), everything it names exists,
and the profiles keep their promises (dev loop, staging previews, prod canary -> verify -> promote)."""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from k8s import render as k8s_render
from k8s.verify_job import json_merge_patch, merged_verify_job, verify_test_case
from stacks.components import app_components

REPO_ROOT = Path(__file__).resolve().parents[2]
SKAFFOLD_FILE = REPO_ROOT / "skaffold.yaml"
# profile -> the kustomize overlay it must deploy
PROFILE_OVERLAYS = {
    "dev": "dev",
    "staging": "staging",
    "staging-preview": "staging-preview",
    "prod": "prod-canary",
    "prod-promote": "prod",
}


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    return yaml.safe_load(SKAFFOLD_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def schema_validator(third_party_dir: Path) -> jsonschema.Draft7Validator:
    path = third_party_dir / "skaffold" / "v4beta14.json"
    if not path.is_file():
        pytest.fail(f"{path} is missing; run `make third-party`", pytrace=False)
    schema = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def profile(config, name) -> dict[str, Any]:
    (found,) = [p for p in config["profiles"] if p["name"] == name]
    return found


# --- schema and references --------------------------------------------------------------------------------

def test_validates_against_the_skaffold_v4beta14_schema(config, schema_validator):
    assert config["apiVersion"] == "skaffold/v4beta14" and config["kind"] == "Config"
    errors = [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
              for e in schema_validator.iter_errors(config)]
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("mutation", ["top-level typo", "profile typo", "verify typo"])
def test_schema_validation_would_catch_a_typo(config, schema_validator, mutation):
    broken = copy.deepcopy(config)
    if mutation == "top-level typo":
        broken["deploy"]["statusChek"] = True
    elif mutation == "profile typo":
        profile(broken, "staging")["manifests"]["kustomise"] = {"paths": ["k8s/overlays/staging"]}
    else:
        profile(broken, "prod")["verify"][0]["container"]["cmd"] = ["true"]
    assert list(schema_validator.iter_errors(broken))


def test_builds_the_four_service_images_from_one_dockerfile(config, rendered_dev):
    artifacts = config["build"]["artifacts"]
    assert [a["image"] for a in artifacts] == [c.name for c in app_components()]
    for artifact in artifacts:
        assert artifact["context"] == "services"
        assert artifact["docker"]["dockerfile"] == "Dockerfile"
        assert (REPO_ROOT / artifact["context"] / artifact["docker"]["dockerfile"]).is_file()
        args = artifact["docker"]["buildArgs"]
        assert set(args) <= {"SERVICE", "PACKAGE", "DATA_DIR"}, args
        assert (REPO_ROOT / artifact["context"] / args["SERVICE"] / args["PACKAGE"] / "__main__.py").is_file(), args
    data_dirs = {a["image"]: a["docker"]["buildArgs"]["DATA_DIR"]
                 for a in artifacts if "DATA_DIR" in a["docker"]["buildArgs"]}
    assert list(data_dirs) == ["backend"]
    # the directory the image creates is where the manifests mount the state volume
    pod = rendered_dev.find("StatefulSet", "backend")["spec"]["template"]["spec"]
    (container,) = [c for c in pod["containers"] if c["name"] == "backend"]
    assert data_dirs["backend"] in [m["mountPath"] for m in container["volumeMounts"]]
    assert config["build"]["tagPolicy"] == {"gitCommit": {}}


def _kustomize_paths(section: dict[str, Any]) -> list[str]:
    return section.get("manifests", {}).get("kustomize", {}).get("paths", [])


def test_every_kustomize_path_exists(config):
    paths = _kustomize_paths(config) + [p for prof in config["profiles"] for p in _kustomize_paths(prof)]
    assert paths
    for path in paths:
        assert (REPO_ROOT / path / "kustomization.yaml").is_file(), path


def test_each_profile_deploys_its_overlay(config):
    assert {p["name"] for p in config["profiles"]} == set(PROFILE_OVERLAYS)
    for name, overlay in PROFILE_OVERLAYS.items():
        assert _kustomize_paths(profile(config, name)) == [f"k8s/overlays/{overlay}"], name
    assert _kustomize_paths(config) == ["k8s/overlays/dev"], "no profile must never mean prod"


def test_every_profile_says_when_and_how_to_use_it():
    lines = SKAFFOLD_FILE.read_text(encoding="utf-8").splitlines()
    for index, line in enumerate(lines):
        match = re.match(r"^  - name: (\S+)$", line)
        if match:
            above = lines[index - 1].strip()
            assert above.startswith("#"), f"profile {match.group(1)} has no comment above it"
            block = []
            for previous in reversed(lines[:index]):
                if not previous.strip().startswith("#"):
                    break
                block.append(previous)
            assert "skaffold " in " ".join(block), f"profile {match.group(1)}: show the command that uses it"


def test_every_file_a_hook_or_verify_step_names_exists(config):
    preview_hook = profile(config, "staging-preview")["manifests"]["hooks"]["after"][0]["host"]
    assert preview_hook["withChange"] is True
    assert (REPO_ROOT / preview_hook["command"][-1]).is_file()
    job_path = verify_test_case(config)["executionMode"]["kubernetesCluster"]["jobManifestPath"]
    assert (REPO_ROOT / job_path).is_file()


# --- dev ------------------------------------------------------------------------------------------------

def test_dev_profile_is_the_inner_loop(config, rendered_dev):
    dev = profile(config, "dev")
    assert {"command": "dev"} in dev["activation"]
    forwards = {(f["resourceType"], f["namespace"], f["resourceName"]): f for f in dev["portForward"]}
    api = forwards[("service", "apps", "api-server")]
    service = rendered_dev.find("Service", "api-server")
    assert api["port"] in [p["port"] for p in service["spec"]["ports"]]
    assert ("service", "monitoring", "kube-prometheus-stack-grafana") in forwards


@pytest.fixture(scope="module")
def rendered_dev() -> k8s_render.Rendered:
    return k8s_render.render("dev")


# --- staging previews -----------------------------------------------------------------------------------

def test_preview_namespace_follows_the_slug_like_the_hook(config):
    preview = profile(config, "staging-preview")
    assert preview["deploy"]["kubectl"]["defaultNamespace"] == "preview-{{.PREVIEW_SLUG}}"
    namespace = yaml.safe_load((REPO_ROOT / "k8s/overlays/staging-preview/namespace.yaml").read_text())
    assert namespace["metadata"]["name"] == f"preview-{k8s_render.PREVIEW_PLACEHOLDER}"


# --- prod: canary, verify, promote ----------------------------------------------------------------------

def test_prod_pins_content_addressed_images_and_checks_status(config):
    for name in ("prod", "prod-promote"):
        prof = profile(config, name)
        assert prof["build"]["tagPolicy"] == {"inputDigest": {}}, name
        assert prof["deploy"]["statusCheck"] is True and prof["deploy"]["statusCheckDeadlineSeconds"] >= 300
        assert prof["deploy"]["kubectl"]["defaultNamespace"] == "apps"


def test_promotion_is_a_separate_profile_that_removes_the_canary(config):
    promote = profile(config, "prod-promote")
    assert "verify" not in promote, "promotion happens after verify, as its own step"
    (hook,) = promote["deploy"]["kubectl"]["hooks"]["after"]
    command = " ".join(hook["host"]["command"])
    assert "--selector platform.example.com/canary=true" in command and "--namespace apps" in command
    kinds = re.search(r"delete\s+(\S+)", command).group(1).split(",")
    assert "deployment" in kinds and not any("httproute" in k for k in kinds), \
        "the hook must never delete the HTTPRoute promotion just applied"


def test_verify_overrides_restore_the_same_container(config):
    case = verify_test_case(config)
    overrides = json.loads(case["executionMode"]["kubernetesCluster"]["overrides"])
    (container,) = overrides["spec"]["template"]["spec"]["containers"]
    for key in ("name", "image", "command"):
        assert container[key] == case["container"][key], key
    assert case["timeout"] >= 600


def test_verify_job_is_valid_and_passes_restricted_pod_security(config, rendered_canary):
    job = merged_verify_job(config)
    prod = yaml.safe_load((REPO_ROOT / "config" / "prod.yaml").read_text(encoding="utf-8"))
    kubernetes_validate.validate(job, str(prod["cluster"]["kubernetes_version"]), strict=True)
    pod = job["spec"]["template"]["spec"]
    assert job["metadata"]["namespace"] == "apps" and pod["restartPolicy"] == "Never"
    assert pod["securityContext"]["runAsNonRoot"]
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    (container,) = pod["containers"]
    sc = container["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"]["drop"] == ["ALL"]
    assert sc["runAsNonRoot"] is True and sc["readOnlyRootFilesystem"] is True
    # the pieces it relies on exist in the canary step
    (volume,) = pod["volumes"]
    rendered_canary.find("ConfigMap", volume["configMap"]["name"])
    policy = rendered_canary.find("NetworkPolicy", "release-verifier")
    labels = job["spec"]["template"]["metadata"]["labels"]
    assert all(labels.get(k) == v for k, v in policy["spec"]["podSelector"]["matchLabels"].items())


@pytest.fixture(scope="module")
def rendered_canary() -> k8s_render.Rendered:
    return k8s_render.render("prod-canary")


def test_json_merge_patch_follows_rfc_7386():
    assert json_merge_patch({"a": {"b": 1, "c": 2}, "l": [1, 2]}, {"a": {"b": None, "d": 3}, "l": [3]}) == \
        {"a": {"c": 2, "d": 3}, "l": [3]}
