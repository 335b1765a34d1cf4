"""Cluster layer, as policies: the GKE cluster, its node pools, backups, registry, admission policy and
Workload Identity."""
from __future__ import annotations

import copy
import ipaddress
import re

import pytest
import yaml

from stacks.cluster import THIRD_PARTY_IMAGES, mirrored_patterns
from stacks.config import ConfigError, parse_environment
from stacks.naming import DeliveryNames
from tests.conftest import ENVIRONMENTS as ENVS
from tests.conftest import REPO_ROOT

LAYER = "cluster"
POOLS = ("general", "gpu", "workers")


def cluster(synthesized, env):
    return synthesized.by_path(env, LAYER, "google_container_cluster", "gke/cluster")


def pools(synthesized, env) -> dict[str, dict]:
    return {body["name"]: body for body in synthesized.resources(env, LAYER, "google_container_node_pool").values()}


def cluster_id(synthesized, env):
    (logical,) = synthesized.resources(env, LAYER, "google_container_cluster")
    return logical


def security_output(value: str, resource_fragment: str) -> bool:
    """`value` reads the security stack's output for the resource whose logical id contains the fragment."""
    return value.startswith("${data.terraform_remote_state.cross-stack-reference-input-") and "-security.outputs." in value and resource_fragment in value


# --- the cluster --------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVS)
def test_cluster_is_regional_across_the_configured_zones(synthesized, configs, env):
    body = cluster(synthesized, env)
    assert body["name"] == f"{configs[env].prefix}-gke"
    assert body["location"] == configs[env].region
    assert body["node_locations"] == list(configs[env].zones)


@pytest.mark.parametrize("env", ENVS)
def test_release_channel_and_minimum_version_come_from_the_config(synthesized, configs, env):
    body = cluster(synthesized, env)
    assert body["release_channel"] == {"channel": configs[env].cluster.release_channel}
    assert body["min_master_version"] == configs[env].cluster.kubernetes_version


def test_prod_runs_the_stable_channel(synthesized):
    assert cluster(synthesized, "prod")["release_channel"]["channel"] == "STABLE"


@pytest.mark.parametrize("env", ENVS)
def test_nodes_are_private_and_the_control_plane_is_restricted(synthesized, configs, env):
    body = cluster(synthesized, env)
    private = body["private_cluster_config"]
    assert private["enable_private_nodes"] is True
    assert private["enable_private_endpoint"] is configs[env].cluster.private_endpoint
    assert private["master_ipv4_cidr_block"] == configs[env].network.control_plane_cidr
    assert private["master_global_access_config"] == {"enabled": False}
    networks = body["master_authorized_networks_config"]
    assert networks["gcp_public_cidrs_access_enabled"] is False
    expected = [{"display_name": n.name, "cidr_block": n.cidr} for n in configs[env].cluster.master_authorized_networks]
    assert networks.get("cidr_blocks", []) == expected
    for block in networks.get("cidr_blocks", []):
        assert ipaddress.IPv4Network(block["cidr_block"]).prefixlen >= 8, "never 0.0.0.0/0"


@pytest.mark.parametrize("env", ENVS)
def test_cluster_is_vpc_native_on_the_network_layers_secondary_ranges(synthesized, env):
    body = cluster(synthesized, env)
    subnet = synthesized.by_path(env, "network", "google_compute_subnetwork", "vpc/subnet-private")
    ranges = [r["range_name"] for r in subnet["secondary_ip_range"]]
    assert body["networking_mode"] == "VPC_NATIVE"
    assert body["ip_allocation_policy"] == {"cluster_secondary_range_name": ranges[0], "services_secondary_range_name": ranges[1]}
    assert "-network.outputs." in body["network"] and "-network.outputs." in body["subnetwork"]
    assert "subnet-private" in body["subnetwork"]


@pytest.mark.parametrize("env", ENVS)
def test_dataplane_v2_enforces_network_policy_in_the_form_checkov_expects(synthesized, env):
    body = cluster(synthesized, env)
    assert body["datapath_provider"] == "ADVANCED_DATAPATH"
    # CKV_GCP_12 passes on `enabled = false` together with ADVANCED_DATAPATH; the Calico add-on stays off.
    assert body["network_policy"] == {"enabled": False}
    assert body["addons_config"]["network_policy_config"] == {"disabled": True}


