"""The Job that `skaffold verify -p prod` creates in the cluster, reconstructed for tests and policy scans.

Skaffold (kubernetesCluster execution mode with jobManifestPath) reads the Job manifest, names it after the
verify test case, replaces its containers with the test case's container, forces restartPolicy Never, and then
applies `overrides` as a JSON merge patch (RFC 7386). This module does the same, so the tests and checkov see
the Job that really runs (minus the run-id labels and the caller's environment Skaffold appends).
"""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
VERIFY_PROFILE = "prod"


def json_merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge key by key, null deletes, anything else (lists included) replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = json_merge_patch(result.get(key), value)
    return result


def verify_test_case(skaffold_config: dict[str, Any], profile: str = VERIFY_PROFILE) -> dict[str, Any]:
    (prof,) = [p for p in skaffold_config["profiles"] if p["name"] == profile]
    (case,) = prof["verify"]
    return case


def merged_verify_job(skaffold_config: dict[str, Any], profile: str = VERIFY_PROFILE) -> dict[str, Any]:
    case = verify_test_case(skaffold_config, profile)
    cluster_mode = case["executionMode"]["kubernetesCluster"]
    job = yaml.safe_load((REPO_ROOT / cluster_mode["jobManifestPath"]).read_text(encoding="utf-8"))
    job["metadata"]["name"] = case["name"]
    pod = job["spec"]["template"]["spec"]
    pod["containers"] = [copy.deepcopy(case["container"])]
    pod["restartPolicy"] = "Never"
    if cluster_mode.get("overrides"):
        job = json_merge_patch(job, json.loads(cluster_mode["overrides"]))
    return job
