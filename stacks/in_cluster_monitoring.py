"""Configuration → props of the in-cluster monitoring (constructs_lib/monitoring_stack.py), for the
observability layer. Names come from stacks/naming.py and the component table, never restated."""
from __future__ import annotations

from pathlib import Path

from constructs_lib.monitoring_stack import (
    CHART,
    MonitoringStackProps,
    PagerDutyReceiver,
    SlackReceiver,
    WorkloadAccount,
)
from monitoring.alerts import ROUTES, prometheus_rule_groups
from stacks.components import by_name
from stacks.config import EnvironmentConfig
from stacks.naming import UPSTREAM_REGISTRIES, DeliveryNames, resource_name
from stacks.security import secrets_of

REPO_ROOT = Path(__file__).resolve().parent.parent
VALUES_DIR = REPO_ROOT / "helm_values" / CHART
DASHBOARDS_DIR = REPO_ROOT / "monitoring" / "dashboards" / "grafana"
RELEASE_COMPONENTS = ("prometheus", "alertmanager", "grafana")


def values_files(env_name: str) -> tuple[Path, Path]:
    """Base values, then the environment's differences (the file must exist, even if it changes nothing)."""
    return VALUES_DIR / "values.yaml", VALUES_DIR / f"values-{env_name}.yaml"


def dashboard_files() -> tuple[Path, ...]:
    return tuple(sorted(DASHBOARDS_DIR.glob("*.json")))


def _owned_secret(env: EnvironmentConfig, credential: str, owner: str) -> str:
    """The secret id of a credential the security stack creates for `owner` (and only for it)."""
    owners = secrets_of(env)
    if owners.get(credential) != owner:
        raise ValueError(f"{env.name}: credential {credential!r} is not a secret of {owner} in stacks/security.py")
    return resource_name(env.prefix, credential)


def monitoring_stack_props(env: EnvironmentConfig) -> MonitoringStackProps:
    names = DeliveryNames.of(env)
    components = by_name()
    namespace = components["prometheus"].namespace
    accounts = {}
    for component in RELEASE_COMPONENTS:
        binding = env.workloads[component]  # its namespace is the table's (config model)
        accounts[component] = WorkloadAccount(
            kubernetes_name=binding.service_account, google_email=names.service_account_email(component)
        )
    stack = env.monitoring_stack
    return MonitoringStackProps(
        project_id=env.project_id,
        namespace=namespace,
        values_files=values_files(env.name),
        mirrors={upstream: names.mirror_url(upstream) for upstream in UPSTREAM_REGISTRIES},
        accounts=accounts,
        grafana_admin_password_secret=_owned_secret(env, "grafana-admin-password", "grafana"),
        retention_days=stack.prometheus.retention_days,
        storage_gib=stack.prometheus.storage_gib,
        alertmanager_storage_gib=stack.alertmanager.storage_gib,
        storage_class=stack.storage_class,
        slack=tuple(
            SlackReceiver(
                channel=channel,
                webhook_secret=_owned_secret(env, f"slack-webhook-{channel.removeprefix('#')}", "alertmanager"),
            )
            for channel in env.notifications.slack_channels
        ),
        pagerduty=tuple(
            PagerDutyReceiver(service=service, routing_key_secret=_owned_secret(env, f"pagerduty-{service}", "alertmanager"))
            for service in env.notifications.pagerduty_services
        ),
        routes=ROUTES,
        rule_groups=tuple(prometheus_rule_groups(env.observability.thresholds)),
        dashboard_files=dashboard_files(),
    )