@pytest.mark.parametrize("env", ENVS)
def test_cluster_identity_and_authentication_hardening(synthesized, configs, env):
    body = cluster(synthesized, env)
    assert body["workload_identity_config"] == {"workload_pool": f"{configs[env].project_id}.svc.id.goog"}
    assert body["enable_shielded_nodes"] is True
    assert body["enable_legacy_abac"] is False
    assert body["master_auth"] == {"client_certificate_config": {"issue_client_certificate": False}}
    assert body["anonymous_authentication_config"] == {"mode": "LIMITED"}
    assert body["rbac_binding_config"] == {
        "enable_insecure_binding_system_authenticated": False,
        "enable_insecure_binding_system_unauthenticated": False,
    }
    group = configs[env].cluster.rbac_security_group
    assert body.get("authenticator_groups_config") == ({"security_group": group} if group else None)


@pytest.mark.parametrize("env", ENVS)
def test_kubernetes_secrets_are_encrypted_with_the_security_layers_key(synthesized, env):
    encryption = cluster(synthesized, env)["database_encryption"]
    assert encryption["state"] == "ENCRYPTED"
    assert security_output(encryption["key_name"], "kms_gke-secrets")


@pytest.mark.parametrize("env", ENVS)
def test_binary_authorization_is_evaluated_and_enforced_per_config(synthesized, configs, env):
    assert cluster(synthesized, env)["binary_authorization"] == {"evaluation_mode": "PROJECT_SINGLETON_POLICY_ENFORCE"}
    (policy,) = synthesized.resources(env, LAYER, "google_binary_authorization_policy").values()
    rule = policy["default_admission_rule"]
    assert rule["evaluation_mode"] == "ALWAYS_DENY"
    enforce = configs[env].cluster.binary_authorization == "ENFORCE"
    assert rule["enforcement_mode"] == ("ENFORCED_BLOCK_AND_AUDIT_LOG" if enforce else "DRYRUN_AUDIT_LOG_ONLY")
    assert policy["global_policy_evaluation_mode"] == "ENABLE"
    patterns = [p["name_pattern"] for p in policy["admission_whitelist_patterns"]]
    assert patterns[0] == f"{names(configs, env).registry_url}/**"
    assert patterns[1:] == list(mirrored_patterns(names(configs, env)))


@pytest.mark.parametrize("env", ENVS)
def test_binary_authorization_admits_artifact_registry_paths_only(synthesized, configs, env):
    (policy,) = synthesized.resources(env, LAYER, "google_binary_authorization_policy").values()
    registry_host = f"{configs[env].region}-docker.pkg.dev/{configs[env].project_id}/"
    for entry in policy["admission_whitelist_patterns"]:
        assert entry["name_pattern"].startswith(registry_host), entry["name_pattern"]


@pytest.mark.parametrize("env", ENVS)
def test_every_public_registry_has_a_cmek_mirror_the_nodes_read(synthesized, configs, env):
    delivery = names(configs, env)
    repositories = {
        body["repository_id"]: body for body in synthesized.resources(env, LAYER, "google_artifact_registry_repository").values()
    }
    readers = {
        body["//"]["metadata"]["path"].split("/")[1]: body
        for body in synthesized.resources(env, LAYER, "google_artifact_registry_repository_iam_binding").values()
        if body["role"] == "roles/artifactregistry.reader"
    }
    for upstream in ("docker.io", "ghcr.io", "quay.io", "registry.k8s.io"):
        mirror = repositories[delivery.mirror_repository_id(upstream)]
        assert mirror["mode"] == "REMOTE_REPOSITORY"
        assert security_output(mirror["kms_key_name"], "kms_registry")
        docker = mirror["remote_repository_config"]["docker_repository"]
        assert docker == ({"public_repository": "DOCKER_HUB"} if upstream == "docker.io" else {"custom_repository": {"uri": f"https://{upstream}"}})
        (member,) = readers[f"mirror-{upstream}"]["members"]
        assert security_output(member.removeprefix("serviceAccount:"), "sa-gke-node")
    writers = [b for b in synthesized.resources(env, LAYER, "google_artifact_registry_repository_iam_binding").values()
               if b["role"] == "roles/artifactregistry.writer"]
    assert len(writers) == 1, "only the apps repository is written, by the push identity"


