"""checkov's JUnit and GitLab SAST reports: a reviewed exception is reported as skipped, anything else as a
failure / vulnerability, and the baselines match resources the way the policy tests do."""
from __future__ import annotations

import json
import os
import subprocess
import xml.etree.ElementTree as ET

import yaml

from ci import checkov_reports

# A bucket without access logging (CKV_GCP_62) in the shape cdktf writes it.
BUCKET = {
    "//": {"metadata": {"path": "dev-bootstrap/state/bucket", "uniqueId": "state_bucket_803B4E61"}},
    "name": "b", "location": "EU", "uniform_bucket_level_access": True, "public_access_prevention": "enforced",
    "versioning": {"enabled": True},
}
BUCKET_EXCEPTION = {"check": "CKV_GCP_62", "stacks": "*-bootstrap", "resource": "state/bucket", "reason": "r"}


def _stacks(tmp_path):
    stacks = tmp_path / "stacks"
    for stack in ("dev-bootstrap", "dev-network"):
        (stacks / stack).mkdir(parents=True)
        (stacks / stack / "cdk.tf.json").write_text(json.dumps({"resource": {"google_storage_bucket": {"state_bucket_803B4E61": BUCKET}}}))
    return stacks


def test_terraform_exceptions_match_stack_and_construct_path(tmp_path):
    baseline = checkov_reports.terraform_baseline(_stacks(tmp_path), [BUCKET_EXCEPTION])
    assert baseline == {"failed_checks": [{"file": "/dev-bootstrap/cdk.tf.json",
                                           "findings": [{"resource": "resource.state_bucket_803B4E61", "check_ids": ["CKV_GCP_62"]}]}]}
    assert checkov_reports.terraform_baseline(_stacks(tmp_path / "x"), [{**BUCKET_EXCEPTION, "resource": "state/other"}]) == {"failed_checks": []}


def test_kubernetes_exceptions_match_group_kind_namespace_and_name(tmp_path):
    (tmp_path / "prod").mkdir()
    (tmp_path / "prod" / "rendered.yaml").write_text(yaml.safe_dump_all([
        {"kind": "Deployment", "metadata": {"name": "api", "namespace": "apps"}},
        {"kind": "Namespace", "metadata": {"name": "apps"}},
    ]))
    exceptions = [{"check_id": "CKV_K8S_14", "resource": "*/apps/*", "overlays": ["prod"], "reason": "r"},
                  {"check_id": "CKV_K8S_21", "resource": "Namespace/-/apps", "overlays": ["prod"], "reason": "r"},
                  {"check_id": "CKV_K8S_43", "resource": "*/apps/*", "overlays": ["dev"], "reason": "r"}]
    [entry] = checkov_reports.kubernetes_baseline(tmp_path, exceptions)["failed_checks"]
    assert entry["file"] == "/prod/rendered.yaml"
    assert entry["findings"] == [{"resource": "Deployment.apps.api", "check_ids": ["CKV_K8S_14"]},
                                 {"resource": "Namespace.apps", "check_ids": ["CKV_K8S_21"]}]


def _scan(tmp_path, exceptions) -> tuple[ET.Element, dict]:
    stacks = _stacks(tmp_path)
    reports = checkov_reports.report_paths(tmp_path / "reports", "terraform")
    reports["junitxml"].parent.mkdir()
    baseline = tmp_path / "baseline"
    baseline.write_text(json.dumps(checkov_reports.terraform_baseline(stacks, exceptions)))
    command = checkov_reports.checkov_command("terraform_json", stacks, baseline, reports)
    result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **checkov_reports.CHECKOV_ENV}, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]  # --soft-fail: findings never fail the job
    return ET.parse(reports["junitxml"]).getroot(), json.loads(reports["gitlab_sast"].read_text())


def test_reports_show_unreviewed_findings_and_skip_reviewed_exceptions(tmp_path):
    junit, sast = _scan(tmp_path / "reviewed", [BUCKET_EXCEPTION])
    failed = {case.get("name") for case in junit.iter("testcase") if case.find("failure") is not None}
    skipped = [case for case in junit.iter("testcase") if case.find("skipped") is not None]
    # dev-bootstrap's bucket is excepted; checkov's baseline matches by resource and check in any file, so
    # dev-network's same-named bucket is skipped too (documented), and nothing is left failed.
    assert not failed and skipped
    assert sast["scan"]["type"] == "sast" and sast["vulnerabilities"] == []

    junit, sast = _scan(tmp_path / "unreviewed", [])
    failed = [case for case in junit.iter("testcase") if case.find("failure") is not None]
    assert any("CKV_GCP_62" in case.get("name", "") for case in failed)
    assert {v["identifiers"][0]["value"] for v in sast["vulnerabilities"]} >= {"CKV_GCP_62"}


def test_the_reports_use_the_projects_custom_checks_and_exception_files():
    command = checkov_reports.checkov_command("terraform_json", checkov_reports.ROOT, checkov_reports.ROOT / "b", {"junitxml": "j"})
    assert command[command.index("--external-checks-dir") + 1] == str(checkov_reports.POLICIES / "checkov")
    assert command[command.index("--output-file-path") + 1] == "console,j"
    for framework, exceptions in checkov_reports.SCANS.values():
        assert exceptions.is_file() and yaml.safe_load(exceptions.read_text())["exceptions"], framework
