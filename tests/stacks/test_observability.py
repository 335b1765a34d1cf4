"""Observability layer, as policies."""
from __future__ import annotations

import json
import re

import pytest

from monitoring.alerts import ALERTS, BURN_RATE_WINDOWS, LOG_METRICS, SLOS, burn_rate_alerts
from monitoring.dashboards import CLOUD_DASHBOARDS
from monitoring.metrics import cloud_promql_names
from tests.conftest import ENVIRONMENTS as ENVS
from tests.monitoring.promql import metric_names

LAYER = "observability"
CLOUD_ALERTS = [alert for alert in ALERTS if alert.backend == "cloud_monitoring"]


def policies(synthesized, env) -> dict[str, dict]:
    """Alert policies by construct path below the stack."""
    return {
        body["//"]["metadata"]["path"].split("/", 1)[1]: body
        for body in synthesized.resources(env, LAYER, "google_monitoring_alert_policy").values()
    }


def channel_refs(synthesized, env, kind: str) -> set[str]:
    if kind == "email":
        return {f"${{google_monitoring_notification_channel.{cid}.id}}"
                for cid in synthesized.resources(env, LAYER, "google_monitoring_notification_channel")}
    lookups = synthesized.stack(env, LAYER).get("data", {}).get("google_monitoring_notification_channel", {})
    return {f"${{data.google_monitoring_notification_channel.{lid}.name}}" for lid, body in lookups.items() if body["type"] == kind}


# --- channels ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVS)
def test_every_configured_email_gets_a_channel(synthesized, configs, env):
    channels = synthesized.resources(env, LAYER, "google_monitoring_notification_channel").values()
    assert sorted(c["labels"]["email_address"] for c in channels) == sorted(configs[env].notifications.emails)
    assert all(c["type"] == "email" for c in channels)


@pytest.mark.parametrize("env", ENVS)
def test_slack_and_pagerduty_channels_are_looked_up_never_created_with_a_credential(synthesized, configs, env):
    config = configs[env]
    lookups = synthesized.stack(env, LAYER).get("data", {}).get("google_monitoring_notification_channel", {}).values()
    expected = {("slack", f"{config.prefix}-slack-{c[1:]}") for c in config.notifications.slack_channels}
    expected |= {("pagerduty", f"{config.prefix}-pagerduty-{s}") for s in config.notifications.pagerduty_services}
    assert {(body["type"], body["display_name"]) for body in lookups} == expected
    for channel in synthesized.resources(env, LAYER, "google_monitoring_notification_channel").values():
        assert "sensitive_labels" not in channel
    text = json.dumps(synthesized.stack(env, LAYER))
    assert "secret_manager" not in text and "secret_data" not in text


@pytest.mark.parametrize("env", ENVS)
def test_critical_alerts_page_pagerduty_in_prod_only_and_warnings_never_page(synthesized, configs, env):
    pagerduty = channel_refs(synthesized, env, "pagerduty")
    slack, email = channel_refs(synthesized, env, "slack"), channel_refs(synthesized, env, "email")
    assert bool(pagerduty) == (configs[env].tier == "prod")
    for path, policy in policies(synthesized, env).items():
        routed = set(policy.get("notification_channels", []))
        if policy["severity"] == "CRITICAL":
            assert routed == pagerduty | slack | email, path
        else:
            assert routed == slack | email, path


# --- alert policies ------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVS)
def test_one_policy_per_cloud_monitoring_alert_and_burn_rate_pair(synthesized, env):
    expected = {f"alerts/{a.name}" for a in CLOUD_ALERTS if a.condition == "promql"}
    expected |= {f"slo/{a.name}" for a in burn_rate_alerts()} | {"api-uptime/policy"}
    assert set(policies(synthesized, env)) == expected


@pytest.mark.parametrize("env", ENVS)
def test_policies_use_promql_or_thresholds_never_mql_and_name_only_exported_metrics(synthesized, env):
    known = cloud_promql_names(metric.name for metric in LOG_METRICS)
    for path, policy in policies(synthesized, env).items():
        for condition in policy["conditions"]:
            assert "condition_monitoring_query_language" not in condition, path
            if "condition_prometheus_query_language" in condition:
                names = metric_names(condition["condition_prometheus_query_language"]["query"])
                assert names <= known, (path, names - known)
            else:
                assert "condition_threshold" in condition, path


@pytest.mark.parametrize("env", ENVS)
def test_thresholds_follow_the_environments_config(synthesized, configs, env):
    overrides = configs[env].observability.thresholds
    found = policies(synthesized, env)
    for alert in CLOUD_ALERTS:
        if alert.threshold is None or alert.condition != "promql":
            continue
        query = found[f"alerts/{alert.name}"]["conditions"][0]["condition_prometheus_query_language"]["query"]
        threshold = overrides.get(alert.name, alert.threshold)
        assert f"{threshold:g}" in re.findall(r"[0-9.]+", query), (alert.name, query)


