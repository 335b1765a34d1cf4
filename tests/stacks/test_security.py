"""Security layer, as policies: identities, secrets, keys, edge and WAF."""
from __future__ import annotations

import copy
import re

import pytest
import yaml

from constructs_lib.armor import CRS_33_RULE_SETS, CVE_CANARY_EXPRESSION, DEFAULT_RULE_PRIORITY
from stacks.config import DEFAULT_WORKLOADS, ConfigError, parse_environment
from stacks.components import app_components, database_components
from stacks.naming import DeliveryNames
from stacks.security import CLOUD_SQL_ROLES, METRICS_READER_PERMISSIONS, NODE_ROLES, secrets_of
from tests.conftest import ENVIRONMENTS as ENVS
from tests.conftest import REPO_ROOT

LAYER = "security"


def resources(synthesized, env, type_):
    return synthesized.resources(env, LAYER, type_)


def logical_id(synthesized, env, type_, path):
    """Logical id of the resource at construct path `path`, for building `${type.id.attr}` references."""
    wanted = f"{env}-{LAYER}/{path}"
    (found,) = [key for key, body in resources(synthesized, env, type_).items() if body["//"]["metadata"]["path"] == wanted]
    return found


def account_ref(synthesized, env, component, attribute="email"):
    return f"${{google_service_account.{logical_id(synthesized, env, 'google_service_account', f'sa-{component}/account')}.{attribute}}}"


def names(configs, env) -> DeliveryNames:
    c = configs[env]
    return DeliveryNames.of(c)


def armor_rules(synthesized, env):
    return synthesized.by_path(env, LAYER, "google_compute_security_policy", "armor/policy")["rule"]


# --- identities ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVS)
def test_every_component_and_the_nodes_have_their_own_service_account(synthesized, configs, env):
    ids = {body["account_id"] for body in resources(synthesized, env, "google_service_account").values()}
    prefix = configs[env].prefix
    assert ids == {f"{prefix}-{component}" for component in (*DEFAULT_WORKLOADS, "gke-node")}


@pytest.mark.parametrize("env", ENVS)
def test_app_accounts_are_the_ones_the_delivery_annotates(synthesized, configs, env):
    ids = {body["account_id"] for body in resources(synthesized, env, "google_service_account").values()}
    delivery = names(configs, env).as_env()
    for component in (c.name for c in app_components()):
        email = delivery[component.upper().replace("-", "_") + "_GSA"]
        account_id, _, domain = email.partition("@")
        assert account_id in ids and domain == f"{configs[env].project_id}.iam.gserviceaccount.com"


@pytest.mark.parametrize("env", ENVS)
def test_node_account_holds_exactly_the_node_roles_and_no_project_wide_registry_read(synthesized, env):
    members = resources(synthesized, env, "google_project_iam_member").values()
    node = f"serviceAccount:{account_ref(synthesized, env, 'gke-node')}"
    assert sorted(m["role"] for m in members if m["member"] == node) == sorted(NODE_ROLES)
    assert "roles/artifactregistry.reader" not in {m["role"] for m in members}, "registry read is per repository"


@pytest.mark.parametrize("env", ENVS)
def test_only_the_nodes_grafana_and_database_users_hold_project_roles(synthesized, configs, env):
    members = list(resources(synthesized, env, "google_project_iam_member").values())
    holders = {m["member"] for m in members}
    assert holders == {
        f"serviceAccount:{account_ref(synthesized, env, account)}"
        for account in ("gke-node", "grafana", *(c.name for c in database_components()))
    }
    grafana = [m for m in members if "sa-grafana" in m["//"]["metadata"]["path"]]
    assert [m["role"] for m in grafana] == [f"projects/{configs[env].project_id}/roles/platformMetricsReader"]


@pytest.mark.parametrize("env", ENVS)
def test_database_users_may_only_connect_and_sign_in_to_the_platforms_instance(synthesized, configs, env):
    members = list(resources(synthesized, env, "google_project_iam_member").values())
    instance = f"projects/{configs[env].project_id}/instances/{configs[env].prefix}-postgres"
    assert {c.name for c in database_components()} == {"api-server", "backend", "temporal-server"}
    for component in database_components():
        grants = [m for m in members if m["member"] == f"serviceAccount:{account_ref(synthesized, env, component.name)}"]
        assert sorted(g["role"] for g in grants) == ["roles/cloudsql.client", "roles/cloudsql.instanceUser"]
        for grant in grants:
            assert grant["condition"]["expression"] == (
                f"resource.type == 'sqladmin.googleapis.com/Instance' && resource.name == '{instance}'"
            )
    sql_roles = {m["role"] for m in members if m["role"].startswith("roles/cloudsql.")}
    assert sql_roles == set(CLOUD_SQL_ROLES) and "roles/cloudsql.admin" not in sql_roles