def test_every_allowlisted_upstream_has_a_mirror(configs):
    delivery = names(configs, "prod")
    for pattern, mirrored in zip(THIRD_PARTY_IMAGES, mirrored_patterns(delivery)):
        registry, _, path = pattern.partition("/")
        assert mirrored == f"{delivery.mirror_url(registry)}/{path}"


def test_prod_blocks_images_outside_the_allowlist(configs):
    assert configs["prod"].cluster.binary_authorization == "ENFORCE"


@pytest.mark.parametrize("env", ENVS)
def test_gateway_api_logging_and_managed_prometheus(synthesized, env):
    body = cluster(synthesized, env)
    assert body["gateway_api_config"] == {"channel": "CHANNEL_STANDARD"}
    assert body["addons_config"]["http_load_balancing"] == {"disabled": False}
    assert set(body["logging_config"]["enable_components"]) == {"SYSTEM_COMPONENTS", "WORKLOADS", "APISERVER"}
    assert body["monitoring_config"]["managed_prometheus"] == {"enabled": True}
    assert "SYSTEM_COMPONENTS" in body["monitoring_config"]["enable_components"]
    assert body["secret_manager_config"] == {"enabled": True}
    assert body["addons_config"]["gke_backup_agent_config"] == {"enabled": True}


@pytest.mark.parametrize("env", ENVS)
def test_maintenance_window_and_exclusions_come_from_the_config(synthesized, configs, env):
    maintenance = configs[env].cluster.maintenance
    policy = cluster(synthesized, env)["maintenance_policy"]
    window = maintenance.window
    assert policy["recurring_window"] == {"start_time": window.start, "end_time": window.end, "recurrence": window.recurrence}
    expected = [
        {"exclusion_name": e.name, "start_time": e.start, "end_time": e.end, "exclusion_options": {"scope": e.scope}}
        for e in maintenance.exclusions
    ]
    assert policy.get("maintenance_exclusion", []) == expected


def test_prod_freezes_upgrades_over_year_end(configs):
    assert [e.name for e in configs["prod"].cluster.maintenance.exclusions] == ["year-end-freeze"]


@pytest.mark.parametrize("env", ENVS)
def test_deletion_protection_follows_the_environment(synthesized, configs, env):
    assert cluster(synthesized, env)["deletion_protection"] is configs[env].protection.deletion_protection


def test_prod_cluster_is_deletion_protected(synthesized):
    assert cluster(synthesized, "prod")["deletion_protection"] is True


@pytest.mark.parametrize("env", ENVS)
def test_default_pool_is_removed_and_even_the_transient_one_is_hardened(synthesized, env):
    body = cluster(synthesized, env)
    assert body["remove_default_node_pool"] is True
    assert "node_pool" not in body
    transient = body["node_config"]
    assert security_output(transient["service_account"], "sa-gke-node")
    assert transient["workload_metadata_config"] == {"mode": "GKE_METADATA"}
    assert transient["shielded_instance_config"] == {"enable_secure_boot": True, "enable_integrity_monitoring": True}
    assert transient["kubelet_config"] == {"insecure_kubelet_readonly_port_enabled": "FALSE"}
    assert body["node_pool_defaults"]["node_config_defaults"]["insecure_kubelet_readonly_port_enabled"] == "FALSE"
    # Without this, the node_config the API reports after the default pool is gone would force a new cluster.
    assert set(body["lifecycle"]["ignore_changes"]) >= {"node_config"}


@pytest.mark.parametrize("env", ENVS)
def test_autoscaling_profile_vpa_and_security_posture_per_config(synthesized, configs, env):
    body = cluster(synthesized, env)
    plan = configs[env].cluster
    assert body["cluster_autoscaling"] == {"enabled": False, "autoscaling_profile": plan.autoscaling_profile}
    assert body["vertical_pod_autoscaling"] == {"enabled": True}
    assert body["security_posture_config"] == {"mode": plan.security_posture, "vulnerability_mode": plan.vulnerability_scanning}


