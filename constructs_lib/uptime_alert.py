"""An HTTPS uptime check from several regions and the alert policy that pages when it fails."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping

from constructs_lib.cdk import Construct, google

_HOST = re.compile(r"^([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}$")


@dataclass(frozen=True, kw_only=True)
class UptimeAlertProps:
    project_id: str
    name: str
    host: str
    path: str = "/healthz"
    """Probed over HTTPS with SNI and certificate validation."""
    notification_channels: tuple[str, ...] = ()
    """Channel ids. Default: none — the incident is still recorded in Cloud Monitoring."""
    period_seconds: int = 60
    """60, 300, 600 or 900 (the API's choices). Default 60."""
    failing_for_seconds: int = 180
    """How long the check must fail before the policy fires. Default 180: rides out one bad probe round."""
    runbook_url: str = ""
    """Where the policy's documentation sends the responder. Default: no link."""
    labels: Mapping[str, str] = field(default_factory=dict)


class UptimeAlert(Construct):
    def __init__(self, scope: Construct, id: str, props: UptimeAlertProps) -> None:
        super().__init__(scope, id)
        if not _HOST.match(props.host):
            raise ValueError(f"UptimeAlert {props.name}: host {props.host!r} is not a DNS name such as api.example.com")
        if props.period_seconds not in (60, 300, 600, 900):
            raise ValueError(f"UptimeAlert {props.name}: period_seconds {props.period_seconds} must be 60, 300, 600 or 900")
        if not props.path.startswith("/"):
            raise ValueError(f"UptimeAlert {props.name}: path {props.path!r} must start with '/'")
        self.check = google.monitoring_uptime_check_config.MonitoringUptimeCheckConfig(
            self,
            "check",
            project=props.project_id,
            display_name=props.name,
            timeout="10s",
            period=f"{props.period_seconds}s",
            monitored_resource={"type": "uptime_url", "labels": {"project_id": props.project_id, "host": props.host}},
            http_check={"path": props.path, "port": 443, "use_ssl": True, "validate_ssl": True, "request_method": "GET"},
            user_labels=dict(props.labels),
        )
        self.policy = google.monitoring_alert_policy.MonitoringAlertPolicy(
            self,
            "policy",
            project=props.project_id,
            display_name=f"{props.name} failing",
            combiner="OR",
            severity="CRITICAL",
            notification_channels=list(props.notification_channels) or None,
            user_labels=dict(props.labels),
            documentation={
                "content": f"https://{props.host}{props.path} has failed uptime checks for "
                f"{props.failing_for_seconds}s from more than one region. Check the gateway, the backend "
                "services' readiness and Cloud Armor denials."
                + (f"\n\nRunbook: {props.runbook_url}" if props.runbook_url else ""),
                "mime_type": "text/markdown",
            },
            conditions=[
                google.monitoring_alert_policy.MonitoringAlertPolicyConditions(
                    display_name="uptime check failing",
                    condition_threshold=google.monitoring_alert_policy.MonitoringAlertPolicyConditionsConditionThreshold(
                        filter=(
                            'metric.type="monitoring.googleapis.com/uptime_check/check_passed" '
                            f'AND metric.label.check_id="{self.check.uptime_check_id}" '
                            'AND resource.type="uptime_url"'
                        ),
                        comparison="COMPARISON_GT",
                        threshold_value=1,
                        duration=f"{props.failing_for_seconds}s",
                        aggregations=[
                            google.monitoring_alert_policy.MonitoringAlertPolicyConditionsConditionThresholdAggregations(
                                alignment_period="1200s",
                                per_series_aligner="ALIGN_NEXT_OLDER",
                                cross_series_reducer="REDUCE_COUNT_FALSE",
                                group_by_fields=["resource.label.*"],
                            )
                        ],
                        trigger={"count": 1},
                    ),
                )
            ],
        )
