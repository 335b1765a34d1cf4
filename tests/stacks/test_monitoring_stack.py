"""In-cluster monitoring (observability layer), as policies: kube-prometheus-stack from its pinned chart with
reviewed values, images only through the Artifact Registry mirrors, credentials only as files from Secret
Manager, alerts routed by severity, and sizes from configuration."""
from __future__ import annotations

import json
import re

import pytest
import yaml

from constructs_lib.monitoring_stack import (
    ALERTMANAGER_SECRETS_DIR,
    CHART,
    IMAGE_REGISTRIES,
    REPOSITORY,
    RULES_NAME,
    VERSION,
)
from monitoring.alerts import ALERTS, ROUTES, SEVERITIES, prometheus_rule_groups
from stacks.in_cluster_monitoring import values_files
from stacks.naming import DeliveryNames
from tests.conftest import ENVIRONMENTS as ENVS
from tests.k8s.monitoring import render_release
from tests.stacks.test_data import _exists_upstream, deep_merge, leaves, load

LAYER = "observability"
SUBCHARTS = ("grafana", "prometheus-node-exporter", "kube-state-metrics")
# Values subtrees the chart passes through verbatim, so upstream's values.yaml cannot list their keys:
FREE_FORM = {
    ("grafana", "grafana.ini"): "Grafana's own ini file, section by section",
    ("alertmanager", "config"): "Alertmanager's own configuration file",
    ("grafana", "containerSecurityContext"): "a Kubernetes SecurityContext; upstream sets only some fields",
    ("grafana", "sidecar", "securityContext"): "a Kubernetes SecurityContext; upstream sets only some fields",
    ("prometheus-node-exporter", "containerSecurityContext"): "a Kubernetes SecurityContext; upstream sets only some fields",
    ("prometheusOperator", "logFormat"): "documented upstream as a commented-out key",
    ("grafana", "serviceAccount", "annotations"): "documented upstream as a commented-out key (a free map)",
}


def release(synthesized, env):
    return synthesized.by_path(env, LAYER, "helm_release", "kube-prometheus-stack/helm/release")


def release_values(synthesized, env) -> list[dict]:
    return [yaml.safe_load(text) or {} for text in release(synthesized, env)["values"]]


def merged(synthesized, env) -> dict:
    values: dict = {}
    for layer in release_values(synthesized, env):
        values = deep_merge(values, layer)
    return values


@pytest.fixture(scope="module")
def upstream(third_party_dir) -> dict:
    chart = third_party_dir / "charts" / f"{CHART}-{VERSION}"
    values = load(chart / "values.yaml")
    for subchart in SUBCHARTS:
        values[subchart] = deep_merge(load(chart / "charts" / subchart / "values.yaml"), values.get(subchart) or {})
    return values


def _free_form(path) -> bool:
    return any(path[: len(prefix)] == prefix for prefix in FREE_FORM)


@pytest.mark.parametrize("env", ENVS)
def test_installed_from_its_pinned_chart_into_the_namespaces_the_data_layer_creates(synthesized, env):
    body = release(synthesized, env)
    assert (body["chart"], body["version"], body["repository"]) == (CHART, VERSION, REPOSITORY)
    assert (body["chart"], body["version"]) == ("kube-prometheus-stack", "88.5.3")
    assert (body["name"], body["namespace"], body["create_namespace"]) == ("kube-prometheus-stack", "monitoring", False)
    assert body["atomic"] is True and body["wait"] is True
    assert merged(synthesized, env)["prometheus-node-exporter"]["namespaceOverride"] == "node-exporter"


@pytest.mark.parametrize("env", ENVS)
def test_values_are_the_base_file_the_environments_differences_then_the_derived_values(synthesized, env):
    layers = release_values(synthesized, env)
    assert layers[:2] == [load(path) for path in values_files(env)]
    assert len(layers) == 3
    assert not release(synthesized, env).get("set_sensitive")


def test_every_values_key_exists_in_the_upstream_chart(synthesized, upstream):
    files = sorted({path for env in ENVS for path in values_files(env)})
    layers = [(path.name, load(path)) for path in files] + [
        (f"derived values ({env})", release_values(synthesized, env)[2]) for env in ENVS
    ]
    for name, values in layers:
        unknown = [".".join(p) for p, _ in leaves(values) if p and not _free_form(p) and not _exists_upstream(upstream, p)]
        assert not unknown, f"{name}: keys kube-prometheus-stack {VERSION} does not have: {unknown}"