# --- node pools ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVS)
def test_exactly_the_three_contract_pools_exist_as_separate_resources(synthesized, env):
    found = pools(synthesized, env)
    assert set(found) == set(POOLS)
    ref = f"${{google_container_cluster.{cluster_id(synthesized, env)}.id}}"
    assert {body["cluster"] for body in found.values()} == {ref}


@pytest.mark.parametrize("pool", POOLS)
@pytest.mark.parametrize("env", ENVS)
def test_every_node_pool_is_hardened(synthesized, env, pool):
    body = pools(synthesized, env)[pool]
    node = body["node_config"]
    assert node["kubelet_config"] == {"insecure_kubelet_readonly_port_enabled": "FALSE"}, "kubelet read-only port"
    assert node["shielded_instance_config"] == {"enable_secure_boot": True, "enable_integrity_monitoring": True}
    assert node["workload_metadata_config"] == {"mode": "GKE_METADATA"}
    assert node["image_type"] == "COS_CONTAINERD"
    assert security_output(node["service_account"], "sa-gke-node"), "dedicated node service account"
    assert node["oauth_scopes"] == ["https://www.googleapis.com/auth/cloud-platform"]
    assert security_output(node["boot_disk_kms_key"], "kms_gke-boot-disks"), "boot disks use CMEK"
    assert body["management"] == {"auto_repair": True, "auto_upgrade": True}


@pytest.mark.parametrize("pool", POOLS)
@pytest.mark.parametrize("env", ENVS)
def test_every_node_pool_carries_the_firewall_node_tag(synthesized, env, pool):
    node_tag = next(
        rule["target_tags"][0]
        for rule in synthesized.resources(env, "network", "google_compute_firewall").values()
        if rule["//"]["metadata"]["path"].endswith("allow-health-checks")
    )
    assert pools(synthesized, env)[pool]["node_config"]["tags"] == [node_tag]
    assert cluster(synthesized, env)["node_config"]["tags"] == [node_tag]


@pytest.mark.parametrize("pool", POOLS)
@pytest.mark.parametrize("env", ENVS)
def test_node_pool_size_zones_and_upgrades_come_from_the_config(synthesized, configs, env, pool):
    spec = getattr(configs[env].cluster.node_pools, pool)
    body = pools(synthesized, env)[pool]
    assert body["autoscaling"]["min_node_count"] == spec.min_nodes
    assert body["autoscaling"]["max_node_count"] == spec.max_nodes
    assert body["node_locations"] == list(spec.zones or configs[env].zones)
    assert body["node_config"]["machine_type"] == spec.machine_type
    assert body["node_config"]["disk_size_gb"] == spec.disk_size_gb
    assert body["node_config"]["spot"] is spec.spot
    upgrade = configs[env].cluster.node_upgrade
    assert body["upgrade_settings"] == {"strategy": "SURGE", "max_surge": upgrade.max_surge, "max_unavailable": upgrade.max_unavailable}


@pytest.mark.parametrize("env", ENVS)
def test_the_gpu_pool_has_managed_l4_drivers_its_taint_and_scales_to_zero(synthesized, configs, env):
    spec = configs[env].cluster.node_pools.gpu
    body = pools(synthesized, env)["gpu"]
    assert body["node_config"]["machine_type"].startswith("g2-")
    assert body["node_config"]["guest_accelerator"] == [
        {"type": "nvidia-l4", "count": spec.accelerator_count, "gpu_driver_installation_config": {"gpu_driver_version": spec.gpu_driver_version}}
    ]
    assert spec.gpu_driver_version in ("DEFAULT", "LATEST")
    assert body["node_config"]["taint"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}]
    assert body["autoscaling"]["min_node_count"] == 0


@pytest.mark.parametrize("env", ENVS)
def test_the_workers_pool_is_dedicated_to_temporal_workers(synthesized, configs, env):
    body = pools(synthesized, env)["workers"]
    assert body["node_config"]["taint"] == [{"key": "dedicated", "value": "temporal-workers", "effect": "NO_SCHEDULE"}]
    assert body["node_config"]["spot"] is configs[env].cluster.node_pools.workers.spot


def test_prod_workers_are_never_preempted(synthesized):
    assert pools(synthesized, "prod")["workers"]["node_config"]["spot"] is False


