"""`<env>-observability`: where alerts go, what Cloud Monitoring evaluates, and the outside-in check that the
platform answers.

Applied after the data layer: the in-cluster monitoring it installs scrapes the services the data layer runs.
The alerts, SLOs and log-based metrics are data in monitoring/alerts.py; this stack maps the environment's
configuration onto them. Slack and PagerDuty credentials never enter Terraform (constructs_lib/alerting.py).
"""
from __future__ import annotations

from constructs_lib.alerting import AlertPolicies, AlertPoliciesProps, NotificationChannels, NotificationChannelsProps
from constructs_lib.cdk import App
from constructs_lib.cluster_access import ClusterAccess, ClusterAccessProps
from constructs_lib.dashboards import Dashboards, DashboardsProps
from constructs_lib.log_sinks import LogSinks, LogSinksProps
from constructs_lib.monitoring_stack import MonitoringStack
from constructs_lib.slo import ApiSlos, ApiSlosProps
from constructs_lib.uptime_alert import UptimeAlert, UptimeAlertProps
from monitoring.alerts import SEVERITIES, by_name
from monitoring.dashboards import cloud_dashboards
from stacks.base import LayerStack
from stacks.components import APP_NAMESPACE
from stacks.config import EnvironmentConfig
from stacks.contracts import ClusterOutputs, SecurityOutputs
from stacks.in_cluster_monitoring import monitoring_stack_props
from stacks.naming import DeliveryNames
from stacks.network import WORKLOAD_PORT

# GKE Gateway names a backend service `gkegw1-<hash>-<namespace>-<service>-<port>-<hash>`.
API_BACKEND = f'resource.label.backend_target_name=monitoring.regex.full_match("gkegw1-.*-{APP_NAMESPACE}-api-server-{WORKLOAD_PORT}-.*")'


class ObservabilityStack(LayerStack):
    layer = "observability"

    def __init__(self, scope: App, env: EnvironmentConfig, *, cluster: ClusterOutputs, security: SecurityOutputs) -> None:
        super().__init__(scope, env)
        names = DeliveryNames.of(env)
        observability = env.observability
        labels = self.labels_for("alerting")
        channels = NotificationChannels(
            self,
            "channels",
            NotificationChannelsProps(
                project_id=env.project_id,
                display_prefix=env.prefix,
                emails=env.notifications.emails,
                slack_channels=env.notifications.slack_channels,
                pagerduty_services=env.notifications.pagerduty_services,
                labels=labels,
            ),
        )
        routes = {severity: tuple(channels.for_severity(severity)) for severity in SEVERITIES}
        # The runbook as of the ref this environment is applied from.
        runbook_base = f"{env.ci.gitlab_url}/{env.ci.project_path}/-/blob/{env.ci.apply_refs[0]}/"
        uptime = by_name()["api-uptime"]
        UptimeAlert(
            self,
            "api-uptime",
            UptimeAlertProps(
                project_id=env.project_id,
                name=self.resource_name("api-uptime"),
                host=names.api_hostname,
                notification_channels=routes[uptime.severity],
                failing_for_seconds=uptime.for_seconds,
                runbook_url=runbook_base + uptime.runbook_link,
                labels=labels,
            ),
        )
        AlertPolicies(
            self,
            "alerts",
            AlertPoliciesProps(
                project_id=env.project_id,
                channels=routes,
                runbook_base=runbook_base,
                thresholds=observability.thresholds,
                context={"max_connections": env.cloud_sql.max_connections},
                name_prefix=f"{env.name}: ",
                labels=labels,
            ),
        )
        ApiSlos(
            self,
            "slo",
            ApiSlosProps(
                project_id=env.project_id,
                service_id=self.resource_name("api"),
                backend_filter=API_BACKEND,
                channels=routes,
                runbook_base=runbook_base,
                availability_objective=observability.slo.availability_objective,
                latency_objective=observability.slo.latency_objective,
                latency_threshold_ms=observability.slo.latency_threshold_ms,
                window_days=observability.slo.window_days,
                name_prefix=f"{env.name}: ",
                labels=self.labels_for("slo"),
            ),
        )
        Dashboards(
            self,
            "dashboards",
            DashboardsProps(project_id=env.project_id, dashboards=dict(cloud_dashboards()), name_prefix=f"{env.name}: "),
        )
        archive, analytics = observability.log_archive, observability.log_analytics
        LogSinks(
            self,
            "logs",
            LogSinksProps(
                project_id=env.project_id,
                location=env.region,
                archive_bucket=f"{env.project_id}-log-archive",
                archive_sink=self.resource_name("audit-archive"),
                analytics_dataset=self.resource_name("logs").replace("-", "_"),
                analytics_sink=self.resource_name("log-analytics"),
                kms_key=security.logs_key,
                archive_retention_days=archive.retention_days,
                archive_locked=archive.locked,
                nearline_after_days=archive.nearline_after_days,
                archive_after_days=archive.archive_after_days,
                analytics_retention_days=analytics.retention_days,
                prevent_destroy=env.protection.deletion_protection,
                labels=self.labels_for("logs"),
            ),
        )
        ClusterAccess(self, "cluster-access", ClusterAccessProps(endpoint=cluster.endpoint))
        MonitoringStack(self, "kube-prometheus-stack", monitoring_stack_props(env))