def test_dev_tolerates_more_5xx_than_prod(synthesized, configs):
    def limit(env):
        query = policies(synthesized, env)["alerts/lb-5xx-ratio"]["conditions"][0]["condition_prometheus_query_language"]["query"]
        return float(query.rsplit(">", 1)[1])
    assert limit("dev") == configs["dev"].observability.thresholds["lb-5xx-ratio"] > limit("prod")


@pytest.mark.parametrize("env", ENVS)
def test_every_policy_documents_its_runbook_section(synthesized, env):
    for path, policy in policies(synthesized, env).items():
        assert re.search(r"/-/blob/[^/]+/docs/runbook\.md#[a-z0-9-]+$", policy["documentation"]["content"]), path
        assert policy["documentation"]["mime_type"] == "text/markdown"


@pytest.mark.parametrize("env", ENVS)
def test_log_based_metrics_exist_before_the_policies_that_read_them(synthesized, env):
    metrics = synthesized.resources(env, LAYER, "google_logging_metric")
    assert {body["name"] for body in metrics.values()} == {metric.name for metric in LOG_METRICS}
    for path, policy in policies(synthesized, env).items():
        query = json.dumps(policy["conditions"])
        for name in re.findall(r"logging_googleapis_com:user_([a-z0-9_]+)", query):
            (logical_id,) = [lid for lid, body in metrics.items() if body["name"] == name]
            assert f"google_logging_metric.{logical_id}" in policy["depends_on"], path


# --- SLOs ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVS)
def test_slos_follow_the_config_on_the_api_backend_of_the_load_balancer(synthesized, configs, env):
    slo_config = configs[env].observability.slo
    slos = {body["slo_id"]: body for body in synthesized.resources(env, LAYER, "google_monitoring_slo").values()}
    assert set(slos) == {slo.sli for slo in SLOS}
    assert slos["availability"]["goal"] == slo_config.availability_objective
    assert slos["latency"]["goal"] == slo_config.latency_objective
    assert {body["rolling_period_days"] for body in slos.values()} == {slo_config.window_days}
    ratio = slos["availability"]["request_based_sli"]["good_total_ratio"]
    assert 'response_code_class="500"' in ratio["bad_service_filter"]
    cut = slos["latency"]["request_based_sli"]["distribution_cut"]
    assert cut["range"]["max"] == slo_config.latency_threshold_ms
    for text in (ratio["total_service_filter"], cut["distribution_filter"]):
        assert "-apps-api-server-8080-" in text and 'resource.type="https_lb_rule"' in text


@pytest.mark.parametrize("env", ENVS)
def test_burn_rate_policies_fire_when_both_windows_exceed_the_derived_rate(synthesized, configs, env):
    days = configs[env].observability.slo.window_days
    found = policies(synthesized, env)
    for alert in burn_rate_alerts():
        policy = found[f"slo/{alert.name}"]
        assert policy["combiner"] == "AND"
        long, short = (c["condition_threshold"] for c in policy["conditions"])
        assert long["threshold_value"] == short["threshold_value"] == alert.window.burn_rate(days)
        assert long["filter"].endswith(f'"{int(alert.window.long_hours * 3600)}s")')
        assert short["filter"].endswith(f'"{alert.window.short_minutes * 60}s")')
        assert policy["severity"] == {"critical": "CRITICAL", "warning": "WARNING"}[alert.severity]
    assert [window.burn_rate(30) for window in BURN_RATE_WINDOWS] == [14.4, 6.0, 1.0]


# --- uptime and dashboards -----------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVS)
def test_the_public_api_is_probed_over_validated_https_and_alerts_every_critical_channel(synthesized, configs, env):
    (check,) = synthesized.resources(env, LAYER, "google_monitoring_uptime_check_config").values()
    assert check["monitored_resource"]["labels"]["host"] == f"api.{configs[env].domain}"
    assert check["http_check"]["use_ssl"] is True and check["http_check"]["validate_ssl"] is True
    policy = policies(synthesized, env)["api-uptime/policy"]
    (check_id,) = synthesized.resources(env, LAYER, "google_monitoring_uptime_check_config")
    assert check_id in policy["conditions"][0]["condition_threshold"]["filter"]
    expected = {ref for kind in ("pagerduty", "slack", "email") for ref in channel_refs(synthesized, env, kind)}
    assert set(policy["notification_channels"]) == expected


@pytest.mark.parametrize("env", ENVS)
def test_one_dashboard_per_reviewed_file_named_for_the_environment(synthesized, env):
    dashboards = {
        body["//"]["metadata"]["path"].rsplit("/", 1)[1]: json.loads(body["dashboard_json"])
        for body in synthesized.resources(env, LAYER, "google_monitoring_dashboard").values()
    }
    assert set(dashboards) == set(CLOUD_DASHBOARDS)
    assert all(d["displayName"].startswith(f"{env}: ") for d in dashboards.values())


