"""Observability layer, as policies."""
from __future__ import annotations

import pytest

from tests.conftest import ENVIRONMENTS as ENVS


@pytest.mark.parametrize("env", ENVS)
def test_every_configured_email_gets_a_channel(synthesized, configs, env):
    channels = synthesized.resources(env, "observability", "google_monitoring_notification_channel").values()
    assert sorted(c["labels"]["email_address"] for c in channels) == sorted(configs[env].notifications.emails)
    assert all(c["type"] == "email" for c in channels)


@pytest.mark.parametrize("env", ENVS)
def test_no_notification_secret_is_synthesized(synthesized, env):
    for channel in synthesized.resources(env, "observability", "google_monitoring_notification_channel").values():
        assert "sensitive_labels" not in channel


@pytest.mark.parametrize("env", ENVS)
def test_the_public_api_is_probed_over_validated_https_and_alerts_every_channel(synthesized, configs, env):
    (check,) = synthesized.resources(env, "observability", "google_monitoring_uptime_check_config").values()
    assert check["monitored_resource"]["labels"]["host"] == f"api.{configs[env].domain}"
    assert check["http_check"]["use_ssl"] is True and check["http_check"]["validate_ssl"] is True
    (policy,) = synthesized.resources(env, "observability", "google_monitoring_alert_policy").values()
    (check_id,) = synthesized.resources(env, "observability", "google_monitoring_uptime_check_config")
    assert check_id in policy["conditions"][0]["condition_threshold"]["filter"]
    channel_ids = synthesized.resources(env, "observability", "google_monitoring_notification_channel")
    assert sorted(policy["notification_channels"]) == sorted(
        f"${{google_monitoring_notification_channel.{cid}.id}}" for cid in channel_ids
    )
