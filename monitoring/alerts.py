"""Every alert of the platform, as data. CDK-free: the observability stack renders the `cloud_monitoring`
ones into `google_monitoring_alert_policy` (constructs_lib/alert_policies.py), the in-cluster Prometheus
loads the `prometheus` ones through `prometheus_rule_groups()`, and scripts/observability_docs.py writes
docs/observability.md and the per-alert sections of docs/runbook.md from the same rows.

Which backend evaluates what: GCP services and GKE system metrics (which Cloud Monitoring collects
without any in-cluster agent, so they still alert when the cluster's own monitoring is down) are
evaluated by Cloud Monitoring; signals only the in-cluster Prometheus scrapes (kube-state-metrics, the
Temporal server, the services' /metrics) by Prometheus.

A query is PromQL (Cloud Monitoring evaluates PromQL over its own metrics; MQL is deprecated). `{threshold}`
in it is replaced by the environment's threshold: the default here, or `observability.thresholds.<name>`
in config. Other placeholders (`{max_connections}`) are facts of the environment the stack supplies.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Iterable, Literal, Mapping

Severity = Literal["critical", "warning", "info"]
Backend = Literal["cloud_monitoring", "prometheus"]
ChannelKind = Literal["pagerduty", "slack", "email"]
SEVERITIES: tuple[Severity, ...] = ("critical", "warning", "info")

# Who hears about an alert of each severity. PagerDuty exists in prod only (the config refuses it
# elsewhere), so outside prod a critical alert reaches Slack and e-mail: dev and staging never page.
ROUTES: Mapping[Severity, tuple[ChannelKind, ...]] = {
    "critical": ("pagerduty", "slack", "email"),
    "warning": ("slack", "email"),
    "info": ("email",),
}
RUNBOOK = "docs/runbook.md"
_NAME = re.compile(r"^[a-z][a-z0-9-]{2,50}[a-z0-9]$")
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
CONTEXT_PLACEHOLDERS = frozenset({"max_connections"})


@dataclass(frozen=True, kw_only=True)
class Alert:
    name: str
    """Stable id: construct id of the policy, Prometheus alert name (CamelCase) and runbook anchor. Renaming
    one moves Terraform state and breaks links."""
    title: str
    signal: str
    """What is measured, for people reading docs/observability.md."""
    backend: Backend
    query: str
    """PromQL that returns a series while the alert condition holds; empty for an uptime check."""
    threshold: float | None
    """Default threshold substituted for `{threshold}`; None when the query has none."""
    unit: str
    for_seconds: int
    """How long the condition must hold before the alert fires."""
    severity: Severity
    meaning: str
    """What is wrong when it fires (the policy's documentation and the runbook's first line)."""
    actions: tuple[str, ...]
    """First steps of the runbook section."""
    condition: Literal["promql", "uptime_check"] = "promql"
    """`uptime_check`: the failing HTTPS check of the public API (constructs_lib/uptime_alert.py) instead of a
    query. Default: promql."""

    @property
    def anchor(self) -> str:
        return self.name

    @property
    def runbook_link(self) -> str:
        return f"{RUNBOOK}#{self.anchor}"

    @property
    def rule_name(self) -> str:
        """`temporal-backlog` → `TemporalBacklog`, the Prometheus alert name."""
        return "".join(part.capitalize() for part in self.name.split("-"))

    def render(self, threshold: float | None, context: Mapping[str, object] = {}) -> str:
        values = {**context, "threshold": _number(threshold)}
        missing = sorted(set(_PLACEHOLDER.findall(self.query)) - set(values))
        if missing:
            raise ValueError(f"alert {self.name}: no value for {{{missing[0]}}} in its query")
        return _PLACEHOLDER.sub(lambda match: str(values[match.group(1)]), self.query)


@dataclass(frozen=True, kw_only=True)
class LogMetric:
    """A log-based counter (`logging.googleapis.com/user/<name>`), labelled by the log field it extracts."""

    name: str
    description: str
    filter: str
    labels: Mapping[str, str]
    """Metric label → extractor expression (`EXTRACT(jsonPayload.service)`)."""


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


# --- log-based metrics ---------------------------------------------------------------------------------

# The services log one JSON object per line with `severity` and `service` (services/README.md), which GKE's
# agent turns into `severity` and `jsonPayload.service`.
_SERVICE_ERRORS = 'resource.type="k8s_container" AND severity>=ERROR AND jsonPayload.service:*'
APP_LOG_METRICS: tuple[LogMetric, ...] = (
    LogMetric(
        name="service_error_logs",
        description="Log lines at ERROR or above from the platform's services, by component",
        filter=_SERVICE_ERRORS,
        labels={"component": "EXTRACT(jsonPayload.service)"},
    ),
    LogMetric(
        name="business_task_failures",
        description="Temporal activities that failed in the worker (business failures), by task type",
        filter=f'{_SERVICE_ERRORS} AND jsonPayload.message="task failed"',
        labels={"task_type": "EXTRACT(jsonPayload.task_type)"},
    ),
    LogMetric(
        name="integration_failures",
        description="Errors talking to Temporal (lost connection, outcome not reported, worker stopped), by component",
        filter=f'{_SERVICE_ERRORS} AND jsonPayload.service="temporal-worker" AND NOT jsonPayload.message="task failed"',
        labels={"component": "EXTRACT(jsonPayload.service)"},
    ),
)

# CIS Google Cloud Platform Foundation Benchmark 2.4-2.11: a log metric and an alert for each change that
# must never go unnoticed. Filters as the benchmark gives them.
CIS_LOG_METRICS: tuple[tuple[str, str, LogMetric], ...] = (
    ("2.4", "Project ownership assignments or changes", LogMetric(
        name="cis_project_ownership_changes",
        description="CIS 2.4: project ownership assignments and changes",
        filter='(protoPayload.serviceName="cloudresourcemanager.googleapis.com") AND (ProjectOwnership OR '
        'projectOwnerInvitee) OR (protoPayload.serviceData.policyDelta.bindingDeltas.action="REMOVE" AND '
        'protoPayload.serviceData.policyDelta.bindingDeltas.role="roles/owner") OR '
        '(protoPayload.serviceData.policyDelta.bindingDeltas.action="ADD" AND '
        'protoPayload.serviceData.policyDelta.bindingDeltas.role="roles/owner")',
        labels={},
    )),
    ("2.5", "Audit configuration changes", LogMetric(
        name="cis_audit_config_changes",
        description="CIS 2.5: audit configuration changes",
        filter='protoPayload.methodName="SetIamPolicy" AND protoPayload.serviceData.policyDelta.auditConfigDeltas:*',
        labels={},
    )),
    ("2.6", "Custom role changes", LogMetric(
        name="cis_custom_role_changes",
        description="CIS 2.6: custom IAM role creation, deletion and updates",
        filter='resource.type="iam_role" AND (protoPayload.methodName="google.iam.admin.v1.CreateRole" OR '
        'protoPayload.methodName="google.iam.admin.v1.DeleteRole" OR '
        'protoPayload.methodName="google.iam.admin.v1.UpdateRole")',
        labels={},
    )),
    ("2.7", "VPC firewall rule changes", LogMetric(
        name="cis_firewall_changes",
        description="CIS 2.7: VPC firewall rule changes",
        filter='resource.type="gce_firewall_rule" AND (protoPayload.methodName:"compute.firewalls.patch" OR '
        'protoPayload.methodName:"compute.firewalls.insert" OR protoPayload.methodName:"compute.firewalls.delete")',
        labels={},
    )),
    ("2.8", "VPC route changes", LogMetric(
        name="cis_route_changes",
        description="CIS 2.8: VPC route changes",
        filter='resource.type="gce_route" AND (protoPayload.methodName:"compute.routes.delete" OR '
        'protoPayload.methodName:"compute.routes.insert")',
        labels={},
    )),
    ("2.9", "VPC network changes", LogMetric(
        name="cis_network_changes",
        description="CIS 2.9: VPC network changes",
        filter='resource.type="gce_network" AND (protoPayload.methodName:"compute.networks.insert" OR '
        'protoPayload.methodName:"compute.networks.patch" OR protoPayload.methodName:"compute.networks.delete" OR '
        'protoPayload.methodName:"compute.networks.removePeering" OR '
        'protoPayload.methodName:"compute.networks.addPeering")',
        labels={},
    )),
    ("2.10", "Cloud Storage IAM permission changes", LogMetric(
        name="cis_bucket_iam_changes",
        description="CIS 2.10: Cloud Storage IAM permission changes",
        filter='resource.type="gcs_bucket" AND protoPayload.methodName="storage.setIamPermissions"',
        labels={},
    )),
    ("2.11", "SQL instance configuration changes", LogMetric(
        name="cis_sql_config_changes",
        description="CIS 2.11: Cloud SQL instance configuration changes",
        filter='protoPayload.methodName="cloudsql.instances.update"',
        labels={},
    )),
)
LOG_METRICS: tuple[LogMetric, ...] = APP_LOG_METRICS + tuple(metric for _, _, metric in CIS_LOG_METRICS)


def _log_rate(metric: str, by: str = "") -> str:
    grouping = f" by ({by})" if by else ""
    return f"sum{grouping} (increase(logging_googleapis_com:user_{metric}[10m]))"


# --- alerts --------------------------------------------------------------------------------------------

_WORKLOADS = 'namespace_name!~"kube-system|kube-public|gke-.*|gmp-.*"'
_LB = "loadbalancing_googleapis_com:https_request_count"

ALERTS: tuple[Alert, ...] = (
    # --- cluster and workloads --------------------------------------------------------------------------
    Alert(
        name="node-not-ready", title="Node not ready", backend="prometheus", severity="critical",
        signal="kube-state-metrics: nodes whose Ready condition is not true",
        query='max by (node) (kube_node_status_condition{condition="Ready",status="true"}) < 1',
        threshold=None, unit="", for_seconds=600,
        meaning="A node has not been Ready for 10 minutes: its pods are being evicted or cannot start.",
        actions=("`kubectl describe node <node>`: conditions and events (disk, memory, PID pressure, kubelet).",
                 "Check GKE auto-repair and the node pool's upgrade operations in the console.",
                 "If only one node: cordon and drain it; the autoscaler replaces it."),
    ),
    Alert(
        name="pod-crash-looping", title="Pod crash-looping", backend="prometheus", severity="warning",
        signal="kube-state-metrics: container restarts per container over 15 minutes",
        query="max by (namespace, pod, container) (increase(kube_pod_container_status_restarts_total[15m])) > {threshold}",
        threshold=3, unit="restarts", for_seconds=300,
        meaning="A container restarted more than the threshold within 15 minutes.",
        actions=("`kubectl -n <namespace> logs <pod> -c <container> --previous`: why the last run exited.",
                 "`kubectl -n <namespace> describe pod <pod>`: OOMKilled, probe failures, image pull errors.",
                 "A bad rollout: `kubectl -n <namespace> rollout undo deployment/<name>`."),
    ),
    Alert(
        name="workload-cpu-saturation", title="Workload CPU saturated", backend="cloud_monitoring", severity="warning",
        signal="GKE system metric kubernetes.io/container/cpu/limit_utilization, by namespace and container",
        query=f"max by (namespace_name, container_name) (kubernetes_io:container_cpu_limit_utilization{{{_WORKLOADS}}}) > {{threshold}}",
        threshold=0.9, unit="ratio of the CPU limit", for_seconds=900,
        meaning="Containers of a workload use more than the threshold of their CPU limit: they are being throttled.",
        actions=("Compare with request rate: a traffic increase should have been absorbed by the HPA (check its max).",
                 "Raise the CPU limit/request in the workload's overlay if the load is legitimate."),
    ),
    Alert(
        name="workload-memory-saturation", title="Workload memory near limit", backend="cloud_monitoring", severity="warning",
        signal="GKE system metric kubernetes.io/container/memory/limit_utilization (non-evictable), by namespace and container",
        query=f'max by (namespace_name, container_name) (kubernetes_io:container_memory_limit_utilization{{{_WORKLOADS},memory_type="non-evictable"}}) > {{threshold}}',
        threshold=0.9, unit="ratio of the memory limit", for_seconds=600,
        meaning="Containers use more than the threshold of their memory limit: the next allocation may OOM-kill them.",
        actions=("Check for a leak: memory that only grows across the pod's lifetime (Cloud Monitoring, platform overview).",
                 "Raise the memory limit in the workload's overlay if the working set grew legitimately."),
    ),
    Alert(
        name="volume-filling-up", title="Volume filling up", backend="cloud_monitoring", severity="warning",
        signal="GKE system metric kubernetes.io/pod/volume/utilization, by namespace, pod and volume",
        query=f"max by (namespace_name, pod_name, volume_name) (kubernetes_io:pod_volume_utilization{{{_WORKLOADS}}}) > {{threshold}}",
        threshold=0.85, unit="ratio of the volume", for_seconds=600,
        meaning="A pod's volume (PVC) is fuller than the threshold; at 100% its writes fail.",
        actions=("Find what grows: `kubectl -n <namespace> exec <pod> -- du -sh <mount>/*`.",
                 "Expand the PVC (the storage class allows volume expansion) or lower the workload's retention."),
    ),
    # --- Cloud SQL ---------------------------------------------------------------------------------------
    Alert(
        name="cloudsql-cpu", title="Cloud SQL CPU high", backend="cloud_monitoring", severity="warning",
        signal="cloudsql.googleapis.com/database/cpu/utilization",
        query="max by (database_id) (cloudsql_googleapis_com:database_cpu_utilization) > {threshold}",
        threshold=0.8, unit="ratio", for_seconds=900,
        meaning="The database instance has used more than the threshold of its CPUs for 15 minutes.",
        actions=("Query Insights (Cloud SQL console): the statements using the CPU.",
                 "Temporal's load is the usual driver: check workflow and task-queue rates (Temporal dashboard).",
                 "Scale the tier (`cloud_sql.tier` in config) if the load is legitimate."),
    ),
    Alert(
        name="cloudsql-memory", title="Cloud SQL memory high", backend="cloud_monitoring", severity="warning",
        signal="cloudsql.googleapis.com/database/memory/utilization",
        query="max by (database_id) (cloudsql_googleapis_com:database_memory_utilization) > {threshold}",
        threshold=0.9, unit="ratio", for_seconds=900,
        meaning="The database instance uses more than the threshold of its memory; PostgreSQL may be OOM-restarted.",
        actions=("Count connections (each backend holds memory): see cloudsql-connections.",
                 "Scale the tier if the working set grew."),
    ),
    Alert(
        name="cloudsql-disk", title="Cloud SQL disk filling up", backend="cloud_monitoring", severity="warning",
        signal="cloudsql.googleapis.com/database/disk/utilization",
        query="max by (database_id) (cloudsql_googleapis_com:database_disk_utilization) > {threshold}",
        threshold=0.85, unit="ratio", for_seconds=600,
        meaning="The instance's disk is fuller than the threshold; automatic storage increase may have hit its limit.",
        actions=("Check the storage auto-increase limit of the instance.",
                 "Look for bloat or history retention growth in Temporal's database."),
    ),
    Alert(
        name="cloudsql-connections", title="Cloud SQL connections near max_connections", backend="cloud_monitoring",
        severity="warning",
        signal="cloudsql.googleapis.com/database/postgresql/num_backends against the instance's max_connections",
        query="sum by (database_id) (cloudsql_googleapis_com:database_postgresql_num_backends) > {threshold} * {max_connections}",
        threshold=0.8, unit="ratio of max_connections", for_seconds=300,
        meaning="Open connections exceed the threshold share of max_connections; new ones will soon be refused.",
        actions=("Which pools are connected: `SELECT usename, application_name, count(*) FROM pg_stat_activity GROUP BY 1, 2`.",
                 "A component scaled beyond its pool bounds: compare with `cloud_sql.connection_pools` (docs/data.md)."),
    ),
    Alert(
        name="cloudsql-down", title="Cloud SQL instance down", backend="cloud_monitoring", severity="critical",
        signal="cloudsql.googleapis.com/database/up",
        query="min by (database_id) (cloudsql_googleapis_com:database_up) < 1",
        threshold=None, unit="", for_seconds=300,
        meaning="The database instance has not been up for 5 minutes: Temporal and everything on it are down.",
        actions=("Cloud SQL console → Operations: a maintenance, failover or restart in progress?",
                 "Check the instance's error log for crash loops (disk full, OOM).",
                 "If a zonal outage hit a non-HA instance: restore or fail over following docs/data.md."),
    ),
    Alert(
        name="cloudsql-failover-unavailable", title="Cloud SQL cannot fail over", backend="cloud_monitoring",
        severity="warning",
        signal="cloudsql.googleapis.com/database/available_for_failover (HA instances only)",
        query="min by (database_id) (cloudsql_googleapis_com:database_available_for_failover) < 1",
        threshold=None, unit="", for_seconds=600,
        meaning="A high-availability instance's standby is not ready: a zone failure now would mean downtime.",
        actions=("Cloud SQL console → Operations: the standby may be rebuilding after a failover or maintenance.",
                 "Open a support case if it persists beyond an hour."),
    ),
    Alert(
        name="cloudsql-replication-lag", title="Cloud SQL replica lagging", backend="cloud_monitoring", severity="warning",
        signal="cloudsql.googleapis.com/database/replication/replica_lag",
        query="max by (database_id) (cloudsql_googleapis_com:database_replication_replica_lag) > {threshold}",
        threshold=60, unit="seconds", for_seconds=600,
        meaning="A replica is more than the threshold behind its primary; reads from it are stale.",
        actions=("Check the primary's write rate and the replica's CPU and disk I/O.",),
    ),
    # --- edge --------------------------------------------------------------------------------------------
    Alert(
        name="lb-5xx-ratio", title="Load balancer 5xx ratio high", backend="cloud_monitoring", severity="critical",
        signal="loadbalancing.googleapis.com/https/request_count, 5xx share of all responses",
        query=f'sum(rate({_LB}{{response_code_class="500"}}[5m])) / sum(rate({_LB}[5m])) > {{threshold}}',
        threshold=0.05, unit="ratio", for_seconds=300,
        meaning="More than the threshold share of the public edge's responses are 5xx.",
        actions=("Which backend: the platform overview dashboard splits 5xx by backend.",
                 "502s with no backend errors: pods not ready (NEG health) or a rollout; check `kubectl get pods -n apps`.",
                 "Roll back the last deployment if it correlates."),
    ),
    Alert(
        name="lb-latency", title="Load balancer p95 latency high", backend="cloud_monitoring", severity="warning",
        signal="loadbalancing.googleapis.com/https/total_latencies, p95",
        query="histogram_quantile(0.95, sum by (le) (rate(loadbalancing_googleapis_com:https_total_latencies_bucket[5m]))) > {threshold}",
        threshold=1000, unit="ms", for_seconds=600,
        meaning="The 95th percentile of end-to-end request latency at the edge exceeds the threshold.",
        actions=("Backend latency or client latency? Compare with the services' own http_request_duration_seconds in Grafana.",
                 "Check saturation alerts (CPU, in-flight) of the serving workloads."),
    ),
    Alert(
        name="armor-blocked-spike", title="Cloud Armor blocked-request spike", backend="cloud_monitoring",
        severity="warning",
        signal="networksecurity.googleapis.com/https/request_count with blocked=true, by policy",
        query='sum by (policy_name) (rate(networksecurity_googleapis_com:https_request_count{blocked="true"}[5m])) > {threshold}',
        threshold=5, unit="requests/s", for_seconds=300,
        meaning="Cloud Armor blocks more than the threshold requests per second: an attack, or a rule blocking real users.",
        actions=("Cloud Armor dashboard: which rule blocks (WAF, rate limit) and from where.",
                 "Real users blocked: add a reviewed exception or switch the rule to preview (config `security.waf`)."),
    ),
    Alert(
        name="certificate-expiry", title="Edge certificate expiring", backend="cloud_monitoring", severity="warning",
        signal="monitoring.googleapis.com/uptime_check/time_until_ssl_cert_expires",
        query="min by (host) (monitoring_googleapis_com:uptime_check_time_until_ssl_cert_expires) < {threshold}",
        threshold=14, unit="days", for_seconds=600,
        meaning="The certificate served on the API host expires within the threshold; managed renewal has failed.",
        actions=("Certificate Manager: the certificate's managed status and its DNS authorization.",
                 "A DNS change broke the authorization record: compare with the security layer's records."),
    ),
    Alert(
        name="api-uptime", title="API uptime check failing", backend="cloud_monitoring", severity="critical",
        signal="monitoring.googleapis.com/uptime_check/check_passed of the HTTPS check on api.<domain>/healthz",
        query="",
        threshold=None, unit="", for_seconds=180, condition="uptime_check",
        meaning="The public API has failed HTTPS uptime checks (with certificate validation) from more than one region.",
        actions=("Check the gateway, the backend services' readiness and Cloud Armor denials.",
                 "DNS and certificate: `curl -v https://api.<domain>/healthz`."),
    ),
    # --- Temporal ----------------------------------------------------------------------------------------
    Alert(
        name="temporal-workflow-failures", title="Temporal workflow failure rate high", backend="prometheus",
        severity="warning",
        signal="Temporal server workflow_failed / (workflow_success + workflow_failed), by namespace",
        query="sum by (namespace) (rate(workflow_failed[10m])) / (sum by (namespace) (rate(workflow_success[10m])) "
        "+ sum by (namespace) (rate(workflow_failed[10m]))) > {threshold}",
        threshold=0.05, unit="ratio", for_seconds=600,
        meaning="More than the threshold share of completed workflows failed over 10 minutes.",
        actions=("Temporal UI / `temporal workflow list --query 'ExecutionStatus=\"Failed\"'`: the failure reasons.",
                 "Activity failures underneath: business-task-failures and the worker logs."),
    ),
    Alert(
        name="temporal-task-backlog", title="Temporal task-queue backlog growing", backend="prometheus",
        severity="warning",
        signal="Temporal server approximate_backlog_count, by task queue",
        query="max by (namespace, taskqueue) (approximate_backlog_count) > {threshold}",
        threshold=1000, unit="tasks", for_seconds=900,
        meaning="A task queue holds more than the threshold waiting tasks: workers cannot keep up or are gone.",
        actions=("Are workers polling? `temporal task-queue describe --task-queue <queue>`.",
                 "Worker pods pending: the workers pool may be at max_nodes (config `cluster.node_pools.workers`)."),
    ),
    Alert(
        name="temporal-schedule-to-start", title="Temporal schedule-to-start latency high", backend="prometheus",
        severity="warning",
        signal="Temporal server task_schedule_to_start_latency, p95 by task queue",
        query="histogram_quantile(0.95, sum by (le, taskqueue) (rate(task_schedule_to_start_latency_bucket[10m]))) > {threshold}",
        threshold=30, unit="seconds", for_seconds=600,
        meaning="Tasks wait more than the threshold before a worker picks them up.",
        actions=("Same causes as temporal-task-backlog: too few workers or pollers for the load.",
                 "Raise the worker pool's replicas or WORKER_CONCURRENCY."),
    ),
    # --- AI server ---------------------------------------------------------------------------------------
    Alert(
        name="gpu-utilization-high", title="GPU utilization saturated", backend="cloud_monitoring", severity="warning",
        signal="GKE system metric kubernetes.io/container/accelerator/duty_cycle of the ai-server containers",
        query='avg by (pod_name) (kubernetes_io:container_accelerator_duty_cycle{namespace_name="apps",container_name="ai-server"}) > {threshold}',
        threshold=90, unit="percent", for_seconds=1800,
        meaning="The AI server's GPUs have been busier than the threshold for 30 minutes; latency will follow.",
        actions=("The HPA scales on in-flight requests: is it at maxReplicas? Is the GPU pool at max_nodes?",
                 "Raise `cluster.node_pools.gpu.max_nodes` if the load is legitimate."),
    ),
    Alert(
        name="gpu-memory-high", title="GPU memory nearly full", backend="cloud_monitoring", severity="warning",
        signal="GKE system metrics kubernetes.io/container/accelerator/memory_used / memory_total of the ai-server",
        query='max by (pod_name) (kubernetes_io:container_accelerator_memory_used{namespace_name="apps",container_name="ai-server"} '
        '/ kubernetes_io:container_accelerator_memory_total{namespace_name="apps",container_name="ai-server"}) > {threshold}',
        threshold=0.9, unit="ratio", for_seconds=600,
        meaning="A GPU's memory is fuller than the threshold; larger batches will fail to allocate.",
        actions=("Lower MAX_BATCH_SIZE or the model's memory footprint.",),
    ),
    Alert(
        name="ai-inference-latency", title="AI inference p95 latency high", backend="prometheus", severity="warning",
        signal="ai-server ai_server_inference_duration_seconds, p95",
        query="histogram_quantile(0.95, sum by (le) (rate(ai_server_inference_duration_seconds_bucket[5m]))) > {threshold}",
        threshold=2, unit="seconds", for_seconds=600,
        meaning="The 95th percentile of inference time exceeds the threshold.",
        actions=("GPU saturation (gpu-utilization-high) or pods on CPU (`device` label of the metric is cpu)?",),
    ),
    Alert(
        name="ai-inflight-saturation", title="AI server in-flight requests saturated", backend="prometheus",
        severity="warning",
        signal="ai-server ai_server_inflight_requests per pod",
        query="max by (pod) (ai_server_inflight_requests) > {threshold}",
        threshold=48, unit="requests", for_seconds=300,
        meaning="A pod handles more concurrent inferences than the threshold (75% of MAX_CONCURRENT_REQUESTS, 64); "
        "beyond the limit requests get 503.",
        actions=("The HPA should add pods: check `kubectl -n apps get hpa ai-server` and pending pods on the GPU pool.",),
    ),
    # --- applications (logs) -----------------------------------------------------------------------------
    Alert(
        name="service-error-logs", title="Service error logs", backend="cloud_monitoring", severity="warning",
        signal="log-based metric service_error_logs (severity >= ERROR), by component",
        query=f"{_log_rate('service_error_logs', 'component')} > {{threshold}}",
        threshold=20, unit="log lines per 10 minutes", for_seconds=0,
        meaning="A service logged more error lines in 10 minutes than the threshold.",
        actions=("Logs Explorer: `jsonPayload.service=\"<component>\" severity>=ERROR`; group by message.",),
    ),
    Alert(
        name="business-task-failures", title="Business task failures", backend="cloud_monitoring", severity="warning",
        signal="log-based metric business_task_failures (worker 'task failed' lines), by task type",
        query=f"{_log_rate('business_task_failures', 'task_type')} > {{threshold}}",
        threshold=10, unit="failures per 10 minutes", for_seconds=0,
        meaning="Temporal activities of one type failed more often than the threshold in 10 minutes.",
        actions=("Logs Explorer: `jsonPayload.message=\"task failed\" jsonPayload.task_type=\"<type>\"` for the exception.",),
    ),
    Alert(
        name="integration-failures", title="Integration failures", backend="cloud_monitoring", severity="warning",
        signal="log-based metric integration_failures (worker errors talking to Temporal)",
        query=f"{_log_rate('integration_failures', 'component')} > {{threshold}}",
        threshold=5, unit="errors per 10 minutes", for_seconds=0,
        meaning="The Temporal worker fails to talk to Temporal: polls fail or outcomes are not reported.",
        actions=("Temporal frontend reachable? `kubectl -n temporal get pods`; NetworkPolicy apps → temporal:7233.",),
    ),
    *(
        Alert(
            name=f"cis-{number.replace('.', '-')}", title=f"CIS {number}: {title}", backend="cloud_monitoring",
            severity="warning",
            signal=f"log-based metric {metric.name} on the audit logs",
            query=f"{_log_rate(metric.name)} > {{threshold}}",
            threshold=0, unit="changes per 10 minutes", for_seconds=0,
            meaning=f"{title} happened (CIS GCP Foundation Benchmark {number}). Expected only from the platform's "
            "CI apply identity during a reviewed apply.",
            actions=("Logs Explorer with the metric's filter: who (`protoPayload.authenticationInfo.principalEmail`) "
                     "changed what.",
                     "Not the CI apply identity during a pipeline: treat as a security incident (docs/security.md)."),
        )
        for number, title, metric in CIS_LOG_METRICS
    ),
)

# --- SLOs and burn rates -------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class BurnRateWindow:
    """One multi-window pair of the SRE workbook: alert when both windows burn faster than the rate at
    which `budget_fraction` of the error budget would be spent within `long_hours`."""

    long_hours: float
    short_minutes: int
    budget_fraction: float
    severity: Severity

    def burn_rate(self, slo_window_days: int) -> float:
        """Spending `budget_fraction` of a `slo_window_days` budget in `long_hours` is this many times the
        sustainable rate: 30 days, 2% in 1 h → 0.02 × 720 h / 1 h = 14.4."""
        return round(self.budget_fraction * slo_window_days * 24 / self.long_hours, 3)

    @property
    def label(self) -> str:
        long = f"{self.long_hours:g}h" if self.long_hours < 24 else f"{self.long_hours / 24:g}d"
        short = f"{self.short_minutes}m" if self.short_minutes < 60 else f"{self.short_minutes / 60:g}h"
        return f"{long}/{short}"


# SRE workbook, "Alerting on SLOs", table 5-8: 2% of the budget in 1 h and 5% in 6 h page; 10% in 3 days
# is a ticket. Short windows are 1/12 of the long ones.
BURN_RATE_WINDOWS: tuple[BurnRateWindow, ...] = (
    BurnRateWindow(long_hours=1, short_minutes=5, budget_fraction=0.02, severity="critical"),
    BurnRateWindow(long_hours=6, short_minutes=30, budget_fraction=0.05, severity="critical"),
    BurnRateWindow(long_hours=72, short_minutes=360, budget_fraction=0.10, severity="warning"),
)


@dataclass(frozen=True, kw_only=True)
class Slo:
    name: str
    title: str
    sli: Literal["availability", "latency"]
    description: str


SLOS: tuple[Slo, ...] = (
    Slo(name="api-availability", title="API availability", sli="availability",
        description="Share of requests to the API server's backend at the edge that are not 5xx"),
    Slo(name="api-latency", title="API latency", sli="latency",
        description="Share of requests to the API server's backend at the edge served within the latency threshold"),
)


@dataclass(frozen=True, kw_only=True)
class BurnRateAlert:
    slo: Slo
    window: BurnRateWindow

    @property
    def name(self) -> str:
        return f"{self.slo.name}-burn-{self.window.label.replace('/', '-')}"

    @property
    def anchor(self) -> str:
        """One runbook section per SLO covers its three pairs."""
        return f"{self.slo.name}-burn"

    @property
    def runbook_link(self) -> str:
        return f"{RUNBOOK}#{self.anchor}"

    @property
    def severity(self) -> Severity:
        return self.window.severity


def burn_rate_alerts() -> tuple[BurnRateAlert, ...]:
    return tuple(BurnRateAlert(slo=slo, window=window) for slo in SLOS for window in BURN_RATE_WINDOWS)


def error_ratio(window: BurnRateWindow, slo_window_days: int, objective: float) -> float:
    """The error ratio at which `window` fires: its burn rate times the error budget (1 - objective)."""
    return round(window.burn_rate(slo_window_days) * (1 - objective), 6)


def check_slo(window_days: int, objective: float) -> None:
    """Every pair's long window must fit inside the SLO window, and every pair must be able to fire: a burn
    rate whose error ratio exceeds 100% never does (objective 0.9 × 14.4 → 144% errors)."""
    for window in BURN_RATE_WINDOWS:
        if window.long_hours >= window_days * 24:
            raise ValueError(f"window_days: {window_days} is not longer than the {window.label} burn-rate window")
        ratio = error_ratio(window, window_days, objective)
        if ratio >= 1:
            raise ValueError(
                f"objective {objective:g} over {window_days} days makes the {window.label} alert fire only at "
                f"{ratio:.0%} errors, which cannot happen; expected an objective above "
                f"{1 - 1 / window.burn_rate(window_days):.4g}"
            )


# --- lookups -------------------------------------------------------------------------------------------


def by_name(alerts: Iterable[Alert] = ALERTS) -> dict[str, Alert]:
    return {alert.name: alert for alert in alerts}


def tunable(alerts: Iterable[Alert] = ALERTS) -> tuple[str, ...]:
    """Alerts whose threshold an environment may override."""
    return tuple(alert.name for alert in alerts if alert.threshold is not None)


def threshold_of(alert: Alert, overrides: Mapping[str, float]) -> float | None:
    return overrides.get(alert.name, alert.threshold)


def prometheus_rule_groups(overrides: Mapping[str, float] = {}) -> list[dict]:
    """PrometheusRule `spec.groups` for the `prometheus` backend, with one environment's thresholds.
    Labels carry `severity` (Alertmanager routes on it, with the same ROUTES as Cloud Monitoring) and
    annotations the runbook link."""
    rules = [
        {
            "alert": alert.rule_name,
            "expr": alert.render(threshold_of(alert, overrides)),
            "for": f"{alert.for_seconds}s",
            "labels": {"severity": alert.severity},
            "annotations": {"summary": alert.title, "description": alert.meaning, "runbook_url": alert.runbook_link},
        }
        for alert in ALERTS
        if alert.backend == "prometheus"
    ]
    return [{"name": "platform-alerts", "rules": rules}]


def check_table(alerts: tuple[Alert, ...]) -> None:
    """Names unique and well-formed, queries present, thresholds where the query wants one."""
    for index, alert in enumerate(alerts):
        where = f"monitoring/alerts.py: alert {alert.name!r}"
        if not _NAME.match(alert.name):
            raise ValueError(f"{where}: the name must be 4-52 lower-case letters, digits or '-'")
        if alert.name in [other.name for other in alerts[:index]]:
            raise ValueError(f"{where}: the name is used twice")
        if (alert.condition == "uptime_check") == bool(alert.query):
            raise ValueError(f"{where}: a promql alert needs a query, an uptime_check alert none")
        placeholders = set(_PLACEHOLDER.findall(alert.query))
        if (alert.threshold is None) == ("threshold" in placeholders):
            raise ValueError(f"{where}: a threshold needs a {{threshold}} in the query, and only then")
        if placeholders - {"threshold"} - CONTEXT_PLACEHOLDERS:
            raise ValueError(f"{where}: unknown placeholder(s) {sorted(placeholders - {'threshold'} - CONTEXT_PLACEHOLDERS)}")
        if alert.severity not in SEVERITIES:
            raise ValueError(f"{where}: severity {alert.severity!r}; expected one of {', '.join(SEVERITIES)}")
        if not alert.actions:
            raise ValueError(f"{where}: give the runbook at least one action")


check_table(ALERTS)
