"""Cloud Monitoring alerting from monitoring/alerts.py: notification channels, log-based metrics and one
alert policy per `cloud_monitoring` alert.

Channel credentials never enter Terraform. E-mail channels need none and are created here. Slack and
PagerDuty channels carry a token (Slack app) or an integration key (PagerDuty): a person creates each once
in Cloud Monitoring (docs/runbook.md, "Notification channels"), and this construct only looks them up by
display name (`data.google_monitoring_notification_channel`), whose API response never contains the
credential. The alternative, reading the credential from Secret Manager with a data source, would copy it
into the plan output and the state that the plan identity reads on every merge request.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping

from constructs_lib.cdk import Construct, google
from constructs_lib.dependencies import depend_on
from monitoring.alerts import ALERTS, LOG_METRICS, ROUTES, Alert, ChannelKind, Severity, threshold_of

POLICY_SEVERITY = {"critical": "CRITICAL", "warning": "WARNING", "info": "ERROR"}
"""Cloud Monitoring's policy severities; it has no INFO, ERROR sorts between the two."""


def documentation(alert_title: str, meaning: str, detail: str, runbook_url: str) -> dict:
    return {
        "subject": alert_title,
        "content": f"{meaning}\n\n{detail}\n\nRunbook: {runbook_url}",
        "mime_type": "text/markdown",
    }


@dataclass(frozen=True, kw_only=True)
class NotificationChannelsProps:
    project_id: str
    display_prefix: str
    """Start of every channel's display name (the environment's resource prefix)."""
    emails: tuple[str, ...] = ()
    """One e-mail channel each, created here. Default: none."""
    slack_channels: tuple[str, ...] = ()
    """Slack channels (`#name`) whose Cloud Monitoring channel `<display_prefix>-slack-<name>` exists. Default: none."""
    pagerduty_services: tuple[str, ...] = ()
    """PagerDuty services whose Cloud Monitoring channel `<display_prefix>-pagerduty-<service>` exists. Default: none."""
    labels: Mapping[str, str] = field(default_factory=dict)


class NotificationChannels(Construct):
    """`by_kind`: channel kind → channel resource names, what policies route to by severity."""

    def __init__(self, scope: Construct, id: str, props: NotificationChannelsProps) -> None:
        # The scope's own ids, not this construct's: the e-mail channels existed before it (stable addresses).
        super().__init__(scope, id)
        self.by_kind: dict[ChannelKind, list[str]] = {"email": [], "slack": [], "pagerduty": []}
        for address in props.emails:
            channel = google.monitoring_notification_channel.MonitoringNotificationChannel(
                scope,
                # Keyed by address, not position: removing one address must not move the others' state.
                "email-" + re.sub(r"[^a-z0-9]+", "-", address.lower()),
                project=props.project_id,
                type="email",
                display_name=f"{props.display_prefix}: {address}",
                labels={"email_address": address},
                user_labels=dict(props.labels),
            )
            self.by_kind["email"].append(channel.id)
        for kind, names in (("slack", [c.removeprefix("#") for c in props.slack_channels]), ("pagerduty", props.pagerduty_services)):
            for name in names:
                found = google.data_google_monitoring_notification_channel.DataGoogleMonitoringNotificationChannel(
                    self,
                    f"{kind}-{name}",
                    project=props.project_id,
                    type=kind,
                    display_name=self.display_name(props.display_prefix, kind, name),
                )
                self.by_kind[kind].append(found.name)

    @staticmethod
    def display_name(prefix: str, kind: str, name: str) -> str:
        return f"{prefix}-{kind}-{name.removeprefix('#')}"

    def for_severity(self, severity: Severity) -> list[str]:
        return [channel for kind in ROUTES[severity] for channel in self.by_kind[kind]]


@dataclass(frozen=True, kw_only=True)
class AlertPoliciesProps:
    project_id: str
    channels: Mapping[Severity, tuple[str, ...]]
    """Severity → channel resource names it notifies (empty: recorded in Cloud Monitoring only)."""
    runbook_base: str
    """URL the runbook link `docs/runbook.md#<anchor>` is appended to (the repository at the applied ref)."""
    thresholds: Mapping[str, float] = field(default_factory=dict)
    """Alert name → this environment's threshold. Default: the thresholds in monitoring/alerts.py."""
    context: Mapping[str, object] = field(default_factory=dict)
    """Facts the queries use besides the threshold (`max_connections`)."""
    name_prefix: str = ""
    """Start of every policy's display name. Default: none."""
    labels: Mapping[str, str] = field(default_factory=dict)


class AlertPolicies(Construct):
    """One PromQL alert policy per `cloud_monitoring` alert (construct id: the alert's name) and the
    log-based metrics their queries read (construct id `log-metric-<name>`)."""

    def __init__(self, scope: Construct, id: str, props: AlertPoliciesProps) -> None:
        super().__init__(scope, id)
        unknown = sorted(set(props.thresholds) - {alert.name for alert in ALERTS})
        if unknown:
            raise ValueError(f"AlertPolicies: threshold for unknown alert {unknown[0]!r}; see monitoring/alerts.py")
        metrics = Construct(self, "log-metrics")
        for metric in LOG_METRICS:
            google.logging_metric.LoggingMetric(
                metrics,
                metric.name,
                project=props.project_id,
                name=metric.name,
                description=metric.description,
                filter=metric.filter,
                metric_descriptor=google.logging_metric.LoggingMetricMetricDescriptor(
                    metric_kind="DELTA",
                    value_type="INT64",
                    unit="1",
                    labels=[
                        google.logging_metric.LoggingMetricMetricDescriptorLabels(key=key, value_type="STRING")
                        for key in metric.labels
                    ] or None,
                ),
                label_extractors=dict(metric.labels) or None,
            )
        self.policies: dict[str, object] = {}
        for alert in ALERTS:
            if alert.backend != "cloud_monitoring" or alert.condition != "promql":
                continue
            policy = self._policy(alert, props)
            if "logging_googleapis_com:user_" in alert.query:
                # Metric validation needs the log-based metric to exist first.
                depend_on(policy, metrics)
            self.policies[alert.name] = policy

    def _policy(self, alert: Alert, props: AlertPoliciesProps):
        threshold = threshold_of(alert, props.thresholds)
        limit = "" if threshold is None else f"Threshold: {threshold:g} {alert.unit}, for {alert.for_seconds}s."
        return google.monitoring_alert_policy.MonitoringAlertPolicy(
            self,
            alert.name,
            project=props.project_id,
            display_name=f"{props.name_prefix}{alert.title}",
            combiner="OR",
            severity=POLICY_SEVERITY[alert.severity],
            notification_channels=list(props.channels.get(alert.severity, ())) or None,
            user_labels={**props.labels, "severity": alert.severity},
            documentation=documentation(alert.title, alert.meaning, limit, props.runbook_base + alert.runbook_link),
            conditions=[
                google.monitoring_alert_policy.MonitoringAlertPolicyConditions(
                    display_name=alert.title,
                    condition_prometheus_query_language=google.monitoring_alert_policy.MonitoringAlertPolicyConditionsConditionPrometheusQueryLanguage(
                        query=alert.render(threshold, props.context),
                        duration=f"{alert.for_seconds}s",
                        evaluation_interval="60s",
                        alert_rule=alert.rule_name,
                        rule_group="platform-alerts",
                        labels={"severity": alert.severity},
                    ),
                )
            ],
        )
