"""Cloud SQL for PostgreSQL, as policies over the synthesized data stack: private and encrypted, IAM
users only, recoverable, CIS logging, and connections sized by the written-down arithmetic."""
from __future__ import annotations

import json
import re

import pytest

from constructs_lib.cloud_sql import CIS_FLAGS
from stacks.components import COMPONENTS, database_components
from stacks.databases import DATABASES, iam_user_name
from stacks.naming import service_account_email
from tests.conftest import ENVIRONMENTS as ENVS

LAYER = "data"
# PostgreSQL severities, least to most severe: log_min_messages must be WARNING or more severe.
SEVERITIES = ("debug5", "debug4", "debug3", "debug2", "debug1", "info", "notice", "warning", "error", "log", "fatal", "panic")


def instances(synthesized):
    """(env, body) of every Cloud SQL instance in every stack of every environment."""
    return [
        (stack.rsplit("-", 1)[0], body)
        for stack, type_, _, body in synthesized.all_resources()
        if type_ == "google_sql_database_instance"
    ]


def instance(synthesized, env):
    return synthesized.by_path(env, LAYER, "google_sql_database_instance", "postgres/instance")


def flags(body) -> dict[str, str]:
    return {flag["name"]: flag["value"] for flag in body["settings"]["database_flags"]}


def remote_output(layer: str, pattern: str) -> str:
    return rf"\$\{{data\.terraform_remote_state\.cross-stack-reference-input-[a-z]+-{layer}\.outputs\.cross-stack-output-{pattern}\}}"


def test_every_environment_has_exactly_one_instance(synthesized):
    assert sorted(env for env, _ in instances(synthesized)) == sorted(ENVS)


def test_no_cloud_sql_instance_has_a_public_ipv4(synthesized):
    for env, body in instances(synthesized):
        ip = body["settings"]["ip_configuration"]
        assert ip["ipv4_enabled"] is False, env
        assert not ip.get("authorized_networks"), env
        assert re.fullmatch(remote_output("network", r"google_compute_networkvpc_network_[0-9A-F]+id"), ip["private_network"])
        assert re.fullmatch(remote_output("network", r"google_compute_global_addresspsa_range_[0-9A-F]+name"), ip["allocated_ip_range"])


def test_every_connection_is_tls_with_a_client_certificate_through_a_connector(synthesized):
    for env, body in instances(synthesized):
        assert body["settings"]["ip_configuration"]["ssl_mode"] == "TRUSTED_CLIENT_CERTIFICATE_REQUIRED", env
        assert body["settings"]["connector_enforcement"] == "REQUIRED", env


def test_every_instance_signs_users_in_with_iam(synthesized):
    for env, body in instances(synthesized):
        assert flags(body)["cloudsql.iam_authentication"] == "on", env


def test_no_database_password_exists_anywhere(synthesized):
    for stack, type_, _, body in synthesized.all_resources():
        if type_ == "google_sql_database_instance":
            assert "root_password" not in body, stack
        if type_ == "google_sql_user":
            assert body["type"] == "CLOUD_IAM_SERVICE_ACCOUNT", (stack, body["name"])
            assert not {"password", "password_wo", "password_policy"} & set(body), (stack, body["name"])


def test_every_instance_is_encrypted_with_the_security_layers_cloud_sql_key(synthesized):
    for env, body in instances(synthesized):
        assert re.fullmatch(remote_output("security", r"google_kms_crypto_keykms_cloud-sql_[0-9A-F]+id"), body["encryption_key_name"]), env


def test_every_instance_has_backups_with_point_in_time_recovery(synthesized, configs):
    for env, body in instances(synthesized):
        backup = body["settings"]["backup_configuration"]
        wanted = configs[env].cloud_sql.backups
        assert backup["enabled"] is True and backup["point_in_time_recovery_enabled"] is True, env
        assert backup["transaction_log_retention_days"] == wanted.transaction_log_retention_days >= 1
        assert backup["backup_retention_settings"] == {"retained_backups": wanted.retained_backups, "retention_unit": "COUNT"}
        assert backup["start_time"] == wanted.start_time
        assert backup.get("location") == wanted.location


@pytest.mark.parametrize("env", ENVS)
def test_prod_backups_survive_a_regional_outage(synthesized, configs, env):
    location = instance(synthesized, env)["settings"]["backup_configuration"].get("location")
    if configs[env].tier == "prod":
        assert location and location != configs[env].region
    assert location != configs[env].region


def test_every_instance_sets_the_cis_logging_flags(synthesized):
    cis_v4 = {
        "log_error_verbosity": "default",
        "log_connections": "on",
        "log_disconnections": "on",
        "log_statement": "ddl",
        "log_min_error_statement": "error",
        "log_min_duration_statement": "-1",
        "cloudsql.enable_pgaudit": "on",
        # checkov's CKV_GCP_54 cannot read Terraform JSON flags (tests/policies/test_checkov.py).
        "log_lock_waits": "on",
    }
    for env, body in instances(synthesized):
        actual = flags(body)
        assert {name: actual.get(name) for name in cis_v4} == cis_v4, env
        assert SEVERITIES.index(actual["log_min_messages"]) >= SEVERITIES.index("warning"), env
        assert actual["pgaudit.log"] and actual["pgaudit.log"] != "none", "pgAudit on but recording nothing"
        assert len(body["settings"]["database_flags"]) == len(actual), "a flag is set twice"
    assert set(cis_v4) <= set(CIS_FLAGS) | {"cloudsql.iam_authentication"}


