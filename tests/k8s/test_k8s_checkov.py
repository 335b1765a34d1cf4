"""checkov (--framework kubernetes) over every rendered overlay and the merged Skaffold verify Job, in ONE
checkov run (its start-up dominates). Zero failed checks are allowed outside
policies/checkov-exceptions-kubernetes.yaml, and every exception must still match something."""
from __future__ import annotations

import fnmatch
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from k8s import render as k8s_render
from k8s.verify_job import merged_verify_job

REPO_ROOT = Path(__file__).resolve().parents[2]
EXCEPTIONS_FILE = REPO_ROOT / "policies" / "checkov-exceptions-kubernetes.yaml"
VERIFY_JOB = "verify-job"
SCANNED = (*k8s_render.ALL_OVERLAYS, VERIFY_JOB)
# checkov reports these on stderr when a check crashes or a file cannot be parsed; its results would then
# be silently incomplete.
STDERR_FAILURES = ("Failed to run check", "Traceback", "parsing error", "Failed to parse", "Exception")


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
    proc = subprocess.run(
        [sys.executable, "-m", "checkov.main", "-d", str(scan_dir), "--framework", "kubernetes", "-o", "json",
         "--compact", "--skip-download"],  # no --quiet: it drops the passed checks counted per overlay
        capture_output=True, text=True, check=False, cwd=scan_dir)
    bad_stderr = [line for line in proc.stderr.splitlines() if any(m in line for m in STDERR_FAILURES)]
    if bad_stderr or proc.returncode not in (0, 1):
        pytest.fail(f"checkov did not run cleanly (exit {proc.returncode}):\n{proc.stderr[-3000:]}", pytrace=False)
    report = json.loads(proc.stdout)
    reports = report if isinstance(report, list) else [report]
    assert [r["check_type"] for r in reports] == ["kubernetes"], proc.stdout[:500]
    summary = reports[0]["summary"]
    assert summary["parsing_errors"] == 0, summary
    results = reports[0]["results"]
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