@pytest.mark.parametrize("env", ENVS)
def test_the_general_pool_accepts_any_pod(synthesized, env):
    body = pools(synthesized, env)["general"]
    assert "taint" not in body["node_config"] and "guest_accelerator" not in body["node_config"]
    assert body["autoscaling"]["location_policy"] == "BALANCED"


# --- Backup for GKE -----------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVS)
def test_stateful_namespaces_are_backed_up_on_schedule_with_retention(synthesized, configs, env):
    backup = configs[env].cluster.backup
    plan = synthesized.by_path(env, LAYER, "google_gke_backup_backup_plan", "backup/plan")
    assert plan["cluster"] == f"${{google_container_cluster.{cluster_id(synthesized, env)}.id}}"
    assert plan["backup_config"]["selected_namespaces"] == {"namespaces": list(backup.namespaces)}
    assert plan["backup_config"]["include_secrets"] is True and plan["backup_config"]["include_volume_data"] is True
    assert plan["backup_schedule"] == {"cron_schedule": backup.cron_schedule}
    assert plan["retention_policy"] == {"backup_retain_days": backup.retain_days, "backup_delete_lock_days": backup.delete_lock_days}
    assert {"apps", "temporal", "influxdb", "monitoring"} <= set(backup.namespaces)
    encryption = plan["backup_config"]["encryption_key"]["gcp_kms_encryption_key"]
    assert security_output(encryption, "kms_gke-backup"), "backups hold Secrets: CMEK"


@pytest.mark.parametrize("env", ENVS)
def test_a_restore_plan_brings_the_same_namespaces_back_without_overwriting(synthesized, configs, env):
    plan_id = next(iter(synthesized.resources(env, LAYER, "google_gke_backup_backup_plan")))
    restore = synthesized.by_path(env, LAYER, "google_gke_backup_restore_plan", "backup/restore")
    assert restore["backup_plan"] == f"${{google_gke_backup_backup_plan.{plan_id}.id}}"
    config = restore["restore_config"]
    assert config["selected_namespaces"] == {"namespaces": list(configs[env].cluster.backup.namespaces)}
    assert config["namespaced_resource_restore_mode"] == "FAIL_ON_CONFLICT"
    assert config["volume_data_restore_policy"] == "RESTORE_VOLUME_DATA_FROM_BACKUP"


def test_prod_keeps_backups_longest_and_locks_them(configs):
    assert configs["prod"].cluster.backup.retain_days >= max(configs[e].cluster.backup.retain_days for e in ENVS)
    assert configs["prod"].cluster.backup.delete_lock_days > 0


# --- Artifact Registry --------------------------------------------------------------------------------


def names(configs, env) -> DeliveryNames:
    c = configs[env]
    return DeliveryNames.of(c)


def repository(synthesized, env):
    return synthesized.by_path(env, LAYER, "google_artifact_registry_repository", "registry/repository")


@pytest.mark.parametrize("env", ENVS)
def test_registry_is_the_one_the_delivery_pushes_to(synthesized, configs, env):
    body = repository(synthesized, env)
    url = f"{body['location']}-docker.pkg.dev/{body['project']}/{body['repository_id']}"
    assert url == names(configs, env).registry_url
    assert body["format"] == "DOCKER"
    assert synthesized.stack(env, LAYER)["output"]["registry_url"]["value"] == url


@pytest.mark.parametrize("env", ENVS)
def test_registry_cleans_up_and_is_encrypted_with_the_registry_key(synthesized, configs, env):
    body = repository(synthesized, env)
    registry = configs[env].cluster.registry
    assert body["cleanup_policy_dry_run"] is False
    assert body["cleanup_policies"] == [
        {"id": "keep-recent", "action": "KEEP", "most_recent_versions": {"keep_count": registry.keep_recent}},
        {
            "id": "delete-untagged",
            "action": "DELETE",
            "condition": {"tag_state": "UNTAGGED", "older_than": f"{registry.delete_untagged_after_days * 86400}s"},
        },
        # keep-recent alone deletes nothing: old tagged versions beyond the newest N go too.
        {
            "id": "delete-tagged",
            "action": "DELETE",
            "condition": {"tag_state": "TAGGED", "older_than": f"{registry.delete_tagged_after_days * 86400}s"},
        },
    ]
    assert body["docker_config"] == {"immutable_tags": registry.immutable_tags}
    assert security_output(body["kms_key_name"], "kms_registry")
    assert body["lifecycle"] == {"prevent_destroy": configs[env].protection.deletion_protection}


