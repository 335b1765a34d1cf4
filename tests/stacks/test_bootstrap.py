"""Bootstrap layer, as policies."""
from __future__ import annotations

import json

import pytest

from stacks.bootstrap import (
    PLAN_ROLES,
    PROJECT_IAM_ADMIN,
    REQUIRED_SERVICES,
    SERVICE_ACCOUNT_ADMIN,
    apply_roles,
    ci_identities,
)
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
    assert set(ids) == {"plan", "apply", "push", "deploy"}
    assert by_role == {
        "roles/storage.objectAdmin": [f"serviceAccount:${{google_service_account.{ids['apply']}.email}}"],
        "roles/storage.objectViewer": [f"serviceAccount:${{google_service_account.{ids['plan']}.email}}"],
    }


def provider_of(synthesized, env):
    (provider,) = synthesized.resources(env, "bootstrap", "google_iam_workload_identity_pool_provider").values()
    return provider


def impersonators(synthesized, env, duty):
    """Members holding workloadIdentityUser on the CI account of `duty`."""
    return [
        body["member"]
        for body in synthesized.resources(env, "bootstrap", "google_service_account_iam_member").values()
        if body["//"]["metadata"]["path"].startswith(f"{env}-bootstrap/gitlab/{duty}/")
        and body["role"] == "roles/iam.workloadIdentityUser"
    ]


@pytest.mark.parametrize("env", ENVS)
def test_only_tokens_of_the_configured_gitlab_project_id_and_namespace_id_are_accepted(synthesized, configs, env):
    provider = provider_of(synthesized, env)
    ci = configs[env].ci
    assert provider["attribute_condition"] == (
        f'assertion.project_id == "{ci.project_id}" && assertion.namespace_id == "{ci.namespace_id}"'
    )
    assert "project_path" not in provider["attribute_condition"], "paths are mutable names"
    assert provider["oidc"]["issuer_uri"] == ci.gitlab_url


@pytest.mark.parametrize("env", ENVS)
def test_the_audience_is_the_providers_own_resource_name(synthesized, env):
    provider = provider_of(synthesized, env)
    assert "allowed_audiences" not in provider["oidc"], "empty: GCP then requires the provider's resource name"
    outputs = synthesized.stack(env, "bootstrap")["output"]
    (logical_id,) = synthesized.resources(env, "bootstrap", "google_iam_workload_identity_pool_provider")
    name = f"${{google_iam_workload_identity_pool_provider.{logical_id}.name}}"
    assert outputs["workload_identity_provider"]["value"] == name
    assert outputs["workload_identity_audience"]["value"] == f"//iam.googleapis.com/{name}"


@pytest.mark.parametrize("env", ENVS)
def test_ci_outputs_are_the_interface_ci_reads(synthesized, env):
    outputs = synthesized.stack(env, "bootstrap")["output"]
    for name in ("workload_identity_provider", "workload_identity_audience", "plan_service_account",
                 "apply_service_account", "push_service_account", "deploy_service_account", "state_bucket"):
        assert outputs[name]["value"], name


@pytest.mark.parametrize("env", ENVS)
def test_apply_push_and_deploy_are_never_usable_from_merge_request_pipelines_or_unprotected_refs(synthesized, configs, env):
    mapping = provider_of(synthesized, env)["attribute_mapping"]
    for attribute in ("attribute.protected", "attribute.apply_allowed"):
        expression = mapping[attribute]
        assert "assertion.ref_protected == 'true'" in expression
        assert "assertion.pipeline_source != 'merge_request_event'" in expression
    assert "assertion.ref_type == 'branch'" in mapping["attribute.apply_allowed"]
    for ref in configs[env].ci.apply_refs:
        assert f'assertion.ref == "{ref}"' in mapping["attribute.apply_allowed"]
    for duty, attribute in (("apply", "apply_allowed"), ("deploy", "apply_allowed"), ("push", "protected")):
        (member,) = impersonators(synthesized, env, duty)
        assert member.endswith(f"/attribute.{attribute}/true"), (duty, member)


@pytest.mark.parametrize("env", ENVS)
def test_no_ci_identity_usable_from_an_unprotected_ref_can_read_prod_state(synthesized, configs, env):
    """The state bucket's readers are plan and apply; for prod both are protected-only. Merge-request
    pipelines plan dev and staging only."""
    (plan_member,) = impersonators(synthesized, env, "plan")
    if configs[env].tier == "prod":
        assert plan_member.endswith("/attribute.protected/true")
    else:
        assert plan_member.endswith(f"/attribute.project_id/{configs[env].ci.project_id}")
    readers = {
        member
        for body in synthesized.resources(env, "bootstrap", "google_storage_bucket_iam_binding").values()
        for member in body["members"]
    }
    accounts = {
        body["//"]["metadata"]["path"].split("/")[2]: logical_id
        for logical_id, body in synthesized.resources(env, "bootstrap", "google_service_account").items()
    }
    assert readers == {f"serviceAccount:${{google_service_account.{accounts[d]}.email}}" for d in ("plan", "apply")}


