"""The delivery addresses the Prometheus and Grafana the observability layer installs: the KEDA Prometheus
trigger, the canary verify check and the Skaffold dev port-forward use the Services the real chart renders
with the release's values (names follow the release name), and the overlays define no monitor of their own."""
from __future__ import annotations

import re

import pytest

from k8s import render as k8s_render
from tests.k8s.monitoring import render_release

REPO_ROOT = k8s_render.REPO_ROOT
MONITORING_KINDS = ("ServiceMonitor", "PodMonitor", "PrometheusRule")


@pytest.fixture(scope="module")
def release_objects(synthesized, third_party_dir):
    return render_release(synthesized, "prod", third_party_dir)


def _service(objects, app: str) -> dict:
    (service,) = [o for o in objects if o["kind"] == "Service" and o["spec"].get("selector", {}).get("app.kubernetes.io/name") == app]
    return service


def _url(service: dict) -> str:
    (port,) = [p["port"] for p in service["spec"]["ports"] if p["name"] == "http-web"]
    return f"http://{service['metadata']['name']}.{service['metadata']['namespace']}.svc.cluster.local:{port}"


@pytest.mark.parametrize("overlay", k8s_render.ALL_OVERLAYS)
def test_overlays_define_no_monitor_or_rule(rendered, overlay):
    # One definition per target: the release carries every monitor and rule (its CRDs arrive with it).
    found = [f"{o['kind']}/{o['metadata']['name']}" for kind in MONITORING_KINDS for o in rendered[overlay].of_kind(kind)]
    assert not found, f"{overlay} defines {found}; add them to helm_values/kube-prometheus-stack/values.yaml instead"


@pytest.mark.parametrize("overlay", k8s_render.ALL_OVERLAYS)
def test_keda_prometheus_triggers_query_the_release_prometheus(rendered, release_objects, overlay):
    url = _url(_service(release_objects, "prometheus"))
    triggers = [t for so in rendered[overlay].of_kind("ScaledObject") for t in so["spec"]["triggers"] if t["type"] == "prometheus"]
    for trigger in triggers:
        assert trigger["metadata"]["serverAddress"] == url


def test_some_overlay_scales_on_prometheus(rendered):
    assert any(t["type"] == "prometheus" for so in rendered["prod"].of_kind("ScaledObject") for t in so["spec"]["triggers"])


def test_the_canary_check_queries_the_release_prometheus(release_objects):
    script = (REPO_ROOT / "k8s" / "components" / "api-canary" / "canary-check.sh").read_text(encoding="utf-8")
    (default,) = re.findall(r'PROMETHEUS_URL="\$\{PROMETHEUS_URL:-([^}]+)\}"', script)
    assert default == _url(_service(release_objects, "prometheus"))


def test_the_dev_port_forward_reaches_the_release_grafana(skaffold_config, release_objects):
    (dev,) = [p for p in skaffold_config["profiles"] if p["name"] == "dev"]
    grafana = _service(release_objects, "grafana")
    forwards = [f for f in dev["portForward"] if f["resourceName"] == grafana["metadata"]["name"]]
    assert len(forwards) == 1, "the dev profile forwards Grafana once"
    (forward,) = forwards
    assert forward["resourceType"] == "service" and forward["namespace"] == grafana["metadata"]["namespace"]
    assert forward["port"] in [p["port"] for p in grafana["spec"]["ports"]]
    assert forward["localPort"] == 3000