@pytest.mark.parametrize("env", ENVS)
def test_nodes_pull_and_only_the_protected_push_identity_writes_the_apps_repository(synthesized, env):
    bindings = {
        b["role"]: b["members"]
        for b in synthesized.resources(env, LAYER, "google_artifact_registry_repository_iam_binding").values()
        if b["//"]["metadata"]["path"].startswith(f"{env}-{LAYER}/registry/")
    }
    assert set(bindings) == {"roles/artifactregistry.reader", "roles/artifactregistry.writer"}
    (reader,) = bindings["roles/artifactregistry.reader"]
    assert reader.startswith("serviceAccount:") and security_output(reader.removeprefix("serviceAccount:"), "sa-gke-node")
    (writer,) = bindings["roles/artifactregistry.writer"]
    assert "-bootstrap.outputs." in writer and "gitlab_push" in writer, "Binary Authorization admits what it writes"
    assert not [m for m in synthesized.resources(env, LAYER, "google_project_iam_member").values()]


# --- Workload Identity --------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVS)
def test_each_application_account_is_bound_to_exactly_its_kubernetes_service_account(synthesized, configs, env):
    members = synthesized.resources(env, LAYER, "google_service_account_iam_member")
    by_component = {body["//"]["metadata"]["path"].rsplit("/", 1)[-1]: body for body in members.values()}
    assert set(by_component) == set(configs[env].workloads)
    for component, ksa in configs[env].workloads.items():
        body = by_component[component]
        assert body["role"] == "roles/iam.workloadIdentityUser"
        assert body["member"] == f"serviceAccount:{configs[env].project_id}.svc.id.goog[{ksa.namespace}/{ksa.service_account}]"
        assert security_output(body["service_account_id"], f"sa-{component}_account")
        # The identity pool exists only once the cluster does.
        assert body["depends_on"] == [f"google_container_cluster.{cluster_id(synthesized, env)}"]


@pytest.mark.parametrize("env", ENVS)
def test_cluster_outputs_reach_the_data_layer(synthesized, env):
    outputs = synthesized.stack(env, LAYER)["output"]
    values = {o["value"] for o in outputs.values()}
    ref = f"google_container_cluster.{cluster_id(synthesized, env)}"
    assert f"${{{ref}.control_plane_endpoints_config[0].dns_endpoint_config[0].endpoint}}" in values
    assert not [v for v in values if "cluster_ca_certificate" in v or v == f"${{{ref}.endpoint}}"]
    assert outputs["cluster_name"]["value"] == f"${{{ref}.name}}"


# --- Binary Authorization allowlist vs the pinned charts ----------------------------------------------


def _pattern_regex(pattern: str) -> re.Pattern:
    """Binary Authorization name patterns: `*` stays within a path segment, `**` crosses `/`."""
    regex = re.escape(pattern).replace(r"\*\*", ".+").replace(r"\*", "[^/]*")
    return re.compile(f"^{regex}(:[^/]+|@sha256:[0-9a-f]+)?$")


def _chart_images(values, found=None) -> set[str]:
    found = set() if found is None else found
    if isinstance(values, dict):
        repository = values.get("repository")
        if isinstance(repository, str) and repository:
            registry = values.get("registry") or ""
            name = f"{registry}/{repository}" if registry else repository
            found.add(name)
        for item in values.values():
            _chart_images(item, found)
    elif isinstance(values, list):
        for item in values:
            _chart_images(item, found)
    return found


def _fully_qualified(image: str) -> str:
    first = image.split("/", 1)[0]
    if "." in first or ":" in first:
        return image
    return f"docker.io/{image}" if "/" in image else f"docker.io/library/{image}"


