"""The kube-prometheus-stack release as the tests see it: its monitors (from the reviewed base values) and
the objects its real chart renders with the synthesized values (helm-python-sdk, offline)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from constructs_lib.monitoring_stack import CHART, VERSION
from stacks.in_cluster_monitoring import VALUES_DIR
from tests.stacks.test_data import deep_merge, load


def release_monitors(kind: str, namespace: str) -> list[dict[str, Any]]:
    """`additionalServiceMonitors` / `additionalPodMonitors` entries that look into `namespace`."""
    # Monitors are base values only: no environment differs in what it scrapes.
    monitors = load(VALUES_DIR / "values.yaml")["prometheus"].get(kind, [])
    return [m for m in monitors if m["namespaceSelector"].get("any") or namespace in m["namespaceSelector"].get("matchNames", [])]


def release_body(synthesized, env: str) -> dict[str, Any]:
    return synthesized.by_path(env, "observability", "helm_release", "kube-prometheus-stack/helm/release")


def merged_values(synthesized, env: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for text in release_body(synthesized, env)["values"]:
        values = deep_merge(values, yaml.safe_load(text) or {})
    return values


def render_release(synthesized, env: str, third_party_dir: Path) -> list[dict[str, Any]]:
    import helm_python

    body = release_body(synthesized, env)
    chart = helm_python.Chart.load(str(third_party_dir / "charts" / f"{CHART}-{VERSION}"))
    manifests = chart.render(merged_values(synthesized, env), name=body["name"], namespace=body["namespace"], is_install=True)
    objects = []
    for template, text in sorted(manifests.items()):
        if template.endswith(".txt"):
            continue
        for document in yaml.safe_load_all(text):
            if not document:
                continue
            # The chart wraps its additional monitors in a v1 List.
            objects.extend(document["items"] if document.get("kind") == "List" else [document])
    return json.loads(json.dumps(objects))
