"""`<env>-observability`: where alerts go, and the outside-in check that the platform answers.

Applied after the data layer: the in-cluster monitoring it installs scrapes the services the data layer runs.

E-mail channels come from `notifications.emails`. Slack and PagerDuty need credentials, which never enter
Terraform state: they are wired in Alertmanager/Grafana from Secret Manager, not here.
"""
from __future__ import annotations

import re

from constructs_lib.cdk import App, google
from constructs_lib.cluster_access import ClusterAccess, ClusterAccessProps
from constructs_lib.monitoring_stack import MonitoringStack
from constructs_lib.uptime_alert import UptimeAlert, UptimeAlertProps
from stacks.base import LayerStack
from stacks.config import EnvironmentConfig
from stacks.contracts import ClusterOutputs
from stacks.in_cluster_monitoring import monitoring_stack_props
from stacks.naming import DeliveryNames


class ObservabilityStack(LayerStack):
    layer = "observability"

    def __init__(self, scope: App, env: EnvironmentConfig, *, cluster: ClusterOutputs) -> None:
        super().__init__(scope, env)
        channels = [
            google.monitoring_notification_channel.MonitoringNotificationChannel(
                self,
                # Keyed by address, not position: removing one address must not move the others' state.
                "email-" + re.sub(r"[^a-z0-9]+", "-", address.lower()),
                project=env.project_id,
                type="email",
                display_name=f"{env.name}: {address}",
                labels={"email_address": address},
                user_labels=self.labels_for("alerting"),
            )
            for address in env.notifications.emails
        ]
        names = DeliveryNames.of(env)
        UptimeAlert(
            self,
            "api-uptime",
            UptimeAlertProps(
                project_id=env.project_id,
                name=self.resource_name("api-uptime"),
                host=names.api_hostname,
                notification_channels=tuple(channel.id for channel in channels),
                labels=self.labels_for("alerting"),
            ),
        )
        ClusterAccess(self, "cluster-access", ClusterAccessProps(endpoint=cluster.endpoint))
        MonitoringStack(self, "kube-prometheus-stack", monitoring_stack_props(env))