@pytest.mark.parametrize("chart", ["keda-2.20.2", "temporal-1.6.0", "influxdb2-2.1.2", "kube-prometheus-stack-88.5.3"])
def test_every_image_of_the_pinned_charts_is_allowlisted(third_party_dir, chart):
    values = yaml.safe_load((third_party_dir / "charts" / chart / "values.yaml").read_text())
    images = {_fully_qualified(image) for image in _chart_images(values) if not image.startswith("http")}
    assert images, f"{chart}: found no images"
    patterns = [_pattern_regex(p) for p in THIRD_PARTY_IMAGES]
    blocked = sorted(image for image in images if not any(p.match(f"{image}:1.0") for p in patterns))
    assert not blocked, f"add to stacks/cluster.py THIRD_PARTY_IMAGES (fully qualified): {blocked}"


def test_the_platform_registry_pattern_covers_nested_image_paths(configs):
    registry = names(configs, "prod").registry_url
    pattern = _pattern_regex(f"{registry}/**")
    assert pattern.match(f"{registry}/api-server:abc123")
    assert pattern.match(f"{registry}/team/api-server@sha256:{'0' * 64}")
    assert not pattern.match(f"{registry}-other/api-server:abc")


# --- configuration errors -----------------------------------------------------------------------------


def parse_with(env, change):
    source = f"config/{env}.yaml"
    data = copy.deepcopy(yaml.safe_load((REPO_ROOT / source).read_text()))
    change(data)
    return parse_environment(data, source)


