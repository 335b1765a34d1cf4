"""The contract between Terraform and the Kubernetes manifests, checked on both sides at once: the facts the
manifests rely on (node pool names, taints, the GPU type, load-balancer source ranges, the serving port) are
read from the synthesized JSON and the stack constants, and every rendered overlay must agree. Editing either
side alone fails here. (Names such as the registry, static IP and service accounts are derived, not
restated: see test_platform_names.py.)"""
from __future__ import annotations

import pytest

from constructs_lib.node_pool import TAINT_EFFECTS
from k8s import render as k8s_render
from stacks.cluster import GPU_TAINT, WORKERS_TAINT
from stacks.network import HEALTH_CHECK_RANGES, SERVING_PORTS, WORKLOAD_PORT

POOL_LABEL = "cloud.google.com/gke-nodepool"
ACCELERATOR_LABEL = "cloud.google.com/gke-accelerator"
TERRAFORM_EFFECTS = {api: kubernetes for kubernetes, api in TAINT_EFFECTS.items()}


def _pools(synthesized, env: str) -> dict[str, dict]:
    """Node pool name → its synthesized node_config."""
    return {
        body["name"]: body["node_config"]
        for body in synthesized.resources(env, "cluster", "google_container_node_pool").values()
    }


def _taints(node_config: dict) -> set[tuple[str, str, str]]:
    return {(t["key"], t["value"], TERRAFORM_EFFECTS[t["effect"]]) for t in node_config.get("taint") or []}


def _tolerated(spec: dict) -> set[tuple[str, str, str]]:
    return {
        (t["key"], t.get("value", ""), t.get("effect", ""))
        for t in spec.get("tolerations", [])
        if t.get("operator", "Equal") == "Equal"
    }


def _pod_specs(rendered, overlay):
    for obj in rendered[overlay].pod_owners():
        yield obj["metadata"]["name"], k8s_render.pod_spec(obj)


def _env_of(container: dict) -> dict[str, str]:
    return {e["name"]: e.get("value") for e in container.get("env", [])}


def test_the_stack_constants_are_what_the_cluster_stack_synthesizes(synthesized, configs):
    for env in configs:
        pools = _pools(synthesized, env)
        assert _taints(pools["gpu"]) == {(GPU_TAINT.key, GPU_TAINT.value, GPU_TAINT.effect)}
        assert _taints(pools["workers"]) == {(WORKERS_TAINT.key, WORKERS_TAINT.value, WORKERS_TAINT.effect)}


@pytest.mark.parametrize("overlay", k8s_render.ALL_OVERLAYS)
def test_pods_select_only_node_pools_terraform_creates(overlay, rendered, synthesized):
    pools = _pools(synthesized, k8s_render.environment_of(overlay))
    for name, spec in _pod_specs(rendered, overlay):
        selected = spec.get("nodeSelector", {}).get(POOL_LABEL)
        assert selected is None or selected in pools, f"{overlay}/{name} selects pool {selected!r}; Terraform has {sorted(pools)}"
        for container in spec["containers"]:
            reported = _env_of(container).get("NODE_POOL")
            if reported is not None:
                assert reported in pools, f"{overlay}/{name}: NODE_POOL={reported!r} is not a pool"
                if selected is not None:
                    assert reported == selected, f"{overlay}/{name}: NODE_POOL={reported!r} but nodeSelector {selected!r}"


@pytest.mark.parametrize("overlay", k8s_render.ALL_OVERLAYS)
def test_pods_on_tainted_pools_tolerate_exactly_the_taints_terraform_sets(overlay, rendered, synthesized):
    pools = _pools(synthesized, k8s_render.environment_of(overlay))
    accelerators = {
        accelerator["type"]: pool
        for pool, config in pools.items()
        for accelerator in config.get("guest_accelerator") or []
    }
    for name, spec in _pod_specs(rendered, overlay):
        selector = spec.get("nodeSelector", {})
        pool = selector.get(POOL_LABEL)
        if ACCELERATOR_LABEL in selector:
            accelerator = selector[ACCELERATOR_LABEL]
            assert accelerator in accelerators, f"{overlay}/{name} asks for {accelerator!r}; Terraform attaches {sorted(accelerators)}"
            pool = accelerators[accelerator]
        if pool is None:
            continue
        missing = _taints(pools[pool]) - _tolerated(spec)
        assert not missing, f"{overlay}/{name} runs on pool {pool!r} but does not tolerate {sorted(missing)}"


@pytest.mark.parametrize("overlay", k8s_render.ALL_OVERLAYS)
def test_network_policies_admit_load_balancers_from_exactly_the_firewall_ranges(overlay, rendered, synthesized):
    (rule,) = [
        body
        for body in synthesized.resources(k8s_render.environment_of(overlay), "network", "google_compute_firewall").values()
        if body["name"].endswith("allow-health-checks")
    ]
    assert set(rule["source_ranges"]) == set(HEALTH_CHECK_RANGES)
    allowed_ports = {port for allow in rule["allow"] for port in allow["ports"]}
    assert allowed_ports == set(SERVING_PORTS)
    found = False
    for policy in k8s_render.live_objects(rendered, overlay, "NetworkPolicy"):
        for ingress in policy["spec"].get("ingress") or []:
            blocks = {peer["ipBlock"]["cidr"] for peer in ingress.get("from", []) if "ipBlock" in peer}
            if blocks & set(HEALTH_CHECK_RANGES):
                found = True
                name = policy["metadata"]["name"]
                assert blocks == set(HEALTH_CHECK_RANGES), f"{overlay}/{name} admits {sorted(blocks)}"
                assert {p["port"] for p in ingress["ports"]} == {WORKLOAD_PORT}, f"{overlay}/{name} ports"
    if rendered[overlay].of_kind("HTTPRoute"):
        assert found, f"{overlay} routes load-balancer traffic but no NetworkPolicy admits the health-check ranges"


@pytest.mark.parametrize("overlay", k8s_render.ALL_OVERLAYS)
def test_workloads_serve_on_the_port_the_firewall_opens(overlay, rendered):
    for name, spec in _pod_specs(rendered, overlay):
        for container in spec["containers"]:
            ports = {p["containerPort"] for p in container.get("ports", []) if p.get("name") == "http"}
            assert ports <= {WORKLOAD_PORT}, f"{overlay}/{name}/{container['name']} serves HTTP on {ports}"
            port = _env_of(container).get("PORT")
            assert port is None or int(port) == WORKLOAD_PORT, f"{overlay}/{name}: PORT={port}"
    services = {s["metadata"]["name"]: s for s in k8s_render.live_objects(rendered, overlay, "Service")}
    for route in rendered[overlay].of_kind("HTTPRoute"):
        for rule in route["spec"]["rules"]:
            for backend in rule.get("backendRefs", []):
                (port,) = [p for p in services[backend["name"]]["spec"]["ports"] if p["port"] == backend["port"]]
                assert port.get("targetPort", port["port"]) in (WORKLOAD_PORT, "http"), (overlay, backend)
