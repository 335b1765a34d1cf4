"""Workload policies, checked on every rendered overlay (what Skaffold would deploy), one test per rule and
workload. Read the test names as the policy: every workload has probes, requests and limits, a PDB, node and
zone spreading, the restricted security context, its own Workload Identity KSA, an autoscaler where one is
required, NetworkPolicies and a metrics scrape; the ai-server lands only on GPU nodes."""
from __future__ import annotations

from typing import Any

import pytest

from k8s import render as k8s_render
from stacks.cluster import GPU_TAINT, WORKERS_TAINT
from stacks.components import app_components

# The pod-owning objects each overlay must render, as (kind, name, component). Nothing else may run pods.
WORKLOADS = {
    "dev": [("Deployment", "api-server", "api-server"), ("Deployment", "ai-server", "ai-server"),
            ("StatefulSet", "backend", "backend"), ("Deployment", "temporal-worker-default", "temporal-worker")],
    "staging": [("Deployment", "api-server", "api-server"), ("Deployment", "ai-server", "ai-server"),
                ("StatefulSet", "backend", "backend"),
                ("Deployment", "temporal-worker-default", "temporal-worker")],
    "prod": [("Deployment", "api-server", "api-server"), ("Deployment", "ai-server", "ai-server"),
             ("StatefulSet", "backend", "backend"), ("Deployment", "temporal-worker-default", "temporal-worker"),
             ("Deployment", "temporal-worker-batch", "temporal-worker")],
    # no ai-server in previews: a GPU node per branch is too expensive (k8s/overlays/staging-preview)
    "staging-preview": [("Deployment", "api-server", "api-server"), ("StatefulSet", "backend", "backend"),
                        ("Deployment", "temporal-worker-default", "temporal-worker")],
    "prod-canary": [("Deployment", "api-server-canary", "api-server")],
}
CASES = [pytest.param(overlay, kind, name, component, id=f"{overlay}-{name}")
         for overlay, items in WORKLOADS.items() for kind, name, component in items]

# How each component is scaled. The backend is a singleton by design (its store is not shared between
# replicas, see services/backend), and the canary runs a fixed single replica for a fixed traffic share.
AUTOSCALING = {"api-server": "hpa", "ai-server": "keda", "temporal-worker": "keda", "backend": None}
NOT_AUTOSCALED = {("prod-canary", "api-server-canary"): "fixed one-replica canary for a fixed 5 % share"}
SLOW_STARTING = {"ai-server", "backend"}  # model loading / snapshot replay: must have a startup probe


# Namespace-wide policies that select by opt-in label: they do not make a workload's own policy.
BASELINE_POLICIES = ("allow-google-apis-egress", "allow-metrics-scrape", "egress-gke-metadata", "egress-gke-metadata-dpv2",
                     "egress-google-apis", "ingress-metrics-scrape")


def _workload(rendered, overlay, kind, name) -> dict[str, Any]:
    return rendered[overlay].find(kind, name)