def test_every_free_form_subtree_is_really_absent_or_open_upstream(upstream):
    # An exception that upstream now lists is stale: drop it and let the key check do its work.
    commented_out = [path for path, reason in FREE_FORM.items() if "commented-out" in reason]
    stale = [".".join(path) for path in commented_out if _exists_upstream(upstream, path)]
    assert not stale, f"FREE_FORM entries upstream now declares: {stale}"


@pytest.mark.parametrize("env", ENVS)
def test_environment_values_hold_only_differences(env):
    base_path, env_path = values_files(env)
    assert env_path.is_file(), f"{env_path} must exist (an empty mapping when nothing differs)"
    base = dict(leaves(load(base_path)))
    same = [".".join(p) for p, value in leaves(load(env_path)) if p and p in base and base[p] == value]
    assert not same, f"{env_path.name} repeats the base values: {same}"


def test_every_mirrored_image_key_names_the_registry_upstream_uses(upstream):
    for path, registry in IMAGE_REGISTRIES.items():
        node = upstream
        for key in path:
            assert isinstance(node, dict) and key in node, f"{'.'.join(path)} is not a key of the chart"
            node = node[key]
        assert node == registry, f"{'.'.join(path)}: upstream pulls from {node!r}, the table says {registry!r}"


@pytest.mark.parametrize("env", ENVS)
def test_every_image_registry_is_an_artifact_registry_mirror(synthesized, configs, env):
    values = merged(synthesized, env)
    names = DeliveryNames.of(configs[env])
    for path, registry in IMAGE_REGISTRIES.items():
        node = values
        for key in path:
            node = node[key]
        assert node == names.mirror_url(registry)