@pytest.mark.parametrize("env", ENVS)
def test_cloud_sql_key_is_usable_by_the_cloud_sql_service_agent_only(synthesized, env):
    binding = synthesized.by_path(env, LAYER, "google_kms_crypto_key_iam_binding", "kms/cloud-sql-users")
    assert binding["role"] == "roles/cloudkms.cryptoKeyEncrypterDecrypter"
    (member,) = binding["members"]
    # The agent the bootstrap stack creates (google_project_service_identity), read through its outputs.
    assert re.fullmatch(
        r"serviceAccount:\$\{data\.terraform_remote_state\.cross-stack-reference-input-[a-z]+-bootstrap\.outputs\."
        r"cross-stack-output-google_project_service_identityservice-agents_sqladmin_[0-9A-F]+email\}",
        member,
    ), member
    others = [
        b for b in resources(synthesized, env, "google_kms_crypto_key_iam_binding").values()
        if "gcp-sa-cloud-sql" in " ".join(b["members"]) and b is not binding
    ]
    assert not others, "the Cloud SQL agent may use its own key only"


@pytest.mark.parametrize("env", ENVS)
def test_grafanas_custom_role_only_reads_metrics(synthesized, env):
    (role,) = resources(synthesized, env, "google_project_iam_custom_role").values()
    assert role["role_id"] == "platformMetricsReader"
    assert sorted(role["permissions"]) == sorted(METRICS_READER_PERMISSIONS)
    for permission in role["permissions"]:
        assert permission.startswith("monitoring.") and permission.rsplit(".", 1)[-1] in ("get", "list"), permission
    # The grant waits for the role it names by its static full name.
    grant = next(m for m in resources(synthesized, env, "google_project_iam_member").values() if "sa-grafana" in m["//"]["metadata"]["path"])
    assert grant["depends_on"] == [f"google_project_iam_custom_role.{logical_id(synthesized, env, 'google_project_iam_custom_role', 'metrics-reader/role')}"]


@pytest.mark.parametrize("env", ENVS)
def test_no_iam_grant_in_security_or_cluster_is_primitive_or_project_wide_secret_access(synthesized, env):
    for layer in (LAYER, "cluster"):
        for stack, type_, _, body in synthesized.all_resources(layer):
            if not stack.startswith(f"{env}-") or "_iam_" not in type_:
                continue
            assert body.get("role") not in ("roles/owner", "roles/editor", "roles/viewer"), body["//"]["metadata"]["path"]
            if type_ == "google_project_iam_member":
                assert not body["role"].startswith("roles/secretmanager."), "secret access is granted per secret"


def test_no_service_account_key_exists_anywhere(synthesized):
    assert not [t for _, t, _, _ in synthesized.all_resources() if t.startswith("google_service_account_key")]


@pytest.mark.parametrize("env", ENVS)
def test_only_the_ci_apply_identity_may_act_as_the_node_account(synthesized, env):
    (binding,) = resources(synthesized, env, "google_service_account_iam_binding").values()
    assert binding["role"] == "roles/iam.serviceAccountUser"
    assert binding["service_account_id"] == account_ref(synthesized, env, "gke-node", "name")
    (member,) = binding["members"]
    assert "gitlab_apply_account" in member and member.startswith("serviceAccount:")


@pytest.mark.parametrize("env", ENVS)
def test_workload_identity_is_not_bound_here_but_after_the_cluster_exists(synthesized, env):
    assert not resources(synthesized, env, "google_service_account_iam_member")


# --- secrets ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVS)
def test_one_secret_per_credential_named_prefix_credential(synthesized, configs, env):
    ids = {body["secret_id"] for body in resources(synthesized, env, "google_secret_manager_secret").values()}
    expected = {f"{configs[env].prefix}-{credential}" for credential in secrets_of(configs[env])}
    assert ids == expected
    notifications = configs[env].notifications
    for channel in notifications.slack_channels:
        assert f"{configs[env].prefix}-slack-webhook-{channel[1:]}" in ids
    for service in notifications.pagerduty_services:
        assert f"{configs[env].prefix}-pagerduty-{service}" in ids
    assert {"influxdb-admin-token", "grafana-admin-password"} <= set(secrets_of(configs[env]))
    assert not [credential for credential in secrets_of(configs[env]) if "db-password" in credential], (
        "databases use IAM authentication: no database password exists"
    )


