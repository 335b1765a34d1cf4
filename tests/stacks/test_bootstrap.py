"""Bootstrap layer, as policies."""
from __future__ import annotations

import pytest

from stacks.bootstrap import APPLY_ROLES, PLAN_ROLES, REQUIRED_SERVICES
from tests.conftest import ENVIRONMENTS as ENVS


def state_bucket(synthesized, env):
    return synthesized.by_path(env, "bootstrap", "google_storage_bucket", "state/bucket")


@pytest.mark.parametrize("env", ENVS)
def test_state_bucket_is_versioned_private_and_cannot_be_destroyed(synthesized, configs, env):
    bucket = state_bucket(synthesized, env)
    assert bucket["name"] == configs[env].state_bucket
    assert bucket["versioning"] == {"enabled": True}
    assert bucket["uniform_bucket_level_access"] is True
    assert bucket["public_access_prevention"] == "enforced"
    assert bucket["force_destroy"] is False
    assert bucket["lifecycle"] == {"prevent_destroy": True}


@pytest.mark.parametrize("env", ENVS)
def test_old_state_versions_expire_but_recent_ones_are_kept(synthesized, env):
    (rule,) = state_bucket(synthesized, env)["lifecycle_rule"]
    assert rule["action"] == {"type": "Delete"}
    assert rule["condition"]["with_state"] == "ARCHIVED"
    assert rule["condition"]["days_since_noncurrent_time"] >= 30
    assert rule["condition"]["num_newer_versions"] >= 5


@pytest.mark.parametrize("env", ENVS)
def test_only_the_ci_identities_hold_state_bucket_roles(synthesized, env):
    bindings = synthesized.resources(env, "bootstrap", "google_storage_bucket_iam_binding").values()
    accounts = synthesized.resources(env, "bootstrap", "google_service_account")
    by_role = {b["role"]: b["members"] for b in bindings}
    ids = {body["account_id"].rsplit("-", 1)[-1]: logical_id for logical_id, body in accounts.items()}
    assert by_role == {
        "roles/storage.objectAdmin": [f"serviceAccount:${{google_service_account.{ids['apply']}.email}}"],
        "roles/storage.objectViewer": [f"serviceAccount:${{google_service_account.{ids['plan']}.email}}"],
    }


@pytest.mark.parametrize("env", ENVS)
def test_gitlab_tokens_of_other_projects_are_rejected(synthesized, configs, env):
    (provider,) = synthesized.resources(env, "bootstrap", "google_iam_workload_identity_pool_provider").values()
    assert provider["attribute_condition"] == f'assertion.project_path == "{configs[env].ci.project_path}"'
    assert provider["oidc"]["issuer_uri"] == configs[env].ci.gitlab_url


@pytest.mark.parametrize("env", ENVS)
def test_only_protected_apply_branches_can_impersonate_the_apply_account(synthesized, configs, env):
    (provider,) = synthesized.resources(env, "bootstrap", "google_iam_workload_identity_pool_provider").values()
    mapping = provider["attribute_mapping"]["attribute.apply_allowed"]
    assert "assertion.ref_protected == 'true'" in mapping and "assertion.ref_type == 'branch'" in mapping
    for ref in configs[env].ci.apply_refs:
        assert f'assertion.ref == "{ref}"' in mapping
    apply_member = synthesized.by_path(env, "bootstrap", "google_service_account_iam_member", "gitlab/apply/impersonator-0")
    assert apply_member["role"] == "roles/iam.workloadIdentityUser"
    assert apply_member["member"].endswith("/attribute.apply_allowed/true")
    plan_member = synthesized.by_path(env, "bootstrap", "google_service_account_iam_member", "gitlab/plan/impersonator-0")
    assert plan_member["member"].endswith("}/*")


@pytest.mark.parametrize("env", ENVS)
def test_ci_accounts_hold_exactly_their_role_sets(synthesized, env):
    members = synthesized.resources(env, "bootstrap", "google_project_iam_member").values()
    plan = sorted(m["role"] for m in members if "gitlab_plan" in m["member"])
    apply = sorted(m["role"] for m in members if "gitlab_apply" in m["member"])
    assert plan == sorted(PLAN_ROLES)
    assert apply == sorted(APPLY_ROLES)
    assert not set(plan) & {"roles/storage.admin", "roles/storage.objectAdmin"}, "plan must not write state"


@pytest.mark.parametrize("env", ENVS)
def test_required_apis_are_enabled_and_survive_a_destroy(synthesized, env):
    services = synthesized.resources(env, "bootstrap", "google_project_service").values()
    assert sorted(s["service"] for s in services) == sorted(REQUIRED_SERVICES)
    assert all(s["disable_on_destroy"] is False for s in services)


@pytest.mark.parametrize("env", ENVS)
def test_state_access_is_audited(synthesized, env):
    (audit,) = synthesized.resources(env, "bootstrap", "google_project_iam_audit_config").values()
    assert audit["service"] == "storage.googleapis.com"
    assert sorted(c["log_type"] for c in audit["audit_log_config"]) == ["DATA_READ", "DATA_WRITE"]


def test_first_apply_keeps_bootstrap_state_outside_the_output_directory(configs, tmp_path):
    """docs/bootstrap.md: before the bucket exists, state lives in a local file that survives re-synth."""
    import json

    from stacks.app import build_app

    state_dir = tmp_path / "state"
    build_app([configs["dev"]], outdir=tmp_path / "out", up_to="network", bootstrap_state_dir=state_dir).synth()
    bootstrap = json.loads((tmp_path / "out/stacks/dev-bootstrap/cdk.tf.json").read_text())
    network = json.loads((tmp_path / "out/stacks/dev-network/cdk.tf.json").read_text())
    assert bootstrap["terraform"]["backend"] == {"local": {"path": str(state_dir / "dev-bootstrap.tfstate")}}
    assert "gcs" in network["terraform"]["backend"], "only bootstrap starts with local state"
