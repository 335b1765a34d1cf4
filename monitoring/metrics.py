"""The metrics alerts and dashboards may name: a curated list of what GCP or the platform exports.

A name outside this list is a typo or a metric nothing produces; tests/monitoring/ parses every query
and fails on such a name. Two namespaces:

* `GCP_METRICS`: Cloud Monitoring metric types (GKE system metrics, Cloud SQL, load balancing, Cloud
  Armor, uptime checks). In PromQL over Cloud Monitoring (Managed Prometheus' query API) a type is
  written `<domain with _>:<path with _>`, e.g. `kubernetes.io/container/restart_count` →
  `kubernetes_io:container_restart_count`; distributions add `_bucket`, `_count`, `_sum`.
  The platform's own log-based metrics (`logging.googleapis.com/user/<name>`) come from `LOG_METRICS` in
  monitoring/alerts.py and are added by `cloud_metric_types()`.
* `PROMETHEUS_METRICS`: what the in-cluster Prometheus scrapes: the reference services
  (services/README.md, checked by a test), kube-state-metrics and the Temporal server.
"""
from __future__ import annotations

from typing import Iterable, Mapping

# metric type → kind: "gauge", "counter" (DELTA/CUMULATIVE) or "distribution".
GCP_METRICS: Mapping[str, str] = {
    "kubernetes.io/container/cpu/core_usage_time": "counter",
    "kubernetes.io/container/cpu/limit_utilization": "gauge",
    "kubernetes.io/container/memory/limit_utilization": "gauge",
    "kubernetes.io/container/memory/used_bytes": "gauge",
    "kubernetes.io/container/restart_count": "counter",
    "kubernetes.io/container/accelerator/duty_cycle": "gauge",
    "kubernetes.io/container/accelerator/memory_used": "gauge",
    "kubernetes.io/container/accelerator/memory_total": "gauge",
    "kubernetes.io/node/cpu/allocatable_utilization": "gauge",
    "kubernetes.io/node/memory/allocatable_utilization": "gauge",
    "kubernetes.io/node/cpu/allocatable_cores": "gauge",
    "kubernetes.io/pod/volume/utilization": "gauge",
    "cloudsql.googleapis.com/database/cpu/utilization": "gauge",
    "cloudsql.googleapis.com/database/memory/utilization": "gauge",
    "cloudsql.googleapis.com/database/disk/utilization": "gauge",
    "cloudsql.googleapis.com/database/postgresql/num_backends": "gauge",
    "cloudsql.googleapis.com/database/up": "gauge",
    "cloudsql.googleapis.com/database/available_for_failover": "gauge",
    "cloudsql.googleapis.com/database/replication/replica_lag": "gauge",
    "loadbalancing.googleapis.com/https/request_count": "counter",
    "loadbalancing.googleapis.com/https/total_latencies": "distribution",
    "networksecurity.googleapis.com/https/request_count": "counter",
    "monitoring.googleapis.com/uptime_check/check_passed": "gauge",
    "monitoring.googleapis.com/uptime_check/time_until_ssl_cert_expires": "gauge",
}

# Reference services (services/README.md), kube-state-metrics and the Temporal server (metric_defs.go;
# timers are histograms in seconds).
PROMETHEUS_METRICS: frozenset[str] = frozenset({
    "http_requests_total",
    "http_request_duration_seconds_bucket",
    "http_requests_in_flight",
    "service_ready",
    "ai_server_inflight_requests",
    "ai_server_inference_duration_seconds_bucket",
    "ai_server_gpu_available",
    "backend_state_write_errors_total",
    "temporal_worker_tasks_total",
    "temporal_worker_source_connected",
    "kube_node_status_condition",
    "kube_pod_container_status_restarts_total",
    "workflow_success",
    "workflow_failed",
    "approximate_backlog_count",
    "task_schedule_to_start_latency_bucket",
})
SERVICE_METRIC_PREFIXES = ("http_", "service_", "ai_server_", "backend_", "temporal_worker_")
"""Names with these prefixes come from the reference services and must be listed in services/README.md."""

_DISTRIBUTION_SUFFIXES = ("_bucket", "_count", "_sum")


def promql_name(metric_type: str) -> str:
    """`kubernetes.io/container/restart_count` → `kubernetes_io:container_restart_count`."""
    domain, _, path = metric_type.partition("/")
    return f"{domain.replace('.', '_')}:{path.replace('/', '_').replace('.', '_')}"


def log_metric_type(name: str) -> str:
    return f"logging.googleapis.com/user/{name}"


def cloud_metric_types(log_metric_names: Iterable[str]) -> dict[str, str]:
    """Every Cloud Monitoring metric type the platform may name → kind, its log-based metrics included."""
    return {**GCP_METRICS, **{log_metric_type(name): "counter" for name in log_metric_names}}


def cloud_promql_names(log_metric_names: Iterable[str]) -> frozenset[str]:
    """The PromQL names of `cloud_metric_types`, distributions with their series suffixes."""
    names: set[str] = set()
    for metric_type, kind in cloud_metric_types(log_metric_names).items():
        name = promql_name(metric_type)
        names.update((name + suffix for suffix in _DISTRIBUTION_SUFFIXES) if kind == "distribution" else (name,))
    return frozenset(names)