@pytest.mark.parametrize("env", ENVS)
def test_retention_and_disks_follow_the_configuration(synthesized, configs, env):
    stack = configs[env].monitoring_stack
    values = merged(synthesized, env)
    spec = values["prometheus"]["prometheusSpec"]
    assert spec["retention"] == f"{stack.prometheus.retention_days}d"
    claim = spec["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert claim["resources"]["requests"]["storage"] == f"{stack.prometheus.storage_gib}Gi"
    assert claim["storageClassName"] == stack.storage_class
    # Size-based retention stops well before the disk is full.
    assert int(spec["retentionSize"].removesuffix("GB")) < stack.prometheus.storage_gib
    alertmanager = values["alertmanager"]["alertmanagerSpec"]["storage"]["volumeClaimTemplate"]["spec"]
    assert alertmanager["resources"]["requests"]["storage"] == f"{stack.alertmanager.storage_gib}Gi"


@pytest.mark.parametrize("env", ENVS)
def test_each_component_runs_as_its_own_google_service_account(synthesized, configs, env):
    values = merged(synthesized, env)
    names = DeliveryNames.of(configs[env])
    for component in ("prometheus", "alertmanager", "grafana"):
        account = values[component]["serviceAccount"]
        assert account["name"] == configs[env].workloads[component].service_account
        assert account["annotations"] == {"iam.gke.io/gcp-service-account": names.service_account_email(component)}


def _routes(values):
    config = values["alertmanager"]["config"]
    receivers = {receiver["name"]: receiver for receiver in config["receivers"]}
    return config["route"], receivers


def _receivers_of(route, severity: str) -> list[str]:
    """Alertmanager's walk for an alert with this severity: matching routes in order until one stops."""
    reached = []
    for child in route["routes"]:
        (matcher,) = child["matchers"]
        label, op, value = re.match(r'^(\w+) (=~|=) "(.*)"$', matcher).groups()
        assert label == "severity"
        if (op == "=" and severity == value) or (op == "=~" and re.fullmatch(value, severity)):
            reached.append(child["receiver"])
            if not child.get("continue"):
                break
    return reached or [route["receiver"]]


@pytest.mark.parametrize("env", ENVS)
def test_alerts_reach_the_receivers_routes_give_their_severity_and_only_prod_pages(synthesized, configs, env):
    route, receivers = _routes(merged(synthesized, env))
    assert route["receiver"] == "null" and receivers["null"] == {"name": "null"}
    notifications = configs[env].notifications
    kinds = {"pager": "pagerduty", "chat": "slack"}
    for severity in SEVERITIES:
        reached = _receivers_of(route, severity)
        expected = [name for name, kind in kinds.items() if kind in ROUTES[severity] and name in receivers]
        assert reached == (expected or ["null"]), severity
    assert ("pager" in receivers) == bool(notifications.pagerduty_services) == (env == "prod")
    assert _receivers_of(route, "critical")[:1] == (["pager"] if env == "prod" else ["chat"])
    assert [c["channel"] for c in receivers["chat"]["slack_configs"]] == list(notifications.slack_channels)
    if notifications.pagerduty_services:
        assert len(receivers["pager"]["pagerduty_configs"]) == len(notifications.pagerduty_services)


@pytest.mark.parametrize("env", ENVS)
def test_every_in_cluster_alert_reaches_someone(synthesized, env):
    route, _ = _routes(merged(synthesized, env))
    for alert in ALERTS:
        if alert.backend == "prometheus":
            assert _receivers_of(route, alert.severity) != ["null"], alert.name


@pytest.mark.parametrize("env", ENVS)
def test_the_release_carries_every_in_cluster_alert_with_the_environments_thresholds(synthesized, configs, env):
    rules = merged(synthesized, env)["additionalPrometheusRulesMap"]
    assert rules == {RULES_NAME: {"groups": prometheus_rule_groups(configs[env].observability.thresholds)}}
    names = {rule["alert"] for group in rules[RULES_NAME]["groups"] for rule in group["rules"]}
    assert names == {alert.rule_name for alert in ALERTS if alert.backend == "prometheus"}


@pytest.mark.parametrize("env", ENVS)
def test_notification_credentials_are_files_from_secret_manager_never_values(synthesized, configs, env):
    values = merged(synthesized, env)
    _, receivers = _routes(values)
    files = [c["api_url_file"] for c in receivers["chat"]["slack_configs"]]
    files += [c["routing_key_file"] for c in receivers.get("pager", {}).get("pagerduty_configs", [])]
    assert all(path.startswith(f"{ALERTMANAGER_SECRETS_DIR}/") for path in files)
    for receiver in receivers.values():
        for configs_ in receiver.values():
            for entry in configs_ if isinstance(configs_, list) else ():
                assert not {"api_url", "routing_key", "service_key"} & set(entry), entry
    (mount,) = values["alertmanager"]["alertmanagerSpec"]["volumeMounts"]
    (volume,) = values["alertmanager"]["alertmanagerSpec"]["volumes"]
    assert mount["mountPath"] == ALERTMANAGER_SECRETS_DIR and mount["name"] == volume["name"]
    provider = volume["csi"]["volumeAttributes"]["secretProviderClass"]
    secrets = _provider_secrets(synthesized, env, provider)
    assert sorted(f"{ALERTMANAGER_SECRETS_DIR}/{path}" for path in secrets.values()) == sorted(files)


def _provider_secrets(synthesized, env, name) -> dict[str, str]:
    """SecretProviderClass `name` → {resourceName: path}."""
    manifests = synthesized.resources(env, LAYER, "kubernetes_manifest").values()
    (spc,) = [m["manifest"] for m in manifests if m["manifest"]["metadata"]["name"] == name]
    assert spc["kind"] == "SecretProviderClass" and spc["spec"]["provider"] == "gke"
    assert spc["metadata"]["namespace"] == "monitoring"
    return {item["resourceName"]: item["path"] for item in yaml.safe_load(spc["spec"]["parameters"]["secrets"])}


@pytest.mark.parametrize("env", ENVS)
def test_every_mounted_secret_is_one_the_security_layer_lets_that_component_read(synthesized, configs, env):
    secrets = synthesized.resources(env, "security", "google_secret_manager_secret")
    accessors = synthesized.resources(env, "security", "google_secret_manager_secret_iam_binding")
    project = configs[env].project_id
    notifies = configs[env].notifications.slack_channels or configs[env].notifications.pagerduty_services
    mounted = {
        "grafana": _provider_secrets(synthesized, env, "grafana-secrets"),
        "alertmanager": _provider_secrets(synthesized, env, "alertmanager-notifications") if notifies else {},
    }
    addresses = {body["secret_id"]: address for address, body in secrets.items()}
    for component, files in mounted.items():
        for resource_name in files:
            prefix = f"projects/{project}/secrets/"
            assert resource_name.startswith(prefix) and resource_name.endswith("/versions/latest")
            secret_id = resource_name.removeprefix(prefix).removesuffix("/versions/latest")
            assert secret_id in addresses, f"{secret_id} is mounted but the security layer creates no such secret"
            (binding,) = [
                body for body in accessors.values()
                if body["secret_id"] == f"${{google_secret_manager_secret.{addresses[secret_id]}.secret_id}}"
                and body["role"] == "roles/secretmanager.secretAccessor"
            ]
            (member,) = binding["members"]
            assert member.startswith(f"serviceAccount:${{google_service_account.sa-{component}_"), (secret_id, member)


@pytest.mark.parametrize("env", ENVS)
def test_grafana_reads_its_admin_password_from_a_file_and_the_chart_creates_no_admin_secret(synthesized, env):
    grafana = merged(synthesized, env)["grafana"]
    assert "adminPassword" not in grafana and not grafana.get("admin", {}).get("existingSecret")
    assert "GF_SECURITY_ADMIN_PASSWORD" not in grafana["env"]
    password_file = grafana["env"]["GF_SECURITY_ADMIN_PASSWORD__FILE"]
    (mount,) = grafana["extraVolumeMounts"]
    (volume,) = grafana["extraVolumes"]
    secrets = _provider_secrets(synthesized, env, volume["csi"]["volumeAttributes"]["secretProviderClass"])
    assert password_file in {f"{mount['mountPath']}/{path}" for path in secrets.values()}


@pytest.mark.parametrize("env", ENVS)
def test_no_secret_value_reaches_the_synthesized_stack(synthesized, env):
    text = json.dumps(synthesized.stack(env, LAYER))
    for marker in ("hooks.slack.com", "BEGIN PRIVATE KEY", "adminPassword", "GF_SECURITY_ADMIN_PASSWORD\""):
        assert marker not in text


# --- the release as its real chart renders it -----------------------------------------------------------------

POD_KINDS = ("Deployment", "DaemonSet", "StatefulSet", "Job")
PRIVILEGED_NAMESPACE = "node-exporter"


@pytest.fixture(scope="module")
def rendered(synthesized, third_party_dir) -> dict[str, list[dict]]:
    return {env: render_release(synthesized, env, third_party_dir) for env in ENVS}


def _pod_specs(objects):
    for obj in objects:
        if obj["kind"] in POD_KINDS:
            yield obj, obj["spec"]["template"]["spec"]
        elif obj["kind"] in ("Prometheus", "Alertmanager"):
            yield obj, obj["spec"]  # the operator builds the StatefulSet from this spec


def _images(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "image" and isinstance(value, str):
                yield value
            else:
                yield from _images(value)
    elif isinstance(node, list):
        for item in node:
            yield from _images(item)


@pytest.mark.parametrize("env", ENVS)
def test_every_rendered_image_comes_from_an_artifact_registry_mirror(rendered, configs, env):
    names = DeliveryNames.of(configs[env])
    mirrors = tuple(f"{names.mirror_url(upstream)}/" for upstream in set(IMAGE_REGISTRIES.values()))
    images = {image for obj in rendered[env] for image in _images(obj)}
    # The operator's arguments name the images it starts itself (config reloader, Thanos).
    for obj in rendered[env]:
        if obj["kind"] == "Deployment" and obj["metadata"]["name"].endswith("-operator"):
            for arg in obj["spec"]["template"]["spec"]["containers"][0]["args"]:
                if arg.startswith(("--prometheus-config-reloader=", "--thanos-default-base-image=")):
                    images.add(arg.partition("=")[2])
    assert images
    outside = sorted(image for image in images if not image.startswith(mirrors))
    assert not outside, f"images outside the Artifact Registry mirrors: {outside}"


@pytest.mark.parametrize("env", ENVS)
def test_only_node_exporter_needs_the_host_and_only_in_its_own_namespace(rendered, env):
    for obj, spec in _pod_specs(rendered[env]):
        host = [key for key in ("hostNetwork", "hostPID", "hostIPC") if spec.get(key)]
        host += [f"hostPath {v['name']}" for v in spec.get("volumes", []) if "hostPath" in v]
        where = f"{obj['kind']}/{obj['metadata']['name']}"
        if host:
            assert obj["metadata"]["namespace"] == PRIVILEGED_NAMESPACE, f"{where} uses {host} outside {PRIVILEGED_NAMESPACE}"
            assert "node-exporter" in obj["metadata"]["name"], f"{where} uses {host}"
        else:
            assert obj["metadata"]["namespace"] == "monitoring", f"{where} belongs in monitoring"
    node_exporters = [obj for obj, _ in _pod_specs(rendered[env]) if obj["metadata"]["namespace"] == PRIVILEGED_NAMESPACE]
    assert [obj["kind"] for obj in node_exporters] == ["DaemonSet"]


@pytest.mark.parametrize("env", ENVS)
def test_every_pod_in_monitoring_meets_the_restricted_pod_security_profile(rendered, env):
    for obj, spec in _pod_specs(rendered[env]):
        if obj["metadata"]["namespace"] != "monitoring":
            continue
        where = f"{obj['kind']}/{obj['metadata']['name']}"
        pod = spec.get("securityContext", {})
        containers = [*spec.get("containers", []), *spec.get("initContainers", [])]
        if obj["kind"] in ("Prometheus", "Alertmanager"):
            containers = []  # the operator adds its containers with a restricted context of its own
        assert pod.get("runAsNonRoot") is True or all(
            c.get("securityContext", {}).get("runAsNonRoot") for c in containers
        ), f"{where}: runAsNonRoot"
        assert pod.get("seccompProfile", {}).get("type") == "RuntimeDefault" or all(
            c.get("securityContext", {}).get("seccompProfile", {}).get("type") == "RuntimeDefault" for c in containers
        ), f"{where}: seccomp RuntimeDefault"
        for container in containers:
            context = container.get("securityContext", {})
            assert context.get("allowPrivilegeEscalation") is False, f"{where}/{container['name']}: allowPrivilegeEscalation"
            assert context.get("capabilities", {}).get("drop") == ["ALL"], f"{where}/{container['name']}: drop ALL"
            assert not context.get("capabilities", {}).get("add"), f"{where}/{container['name']}: adds capabilities"
            assert context.get("readOnlyRootFilesystem") is True, f"{where}/{container['name']}: read-only root"
            assert container.get("resources", {}).get("limits"), f"{where}/{container['name']}: no limits"


@pytest.mark.parametrize("env", ENVS)
def test_the_rendered_release_holds_no_credential(rendered, env):
    secrets = [obj for obj in rendered[env] if obj["kind"] == "Secret"]
    # The only Secret is Alertmanager's configuration: receivers name files, never keys or URLs.
    assert [s["metadata"]["name"] for s in secrets] == ["alertmanager-kube-prometheus-stack-alertmanager"]
    for obj in rendered[env]:
        if obj["kind"] in POD_KINDS:
            for container in obj["spec"]["template"]["spec"]["containers"]:
                env_vars = {e["name"]: e for e in container.get("env", [])}
                assert "GF_SECURITY_ADMIN_PASSWORD" not in env_vars
                assert "REQ_PASSWORD" not in env_vars


@pytest.mark.parametrize("env", ENVS)
def test_grafana_loads_the_dashboards_the_observability_layer_writes(rendered, synthesized, env):
    from constructs_lib.monitoring_stack import DASHBOARD_LABEL
    from stacks.in_cluster_monitoring import dashboard_files

    (grafana,) = [o for o in rendered[env] if o["kind"] == "Deployment" and o["metadata"]["name"].endswith("-grafana")]
    sidecar = {c["name"]: c for c in grafana["spec"]["template"]["spec"]["containers"]}["grafana-sc-dashboard"]
    sidecar_env = {e["name"]: e.get("value") for e in sidecar["env"]}
    assert (sidecar_env["LABEL"], sidecar_env["LABEL_VALUE"]) == DASHBOARD_LABEL
    assert sidecar_env.get("NAMESPACE") in (None, "monitoring")
    maps = synthesized.resources(env, LAYER, "kubernetes_config_map_v1").values()
    dashboards = {name for m in maps if m["metadata"]["labels"] == {DASHBOARD_LABEL[0]: DASHBOARD_LABEL[1]} for name in m["data"]}
    assert dashboards == {path.name for path in dashboard_files()}
    assert all(m["metadata"]["namespace"] == "monitoring" for m in maps)