def _selects(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    if not selector:
        return False
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        value, op = labels.get(expr["key"]), expr["operator"]
        if (op == "In" and value not in expr["values"]) or (op == "NotIn" and value in expr.get("values", [])) \
                or (op == "Exists" and value is None) or (op == "DoesNotExist" and value is not None):
            return False
    return True


def _pod_labels(obj) -> dict[str, str]:
    return obj["spec"]["template"]["metadata"]["labels"]


def _env(container) -> dict[str, str]:
    return {e["name"]: e.get("value") for e in container.get("env", [])}


def test_overlay_renders_exactly_the_expected_workloads(rendered):
    for overlay, expected in WORKLOADS.items():
        found = sorted((o["kind"], o["metadata"]["name"]) for o in rendered[overlay].pod_owners())
        assert found == sorted((k, n) for k, n, _ in expected), overlay


@pytest.mark.parametrize("overlay,kind,name,component", CASES)
class TestWorkload:
    def test_has_readiness_liveness_and_startup_probes_where_needed(self, rendered, overlay, kind, name, component):
        for c in k8s_render.containers(_workload(rendered, overlay, kind, name)):
            assert c["readinessProbe"]["httpGet"]["path"] == "/readyz", c["name"]
            assert c["livenessProbe"]["httpGet"]["path"] == "/healthz", c["name"]
            if component in SLOW_STARTING:
                assert c["startupProbe"]["httpGet"]["path"] == "/healthz", c["name"]

    def test_has_cpu_and_memory_requests_and_limits(self, rendered, overlay, kind, name, component):
        for c in k8s_render.containers(_workload(rendered, overlay, kind, name)):
            for section in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(c["resources"][section]), f"{c['name']} {section}"

    def test_has_a_pod_disruption_budget(self, rendered, overlay, kind, name, component):
        obj = _workload(rendered, overlay, kind, name)
        pdbs = [p for p in k8s_render.live_objects(rendered, overlay, "PodDisruptionBudget")
                if p["metadata"]["namespace"] == obj["metadata"]["namespace"]
                and _selects(p["spec"]["selector"], _pod_labels(obj))]
        assert pdbs, f"no PodDisruptionBudget selects the pods of {name}"
        # overlapping budgets make evictions fail outright
        assert len(pdbs) == 1, [p["metadata"]["name"] for p in pdbs]

    def test_spreads_across_nodes_and_zones(self, rendered, overlay, kind, name, component):
        obj = _workload(rendered, overlay, kind, name)
        spec, labels = k8s_render.pod_spec(obj), _pod_labels(obj)
        terms = spec["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
        assert any(t["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
                   and _selects(t["podAffinityTerm"]["labelSelector"], labels) for t in terms)
        assert any(t["topologyKey"] == "topology.kubernetes.io/zone" and _selects(t["labelSelector"], labels)
                   for t in spec["topologySpreadConstraints"])

    def test_runs_with_the_restricted_security_context(self, rendered, overlay, kind, name, component):
        spec = k8s_render.pod_spec(_workload(rendered, overlay, kind, name))
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True and pod["runAsUser"] == 65532
        assert pod["seccompProfile"]["type"] == "RuntimeDefault"
        assert not spec.get("hostNetwork") and not spec.get("hostPID") and not spec.get("hostIPC")
        tmp_volumes = {v["name"] for v in spec["volumes"] if "emptyDir" in v}
        for c in k8s_render.containers(_workload(rendered, overlay, kind, name)):
            sc = c["securityContext"]
            assert sc["runAsNonRoot"] is True and sc.get("runAsUser", 65532) == 65532, c["name"]
            assert sc["allowPrivilegeEscalation"] is False, c["name"]
            assert sc["readOnlyRootFilesystem"] is True, c["name"]
            assert sc["capabilities"]["drop"] == ["ALL"] and not sc["capabilities"].get("add"), c["name"]
            assert sc["seccompProfile"]["type"] == "RuntimeDefault", c["name"]
            assert not sc.get("privileged"), c["name"]
            assert any(m["mountPath"] == "/tmp" and m["name"] in tmp_volumes for m in c["volumeMounts"]), \
                f"{c['name']}: /tmp must be a writable emptyDir on a read-only root filesystem"

    def test_uses_its_own_service_account_with_workload_identity(self, rendered, delivery_names, overlay, kind,
                                                                name, component):
        spec = k8s_render.pod_spec(_workload(rendered, overlay, kind, name))
        assert spec["serviceAccountName"] == component
        assert spec["automountServiceAccountToken"] is False, "no app talks to the Kubernetes API"
        (sa,) = [a for a in k8s_render.live_objects(rendered, overlay, "ServiceAccount") if a["metadata"]["name"] == component]
        assert sa["automountServiceAccountToken"] is False
        annotation = (sa["metadata"].get("annotations") or {}).get("iam.gke.io/gcp-service-account")
        if overlay == "staging-preview":
            # Terraform binds the Google service accounts to namespace `apps` only
            assert annotation is None
        else:
            env = k8s_render.environment_of(overlay)
            assert annotation == delivery_names[env].service_account_email(component)
            assert sa["metadata"]["namespace"] == "apps"

    def test_is_autoscaled_where_required(self, rendered, overlay, kind, name, component):
        obj = _workload(rendered, overlay, kind, name)
        hpas = [h for h in rendered[overlay].of_kind("HorizontalPodAutoscaler")
                if h["spec"]["scaleTargetRef"]["name"] == name]
        scaled = [s for s in rendered[overlay].of_kind("ScaledObject")
                  if s["spec"]["scaleTargetRef"]["name"] == name]
        assert len(hpas) + len(scaled) <= 1, "two autoscalers would fight over the replica count"
        expected = None if (overlay, name) in NOT_AUTOSCALED else AUTOSCALING[component]
        if expected == "hpa":
            (hpa,) = hpas
            assert {m["resource"]["name"] for m in hpa["spec"]["metrics"]} == {"cpu", "memory"}
            assert hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
        elif expected == "keda":
            (so,) = scaled
            assert so["spec"]["minReplicaCount"] <= so["spec"]["maxReplicaCount"]
        else:
            assert not hpas and not scaled
        if expected:
            assert "replicas" not in obj["spec"], "the autoscaler owns replicas; a re-apply must not reset it"

    def test_is_isolated_by_network_policies(self, rendered, platform_objects, overlay, kind, name, component):
        obj = _workload(rendered, overlay, kind, name)
        namespace, labels = obj["metadata"]["namespace"], _pod_labels(obj)
        # In `apps` the data layer's namespace baseline is there before the overlay (stacks/namespaces.py).
        data_layer = [o for o in platform_objects.get(k8s_render.environment_of(overlay), []) if o["kind"] == "NetworkPolicy"]
        policies = [p for p in k8s_render.live_objects(rendered, overlay, "NetworkPolicy") + data_layer
                    if p["metadata"]["namespace"] == namespace]
        deny = [p for p in policies if p["spec"]["podSelector"] == {}
                and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
                and not p["spec"].get("ingress") and not p["spec"].get("egress")]
        assert deny, f"namespace {namespace} has no default-deny policy"
        own = [p for p in policies if p["spec"]["podSelector"] and _selects(p["spec"]["podSelector"], labels)
               and p["metadata"]["name"] not in BASELINE_POLICIES]
        assert own, f"{name} has no NetworkPolicy of its own"

    def test_is_scraped_by_prometheus(self, rendered, overlay, kind, name, component):
        obj = _workload(rendered, overlay, kind, name)
        labels = _pod_labels(obj)
        assert labels.get("platform.example.com/metrics") == "true", "allow-metrics-scrape must select it"
        monitors = [m for m in k8s_render.live_objects(rendered, overlay, "PodMonitor") if _selects(m["spec"]["selector"], labels)]
        services = [s for s in k8s_render.live_objects(rendered, overlay, "Service")
                    if s["metadata"]["namespace"] == obj["metadata"]["namespace"]
                    and _selects({"matchLabels": s["spec"].get("selector")}, labels)]
        monitors += [m for m in k8s_render.live_objects(rendered, overlay, "ServiceMonitor") for s in services
                     if _selects(m["spec"]["selector"], s["metadata"].get("labels", {}))]
        assert monitors, f"no ServiceMonitor/PodMonitor scrapes {name}"

    def test_uses_the_bare_artifact_image(self, rendered, skaffold_config, overlay, kind, name, component):
        artifacts = {a["image"] for a in skaffold_config["build"]["artifacts"]}
        for c in k8s_render.containers(_workload(rendered, overlay, kind, name)):
            assert c["image"] == component and c["image"] in artifacts, \
                "use the bare artifact name so Skaffold rewrites it to <default-repo>/<name>:<tag>@<digest>"

    def test_shuts_down_within_its_grace_period(self, rendered, overlay, kind, name, component):
        spec = k8s_render.pod_spec(_workload(rendered, overlay, kind, name))
        for c in k8s_render.containers(_workload(rendered, overlay, kind, name)):
            env = _env(c)
            needed = float(env.get("SHUTDOWN_GRACE_SECONDS", 20)) + float(env.get("SHUTDOWN_DELAY_SECONDS", 0))
            assert spec["terminationGracePeriodSeconds"] > needed, c["name"]

    def test_gpu_placement(self, rendered, overlay, kind, name, component):
        spec = k8s_render.pod_spec(_workload(rendered, overlay, kind, name))
        tolerates_gpu = any(t.get("key") == GPU_TAINT.key for t in spec.get("tolerations", []))
        gpus = [c["resources"]["limits"].get("nvidia.com/gpu") for c in spec["containers"]]
        if component == "ai-server":
            assert spec["nodeSelector"] == {"cloud.google.com/gke-accelerator": "nvidia-l4"}
            assert {"key": GPU_TAINT.key, "operator": "Equal", "value": GPU_TAINT.value, "effect": GPU_TAINT.effect} in \
                spec["tolerations"]
            assert gpus == ["1"]
        else:
            assert not tolerates_gpu and not any(gpus), f"{name} must stay off the GPU nodes"
            assert "cloud.google.com/gke-accelerator" not in spec.get("nodeSelector", {})


@pytest.mark.parametrize("overlay", [o for o in WORKLOADS if any(c == "temporal-worker" for *_, c in WORKLOADS[o])])
def test_temporal_workers_run_on_the_workers_pool_and_scale_on_their_own_queue(rendered, overlay):
    for obj in rendered[overlay].pod_owners():
        if obj["metadata"]["labels"].get("app.kubernetes.io/name") != "temporal-worker":
            continue
        spec = k8s_render.pod_spec(obj)
        assert spec["nodeSelector"] == {"cloud.google.com/gke-nodepool": "workers"}
        assert {"key": WORKERS_TAINT.key, "operator": "Equal", "value": WORKERS_TAINT.value, "effect": WORKERS_TAINT.effect} in \
            spec["tolerations"]
        env = _env(spec["containers"][0])
        pool = obj["metadata"]["labels"]["platform.example.com/worker-pool"]
        assert obj["metadata"]["name"] == f"temporal-worker-{pool}" and env["WORKER_POOL"] == pool
        (so,) = [s for s in rendered[overlay].of_kind("ScaledObject")
                 if s["spec"]["scaleTargetRef"]["name"] == obj["metadata"]["name"]]
        (trigger,) = so["spec"]["triggers"]
        assert trigger["type"] == "temporal"
        meta = trigger["metadata"]
        # what the worker polls is exactly what KEDA measures
        assert meta["taskQueue"] == env["TEMPORAL_TASK_QUEUE"]
        assert meta["namespace"] == env["TEMPORAL_NAMESPACE"]
        assert meta["endpoint"] == env["TEMPORAL_ADDRESS"] == "temporal-frontend.temporal.svc.cluster.local:7233"
        assert int(meta["targetQueueSize"]) > 0


@pytest.mark.parametrize("overlay", k8s_render.ENV_OVERLAYS)
def test_ai_server_scales_on_cpu_and_in_flight_requests(rendered, overlay):
    so = rendered[overlay].find("ScaledObject", "ai-server")
    triggers = {t["type"]: t for t in so["spec"]["triggers"]}
    assert set(triggers) == {"cpu", "prometheus"}
    assert triggers["cpu"]["metricType"] == "Utilization"
    assert "ai_server_inflight_requests" in triggers["prometheus"]["metadata"]["query"]
    assert so["spec"]["minReplicaCount"] >= 1, "a CPU trigger cannot scale from zero"


@pytest.mark.parametrize("overlay", k8s_render.ALL_OVERLAYS)
def test_every_routed_service_is_protected_and_health_checked(rendered, overlay):
    """Each Service an HTTPRoute sends traffic to has Cloud Armor (GCPBackendPolicy) and a /readyz health check."""
    services = k8s_render.live_objects(rendered, overlay, "Service")
    for route in rendered[overlay].of_kind("HTTPRoute"):
        namespace = route["metadata"]["namespace"]
        for rule in route["spec"]["rules"]:
            for ref in rule.get("backendRefs", []):
                (service,) = [s for s in services if s["metadata"]["name"] == ref["name"]
                              and s["metadata"]["namespace"] == namespace]
                assert ref["port"] in [p["port"] for p in service["spec"]["ports"]]
                for kind in ("GCPBackendPolicy", "HealthCheckPolicy"):
                    assert any(p["spec"]["targetRef"] == {"group": "", "kind": "Service", "name": ref["name"]}
                               and p["metadata"]["namespace"] == namespace for p in k8s_render.live_objects(rendered, overlay, kind)), \
                        f"{overlay}: Service {ref['name']} has no {kind}"
    for policy in rendered[overlay].of_kind("HealthCheckPolicy"):
        assert policy["spec"]["default"]["config"]["httpHealthCheck"]["requestPath"] == "/readyz"


@pytest.mark.parametrize("overlay", k8s_render.ALL_OVERLAYS)
def test_services_select_pods_that_exist(rendered, overlay):
    r = rendered[overlay]
    pod_labels = [(o["metadata"]["namespace"], _pod_labels(o)) for o in r.pod_owners()]
    for service in r.of_kind("Service"):
        assert any(ns == service["metadata"]["namespace"] and _selects({"matchLabels": service["spec"]["selector"]},
                                                                       labels) for ns, labels in pod_labels), \
            f"{overlay}: Service {service['metadata']['name']} selects no pods"


def test_every_app_component_is_deployed_somewhere(rendered):
    components = {o["metadata"]["labels"]["app.kubernetes.io/name"] for o in rendered["prod"].pod_owners()}
    assert components == {c.name for c in app_components()}
