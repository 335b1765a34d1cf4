"""How the platform runs checkov, shared by the policy tests (tests/policies, tests/k8s) and the security
review generator (scripts/security_review.py), so the counts in docs/security-review.md come from exactly
the runs the tests gate on."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

CUSTOM_CHECKS = Path(__file__).resolve().parent / "checkov"
# Offline and deterministic: no download of guidelines or of external modules.
CHECKOV_ENV = {"BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false", "LOG_LEVEL": "WARNING"}
# checkov reports these on stderr when a check crashes or a file cannot be parsed; its results would then
# be silently incomplete.
TERRAFORM_STDERR_FAILURES = ("Failed to run check", "Traceback", "parsing error", "Error parsing")
KUBERNETES_STDERR_FAILURES = ("Failed to run check", "Traceback", "parsing error", "Failed to parse", "Exception")


class CheckovError(RuntimeError):
    pass


def _run(command: list[str], failures: tuple[str, ...], **kwargs) -> list[dict]:
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=900, **kwargs)
    bad = [line for line in result.stderr.splitlines() if any(marker in line for marker in failures)]
    if bad or result.returncode not in (0, 1):
        raise CheckovError(f"checkov did not run cleanly (exit {result.returncode}):\n{result.stderr[-4000:]}")
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    for report in reports:
        if report["summary"]["parsing_errors"]:
            raise CheckovError(f"checkov could not parse everything: {report['summary']}")
    return reports


def terraform_reports(directory: Path) -> list[dict]:
    """checkov's JSON reports (framework terraform_json, with the platform's custom checks) for every
    cdk.tf.json below `directory`."""
    command = [
        str(Path(sys.executable).with_name("checkov")), "--directory", str(directory), "--framework", "terraform_json",
        "--output", "json", "--compact", "--skip-download",
    ]
    if CUSTOM_CHECKS.is_dir():
        command += ["--external-checks-dir", str(CUSTOM_CHECKS)]
    return _run(command, TERRAFORM_STDERR_FAILURES, env={**os.environ, **CHECKOV_ENV})


def kubernetes_report(scan_dir: Path) -> dict:
    """checkov's JSON report (framework kubernetes) for the manifests below `scan_dir`, in one run (its
    start-up dominates)."""
    command = [sys.executable, "-m", "checkov.main", "-d", str(scan_dir), "--framework", "kubernetes", "-o", "json",
               "--compact", "--skip-download"]  # no --quiet: it drops the passed checks counted per target
    reports = _run(command, KUBERNETES_STDERR_FAILURES, cwd=scan_dir)
    if [report["check_type"] for report in reports] != ["kubernetes"]:
        raise CheckovError(f"expected one kubernetes report, got {[report['check_type'] for report in reports]}")
    return reports[0]
