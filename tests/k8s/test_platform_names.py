"""Terraform-owned names reach the manifests from ONE generated place: config/<env>.yaml ->
stacks.naming.DeliveryNames -> k8s/overlays/<overlay>/platform-names.env (committed) -> kustomize replacements."""
from __future__ import annotations

from pathlib import Path

import pytest

from k8s import generate_platform_names as gen
from k8s import render as k8s_render
from stacks.components import app_components

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_committed_generated_files_are_fresh(tmp_path):
    """Regenerate into a temp dir: every committed generated file must be byte-identical."""
    stale = []
    for target, content in gen.generated_files(k8s_dir=tmp_path).items():
        committed = REPO_ROOT / "k8s" / target.relative_to(tmp_path)
        if not committed.is_file() or committed.read_text() != content:
            stale.append(str(committed.relative_to(REPO_ROOT)))
    assert not stale, f"stale generated files {stale}: run `python -m k8s.generate_platform_names` and commit"


def test_every_environment_has_its_overlay():
    for env in k8s_render.ENV_OVERLAYS:
        assert (REPO_ROOT / "k8s" / "overlays" / env / "kustomization.yaml").is_file(), \
            f"config/{env}.yaml has no k8s/overlays/{env}: every environment needs its overlay"


def test_generated_file_has_header_and_every_name(delivery_names):
    for overlay, env in gen.OVERLAY_ENVS.items():
        lines = (REPO_ROOT / "k8s" / "overlays" / overlay / gen.FILE_NAME).read_text().splitlines()
        assert lines[0].startswith("# GENERATED") and "do not edit" in lines[0]
        values = dict(line.split("=", 1) for line in lines[1:])
        assert delivery_names[env].as_env().items() <= values.items()


def test_check_mode_reports_stale_files(tmp_path, capsys):
    gen.write_all(k8s_dir=tmp_path)
    assert gen.main(["--check", "--out-dir", str(tmp_path)]) == 0
    (tmp_path / "overlays" / "prod" / gen.FILE_NAME).write_text("# hand-edited\nEDGE_IP_NAME=other\n")
    assert gen.main(["--check", "--out-dir", str(tmp_path)]) == 1
    assert "prod" in capsys.readouterr().err


def test_generator_rejects_incomplete_config(tmp_path):
    (tmp_path / "dev.yaml").write_text("name: dev\nprefix: acme-dev\nregion: europe-west4\n")
    with pytest.raises(gen.ConfigError, match="dev.yaml: project_id: required field is missing"):
        gen.load_delivery_names("dev", config_dir=tmp_path)
    with pytest.raises(gen.ConfigError, match="does not exist"):
        gen.load_delivery_names("staging", config_dir=tmp_path)


@pytest.mark.parametrize("overlay", k8s_render.ALL_OVERLAYS)
def test_no_placeholder_survives_rendering(overlay, rendered):
    text = rendered[overlay].text
    assert "placeholder" not in text and ".invalid" not in text, \
        f"{overlay}: a base placeholder was not replaced by the generated platform names"


@pytest.mark.parametrize("overlay", k8s_render.ENV_OVERLAYS)
def test_manifests_carry_the_terraform_names(overlay, rendered, delivery_names):
    names, r = delivery_names[overlay], rendered[overlay]
    gateway = r.find("Gateway", "external")
    assert gateway["spec"]["addresses"] == [{"type": "NamedAddress", "value": names.edge_ip_name}]
    assert gateway["metadata"]["annotations"]["networking.gke.io/certmap"] == names.certificate_map_name
    assert gateway["spec"]["gatewayClassName"] == "gke-l7-global-external-managed"
    assert r.find("GCPGatewayPolicy", "external")["spec"]["default"]["sslPolicy"] == names.ssl_policy_name
    for policy in r.of_kind("GCPBackendPolicy"):
        assert policy["spec"]["default"]["securityPolicy"] == names.armor_policy_name
    assert r.find("HTTPRoute", "api")["spec"]["hostnames"] == [names.api_hostname]
    assert r.find("HTTPRoute", "ai")["spec"]["hostnames"] == [names.ai_hostname]


@pytest.mark.parametrize("overlay", k8s_render.ALL_OVERLAYS)
def test_each_application_ksa_names_its_own_google_service_account(overlay, rendered, delivery_names):
    """The component table decides KSA and GSA; the generated replacement writes one into the other."""
    names = delivery_names[k8s_render.environment_of(overlay)]
    accounts = {o["metadata"]["name"]: o for o in rendered[overlay].of_kind("ServiceAccount")}
    for component in app_components():
        ksa = accounts.get(component.kubernetes_service_account)
        if ksa is None:
            continue  # an overlay that does not run this component (e.g. the canary step)
        annotation = ksa["metadata"].get("annotations", {}).get(gen.WI_ANNOTATION)
        if overlay == "staging-preview":
            # Previews run without Google API access: their KSAs must not borrow staging's identities.
            assert annotation is None, (overlay, component.name)
        else:
            assert annotation == names.service_account_email(component.name), (overlay, component.name)
