"""Every metrics source has exactly one collector, and the table that says so (monitoring/collectors.py) is
the configuration: the release's monitors and chart scrapes, and GKE's monitoring components."""
from __future__ import annotations

import pytest

from constructs_lib.gke_cluster import MONITORING_COMPONENTS
from monitoring.collectors import NOT_SCRAPED, SOURCES
from stacks.in_cluster_monitoring import VALUES_DIR
from tests.stacks.test_data import load

VALUES = load(VALUES_DIR / "values.yaml")
# GKE packages that would collect what the in-cluster Prometheus already scrapes.
GKE_DUPLICATES = {
    "KUBELET": "kubelet", "CADVISOR": "kubelet",
    **{package: "kubeStateMetrics" for package in ("POD", "DEPLOYMENT", "STATEFULSET", "DAEMONSET", "HPA", "STORAGE", "JOBSET")},
}
SELF_MONITORS = (
    ("prometheus", "serviceMonitor", "selfMonitor"),
    ("alertmanager", "serviceMonitor", "selfMonitor"),
    ("prometheusOperator", "serviceMonitor", "selfMonitor"),
    ("grafana", "serviceMonitor", "enabled"),
)


def _refs(how: str) -> list[str]:
    return [source.ref for source in SOURCES if source.how == how]


def test_gke_collects_exactly_the_components_the_table_gives_it():
    assert sorted(_refs("gke-component")) == sorted(MONITORING_COMPONENTS)
    assert all(s.collector == "gke" for s in SOURCES if s.how == "gke-component")


@pytest.mark.parametrize("how, key", [("ServiceMonitor", "additionalServiceMonitors"), ("PodMonitor", "additionalPodMonitors")])
def test_every_monitor_of_the_release_is_in_the_table_and_nothing_else(how, key):
    names = [monitor["name"] for monitor in VALUES["prometheus"][key]]
    assert len(names) == len(set(names))
    assert sorted(_refs(how)) == sorted(names)


def test_every_chart_scrape_the_table_lists_is_on():
    for ref in _refs("chart"):
        if ref == "selfMonitor":
            continue
        assert VALUES[ref]["enabled"] is True, f"{ref} is listed as scraped but disabled in the values"


def test_the_stack_monitors_itself(third_party_dir):
    upstream = load(third_party_dir / "charts" / "kube-prometheus-stack-88.5.3" / "values.yaml")
    for path in SELF_MONITORS:
        value, default = VALUES, upstream
        for key in path:
            value, default = (value or {}).get(key), (default or {}).get(key)
        assert (default if value is None else value) is True, ".".join(path)


def test_every_scrape_left_off_is_off_with_a_reason():
    for key, reason in NOT_SCRAPED.items():
        assert VALUES[key]["enabled"] is False, f"{key}: listed as not scraped but enabled"
        assert len(reason) > 20
    # And the other way round: a component scrape switched off in the values needs its reason here.
    off = {key for key, value in VALUES.items() if isinstance(value, dict) and value.get("enabled") is False}
    assert {key for key in off if key.startswith("kube") or key == "coreDns"} == set(NOT_SCRAPED)


def test_no_gke_package_collects_what_prometheus_scrapes():
    doubled = {package: ref for package, ref in GKE_DUPLICATES.items() if package in MONITORING_COMPONENTS and ref in _refs("chart")}
    assert not doubled, f"collected by GKE and scraped in-cluster: {doubled}"
    for ref in set(GKE_DUPLICATES.values()):
        assert ref in _refs("chart")