@pytest.mark.parametrize("env", ENVS)
def test_max_connections_is_the_connection_arithmetic_and_fits_the_tier(synthesized, configs, env):
    sql = configs[env].cloud_sql
    body = instance(synthesized, env)
    assert int(flags(body)["max_connections"]) == sql.max_connections
    assert body["settings"]["tier"] == sql.tier
    pools = {pool.component: pool for pool in sql.pools()}
    assert pools["temporal-server"].pools_per_pod == 2, "one pool for temporal, one for temporal_visibility"
    assert sql.max_connections > sum(pool.connections for pool in pools.values())


@pytest.mark.parametrize("env", ENVS)
def test_availability_and_deletion_protection_follow_the_config(synthesized, configs, env):
    body = instance(synthesized, env)
    config = configs[env]
    protected = config.protection.deletion_protection
    assert body["settings"]["availability_type"] == config.cloud_sql.availability
    if config.tier != "dev":
        assert body["settings"]["availability_type"] == "REGIONAL" and protected
    assert body["deletion_protection"] is protected
    assert body["settings"]["deletion_protection_enabled"] is protected
    assert body["lifecycle"]["prevent_destroy"] is protected


def test_every_instance_has_a_maintenance_window_and_query_insights(synthesized):
    for env, body in instances(synthesized):
        window = body["settings"]["maintenance_window"]
        assert 1 <= window["day"] <= 7 and 0 <= window["hour"] <= 23 and window["update_track"], env
        insights = body["settings"]["insights_config"]
        assert insights["query_insights_enabled"] is True, env


def test_every_instance_runs_postgres_16_or_newer(synthesized):
    for env, body in instances(synthesized):
        major = re.fullmatch(r"POSTGRES_([0-9]+)", body["database_version"])
        assert major and int(major[1]) >= 16, (env, body["database_version"])
        assert body["settings"]["edition"] in ("ENTERPRISE", "ENTERPRISE_PLUS")


@pytest.mark.parametrize("env", ENVS)
def test_the_application_and_temporal_databases_exist(synthesized, env):
    databases = synthesized.resources(env, LAYER, "google_sql_database").values()
    assert sorted(db["name"] for db in databases) == sorted(DATABASES) == ["app", "temporal", "temporal_visibility"]


@pytest.mark.parametrize("env", ENVS)
def test_workload_users_are_the_iam_users_of_the_components_that_use_a_database(synthesized, configs, env):
    config = configs[env]
    users = {user["name"] for user in synthesized.resources(env, LAYER, "google_sql_user").values()}
    expected = {
        iam_user_name(service_account_email(config.prefix, component.name, config.project_id))
        for component in database_components()
    }
    assert users == expected
    assert f"{config.prefix}-temporal-server@{config.project_id}.iam" in users
    # Every user is the email of an account the security stack creates, minus `.gserviceaccount.com`.
    accounts = {body["account_id"] for body in synthesized.resources(env, "security", "google_service_account").values()}
    assert {user.split("@")[0] for user in users} <= accounts


def test_temporal_uses_both_temporal_databases_and_apps_the_application_database():
    uses = {component.name: component.databases for component in COMPONENTS if component.databases}
    assert uses == {"api-server": ("app",), "backend": ("app",), "temporal-server": ("temporal", "temporal_visibility")}


@pytest.mark.parametrize("env", ENVS)
def test_data_stack_outputs_the_connection_name(synthesized, env):
    outputs = synthesized.stack(env, LAYER)["output"]
    assert outputs["sql_connection_name"]["value"] == (
        "${google_sql_database_instance."
        + next(iter(synthesized.resources(env, LAYER, "google_sql_database_instance")))
        + ".connection_name}"
    )


@pytest.mark.parametrize("env", ENVS)
def test_the_cloud_sql_service_agent_exists_before_its_key_grant(synthesized, env):
    (identity,) = synthesized.resources(env, "bootstrap", "google_project_service_identity").values()
    assert identity["service"] == "sqladmin.googleapis.com" and identity["provider"] == "google-beta"
    services = synthesized.resources(env, "bootstrap", "google_project_service")
    assert any(body["service"] == "sqladmin.googleapis.com" for body in services.values())
    sqladmin = next(key for key, body in services.items() if body["service"] == "sqladmin.googleapis.com")
    assert f"google_project_service.{sqladmin}" in identity["depends_on"]
    bootstrap = synthesized.stack(env, "bootstrap")
    assert bootstrap["terraform"]["required_providers"]["google-beta"]["version"] == (
        bootstrap["terraform"]["required_providers"]["google"]["version"]
    )
    # google-beta serves this one resource only.
    beta = [
        (stack, type_) for stack, type_, _, body in synthesized.all_resources() if body.get("provider") == "google-beta"
    ]
    assert {type_ for _, type_ in beta} == {"google_project_service_identity"}
    assert "password" not in json.dumps(synthesized.stack(env, LAYER)).lower()
