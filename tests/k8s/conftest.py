"""Fixtures for the Kubernetes manifest tests: every overlay is rendered once per session (kubectl kustomize),
exactly as Skaffold renders it (the preview overlay goes through the same post-render hook)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from k8s import render as k8s_render
from stacks import namespaces as platform_namespaces
from stacks.config import load_environment
from stacks.naming import DeliveryNames

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = REPO_ROOT / "config"


@pytest.fixture(scope="session")
def rendered() -> dict[str, k8s_render.Rendered]:
    """overlay name -> its rendered objects, for every overlay in k8s/overlays."""
    try:
        return {overlay: k8s_render.render(overlay) for overlay in k8s_render.ALL_OVERLAYS}
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def rendered_base() -> k8s_render.Rendered:
    try:
        return k8s_render.render_base()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def env_configs() -> dict[str, dict[str, Any]]:
    """The raw config/<env>.yaml of every environment (plain YAML: only a few fields are used here)."""
    configs = {}
    for env in k8s_render.ENV_OVERLAYS:
        path = CONFIG_DIR / f"{env}.yaml"
        if not path.is_file():
            pytest.fail(f"{path} is missing: every environment needs its config file", pytrace=False)
        configs[env] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return configs


@pytest.fixture(scope="session")
def delivery_names(env_configs) -> dict[str, DeliveryNames]:
    """environment -> the names Terraform gives its resources (stacks/naming.py)."""
    return {
        env: DeliveryNames.of(load_environment(CONFIG_DIR / f"{env}.yaml"))
        for env in env_configs
    }


@pytest.fixture(scope="session")
def skaffold_config() -> dict[str, Any]:
    return yaml.safe_load((REPO_ROOT / "skaffold.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def platform_objects() -> dict[str, list[dict[str, Any]]]:
    """environment -> the objects the data layer creates in the platform namespaces (stacks/namespaces.py),
    as manifests: they are in the cluster before any overlay is applied."""
    return {env: [obj for objects in platform_namespaces.environment_manifests(
                load_environment(CONFIG_DIR / f"{env}.yaml")).values() for obj in objects]
            for env in k8s_render.ENV_OVERLAYS}