# --- log sinks -----------------------------------------------------------------------------------------


def sink(synthesized, env, name):
    return synthesized.by_path(env, LAYER, "google_logging_project_sink", f"logs/{name}")


@pytest.mark.parametrize("env", ENVS)
def test_each_sink_writer_may_only_write_its_own_destination(synthesized, env):
    writers = {name: f"${{google_logging_project_sink.{lid}.writer_identity}}"
               for lid, body in synthesized.resources(env, LAYER, "google_logging_project_sink").items()
               for name in [body["//"]["metadata"]["path"].rsplit("/", 1)[1]]}
    bucket_grants = list(synthesized.resources(env, LAYER, "google_storage_bucket_iam_member").values())
    dataset_grants = list(synthesized.resources(env, LAYER, "google_bigquery_dataset_iam_member").values())
    assert [(g["role"], g["member"]) for g in bucket_grants] == [("roles/storage.objectCreator", writers["archive-sink"])]
    assert [(g["role"], g["member"]) for g in dataset_grants] == [("roles/bigquery.dataEditor", writers["analytics-sink"])]
    (bucket_id,) = synthesized.resources(env, LAYER, "google_storage_bucket")
    (dataset_id,) = synthesized.resources(env, LAYER, "google_bigquery_dataset")
    assert bucket_grants[0]["bucket"] == f"${{google_storage_bucket.{bucket_id}.name}}"
    assert dataset_grants[0]["dataset_id"] == f"${{google_bigquery_dataset.{dataset_id}.dataset_id}}"
    project_grants = [t for _, t, _, _ in synthesized.all_resources(LAYER) if t.startswith("google_project_iam")]
    assert not project_grants
    for stack in synthesized.stacks.values():
        for type_, items in stack.get("resource", {}).items():
            if type_.startswith("google_project_iam"):
                assert not any("writer_identity" in json.dumps(body) for body in items.values())


@pytest.mark.parametrize("env", ENVS)
def test_the_audit_logs_bootstrap_enables_reach_the_retention_locked_archive(synthesized, configs, env):
    archive_config = configs[env].observability.log_archive
    archive = sink(synthesized, env, "archive-sink")
    assert archive["filter"] == 'logName:"/logs/cloudaudit.googleapis.com%2F"'
    assert "exclusions" not in archive and archive["unique_writer_identity"] is True
    audit = synthesized.by_path(env, "bootstrap", "google_project_iam_audit_config", "storage-audit")
    assert audit["service"] == "allServices"
    ((bucket_id, bucket),) = synthesized.resources(env, LAYER, "google_storage_bucket").items()
    assert archive["destination"] == f"storage.googleapis.com/${{google_storage_bucket.{bucket_id}.name}}"
    assert bucket["retention_policy"] == {
        "retention_period": archive_config.retention_days * 86400, "is_locked": archive_config.locked,
    }
    assert bucket["retention_policy"]["is_locked"] is (configs[env].tier == "prod")
    transitions = [(r["action"].get("storage_class"), r["condition"]["age"]) for r in bucket["lifecycle_rule"]]
    assert transitions == [("NEARLINE", archive_config.nearline_after_days), ("ARCHIVE", archive_config.archive_after_days),
                           (None, archive_config.retention_days)]
    assert bucket["uniform_bucket_level_access"] is True and bucket["public_access_prevention"] == "enforced"
    assert "kms_logs" in bucket["encryption"]["default_kms_key_name"]


@pytest.mark.parametrize("env", ENVS)
def test_platform_logs_land_in_partitioned_bigquery_tables_that_expire_per_config(synthesized, configs, env):
    analytics = sink(synthesized, env, "analytics-sink")
    assert analytics["bigquery_options"] == {"use_partitioned_tables": True}
    (dataset,) = synthesized.resources(env, LAYER, "google_bigquery_dataset").values()
    assert dataset["default_partition_expiration_ms"] == configs[env].observability.log_analytics.retention_days * 86400 * 1000
    assert "kms_logs" in dataset["default_encryption_configuration"]["kms_key_name"]
    assert dataset["delete_contents_on_destroy"] is False


@pytest.mark.parametrize("env", ENVS)
def test_noisy_logs_are_excluded_from_analytics_and_default_but_never_from_the_archive(synthesized, env):
    from constructs_lib.log_sinks import NOISY_LOGS

    expected = {(e.name, e.filter) for e in NOISY_LOGS}
    analytics = sink(synthesized, env, "analytics-sink")
    assert {(e["name"], e["filter"]) for e in analytics["exclusions"]} == expected
    project = synthesized.resources(env, LAYER, "google_logging_project_exclusion").values()
    assert {(e["name"], e["filter"]) for e in project} == expected
    assert "exclusions" not in sink(synthesized, env, "archive-sink")
