"""Prometheus, Alertmanager and Grafana in the cluster: the kube-prometheus-stack release, the Secret Manager
mounts of Grafana and Alertmanager (SecretProviderClass, provider `gke`), and the Grafana dashboards as
ConfigMaps the chart's dashboard sidecar loads.

The reviewed values files hold everything static; this construct adds what follows from configuration and
naming (`derived_values`), so no project, prefix or e-mail is restated in a values file:
* every image's registry is its Artifact Registry mirror (Binary Authorization admits only those paths);
* the prometheus/alertmanager/grafana service accounts carry their Workload Identity annotation;
* retention and disk sizes;
* the Alertmanager receivers and routes, by severity, whose credentials are files mounted from Secret Manager.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from constructs_lib.cdk import Construct, kubernetes
from constructs_lib.dependencies import depend_on
from constructs_lib.helm_release import HelmRelease, HelmReleaseProps

CHART = "kube-prometheus-stack"
VERSION = "88.5.3"
REPOSITORY = "https://prometheus-community.github.io/helm-charts"
RELEASE_NAME = "kube-prometheus-stack"

SECRET_STORE_DRIVER = "secrets-store-gke.csi.k8s.io"
WORKLOAD_IDENTITY_ANNOTATION = "iam.gke.io/gcp-service-account"
DASHBOARD_LABEL = ("grafana_dashboard", "1")
"""The chart's dashboard sidecar loads ConfigMaps with this label (grafana.sidecar.dashboards.label/labelValue)."""

GRAFANA_SECRETS_DIR = "/etc/secrets/grafana"
GRAFANA_ADMIN_PASSWORD_FILE = "admin-password"
ALERTMANAGER_SECRETS_DIR = "/etc/alertmanager/notifications"

# Values path of every image registry the release renders → the public registry it names upstream
# (tests/stacks/test_monitoring_stack.py checks each against the chart's defaults, and the rendered chart for
# an image outside the mirrors).
IMAGE_REGISTRIES: Mapping[tuple[str, ...], str] = {
    ("prometheusOperator", "image", "registry"): "quay.io",
    ("prometheusOperator", "prometheusConfigReloader", "image", "registry"): "quay.io",
    ("prometheusOperator", "thanosImage", "registry"): "quay.io",
    ("prometheusOperator", "admissionWebhooks", "deployment", "image", "registry"): "quay.io",
    ("prometheusOperator", "admissionWebhooks", "patch", "image", "registry"): "ghcr.io",
    ("prometheus", "prometheusSpec", "image", "registry"): "quay.io",
    ("alertmanager", "alertmanagerSpec", "image", "registry"): "quay.io",
    ("prometheus-node-exporter", "image", "registry"): "quay.io",
    ("kube-state-metrics", "image", "registry"): "registry.k8s.io",
    ("grafana", "image", "registry"): "docker.io",
    ("grafana", "sidecar", "image", "registry"): "quay.io",
}

# Share of the disk that size-based retention may fill: the WAL, compaction and the head block need the rest.
RETENTION_SIZE_SHARE = 0.85


@dataclass(frozen=True, kw_only=True)
class WorkloadAccount:
    kubernetes_name: str
    """The KSA the chart creates (config `workloads:`)."""
    google_email: str
    """The Google service account it acts as (Workload Identity)."""


@dataclass(frozen=True, kw_only=True)
class SlackReceiver:
    channel: str
    """`#alerts`."""
    webhook_secret: str
    """Secret Manager secret id holding the incoming-webhook URL."""


@dataclass(frozen=True, kw_only=True)
class PagerDutyReceiver:
    service: str
    routing_key_secret: str
    """Secret Manager secret id holding the Events API v2 routing key."""