@pytest.mark.parametrize("env", ENVS)
def test_only_the_owning_account_can_read_each_secret(synthesized, configs, env):
    for credential, owner in secrets_of(configs[env]).items():
        binding = synthesized.by_path(env, LAYER, "google_secret_manager_secret_iam_binding", f"secret-{credential}/accessor")
        assert binding["role"] == "roles/secretmanager.secretAccessor"
        assert binding["members"] == [f"serviceAccount:{account_ref(synthesized, env, owner)}"], credential
    assert len(resources(synthesized, env, "google_secret_manager_secret_iam_binding")) == len(secrets_of(configs[env]))
    assert not resources(synthesized, env, "google_secret_manager_secret_iam_member")


def test_no_secret_version_or_value_is_synthesized(synthesized):
    assert not [t for _, t, _, _ in synthesized.all_resources() if t == "google_secret_manager_secret_version"]
    for stack, document in synthesized.stacks.items():
        text = str(document)
        assert "secret_data" not in text and "payload" not in text, stack


@pytest.mark.parametrize("env", ENVS)
def test_secret_replication_and_protection_follow_the_config(synthesized, configs, env):
    config = configs[env]
    for body in resources(synthesized, env, "google_secret_manager_secret").values():
        if config.security.secrets.replication == "automatic":
            assert body["replication"] == {"auto": {}}
        else:
            locations = config.security.secrets.locations or (config.region,)
            assert body["replication"] == {"user_managed": {"replicas": [{"location": loc} for loc in locations]}}
        assert body["deletion_protection"] is config.protection.deletion_protection
        assert body["labels"]["component"] in DEFAULT_WORKLOADS


def test_staging_and_prod_keep_secrets_in_their_region(configs):
    for env in ("staging", "prod"):
        assert configs[env].security.secrets.replication == "user_managed"


# --- keys ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVS)
def test_keys_rotate_and_terraform_never_destroys_them(synthesized, configs, env):
    keys = resources(synthesized, env, "google_kms_crypto_key").values()
    assert {k["name"] for k in keys} == {"gke-secrets", "registry", "gke-boot-disks", "gke-backup", "cloud-sql", "logs"}
    days = configs[env].security.kms_rotation_days
    assert days <= 90
    for key in keys:
        assert key["rotation_period"] == f"{days * 86400}s"
        assert key["lifecycle"] == {"prevent_destroy": True}
        assert key["purpose"] == "ENCRYPT_DECRYPT"
    (ring,) = resources(synthesized, env, "google_kms_key_ring").values()
    assert ring["location"] == configs[env].region and ring["name"] == f"{configs[env].prefix}-keyring"


@pytest.mark.parametrize(
    ("key", "agent"),
    [
        ("gke-secrets", "container-engine-robot"),
        ("registry", "gcp-sa-artifactregistry"),
        ("gke-boot-disks", "compute-system"),
        ("gke-backup", "gcp-sa-gkebackup"),
    ],
)
@pytest.mark.parametrize("env", ENVS)
def test_each_key_is_usable_by_its_service_agent_only(synthesized, configs, env, key, agent):
    binding = synthesized.by_path(env, LAYER, "google_kms_crypto_key_iam_binding", f"kms/{key}-users")
    assert binding["role"] == "roles/cloudkms.cryptoKeyEncrypterDecrypter"
    assert binding["members"] == [f"serviceAccount:service-${{data.google_project.project.number}}@{agent}.iam.gserviceaccount.com"]
    assert synthesized.stack(env, LAYER)["data"]["google_project"]["project"]["project_id"] == configs[env].project_id


@pytest.mark.parametrize("env", ENVS)
def test_the_logs_key_is_usable_by_the_storage_and_bigquery_agents_only(synthesized, env):
    binding = synthesized.by_path(env, LAYER, "google_kms_crypto_key_iam_binding", "kms/logs-users")
    assert binding["members"] == [
        "serviceAccount:service-${data.google_project.project.number}@gs-project-accounts.iam.gserviceaccount.com",
        "serviceAccount:${data.google_bigquery_default_service_account.bigquery-agent.email}",
    ]


