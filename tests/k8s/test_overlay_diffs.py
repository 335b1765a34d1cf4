"""Environment overlays differ from the base only in reviewed fields.

Every leaf value of every rendered object is compared with the base render. A difference must match a pattern
below (`Kind/namespace/name:path`, `*` matches anything; list items with a `name` are addressed as [name=...]),
and each pattern carries its reason. Patterns an overlay no longer uses fail too, so the list stays exact.
Changing an overlay therefore means changing this list in the same review.
"""
from __future__ import annotations

import re
from typing import Any, Iterator

import pytest

from k8s import render as k8s_render

# Differences every environment has: the generated platform names (k8s/components/platform-names).
GENERATED_NAMES = {
    "ServiceAccount/apps/*:metadata.annotations.iam.gke.io/gcp-service-account":
        "Workload Identity: the environment's Google service account of each app",
    "Gateway/gateway/external:metadata.annotations.networking.gke.io/certmap": "Certificate Manager map of the edge",
    "Gateway/gateway/external:spec.addresses[0].value": "reserved global static IP",
    "GCPGatewayPolicy/gateway/external:spec.default.sslPolicy": "SSL policy of the edge load balancer",
    "GCPBackendPolicy/apps/*:spec.default.securityPolicy": "Cloud Armor policy of the edge",
    "HTTPRoute/apps/api:spec.hostnames[0]": "API hostname of the environment",
    "HTTPRoute/apps/ai:spec.hostnames[0]": "AI hostname of the environment",
    "*/apps/*:spec.template.spec.containers[name=*].env[name=GOOGLE_CLOUD_PROJECT].value":
        "Google Cloud project of the environment",
}
# Objects only overlays have: the worker pools each environment lists (k8s/components/temporal-worker-pool).
ADDED_OBJECTS = {
    "Deployment/apps/temporal-worker-*": "worker pools are listed per environment",
    "ScaledObject/apps/temporal-worker-*": "worker pools are listed per environment",
    "PodDisruptionBudget/apps/temporal-worker-*": "worker pools are listed per environment",
}
# Per-environment sizing, each with the reason also written next to the patch in the overlay.
REVIEWED = {
    "dev": {
        "HorizontalPodAutoscaler/apps/api-server:spec.minReplicas": "dev general pool: at most 2 small nodes",
        "HorizontalPodAutoscaler/apps/api-server:spec.maxReplicas": "dev general pool: at most 2 small nodes",
        "Deployment/apps/api-server:spec.template.spec.containers[name=api-server].resources.requests.cpu":
            "fit the small dev nodes",
        "Deployment/apps/api-server:spec.template.spec.containers[name=api-server].resources.requests.memory":
            "fit the small dev nodes",
        "ScaledObject/apps/ai-server:spec.maxReplicaCount": "dev GPU pool: one node",
        "StatefulSet/apps/backend:spec.volumeClaimTemplates[0].spec.storageClassName":
            "dev data is disposable: standard-rwo",
    },
    "staging": {
        "HorizontalPodAutoscaler/apps/api-server:spec.minReplicas": "staging general pool: at most 3 nodes",
        "HorizontalPodAutoscaler/apps/api-server:spec.maxReplicas": "staging general pool: at most 3 nodes",
        "ScaledObject/apps/ai-server:spec.maxReplicaCount": "staging GPU pool: one node",
    },
    "prod": {},
}


def _matches(text: str, pattern: str) -> bool:
    return re.fullmatch(".*".join(re.escape(part) for part in pattern.split("*")), text) is not None


def _leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        if not value:
            yield path, {}
        for key, item in value.items():
            yield from _leaves(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        if not value:
            yield path, []
        for index, item in enumerate(value):
            name = item.get("name") if isinstance(item, dict) else None
            if isinstance(name, str) and [i.get("name") for i in value if isinstance(i, dict)].count(name) == 1:
                yield from _leaves(item, f"{path}[name={name}]")
            else:
                yield from _leaves(item, f"{path}[{index}]")
    else:
        yield path, value


def _flatten(objects) -> dict[str, dict[str, Any]]:
    return {k8s_render.object_key(o): dict(_leaves(o)) for o in objects}


def _differences(base, overlay) -> tuple[list[str], list[str], list[str]]:
    base_objects, overlay_objects = _flatten(base.objects), _flatten(overlay.objects)
    changed = []
    for key in sorted(set(base_objects) & set(overlay_objects)):
        before, after = base_objects[key], overlay_objects[key]
        for path in sorted(set(before) | set(after)):
            if before.get(path, "<absent>") != after.get(path, "<absent>"):
                changed.append(f"{key}:{path}")
    added = sorted(set(overlay_objects) - set(base_objects))
    removed = sorted(set(base_objects) - set(overlay_objects))
    return changed, added, removed


@pytest.mark.parametrize("overlay", k8s_render.ENV_OVERLAYS)
def test_overlay_changes_only_reviewed_fields(overlay, rendered, rendered_base):
    changed, added, removed = _differences(rendered_base, rendered[overlay])
    allowed = {**GENERATED_NAMES, **REVIEWED[overlay]}
    unreviewed = [c for c in changed if not any(_matches(c, p) for p in allowed)]
    assert not unreviewed, f"{overlay} changes fields nobody reviewed (add them to REVIEWED with a reason):\n  " + \
        "\n  ".join(unreviewed)
    assert not removed, f"{overlay} drops base objects: {removed}"
    unexpected = [a for a in added if not any(_matches(a, p) for p in ADDED_OBJECTS)]
    assert not unexpected, f"{overlay} adds unreviewed objects: {unexpected}"


@pytest.mark.parametrize("overlay", k8s_render.ENV_OVERLAYS)
def test_reviewed_list_has_no_stale_entry(overlay, rendered, rendered_base):
    changed, _, _ = _differences(rendered_base, rendered[overlay])
    stale = [p for p in {**GENERATED_NAMES, **REVIEWED[overlay]} if not any(_matches(c, p) for c in changed)]
    assert not stale, f"{overlay}: allowed differences that no longer occur: {stale}"


def test_reviewed_entries_have_reasons():
    for table in (GENERATED_NAMES, ADDED_OBJECTS, *REVIEWED.values()):
        assert all(isinstance(reason, str) and len(reason) > 10 for reason in table.values())
