"""The API's SLOs on the load balancer's metrics, and their multi-window, multi-burn-rate alerts.

A custom Cloud Monitoring service holds two request-based SLOs: availability (requests that are not 5xx)
and latency (requests served within a threshold). Each gets one alert policy per pair of
monitoring/alerts.py BURN_RATE_WINDOWS; a policy fires when the burn rate over both the long and the short
window exceeds the pair's rate, which is derived from the SLO window, never written down.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from constructs_lib.alerting import POLICY_SEVERITY, documentation
from constructs_lib.cdk import Construct, google
from monitoring.alerts import BURN_RATE_WINDOWS, SLOS, BurnRateAlert, Severity, check_slo, error_ratio

LB_REQUESTS = "loadbalancing.googleapis.com/https/request_count"
LB_LATENCIES = "loadbalancing.googleapis.com/https/total_latencies"


@dataclass(frozen=True, kw_only=True)
class ApiSlosProps:
    project_id: str
    service_id: str
    """Id of the custom Cloud Monitoring service the SLOs belong to."""
    backend_filter: str
    """Monitoring-filter clause selecting the API's load-balancer backend, e.g.
    `resource.label.backend_target_name=monitoring.regex.full_match("gkegw1-.*-apps-api-server-8080-.*")`."""
    channels: Mapping[Severity, tuple[str, ...]]
    runbook_base: str
    availability_objective: float = 0.995
    latency_objective: float = 0.99
    latency_threshold_ms: int = 500
    window_days: int = 30
    """Rolling window of both SLOs, 7-30 days. Default: 30."""
    name_prefix: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)


class ApiSlos(Construct):
    def __init__(self, scope: Construct, id: str, props: ApiSlosProps) -> None:
        super().__init__(scope, id)
        for objective in (props.availability_objective, props.latency_objective):
            if not 0 < objective <= 0.999:
                raise ValueError(f"ApiSlos: objective {objective} must be within (0, 0.999] (Cloud Monitoring's limit)")
            try:
                check_slo(props.window_days, objective)
            except ValueError as error:
                raise ValueError(f"ApiSlos: {error}") from None
        service = google.monitoring_custom_service.MonitoringCustomService(
            self,
            "service",
            project=props.project_id,
            service_id=props.service_id,
            display_name=f"{props.name_prefix}API",
            user_labels=dict(props.labels),
        )
        scope_filter = f'resource.type="https_lb_rule" AND {props.backend_filter}'
        total = f'metric.type="{LB_REQUESTS}" AND {scope_filter}'
        slis = {
            "availability": {
                "good_total_ratio": {
                    "bad_service_filter": f'{total} AND metric.label.response_code_class="500"',
                    "total_service_filter": total,
                }
            },
            "latency": {
                "distribution_cut": {
                    "distribution_filter": f'metric.type="{LB_LATENCIES}" AND {scope_filter}',
                    "range": {"max": props.latency_threshold_ms},
                }
            },
        }
        objectives = {"availability": props.availability_objective, "latency": props.latency_objective}
        self.slos: dict[str, object] = {}
        for slo in SLOS:
            resource = google.monitoring_slo.MonitoringSlo(
                self,
                slo.name,
                project=props.project_id,
                service=service.service_id,
                slo_id=slo.sli,
                display_name=f"{slo.title}: {objectives[slo.sli]:.3%} over {props.window_days} days",
                goal=objectives[slo.sli],
                rolling_period_days=props.window_days,
                request_based_sli=slis[slo.sli],
                user_labels=dict(props.labels),
            )
            self.slos[slo.name] = resource
            for window in BURN_RATE_WINDOWS:
                alert = BurnRateAlert(slo=slo, window=window)
                rate = window.burn_rate(props.window_days)
                detail = (
                    f"Burn rate above {rate:g} over {window.label} (both windows): "
                    f"{error_ratio(window, props.window_days, objectives[slo.sli]):.3%} bad requests, "
                    f"{window.budget_fraction:.0%} of the {props.window_days}-day error budget within "
                    f"{window.long_hours:g} h. {slo.description}."
                )
                google.monitoring_alert_policy.MonitoringAlertPolicy(
                    self,
                    alert.name,
                    project=props.project_id,
                    display_name=f"{props.name_prefix}{slo.title} burning error budget ({window.label})",
                    combiner="AND",
                    severity=POLICY_SEVERITY[window.severity],
                    notification_channels=list(props.channels.get(window.severity, ())) or None,
                    user_labels={**props.labels, "severity": window.severity},
                    documentation=documentation(
                        f"{slo.title} error budget", f"The {slo.title} SLO is spending its error budget too fast.",
                        detail, props.runbook_base + alert.runbook_link,
                    ),
                    conditions=[
                        google.monitoring_alert_policy.MonitoringAlertPolicyConditions(
                            display_name=f"burn rate over {lookback}",
                            condition_threshold=google.monitoring_alert_policy.MonitoringAlertPolicyConditionsConditionThreshold(
                                filter=f'select_slo_burn_rate("{resource.name}", "{seconds}s")',
                                comparison="COMPARISON_GT",
                                threshold_value=rate,
                                duration="0s",
                            ),
                        )
                        for lookback, seconds in (
                            (f"{window.long_hours:g}h", int(window.long_hours * 3600)),
                            (f"{window.short_minutes}m", window.short_minutes * 60),
                        )
                    ],
                )
