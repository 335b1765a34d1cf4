"""checkov's findings as GitLab reports, so they show in the merge request: JUnit (the test report widget,
every tier) and GitLab SAST (the security widget, Ultimate), for the synthesized stacks and for the
rendered manifests plus the Skaffold verify Job.

The gate stays the test suite (tests/policies/test_checkov.py, tests/k8s/test_k8s_checkov.py: no finding
outside the reviewed exceptions). Here the reviewed exceptions (policies/checkov-exceptions-*.yaml) become a
checkov baseline, and checkov reports what they cover as skipped (`--output-baseline-as-skipped`): every failure
left in the reports is one the gate fails on too. checkov matches a baseline entry by resource and check id
in any file, so one environment's exception also covers the same resource of another environment in these
reports (never in the gate).
"""
from __future__ import annotations

import fnmatch
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Iterable, Mapping

import yaml

from policies.checkov_runner import CHECKOV_ENV, CRASHING_TERRAFORM_CHECKS, CUSTOM_CHECKS

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"
VERIFY_JOB_GROUP = "verify-job"
# report name -> (checkov framework, exceptions file)
SCANS = {
    "terraform": ("terraform_json", POLICIES / "checkov-exceptions-terraform.yaml"),
    "kubernetes": ("kubernetes", POLICIES / "checkov-exceptions-kubernetes.yaml"),
}


def report_paths(reports_dir: Path, name: str) -> dict[str, Path]:
    """The report files of one scan, by checkov output format."""
    return {"junitxml": reports_dir / f"checkov-{name}.junit.xml", "gitlab_sast": reports_dir / f"gl-sast-checkov-{name}.json"}


def _exceptions(path: Path) -> list[dict]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["exceptions"]


def _baseline(findings: Iterable[tuple[str, str, str]]) -> dict:
    """checkov's .checkov.baseline document from (file, resource, check id)."""
    by_file: dict[str, dict[str, set[str]]] = {}
    for file, resource, check in findings:
        by_file.setdefault(file, {}).setdefault(resource, set()).add(check)
    return {"failed_checks": [
        {"file": file, "findings": [{"resource": r, "check_ids": sorted(c)} for r, c in sorted(resources.items())]}
        for file, resources in sorted(by_file.items())
    ]}


def terraform_baseline(stacks_dir: Path, exceptions: list[dict]) -> dict:
    """Entries `{check, stacks, resource}` match a stack name and a construct path (below the stack), as in
    tests/policies/test_checkov.py; checkov's terraform_json runner names a resource `resource.<logical id>`."""
    found = []
    for document_path in sorted(stacks_dir.glob("*/cdk.tf.json")):
        stack = document_path.parent.name
        document = json.loads(document_path.read_text(encoding="utf-8"))
        for resources in document.get("resource", {}).values():
            for logical_id, body in resources.items():
                path = body["//"]["metadata"]["path"].split("/", 1)[1]
                found += [
                    (f"/{stack}/cdk.tf.json", f"resource.{logical_id}", entry["check"])
                    for entry in exceptions
                    if fnmatch.fnmatchcase(stack, entry["stacks"]) and fnmatch.fnmatchcase(path, entry["resource"])
                ]
    return _baseline(found)


def kubernetes_baseline(rendered_dir: Path, exceptions: list[dict]) -> dict:
    """Entries `{check_id, resource: Kind/namespace/name, overlays}` match objects of `<group>/*.yaml`, as in
    tests/k8s/test_k8s_checkov.py; checkov names them `Kind.namespace.name` (`Kind.name` cluster-scoped)."""
    found = []
    for manifest in sorted(rendered_dir.glob("*/*.yaml")):
        group = manifest.parent.name
        for obj in yaml.safe_load_all(manifest.read_text(encoding="utf-8")):
            if not obj:
                continue
            namespace, name = obj["metadata"].get("namespace"), obj["metadata"]["name"]
            key = f"{obj['kind']}/{namespace or '-'}/{name}"
            resource = ".".join(part for part in (obj["kind"], namespace, name) if part)
            found += [
                (f"/{group}/{manifest.name}", resource, entry["check_id"])
                for entry in exceptions
                if group in entry["overlays"] and fnmatch.fnmatchcase(key, entry["resource"])
            ]
    return _baseline(found)


def checkov_command(framework: str, directory: Path, baseline: Path, reports: Mapping[str, Path]) -> list[str]:
    formats = ["cli", *reports]
    command = [str(Path(sys.executable).with_name("checkov")), "--directory", str(directory), "--framework", framework,
               "--skip-download", "--compact", "--quiet", "--soft-fail",
               "--baseline", str(baseline), "--output-baseline-as-skipped"]
    for output in formats:
        command += ["--output", output]
    command += ["--output-file-path", ",".join(["console", *map(str, reports.values())])]
    if framework == "terraform_json":
        command += ["--external-checks-dir", str(CUSTOM_CHECKS), "--skip-check", ",".join(CRASHING_TERRAFORM_CHECKS)]
    return command


def render_manifests(target: Path) -> None:
    """Every overlay as Skaffold renders it, plus the merged Skaffold verify Job: what the tests scan."""
    from k8s import render
    from k8s.verify_job import merged_verify_job

    render.main(["--out", str(target)])
    skaffold = yaml.safe_load((ROOT / "skaffold.yaml").read_text(encoding="utf-8"))
    (target / VERIFY_JOB_GROUP).mkdir(parents=True, exist_ok=True)
    (target / VERIFY_JOB_GROUP / "job.yaml").write_text(yaml.safe_dump(merged_verify_job(skaffold)), encoding="utf-8")


def run(stacks_dir: Path, rendered_dir: Path, reports_dir: Path) -> int:
    """Both scans; checkov's exit code (non-zero only when checkov itself failed: findings are soft)."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    directories = {"terraform": stacks_dir, "kubernetes": rendered_dir}
    builders = {"terraform": terraform_baseline, "kubernetes": kubernetes_baseline}
    for name, (framework, exceptions_file) in SCANS.items():
        baseline = reports_dir / f"checkov-{name}.baseline"
        baseline.write_text(json.dumps(builders[name](directories[name], _exceptions(exceptions_file)), indent=1),
                            encoding="utf-8")
        command = checkov_command(framework, directories[name], baseline, report_paths(reports_dir, name))
        code = subprocess.run(command, env={**os.environ, **CHECKOV_ENV}).returncode
        if code:
            print(f"checkov ({framework}) failed with exit code {code}", file=sys.stderr)
            return code
    return 0
