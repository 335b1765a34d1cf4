"""monitoring/alerts.py, as policies: every query parses and names only exported metrics, the issue's
signals are covered, routing never pages outside prod, and burn-rate thresholds follow from the SLO."""
from __future__ import annotations

import dataclasses
import re

import pytest

from monitoring import alerts as catalog
from monitoring.alerts import (
    ALERTS,
    BURN_RATE_WINDOWS,
    CIS_LOG_METRICS,
    LOG_METRICS,
    ROUTES,
    BurnRateWindow,
    check_slo,
    check_table,
    error_ratio,
    prometheus_rule_groups,
)
from monitoring.metrics import (
    PROMETHEUS_METRICS,
    SERVICE_METRIC_PREFIXES,
    cloud_promql_names,
    promql_name,
)
from tests.conftest import REPO_ROOT
from tests.monitoring.promql import metric_names

CONTEXT = {"max_connections": 200}
QUERY_ALERTS = [alert for alert in ALERTS if alert.condition == "promql"]


@pytest.mark.parametrize("alert", QUERY_ALERTS, ids=lambda alert: alert.name)
def test_every_query_parses_and_names_only_metrics_its_backend_has(alert):
    names = metric_names(alert.render(alert.threshold, CONTEXT))
    assert names, alert.name
    known = cloud_promql_names(m.name for m in LOG_METRICS) if alert.backend == "cloud_monitoring" else PROMETHEUS_METRICS
    assert names <= known, f"{alert.name}: {sorted(names - known)} is exported by nothing (monitoring/metrics.py)"


def test_service_metrics_in_the_curated_list_are_the_ones_the_services_document():
    readme = (REPO_ROOT / "services" / "README.md").read_text(encoding="utf-8")
    for name in PROMETHEUS_METRICS:
        if name.startswith(SERVICE_METRIC_PREFIXES):
            base = re.sub(r"_(bucket|count|sum)$", "", name)
            assert f"`{base}" in readme, f"{name} is not a metric services/README.md lists"


def test_promql_names_follow_cloud_monitorings_mapping():
    assert promql_name("kubernetes.io/container/restart_count") == "kubernetes_io:container_restart_count"
    assert promql_name("logging.googleapis.com/user/cis_route_changes") == "logging_googleapis_com:user_cis_route_changes"
    assert "loadbalancing_googleapis_com:https_total_latencies_bucket" in cloud_promql_names(())


def test_every_log_metric_is_alerted_on_and_every_alerted_log_metric_exists():
    read = {name for alert in QUERY_ALERTS for name in re.findall(r"logging_googleapis_com:user_([a-z0-9_]+)", alert.query)}
    assert read == {metric.name for metric in LOG_METRICS}


def test_cis_2_4_to_2_11_each_have_a_log_metric_and_an_alert():
    assert [number for number, _, _ in CIS_LOG_METRICS] == [f"2.{n}" for n in range(4, 12)]
    names = {alert.name for alert in ALERTS}
    assert {f"cis-2-{n}" for n in range(4, 12)} <= names


def test_business_and_integration_failures_are_counted_from_structured_error_logs_by_component():
    metrics = {metric.name: metric for metric in LOG_METRICS}
    for name in ("service_error_logs", "business_task_failures", "integration_failures"):
        assert "severity>=ERROR" in metrics[name].filter and "jsonPayload." in metrics[name].filter
    assert metrics["service_error_logs"].labels == {"component": "EXTRACT(jsonPayload.service)"}


# Every signal issue 12 lists, by the alert that covers it.
ISSUE_SIGNALS = {
    "node not ready": "node-not-ready", "crash-looping pods": "pod-crash-looping",
    "CPU saturation by workload": "workload-cpu-saturation", "memory saturation by workload": "workload-memory-saturation",
    "PVC/disk fill": "volume-filling-up", "Cloud SQL CPU": "cloudsql-cpu", "Cloud SQL memory": "cloudsql-memory",
    "Cloud SQL disk": "cloudsql-disk", "connections near max_connections": "cloudsql-connections",
    "instance down": "cloudsql-down", "failover": "cloudsql-failover-unavailable",
    "replication lag": "cloudsql-replication-lag", "LB 5xx ratio": "lb-5xx-ratio", "LB latency": "lb-latency",
    "Cloud Armor blocked spikes": "armor-blocked-spike", "certificate expiry": "certificate-expiry",
    "uptime": "api-uptime", "Temporal workflow failure rate": "temporal-workflow-failures",
    "task-queue backlog": "temporal-task-backlog", "schedule-to-start latency": "temporal-schedule-to-start",
    "GPU utilization": "gpu-utilization-high", "GPU memory": "gpu-memory-high",
    "inference latency": "ai-inference-latency", "in-flight saturation": "ai-inflight-saturation",
    "business failures": "business-task-failures", "integration failures": "integration-failures",
}


@pytest.mark.parametrize("signal", ISSUE_SIGNALS)
def test_every_signal_the_issue_lists_has_an_alert(signal):
    assert ISSUE_SIGNALS[signal] in catalog.by_name()