def test_every_ci_role_has_a_reason(configs):
    for env in configs.values():
        for duty, identity in ci_identities(env).items():
            for row in identity.roles:
                assert len(row.reason.split()) >= 4, f"{env.name} {duty} {row.role}: {row.reason!r}"


@pytest.mark.parametrize("env", ENVS)
def test_ci_accounts_hold_exactly_their_role_sets(synthesized, configs, env):
    members = synthesized.resources(env, "bootstrap", "google_project_iam_member").values()
    for duty, identity in ci_identities(configs[env]).items():
        held = sorted(m["role"] for m in members if f"gitlab_{duty}_" in m["member"])
        assert held == sorted(row.role for row in identity.roles), duty
    plan = {row.role for row in PLAN_ROLES}
    assert not plan & {"roles/storage.admin", "roles/storage.objectAdmin", "roles/artifactregistry.writer"}


@pytest.mark.parametrize("env", ENVS)
def test_no_ci_identity_can_read_secret_values_or_hold_an_unconditioned_admin_of_iam(synthesized, env):
    members = synthesized.resources(env, "bootstrap", "google_project_iam_member").values()
    roles = {m["role"] for m in members}
    assert not roles & {"roles/secretmanager.admin", "roles/secretmanager.secretAccessor", "roles/storage.admin"}
    for m in members:
        if m["role"] in (PROJECT_IAM_ADMIN, SERVICE_ACCOUNT_ADMIN):
            assert m.get("condition", {}).get("expression"), m["role"]
    for role in synthesized.resources(env, "bootstrap", "google_project_iam_custom_role").values():
        assert not [p for p in role["permissions"] if p.endswith(("versions.access", "objects.get", "objects.create"))]


@pytest.mark.parametrize("env", ENVS)
def test_apply_may_grant_exactly_the_project_roles_the_stacks_grant(synthesized, configs, env):
    """Computed, not copied: the condition lists every project role any stack grants, and no other."""
    granted = {
        body["role"]
        for stack, type_, _, body in synthesized.all_resources()
        if stack.startswith(f"{env}-") and not stack.endswith("-bootstrap") and type_ == "google_project_iam_member"
    }
    (condition,) = [
        m["condition"]["expression"]
        for m in synthesized.resources(env, "bootstrap", "google_project_iam_member").values()
        if m["role"] == PROJECT_IAM_ADMIN
    ]
    listed = json.loads(condition.split(".hasOnly(", 1)[1].rstrip(")"))
    assert set(listed) == granted
    assert not {row.role for row in apply_roles(configs[env])} & set(listed), "apply cannot widen itself"


@pytest.mark.parametrize("env", ENVS)
def test_apply_administers_platform_accounts_but_never_the_ci_accounts(synthesized, configs, env):
    (member,) = [
        m for m in synthesized.resources(env, "bootstrap", "google_project_iam_member").values() if m["role"] == SERVICE_ACCOUNT_ADMIN
    ]
    prefix = configs[env].prefix
    expression = member["condition"]["expression"]
    assert f"startsWith('{prefix}-')" in expression and f"!resource.name.extract('serviceAccounts/{{account}}@').startsWith('{prefix}-ci-')" in expression
    # Fail closed: only the project itself (account creation) passes without naming a platform account.
    assert expression.startswith("resource.type == 'cloudresourcemanager.googleapis.com/Project' || (")
    assert "!=" not in expression


@pytest.mark.parametrize("env", ENVS)
def test_required_apis_are_enabled_and_survive_a_destroy(synthesized, env):
    services = synthesized.resources(env, "bootstrap", "google_project_service").values()
    assert sorted(s["service"] for s in services) == sorted(REQUIRED_SERVICES)
    assert all(s["disable_on_destroy"] is False for s in services)


@pytest.mark.parametrize("env", ENVS)
def test_every_service_logs_data_reads_writes_and_admin_reads(synthesized, env):
    (audit,) = synthesized.resources(env, "bootstrap", "google_project_iam_audit_config").values()
    assert audit["service"] == "allServices"
    assert sorted(c["log_type"] for c in audit["audit_log_config"]) == ["ADMIN_READ", "DATA_READ", "DATA_WRITE"]


@pytest.mark.parametrize("env", ENVS)
def test_state_is_encrypted_with_a_bootstrap_key_the_storage_agent_alone_uses(synthesized, env):
    bucket = state_bucket(synthesized, env)
    (key_id,) = synthesized.resources(env, "bootstrap", "google_kms_crypto_key")
    assert bucket["encryption"] == {"default_kms_key_name": f"${{google_kms_crypto_key.{key_id}.id}}"}
    (binding,) = synthesized.resources(env, "bootstrap", "google_kms_crypto_key_iam_binding").values()
    (agent,) = synthesized.stack(env, "bootstrap")["data"]["google_storage_project_service_account"]
    assert binding["members"] == [f"serviceAccount:${{data.google_storage_project_service_account.{agent}.email_address}}"]
    assert any(d.startswith("google_kms_crypto_key_iam_binding.") for d in bucket["depends_on"]), "key usable first"


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
