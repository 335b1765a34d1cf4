"""The pipeline definition is valid GitLab CI and runs the README's test command."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import REPO_ROOT


def test_gitlab_ci_validates_against_gitlabs_schema():
    checker = Path(sys.executable).with_name("check-jsonschema")
    result = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.gitlab-ci", str(REPO_ROOT / ".gitlab-ci.yml")],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ci_runs_the_readme_test_command():
    readme = (REPO_ROOT / "README.md").read_text()
    pipeline = yaml.safe_load((REPO_ROOT / ".gitlab-ci.yml").read_text())
    assert "make test" in readme
    assert any("make test" in job.get("script", []) for job in pipeline.values() if isinstance(job, dict))
    assert "make test" in (REPO_ROOT / ".ci" / "run").read_text()