def test_in_cluster_signals_are_evaluated_by_prometheus_and_gcp_ones_by_cloud_monitoring():
    for alert in QUERY_ALERTS:
        names = metric_names(alert.render(alert.threshold, CONTEXT))
        gcp = all(":" in name for name in names)
        assert (alert.backend == "cloud_monitoring") == gcp, alert.name


def test_the_connection_alert_scales_with_the_instances_max_connections():
    alert = catalog.by_name()["cloudsql-connections"]
    assert alert.render(0.8, {"max_connections": 400}).endswith("> 0.8 * 400")
    with pytest.raises(ValueError, match=r"cloudsql-connections: no value for \{max_connections\}"):
        alert.render(0.8)


# --- routing -------------------------------------------------------------------------------------------


def test_only_critical_alerts_page_and_every_severity_reaches_someone():
    assert [severity for severity, kinds in ROUTES.items() if "pagerduty" in kinds] == ["critical"]
    assert all(ROUTES[severity] for severity in catalog.SEVERITIES)
    assert {"slack", "email"} <= set(ROUTES["warning"]) and "slack" in ROUTES["critical"]


# --- PrometheusRules -----------------------------------------------------------------------------------


def test_prometheus_rules_carry_every_in_cluster_alert_with_severity_and_runbook():
    (group,) = prometheus_rule_groups()
    rules = {rule["alert"]: rule for rule in group["rules"]}
    expected = {alert.rule_name: alert for alert in ALERTS if alert.backend == "prometheus"}
    assert set(rules) == set(expected)
    for name, rule in rules.items():
        assert rule["labels"]["severity"] == expected[name].severity
        assert rule["annotations"]["runbook_url"] == f"docs/runbook.md#{expected[name].anchor}"
        assert rule["for"] == f"{expected[name].for_seconds}s"
        metric_names(rule["expr"])


def test_prometheus_rules_take_the_environments_thresholds():
    (group,) = prometheus_rule_groups({"temporal-task-backlog": 250})
    (rule,) = [rule for rule in group["rules"] if rule["alert"] == "TemporalTaskBacklog"]
    assert rule["expr"].endswith("> 250")


# --- burn rates ----------------------------------------------------------------------------------------


def test_burn_rates_of_a_30_day_window_are_the_sre_workbook_pairs():
    assert [(w.label, w.burn_rate(30), w.severity) for w in BURN_RATE_WINDOWS] == [
        ("1h/5m", 14.4, "critical"), ("6h/30m", 6.0, "critical"), ("3d/6h", 1.0, "warning"),
    ]


@pytest.mark.parametrize("days", [7, 14, 28, 30])
def test_each_burn_rate_spends_its_budget_share_within_its_long_window(days):
    for window in BURN_RATE_WINDOWS:
        spent = window.burn_rate(days) * window.long_hours / (days * 24)
        assert spent == pytest.approx(window.budget_fraction, rel=5e-3)  # rates are rounded to 3 decimals
        assert window.short_minutes * 12 == window.long_hours * 60


def test_error_ratio_thresholds_follow_the_objective():
    fast = BURN_RATE_WINDOWS[0]
    assert error_ratio(fast, 30, 0.999) == pytest.approx(0.0144)
    assert error_ratio(fast, 30, 0.995) == pytest.approx(0.072)


@pytest.mark.parametrize(
    "days, objective, message",
    [
        (30, 0.93, r"1h/5m alert fire only at 101% errors, which cannot happen; expected an objective above 0.9306"),
        (3, 0.999, r"window_days: 3 is not longer than the 3d/6h burn-rate window"),
    ],
)
def test_slo_settings_whose_alerts_could_not_work_are_refused(days, objective, message):
    with pytest.raises(ValueError, match=message):
        check_slo(days, objective)


def test_burn_rate_windows_label_themselves():
    assert BurnRateWindow(long_hours=72, short_minutes=360, budget_fraction=0.1, severity="warning").label == "3d/6h"


# --- the table's own consistency ------------------------------------------------------------------------


def _variant(**changes):
    return dataclasses.replace(catalog.by_name()["cloudsql-cpu"], **changes)


@pytest.mark.parametrize(
    "bad, message",
    [
        ((_variant(), _variant()), "'cloudsql-cpu': the name is used twice"),
        ((_variant(name="CPU"),), "'CPU': the name must be"),
        ((_variant(threshold=None),), "a threshold needs a {threshold} in the query, and only then"),
        ((_variant(query="up > 1"),), "a threshold needs a {threshold}"),
        ((_variant(query="up > {limit}", threshold=None),), r"unknown placeholder\(s\) \['limit'\]"),
        ((_variant(actions=()),), "give the runbook at least one action"),
        ((_variant(condition="uptime_check"),), "a promql alert needs a query, an uptime_check alert none"),
    ],
)
def test_a_bad_alert_row_is_refused_with_the_fix(bad, message):
    with pytest.raises(ValueError, match=re.escape(message) if "(" not in message else message):
        check_table(bad)