@pytest.mark.parametrize(
    ("env", "change", "message"),
    [
        (
            "prod",
            lambda d: d["cluster"].update(binary_authorization="DRYRUN"),
            r"config/prod.yaml: cluster.binary_authorization: got 'DRYRUN'; tier 'prod' must block images outside "
            r"the allowlist; expected ENFORCE",
        ),
        (
            "dev",
            lambda d: d["cluster"].update(binary_authorization="OFF"),
            r"config/dev.yaml: cluster.binary_authorization: got 'OFF'; Input should be 'ENFORCE' or 'DRYRUN'",
        ),
        (
            "dev",
            lambda d: d["cluster"].update(maintenance={"window": {"start": "2026-01-03T02:00:00Z", "end": "2026-01-03T04:00:00Z"}}),
            r"config/dev.yaml: cluster.maintenance.window.end: '2026-01-03T04:00:00Z' is 2 hours after start "
            r"'2026-01-03T02:00:00Z'; GKE needs windows of at least 4 hours",
        ),
        (
            "dev",
            lambda d: d["cluster"].update(maintenance={"window": {"start": "Saturday 02:00"}}),
            r"config/dev.yaml: cluster.maintenance.window.start: got 'Saturday 02:00'; expected an RFC 3339 UTC timestamp",
        ),
        (
            "prod",
            lambda d: d["cluster"]["maintenance"]["exclusions"][0].update(end="2027-02-28T00:00:00Z"),
            r"config/prod.yaml: cluster.maintenance.exclusions.0.end: '2027-02-28T00:00:00Z' makes a 72-day NO_UPGRADES "
            r"exclusion; GKE allows at most 30 days",
        ),
        (
            "prod",
            lambda d: d["cluster"]["maintenance"]["exclusions"].append(dict(d["cluster"]["maintenance"]["exclusions"][0])),
            r"config/prod.yaml: cluster.maintenance.exclusions.1.name: 'year-end-freeze' is used twice; expected unique names",
        ),
        (
            "staging",
            lambda d: d["cluster"].update(backup={"retain_days": 7, "delete_lock_days": 14}),
            r"config/staging.yaml: cluster.backup.delete_lock_days: 14 exceeds retain_days \(7\)",
        ),
        (
            "staging",
            lambda d: d["cluster"].update(backup={"namespaces": ["apps", "Temporal"]}),
            r"config/staging.yaml: cluster.backup.namespaces.1: got 'Temporal'; expected a Kubernetes DNS label",
        ),
        (
            "staging",
            lambda d: d["cluster"].update(backup={"cron_schedule": "daily"}),
            r"config/staging.yaml: cluster.backup.cron_schedule: got 'daily'; expected a 5-field cron expression",
        ),
        (
            "dev",
            lambda d: d["cluster"]["node_pools"]["gpu"].update(zones=["europe-west1-b"]),
            r"config/dev.yaml: cluster.node_pools.gpu.zones.0: 'europe-west1-b' is not one of the environment's zones; "
            r"expected one of europe-west4-a, europe-west4-b, europe-west4-c",
        ),
        (
            "dev",
            lambda d: d["cluster"]["node_pools"]["gpu"].update(gpu_driver_version="NEWEST"),
            r"config/dev.yaml: cluster.node_pools.gpu.gpu_driver_version: got 'NEWEST'; Input should be 'DEFAULT' or 'LATEST'",
        ),
        (
            "dev",
            lambda d: d["cluster"].update(rbac_security_group="platform-admins@example.com"),
            r"config/dev.yaml: cluster.rbac_security_group: got 'platform-admins@example.com'; expected "
            r"gke-security-groups@<your Workspace domain>",
        ),
        (
            "dev",
            lambda d: d["cluster"].update(node_upgrade={"max_surge": 0, "max_unavailable": 0}),
            r"config/dev.yaml: cluster.node_upgrade.max_surge: 0 together with max_unavailable 0 would never upgrade",
        ),
        (
            "dev",
            lambda d: d["cluster"].update(registry={"keep_recnt": 5}),
            r"config/dev.yaml: cluster.registry.keep_recnt: unknown field; expected one of: delete_tagged_after_days, delete_untagged_after_days, "
            r"immutable_tags, keep_recent; did you mean 'keep_recent'\?",
        ),
        (
            "staging",
            lambda d: d["cluster"].update(private_endpoint=False),
            r"config/staging.yaml: cluster.private_endpoint: got False; tier 'staging' must not run a public "
            r"control-plane IP endpoint",
        ),
        (
            "dev",
            lambda d: d["cluster"].update(master_authorized_networks=[{"name": "wide", "cidr": "10.0.0.0/12"}]),
            r"config/dev.yaml: cluster.master_authorized_networks.0.cidr: '10.0.0.0/12' is too broad .*prefix length >= 16",
        ),
        (
            "dev",
            lambda d: d["cluster"].update(
                master_authorized_networks=[{"name": f"n{i}", "cidr": f"10.{i}.0.0/16"} for i in range(51)]
            ),
            r"config/dev.yaml: cluster.master_authorized_networks: 51 entries; GKE allows at most 50",
        ),
        (
            "prod",
            lambda d: d.update(protection={"deletion_protection": False, "reason": "tearing prod down for a rebuild"}),
            r"config/prod.yaml: protection.deletion_protection: got False; tier 'prod' keeps its cluster",
        ),
        (
            "prod",
            lambda d: d["network"].update(internet_egress=True, internet_egress_reason="just to pull images quickly"),
            r"config/prod.yaml: network.internet_egress: got True; tier 'prod' nodes have no internet egress",
        ),
        (
            "staging",
            lambda d: d["network"].update(internet_egress=True),
            r"config/staging.yaml: network.internet_egress: true needs internet_egress_reason",
        ),
        (
            "dev",
            lambda d: d["network"].update(nat_min_ports_per_vm=100),
            r"config/dev.yaml: network.nat_min_ports_per_vm: 100 is not a power of two",
        ),
        (
            "prod",
            lambda d: d["ci"].update(apply_refs=["release/*"]),
            r"config/prod.yaml: ci.apply_refs.0: got 'release/\*'; expected a git branch name without wildcards",
        ),
        (
            "dev",
            lambda d: d["ci"].update(project_id="acme/platform"),
            r"config/dev.yaml: ci.project_id: got 'acme/platform'; Input should be a valid integer",
        ),
        (
            "dev",
            lambda d: d.update(labels={f"l{i}": "x" for i in range(61)}),
            r"config/dev.yaml: labels: 61 labels; at most 60 \(GCP allows 64",
        ),
        (
            "dev",
            lambda d: d["cluster"].update(autoscaling_profile="AGGRESSIVE"),
            r"config/dev.yaml: cluster.autoscaling_profile: got 'AGGRESSIVE'; Input should be 'BALANCED' or 'OPTIMIZE_UTILIZATION'",
        ),
    ],
)
def test_bad_cluster_config_gets_one_clear_message(env, change, message):
    with pytest.raises(ConfigError) as error:
        parse_with(env, change)
    lines = str(error.value).splitlines()
    assert len(lines) == 1, lines
    assert re.search(message, lines[0]), lines[0]