# --- edge ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVS)
def test_edge_resources_carry_the_names_the_gateway_references(synthesized, configs, env):
    n = names(configs, env)
    assert synthesized.by_path(env, LAYER, "google_compute_global_address", "edge/ip")["name"] == n.edge_ip_name
    assert synthesized.by_path(env, LAYER, "google_certificate_manager_certificate_map", "edge/map")["name"] == n.certificate_map_name
    assert synthesized.by_path(env, LAYER, "google_compute_ssl_policy", "edge/tls")["name"] == n.ssl_policy_name
    assert synthesized.by_path(env, LAYER, "google_compute_security_policy", "armor/policy")["name"] == n.armor_policy_name


@pytest.mark.parametrize("env", ENVS)
def test_edge_ip_is_a_global_external_ipv4_address(synthesized, env):
    ip = synthesized.by_path(env, LAYER, "google_compute_global_address", "edge/ip")
    assert (ip["address_type"], ip["ip_version"]) == ("EXTERNAL", "IPV4")


@pytest.mark.parametrize("env", ENVS)
def test_tls_policy_is_modern_or_restricted_with_tls12_minimum(synthesized, configs, env):
    policy = synthesized.by_path(env, LAYER, "google_compute_ssl_policy", "edge/tls")
    assert policy["profile"] in ("MODERN", "RESTRICTED") and policy["profile"] == configs[env].security.edge.ssl_profile
    assert policy["min_tls_version"] == "TLS_1_2"


@pytest.mark.parametrize("env", ENVS)
def test_managed_certificate_covers_the_public_hostnames_through_dns_authorization(synthesized, configs, env):
    n = names(configs, env)
    hostnames = [n.api_hostname, n.ai_hostname]
    cert = synthesized.by_path(env, LAYER, "google_certificate_manager_certificate", "edge/certificate/certificate")
    assert cert["managed"]["domains"][:2] == hostnames
    auth_ids = {key: logical_id(synthesized, env, "google_certificate_manager_dns_authorization", f"edge/certificate/auth-{key}") for key in ("api", "ai")}
    assert cert["managed"]["dns_authorizations"][:2] == [f"${{google_certificate_manager_dns_authorization.{auth_ids[k]}.id}}" for k in ("api", "ai")]
    for key, hostname in zip(("api", "ai"), hostnames):
        auth = synthesized.by_path(env, LAYER, "google_certificate_manager_dns_authorization", f"edge/certificate/auth-{key}")
        assert auth["domain"] == hostname
        record = synthesized.by_path(env, LAYER, "google_dns_record_set", f"edge/certificate/auth-record-{key}")
        ref = f"google_certificate_manager_dns_authorization.{auth_ids[key]}.dns_resource_record[0]"
        assert (record["name"], record["type"], record["rrdatas"]) == (f"${{{ref}.name}}", f"${{{ref}.type}}", [f"${{{ref}.data}}"])
        entry = synthesized.by_path(env, LAYER, "google_certificate_manager_certificate_map_entry", f"edge/entry-{key}")
        assert entry["hostname"] == hostname


@pytest.mark.parametrize("env", ENVS)
def test_public_hostnames_resolve_to_the_edge_ip_in_the_public_zone(synthesized, configs, env):
    n = names(configs, env)
    ip = logical_id(synthesized, env, "google_compute_global_address", "edge/ip")
    for key, hostname in (("api", n.api_hostname), ("ai", n.ai_hostname)):
        record = synthesized.by_path(env, LAYER, "google_dns_record_set", f"edge/record-{key}")
        assert (record["name"], record["type"]) == (f"{hostname}.", "A")
        assert record["rrdatas"] == [f"${{google_compute_global_address.{ip}.address}}"]
        # The zone comes from the network stack's outputs, never a hard-coded name.
        assert "cross-stack-reference-input" in record["managed_zone"] and "dns_public" in record["managed_zone"]


@pytest.mark.parametrize("env", ENVS)
def test_static_cdn_is_off_unless_configured(synthesized, configs, env):
    assert configs[env].security.edge.static_cdn is False
    assert not resources(synthesized, env, "google_compute_backend_bucket")
    assert not resources(synthesized, env, "google_storage_bucket")


# --- Cloud Armor --------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVS)
def test_the_waf_covers_every_crs33_rule_set_at_the_configured_sensitivity(synthesized, configs, env):
    sensitivity = configs[env].security.waf.sensitivity
    expressions = {rule["match"].get("expr", {}).get("expression") for rule in armor_rules(synthesized, env) if rule["action"] == "deny(403)"}
    for rule_set in CRS_33_RULE_SETS:
        assert f"evaluatePreconfiguredWaf('{rule_set}', {{'sensitivity': {sensitivity}}})" in expressions, rule_set


