"""The Cloud Monitoring dashboards: reviewed JSON files in `cloud/` (the Dashboard API's own format), each
with its purpose here. CDK-free; the observability stack renders each into a `google_monitoring_dashboard`.

Every query is PromQL over Cloud Monitoring's metrics (GCP services, GKE system metrics, the platform's
log-based metrics): those exist without the in-cluster Prometheus, so these dashboards still work when the
cluster's own monitoring does not. The services' and Temporal's own metrics are in the Grafana dashboards.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

CLOUD_DIR = Path(__file__).resolve().parent / "cloud"

CLOUD_DASHBOARDS: dict[str, str] = {
    "platform-overview": "First stop in an incident: edge request rate, p50/p95/p99 latency and 5xx ratio, "
    "CPU, memory and restarts by workload, node count, error logs by component.",
    "cloud-sql": "The PostgreSQL instance: CPU, memory, disk, connections against max_connections, "
    "availability, failover readiness, replica lag, configuration changes.",
    "temporal": "Temporal from the outside: server and worker resources and restarts, failed activities, "
    "worker errors talking to Temporal, database connections. Workflow-level metrics: Grafana.",
    "ai-gpu": "The AI server on GPU nodes: GPU duty cycle and memory, CPU, memory, restarts, error logs.",
    "cloud-armor": "The edge's protection: allowed and blocked requests by policy, blocked share, 4xx by "
    "code (429 rate limit, 403 WAF), firewall changes.",
}


def cloud_dashboards() -> Iterator[tuple[str, dict]]:
    """(name, dashboard JSON) for every file in cloud/, in name order. A file without a purpose above, or
    a purpose without a file, is an error: both are reviewed together."""
    files = {path.stem: path for path in sorted(CLOUD_DIR.glob("*.json"))}
    if set(files) != set(CLOUD_DASHBOARDS):
        raise ValueError(
            f"monitoring/dashboards/cloud: files {sorted(files)} and CLOUD_DASHBOARDS {sorted(CLOUD_DASHBOARDS)} "
            "must name the same dashboards; add the file or its purpose"
        )
    for name, path in files.items():
        try:
            yield name, json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}: not valid JSON: {error}") from None


def queries(dashboard: dict) -> Iterator[str]:
    """Every PromQL query and monitoring filter of a dashboard's widgets."""
    def walk(node) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("prometheusQuery", "filter") and isinstance(value, str):
                    yield value
                else:
                    yield from walk(value)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item)

    return walk(dashboard)
