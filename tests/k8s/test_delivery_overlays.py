"""The two delivery overlays: per-branch previews (staging) and the prod canary step."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from k8s import render as k8s_render

REPO_ROOT = Path(__file__).resolve().parents[2]
SLUG = k8s_render.SAMPLE_PREVIEW_SLUG
PREVIEW_NS = f"preview-{SLUG}"


# --- staging-preview --------------------------------------------------------------------------------------

def test_preview_lives_in_its_own_namespace(rendered):
    r = rendered["staging-preview"]
    namespaces = r.of_kind("Namespace")
    assert [n["metadata"]["name"] for n in namespaces] == [PREVIEW_NS]
    assert namespaces[0]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert namespaces[0]["metadata"]["labels"]["platform.example.com/gateway-access"] == "true"
    for obj in r.objects:
        if obj["kind"] != "Namespace":
            assert obj["metadata"]["namespace"] == PREVIEW_NS, k8s_render.object_key(obj)


def test_preview_reuses_the_staging_gateway_under_its_own_hostname(rendered, env_configs):
    r = rendered["staging-preview"]
    assert not r.of_kind("Gateway") and not r.of_kind("GCPGatewayPolicy")
    (route,) = r.of_kind("HTTPRoute")
    assert route["spec"]["hostnames"] == [f"{SLUG}.preview.{env_configs['staging']['domain']}"]
    assert route["spec"]["parentRefs"][0]["namespace"] == "gateway"


def test_preview_has_no_gpu_workload_and_no_workload_identity(rendered):
    r = rendered["staging-preview"]
    assert not [o for o in r.pod_owners() if o["metadata"]["name"] == "ai-server"]
    for sa in r.of_kind("ServiceAccount"):
        assert "iam.gke.io/gcp-service-account" not in (sa["metadata"].get("annotations") or {})


def test_preview_workers_never_take_staging_work(rendered, env_configs):
    worker = rendered["staging-preview"].find("Deployment", "temporal-worker-default")
    env = {e["name"]: e.get("value") for e in worker["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["TEMPORAL_TASK_QUEUE"] == f"default-{SLUG}"


@pytest.mark.parametrize("slug", ["", "Feature", "-lead", "trail-", "a_b", "x" * 56, "a.b"])
def test_preview_hook_rejects_slugs_that_are_not_dns_labels(slug):
    proc = subprocess.run(["sh", str(k8s_render.PREVIEW_HOOK)], input="kind: X\n", capture_output=True, text=True,
                          env={**os.environ, "PREVIEW_SLUG": slug}, check=False)
    assert proc.returncode != 0 and "PREVIEW_SLUG" in proc.stderr


def test_preview_hook_accepts_a_gitlab_ref_slug():
    out = k8s_render.apply_preview_slug("a: pr-slug-placeholder\nb: x-pr-slug-placeholder.y\n", "x" * 55)
    assert out == f"a: {'x' * 55}\nb: x-{'x' * 55}.y\n"


# --- prod-canary ------------------------------------------------------------------------------------------

def test_canary_step_renders_only_canary_objects(rendered):
    r = rendered["prod-canary"]
    keys = sorted(k8s_render.object_key(o) for o in r.objects)
    assert all(o["metadata"]["labels"].get("platform.example.com/canary") == "true" for o in r.objects), keys
    # nothing stable is touched by the canary step: no stable workload, no autoscaler, no Gateway
    assert not [o for o in r.pod_owners() if o["metadata"]["name"] != "api-server-canary"]
    assert not r.of_kind("Gateway") and not r.of_kind("HorizontalPodAutoscaler") and not r.of_kind("Namespace")


def test_canary_runs_the_same_pod_as_stable_prod(rendered):
    stable = rendered["prod"].find("Deployment", "api-server")["spec"]["template"]["spec"]
    canary = rendered["prod-canary"].find("Deployment", "api-server-canary")["spec"]["template"]["spec"]

    def normalise(value):
        """Drop the track label (the canary's selectors, incl. its anti-affinity, say `canary`)."""
        if isinstance(value, dict):
            return {k: normalise(v) for k, v in value.items() if k != "platform.example.com/track"}
        if isinstance(value, list):
            return [normalise(v) for v in value]
        return value
    assert normalise(canary) == normalise(stable), "the canary must differ from prod's api-server only by track"


def test_canary_and_stable_pods_are_selected_apart(rendered):
    stable_svc = rendered["prod"].find("Service", "api-server")
    canary_svc = rendered["prod-canary"].find("Service", "api-server-canary")
    assert stable_svc["spec"]["selector"]["platform.example.com/track"] == "stable"
    assert canary_svc["spec"]["selector"]["platform.example.com/track"] == "canary"
    stable = rendered["prod"].find("Deployment", "api-server")["spec"]["selector"]["matchLabels"]
    canary = rendered["prod-canary"].find("Deployment", "api-server-canary")["spec"]["selector"]["matchLabels"]
    assert stable["platform.example.com/track"] != canary["platform.example.com/track"]


def test_canary_route_sends_a_small_share(rendered, delivery_names):
    route = rendered["prod-canary"].find("HTTPRoute", "api")
    assert route["spec"]["hostnames"] == [delivery_names["prod"].api_hostname]
    (split,) = [rule for rule in route["spec"]["rules"] if not rule.get("matches")]
    weights = {ref["name"]: ref["weight"] for ref in split["backendRefs"]}
    assert set(weights) == {"api-server", "api-server-canary"}
    assert 0 < weights["api-server-canary"] / sum(weights.values()) <= 0.1
    # promotion puts the route back to stable only
    prod_route = rendered["prod"].find("HTTPRoute", "api")
    assert [ref["name"] for rule in prod_route["spec"]["rules"] for ref in rule["backendRefs"]] == ["api-server"]


def test_canary_ships_the_reviewed_check_script(rendered):
    config_map = rendered["prod-canary"].find("ConfigMap", "canary-verify-script")
    script = (REPO_ROOT / "k8s" / "components" / "api-canary" / "canary-check.sh").read_text()
    assert config_map["data"]["canary-check.sh"] == script