@pytest.mark.parametrize("env", ENVS)
def test_the_cve_canary_blocks_first_and_is_never_in_preview(synthesized, env):
    rules = sorted(armor_rules(synthesized, env), key=lambda rule: rule["priority"])
    first = rules[0]
    assert first["match"]["expr"]["expression"] == CVE_CANARY_EXPRESSION
    assert (first["action"], first["preview"]) == ("deny(403)", False)


@pytest.mark.parametrize("env", ENVS)
def test_waf_preview_only_where_the_config_opts_out_with_a_reason(synthesized, configs, env):
    waf = configs[env].security.waf
    crs = [rule for rule in armor_rules(synthesized, env) if "v33-stable" in rule["match"].get("expr", {}).get("expression", "")]
    assert len(crs) == len(CRS_33_RULE_SETS)
    assert {rule["preview"] for rule in crs} == {waf.preview}
    if waf.preview:
        assert waf.preview_reason and configs[env].tier != "prod"
    policy = synthesized.by_path(env, LAYER, "google_compute_security_policy", "armor/policy")
    assert policy["advanced_options_config"] == {"json_parsing": "STANDARD", "log_level": "VERBOSE" if waf.preview else "NORMAL"}


def test_prod_blocks_waf_matches(configs):
    assert configs["prod"].security.waf.preview is False


@pytest.mark.parametrize("env", ENVS)
def test_rate_limit_per_client_ip_comes_after_the_waf_and_before_the_default(synthesized, configs, env):
    limit = configs[env].security.waf.rate_limit
    rules = armor_rules(synthesized, env)
    (rate,) = [rule for rule in rules if "rate_limit_options" in rule]
    options = rate["rate_limit_options"]
    assert rate["action"] == limit.action
    assert options["enforce_on_key"] == "IP"
    assert (options["conform_action"], options["exceed_action"]) == ("allow", "deny(429)")
    assert options["rate_limit_threshold"] == {"count": limit.requests, "interval_sec": limit.interval_sec}
    waf_priorities = [rule["priority"] for rule in rules if rule["action"] == "deny(403)"]
    # A conforming request is `allow`ed and evaluation stops, so every WAF rule must come first.
    assert max(waf_priorities) < rate["priority"] < DEFAULT_RULE_PRIORITY


@pytest.mark.parametrize("env", ENVS)
def test_layer7_adaptive_protection_is_on(synthesized, env):
    policy = synthesized.by_path(env, LAYER, "google_compute_security_policy", "armor/policy")
    assert policy["adaptive_protection_config"] == {"layer_7_ddos_defense_config": {"enable": True, "rule_visibility": "STANDARD"}}
    assert policy["type"] == "CLOUD_ARMOR"


@pytest.mark.parametrize("env", ENVS)
def test_there_is_an_explicit_default_rule(synthesized, env):
    (default,) = [rule for rule in armor_rules(synthesized, env) if rule["priority"] == DEFAULT_RULE_PRIORITY]
    assert default["action"] == "allow"
    assert default["match"] == {"versioned_expr": "SRC_IPS_V1", "config": {"src_ip_ranges": ["*"]}}


@pytest.mark.parametrize("env", ENVS)
def test_the_armor_policy_and_edge_ip_are_stack_outputs(synthesized, env):
    outputs = synthesized.stack(env, LAYER)["output"]
    policy = logical_id(synthesized, env, "google_compute_security_policy", "armor/policy")
    assert outputs["armor_policy_name"]["value"] == f"${{google_compute_security_policy.{policy}.name}}"
    assert "edge_ip_address" in outputs and "secret_ids" in outputs


# --- configuration errors -----------------------------------------------------------------------------


def parse_with(env, change):
    source = f"config/{env}.yaml"
    data = yaml.safe_load((REPO_ROOT / source).read_text())
    data = copy.deepcopy(data)
    change(data)
    return parse_environment(data, source)


def section(data, *path):
    node = data
    for key in path:
        node = node.setdefault(key, {})
    return node


