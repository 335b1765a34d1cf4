"""Who collects what: every metrics source of the platform and its one collector, as data.

Two collectors exist. GKE (cluster `monitoring_config`, constructs_lib/gke_cluster.py) writes its system
metrics and the Google-managed control plane into Cloud Monitoring, where the `cloud_monitoring` alerts and
the Cloud Monitoring dashboards read them. The in-cluster Prometheus of kube-prometheus-stack (observability
layer, helm_values/kube-prometheus-stack/) scrapes everything that runs in the cluster, for the `prometheus`
alerts, the Grafana dashboards, the KEDA trigger and the canary check. Managed Prometheus' managed collection
is on but has no PodMonitoring of ours, so it scrapes nothing twice.

tests/monitoring/test_collectors.py holds this table to the values file (every monitor and chart scrape
listed, nothing else) and to the GKE components; scripts/observability_docs.py writes it into
docs/observability.md. CDK-free.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Collector = Literal["gke", "prometheus"]
How = Literal["gke-component", "ServiceMonitor", "PodMonitor", "chart"]


@dataclass(frozen=True, kw_only=True)
class Source:
    what: str
    collector: Collector
    how: How
    ref: str
    """The GKE monitoring component, the monitor's name in the release values, or the chart's values key."""
    why: str


SOURCES: tuple[Source, ...] = (
    Source(what="GKE system metrics (kubernetes.io/*: container, pod, node, volume)", collector="gke",
           how="gke-component", ref="SYSTEM_COMPONENTS", why="Cloud Monitoring alerts still fire when the cluster's own monitoring is down"),
    Source(what="kube-apiserver", collector="gke", how="gke-component", ref="APISERVER",
           why="the control plane is Google-managed; no pod can scrape it"),
    Source(what="kube-scheduler", collector="gke", how="gke-component", ref="SCHEDULER",
           why="the control plane is Google-managed; no pod can scrape it"),
    Source(what="kube-controller-manager", collector="gke", how="gke-component", ref="CONTROLLER_MANAGER",
           why="the control plane is Google-managed; no pod can scrape it"),
    Source(what="api-server (stable and canary Services; apps and preview namespaces)", collector="prometheus",
           how="ServiceMonitor", ref="api-server", why="request metrics for the canary check, alerts and Grafana"),
    Source(what="ai-server", collector="prometheus", how="ServiceMonitor", ref="ai-server",
           why="in-flight gauge for the KEDA trigger (every 15 s), inference latency"),
    Source(what="backend (ClusterIP Service only, not the headless one)", collector="prometheus",
           how="ServiceMonitor", ref="backend", why="state writes and persistence errors"),
    Source(what="Temporal worker pools (per pod: they have no Service)", collector="prometheus",
           how="PodMonitor", ref="temporal-worker", why="task outcomes and connection state"),
    Source(what="Temporal server (frontend, history, matching, worker)", collector="prometheus",
           how="ServiceMonitor", ref="temporal", why="workflow failures, task-queue backlog, schedule-to-start latency"),
    Source(what="InfluxDB", collector="prometheus", how="ServiceMonitor", ref="influxdb",
           why="query and write health of the time-series store"),
    Source(what="KEDA operator", collector="prometheus", how="ServiceMonitor", ref="keda-operator",
           why="scaler errors: an autoscaler that cannot read its signal"),
    Source(what="kube-state-metrics (object state: node conditions, restarts, replicas)", collector="prometheus",
           how="chart", ref="kubeStateMetrics", why="node-not-ready and crash-loop alerts; GKE's packages are off"),
    Source(what="kubelet and cAdvisor (container CPU/memory)", collector="prometheus", how="chart", ref="kubelet",
           why="CPU/memory by workload in Grafana; GKE's KUBELET/CADVISOR packages are off"),
    Source(what="node-exporter (namespace node-exporter)", collector="prometheus", how="chart", ref="nodeExporter",
           why="node disk, memory and load beyond GKE's system metrics"),
    Source(what="Prometheus, Alertmanager, Grafana and the operator themselves", collector="prometheus", how="chart",
           ref="selfMonitor", why="a silent monitoring stack is the worst failure"),
)

NOT_SCRAPED: dict[str, str] = {
    "kubeEtcd": "etcd is part of the Google-managed control plane",
    "kubeProxy": "kube-proxy is a GKE-managed system component (GKE's system metrics cover node networking)",
    "kubeDns": "kube-dns is a GKE-managed system component",
    "coreDns": "GKE runs kube-dns, not CoreDNS",
    "kubeApiServer": "collected by GKE (APISERVER); a second scrape would duplicate it",
    "kubeControllerManager": "collected by GKE (CONTROLLER_MANAGER); not reachable from pods",
    "kubeScheduler": "collected by GKE (SCHEDULER); not reachable from pods",
}
"""kube-prometheus-stack values keys of scrapes the release leaves off, with the reason."""
