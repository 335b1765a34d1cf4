"""checkov (--framework kubernetes) over every rendered overlay and the merged Skaffold verify Job, in ONE
checkov run (its start-up dominates). Zero failed checks are allowed outside
policies/checkov-exceptions-kubernetes.yaml, and every exception must still match something."""
from __future__ import annotations

import fnmatch
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from k8s import render as k8s_render
from k8s.verify_job import merged_verify_job
from policies.checkov_runner import CheckovError, kubernetes_report

REPO_ROOT = Path(__file__).resolve().parents[2]
EXCEPTIONS_FILE = REPO_ROOT / "policies" / "checkov-exceptions-kubernetes.yaml"
VERIFY_JOB = "verify-job"
SCANNED = (*k8s_render.ALL_OVERLAYS, VERIFY_JOB)


def _resource_key(result: dict[str, Any]) -> str:
    """checkov names a resource `Kind.namespace.name` (namespace absent for cluster-scoped objects)."""
    kind, _, rest = result["resource"].partition(".")
    namespace, _, name = rest.partition(".")
    if not name:
        namespace, name = "-", namespace
    return f"{kind}/{namespace}/{name}"


def _group_of(result: dict[str, Any], scan_dir: Path) -> str:
    path = Path(result.get("file_abs_path") or (scan_dir / result["file_path"].lstrip("/")))
    return path.resolve().relative_to(scan_dir.resolve()).parts[0]


@pytest.fixture(scope="session")
def checkov_results(rendered, skaffold_config, tmp_path_factory) -> dict[str, Any]:
    scan_dir = tmp_path_factory.mktemp("checkov-k8s")
    for overlay in k8s_render.ALL_OVERLAYS:
        (scan_dir / overlay).mkdir()
        (scan_dir / overlay / "rendered.yaml").write_text(rendered[overlay].text, encoding="utf-8")
    (scan_dir / VERIFY_JOB).mkdir()
    (scan_dir / VERIFY_JOB / "job.yaml").write_text(yaml.safe_dump(merged_verify_job(skaffold_config)),
                                                     encoding="utf-8")
    try:
        report = kubernetes_report(scan_dir)
    except CheckovError as error:
        pytest.fail(str(error), pytrace=False)
    summary = report["summary"]
    assert summary["parsing_errors"] == 0, summary
    results = report["results"]
    per_group: dict[str, Counter] = {group: Counter() for group in SCANNED}
    failed = []
    for outcome in ("passed_checks", "failed_checks"):
        for result in results.get(outcome, []):
            group = _group_of(result, scan_dir)
            per_group[group][outcome] += 1
            if outcome == "failed_checks":
                failed.append({"group": group, "check_id": result["check_id"], "name": result["check_name"],
                               "resource": _resource_key(result)})
    return {"failed": failed, "per_group": per_group, "summary": summary}


def _exceptions() -> list[dict[str, Any]]:
    data = yaml.safe_load(EXCEPTIONS_FILE.read_text(encoding="utf-8"))
    return data["exceptions"]


def _matches(entry: dict[str, Any], failure: dict[str, Any]) -> bool:
    return (entry["check_id"] == failure["check_id"] and failure["group"] in entry["overlays"]
            and fnmatch.fnmatchcase(failure["resource"], entry["resource"]))


def test_exceptions_file_is_well_formed():
    for entry in _exceptions():
        assert set(entry) == {"check_id", "resource", "overlays", "reason"}, entry
        assert entry["check_id"].startswith(("CKV_K8S_", "CKV2_K8S_")), entry
        assert entry["resource"].count("/") == 2, f"resource must be Kind/namespace/name: {entry}"
        assert entry["overlays"] and set(entry["overlays"]) <= set(SCANNED), entry
        assert len(entry["reason"].split()) >= 8, f"give a real reason: {entry}"


def test_every_scanned_target_was_checked(checkov_results):
    for group in SCANNED:
        assert checkov_results["per_group"][group]["passed_checks"] > 0, f"checkov saw nothing in {group}"


def test_no_failed_check_outside_the_exceptions(checkov_results):
    unexpected = [f for f in checkov_results["failed"] if not any(_matches(e, f) for e in _exceptions())]
    assert not unexpected, "failed checkov checks without a reviewed exception:\n" + "\n".join(
        f"  {f['group']}: {f['check_id']} {f['resource']} ({f['name']})" for f in unexpected)


def test_no_stale_exception(checkov_results):
    stale = [f"{e['check_id']} {e['resource']} in {overlay}"
             for e in _exceptions() for overlay in e["overlays"]
             if not any(_matches({**e, "overlays": [overlay]}, f) for f in checkov_results["failed"])]
    assert not stale, "exceptions that match no failed check (remove them or narrow `overlays`):\n  " + \
        "\n  ".join(stale)


def test_security_review_kubernetes_counts_are_current(checkov_results):
    """docs/security-review.md shows this run's counts per rendered overlay (regenerate with `make docs`)."""
    from scripts.docgen.synthesized import between
    from scripts.security_review import TARGET, kubernetes_section

    assert between(TARGET.read_text(encoding="utf-8"), "checkov-kubernetes") == kubernetes_section(checkov_results["per_group"]), \
        "checkov's results changed: run `make docs`"