@pytest.mark.parametrize(
    ("env", "change", "message"),
    [
        (
            "staging",
            lambda d: d.update(workloads={"grafanna": {"namespace": "monitoring", "service_account": "grafana"}}),
            r"config/staging.yaml: workloads.grafanna: unknown component; expected one of: api-server, .*alertmanager",
        ),
        (
            "staging",
            lambda d: d.update(workloads={"grafana": {"namespace": "Monitoring", "service_account": "grafana"}}),
            r"config/staging.yaml: workloads.grafana.namespace: got 'Monitoring'; expected a Kubernetes DNS label",
        ),
        (
            "staging",
            lambda d: section(d, "security", "waf").update(preview=True, preview_reason=None),
            r"config/staging.yaml: security.waf.preview: true needs preview_reason \(at least 10 characters\)",
        ),
        (
            "prod",
            lambda d: section(d, "security", "waf").update(preview=True, preview_reason="tuning new rules in prod"),
            r"config/prod.yaml: security.waf.preview: got True; tier 'prod' must block WAF matches; expected false",
        ),
        (
            "dev",
            lambda d: section(d, "security", "waf").update(sensitivity=5),
            r"config/dev.yaml: security.waf.sensitivity: got 5; Input should be less than or equal to 4",
        ),
        (
            "dev",
            lambda d: section(d, "security", "waf", "rate_limit").update(interval_sec=45),
            r"config/dev.yaml: security.waf.rate_limit.interval_sec: got 45; Input should be 10, 30, 60",
        ),
        (
            "dev",
            lambda d: section(d, "security").update(kms_rotation_days=365),
            r"config/dev.yaml: security.kms_rotation_days: got 365; Input should be less than or equal to 90",
        ),
        (
            "dev",
            lambda d: section(d, "security", "secrets").update(replication="automatic", locations=["europe-west1"]),
            r"config/dev.yaml: security.secrets.locations: \['europe-west1'\] is set but replication is 'automatic'; "
            r"expected replication: user_managed",
        ),
        (
            "dev",
            lambda d: section(d, "security", "edge").update(ssl_profile="COMPATIBLE"),
            r"config/dev.yaml: security.edge.ssl_profile: got 'COMPATIBLE'; Input should be 'MODERN' or 'RESTRICTED'",
        ),
        (
            "dev",
            lambda d: section(d, "security", "edge").update(static_cnd=True),
            r"config/dev.yaml: security.edge.static_cnd: unknown field; expected one of: preview_hostnames, ssl_profile, static_cdn; "
            r"did you mean 'static_cdn'\?",
        ),
    ],
)
def test_bad_security_config_gets_one_clear_message(env, change, message):
    with pytest.raises(ConfigError) as error:
        parse_with(env, change)
    lines = str(error.value).splitlines()
    assert len(lines) == 1, lines
    assert re.search(message, lines[0]), lines[0]


def test_default_workloads_follow_the_delivery_names():
    for component in (c.name for c in app_components()):
        binding = DEFAULT_WORKLOADS[component]
        assert (binding.namespace, binding.service_account) == ("apps", component)
    assert DEFAULT_WORKLOADS["temporal-server"].namespace == "temporal"
    assert DEFAULT_WORKLOADS["influxdb"].namespace == "influxdb"
    assert {DEFAULT_WORKLOADS[c].namespace for c in ("grafana", "prometheus", "alertmanager")} == {"monitoring"}


def test_a_workload_override_keeps_the_other_defaults():
    config = parse_with("dev", lambda d: d.update(workloads={"grafana": {"namespace": "monitoring", "service_account": "grafana-sa"}}))
    assert config.workloads["grafana"].service_account == "grafana-sa"
    assert config.workloads["api-server"] == DEFAULT_WORKLOADS["api-server"]


@pytest.mark.parametrize("env", ENVS)
def test_preview_hostnames_are_served_only_where_configured(synthesized, configs, env):
    """Staging serves `<slug>.preview.<domain>` for merge-request previews (docs/skaffold.md)."""
    wildcard = f"*.preview.{configs[env].domain}"
    entries = {e["hostname"] for e in synthesized.resources(env, "security", "google_certificate_manager_certificate_map_entry").values()}
    records = {r["name"] for r in synthesized.resources(env, "security", "google_dns_record_set").values() if r["type"] == "A"}
    (certificate,) = synthesized.resources(env, "security", "google_certificate_manager_certificate").values()
    enabled = configs[env].security.edge.preview_hostnames
    assert (wildcard in entries) is enabled
    assert (f"{wildcard}." in records) is enabled
    assert (wildcard in certificate["managed"]["domains"]) is enabled
    assert enabled is (env == "staging")