@dataclass(frozen=True, kw_only=True)
class MonitoringStackProps:
    project_id: str
    namespace: str
    values_files: tuple[Path, ...]
    """Base values, then the environment's differences."""
    mirrors: Mapping[str, str]
    """Public registry (`quay.io`) → its Artifact Registry mirror URL."""
    accounts: Mapping[str, WorkloadAccount]
    """`prometheus`, `alertmanager`, `grafana` → their service accounts."""
    grafana_admin_password_secret: str
    """Secret Manager secret id of the Grafana admin password (filled out of band)."""
    retention_days: int
    storage_gib: int
    alertmanager_storage_gib: int
    storage_class: str
    slack: tuple[SlackReceiver, ...] = ()
    """Critical and warning alerts go to every channel. Default: none (alerts stay in Alertmanager's UI)."""
    pagerduty: tuple[PagerDutyReceiver, ...] = ()
    """Critical alerts page every service. Default: none (nobody is paged)."""
    routes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Severity → the channel kinds (`pagerduty`, `slack`, `email`) it reaches (monitoring/alerts.py ROUTES).
    Alertmanager serves `pagerduty` and `slack`; e-mail goes through Cloud Monitoring's channels only (no
    SMTP relay here). Default: none (every alert stays in Alertmanager's UI)."""
    rule_groups: tuple[Mapping[str, Any], ...] = ()
    """PrometheusRule `spec.groups` (monitoring/alerts.py `prometheus_rule_groups`). Default: none."""
    dashboard_files: tuple[Path, ...] = ()
    """Grafana dashboard JSON files (monitoring/dashboards/grafana/), one ConfigMap each; read at synth time like
    the values files, because they are the reviewed input. Default: none."""


ACCOUNT_VALUES = {"prometheus": ("prometheus",), "alertmanager": ("alertmanager",), "grafana": ("grafana",)}


def _set(tree: dict, path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        tree = tree.setdefault(key, {})
    tree[path[-1]] = value


def _secret_version(project_id: str, secret_id: str) -> str:
    return f"projects/{project_id}/secrets/{secret_id}/versions/latest"


def _csi_volume(name: str, provider_class: str) -> dict:
    return {
        "name": name,
        "csi": {"driver": SECRET_STORE_DRIVER, "readOnly": True, "volumeAttributes": {"secretProviderClass": provider_class}},
    }


def _volume_claim(storage_class: str, gib: int) -> dict:
    return {
        "volumeClaimTemplate": {
            "spec": {
                "storageClassName": storage_class,
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": f"{gib}Gi"}},
            }
        }
    }


def _notification_files(props: MonitoringStackProps) -> dict[str, str]:
    """File name under ALERTMANAGER_SECRETS_DIR → secret id: the file is named after its secret's credential."""
    files = {receiver.webhook_secret: receiver.webhook_secret for receiver in props.slack}
    files.update({receiver.routing_key_secret: receiver.routing_key_secret for receiver in props.pagerduty})
    return files


RULES_NAME = "platform-alerts"
"""The PrometheusRule the release creates from `rule_groups` (additionalPrometheusRulesMap key)."""


def alertmanager_routing(props: MonitoringStackProps) -> dict:
    """Receivers and routes by severity, as `routes` says: one route per receiver, matching every severity
    that reaches its kind. `continue` on all but the last, so a critical alert both pages and posts; a
    severity that reaches no receiver here falls through to `null` (it stays visible in Alertmanager)."""
    slack = [
        {
            "channel": receiver.channel,
            "api_url_file": f"{ALERTMANAGER_SECRETS_DIR}/{receiver.webhook_secret}",
            "send_resolved": True,
            "title": '[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}',
            "text": "{{ range .Alerts }}{{ .Annotations.summary }} ({{ .Annotations.runbook_url }})\n{{ end }}",
        }
        for receiver in props.slack
    ]
    pagerduty = [
        {"routing_key_file": f"{ALERTMANAGER_SECRETS_DIR}/{receiver.routing_key_secret}", "send_resolved": True}
        for receiver in props.pagerduty
    ]
    receivers: list[dict] = [{"name": "null"}]
    routes: list[dict] = []
    for kind, name, configs in (("pagerduty", "pager", pagerduty), ("slack", "chat", slack)):
        severities = [severity for severity, kinds in props.routes.items() if kind in kinds]
        if not configs or not severities:
            continue
        receivers.append({"name": name, f"{kind}_configs": configs})
        matcher = f'severity = "{severities[0]}"' if len(severities) == 1 else f'severity =~ "{"|".join(severities)}"'
        routes.append({"receiver": name, "matchers": [matcher], "continue": True})
    if routes:
        routes[-1]["continue"] = False
    return {"receivers": receivers, "route": {"routes": routes}}


def derived_values(props: MonitoringStackProps) -> dict:
    values: dict = {}
    for path, upstream in IMAGE_REGISTRIES.items():
        _set(values, path, props.mirrors[upstream])
    for component, path in ACCOUNT_VALUES.items():
        account = props.accounts[component]
        _set(values, (*path, "serviceAccount", "name"), account.kubernetes_name)
        _set(values, (*path, "serviceAccount", "annotations"), {WORKLOAD_IDENTITY_ANNOTATION: account.google_email})

    retention_size = int(props.storage_gib * RETENTION_SIZE_SHARE)
    _set(values, ("prometheus", "prometheusSpec", "retention"), f"{props.retention_days}d")
    # Prometheus reads GB as GiB (base-2 units).
    _set(values, ("prometheus", "prometheusSpec", "retentionSize"), f"{retention_size}GB")
    _set(values, ("prometheus", "prometheusSpec", "storageSpec"), _volume_claim(props.storage_class, props.storage_gib))
    _set(
        values,
        ("alertmanager", "alertmanagerSpec", "storage"),
        _volume_claim(props.storage_class, props.alertmanager_storage_gib),
    )

    routing = alertmanager_routing(props)
    _set(values, ("alertmanager", "config", "receivers"), routing["receivers"])
    _set(values, ("alertmanager", "config", "route", "routes"), routing["route"]["routes"])
    if props.rule_groups:
        _set(values, ("additionalPrometheusRulesMap",), {RULES_NAME: {"groups": [dict(g) for g in props.rule_groups]}})
    if _notification_files(props):
        _set(values, ("alertmanager", "alertmanagerSpec", "volumes"), [_csi_volume("notifications", "alertmanager-notifications")])
        _set(
            values,
            ("alertmanager", "alertmanagerSpec", "volumeMounts"),
            [{"name": "notifications", "mountPath": ALERTMANAGER_SECRETS_DIR, "readOnly": True}],
        )

    _set(values, ("grafana", "extraVolumes"), [_csi_volume("secrets", "grafana-secrets")])
    _set(values, ("grafana", "extraVolumeMounts"), [{"name": "secrets", "mountPath": GRAFANA_SECRETS_DIR, "readOnly": True}])
    _set(values, ("grafana", "env", "GF_SECURITY_ADMIN_PASSWORD__FILE"), f"{GRAFANA_SECRETS_DIR}/{GRAFANA_ADMIN_PASSWORD_FILE}")
    # Cloud Monitoring beside Prometheus: what Managed Prometheus collects (control plane, kube-state-metrics)
    # is queried there, with Grafana's own service account (metrics reader role, Workload Identity).
    _set(
        values,
        ("grafana", "additionalDataSources"),
        [
            {
                "name": "Cloud Monitoring",
                "uid": "cloud-monitoring",
                "type": "stackdriver",
                "access": "proxy",
                "editable": False,
                "jsonData": {"authenticationType": "gce", "defaultProject": props.project_id},
            }
        ],
    )
    return values


def load_dashboards(paths: tuple[Path, ...], where: str) -> dict[Path, str]:
    """Each file's text, checked: JSON, a dashboard `uid` and `title`, every uid once (Grafana keys by uid:
    a second dashboard with the same uid silently replaces the first)."""
    dashboards: dict[Path, str] = {}
    uids: dict[str, Path] = {}
    for path in sorted(paths):
        try:
            text = path.read_text(encoding="utf-8")
            dashboard = json.loads(text)
        except OSError as exc:
            raise ValueError(f"{where}: cannot read dashboard {path} ({exc.strerror})") from None
        except json.JSONDecodeError as exc:
            raise ValueError(f"{where}: dashboard {path} is not valid JSON ({exc})") from None
        uid = dashboard.get("uid") if isinstance(dashboard, dict) else None
        if not isinstance(uid, str) or not uid or not dashboard.get("title"):
            raise ValueError(f"{where}: dashboard {path} needs a non-empty `uid` and `title`")
        if uid in uids:
            raise ValueError(f"{where}: dashboard {path} reuses uid {uid!r} of {uids[uid]}; every dashboard needs its own")
        uids[uid] = path
        dashboards[path] = text
    return dashboards


class MonitoringStack(Construct):
    def __init__(self, scope: Construct, id: str, props: MonitoringStackProps) -> None:
        super().__init__(scope, id)
        where = f"MonitoringStack {id}"
        missing = sorted(set(ACCOUNT_VALUES) - set(props.accounts))
        if missing:
            raise ValueError(f"{where}: accounts lacks {', '.join(missing)}; every component of the release needs its service account")
        unmirrored = sorted(set(IMAGE_REGISTRIES.values()) - set(props.mirrors))
        if unmirrored:
            raise ValueError(f"{where}: mirrors lacks {', '.join(unmirrored)}; every image must come through Artifact Registry")
        dashboards = load_dashboards(props.dashboard_files, where)

        grafana_secrets = self._secret_provider_class(
            "grafana-secrets",
            props,
            {GRAFANA_ADMIN_PASSWORD_FILE: props.grafana_admin_password_secret},
        )
        provider_classes = [grafana_secrets]
        if _notification_files(props):
            provider_classes.append(
                self._secret_provider_class("alertmanager-notifications", props, _notification_files(props))
            )

        self.release = HelmRelease(
            self,
            "helm",
            HelmReleaseProps(
                name=RELEASE_NAME,
                chart=CHART,
                repository=REPOSITORY,
                version=VERSION,
                namespace=props.namespace,
                # The data layer creates `monitoring` and `node-exporter` with their Pod Security levels.
                create_namespace=False,
                values_files=props.values_files,
                derived_values=derived_values(props),
            ),
        )
        # The pods mount the provider classes: they must exist before the release waits for ready pods.
        depend_on(self.release, *provider_classes)

        self.dashboards = [
            kubernetes.config_map_v1.ConfigMapV1(
                self,
                f"dashboard-{path.stem}",
                metadata=kubernetes.config_map_v1.ConfigMapV1Metadata(
                    name=f"grafana-dashboard-{path.stem}",
                    namespace=props.namespace,
                    labels={DASHBOARD_LABEL[0]: DASHBOARD_LABEL[1]},
                ),
                data={path.name: text},
            )
            for path, text in dashboards.items()
        ]

    def _secret_provider_class(self, name: str, props: MonitoringStackProps, files: Mapping[str, str]):
        secrets = [
            {"resourceName": _secret_version(props.project_id, secret_id), "path": path}
            for path, secret_id in sorted(files.items())
        ]
        return kubernetes.manifest.Manifest(
            self,
            f"secret-provider-{name}",
            manifest={
                "apiVersion": "secrets-store.csi.x-k8s.io/v1",
                "kind": "SecretProviderClass",
                "metadata": {"name": name, "namespace": props.namespace},
                "spec": {"provider": "gke", "parameters": {"secrets": json.dumps(secrets)}},
            },
        )
