"""The pipeline definitions are valid GitLab CI (GitLab's own schema), the validate job runs the README's
test command, and the shell left in jobs passes shellcheck."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ci import manifest, pipeline
from tests.conftest import REPO_ROOT

BIN = Path(sys.executable).parent
SITUATIONS = {
    "merge request": pipeline.Situation(source="merge_request_event"),
    "develop": pipeline.Situation(source="push", branch="develop", protected=True),
    "main": pipeline.Situation(source="push", branch="main", protected=True),
    "schedule": pipeline.Situation(source="schedule", branch="main", protected=True),
}


@pytest.fixture(scope="module")
def children(synthesized, configs, tmp_path_factory) -> dict[str, Path]:
    """The child pipeline ci synth writes in each situation, over the real synthesized manifest."""
    stacks = manifest.load(synthesized.outdir)
    refs = {name: tuple(config.ci.apply_refs) for name, config in configs.items()}
    folder = tmp_path_factory.mktemp("children")
    files = {}
    for name, situation in SITUATIONS.items():
        files[name] = folder / f"{name.replace(' ', '-')}.yml"
        files[name].write_text(yaml.safe_dump(pipeline.generate(stacks, pipeline.modes(situation, refs))))
    files["nothing changed"] = folder / "empty.yml"
    files["nothing changed"].write_text(yaml.safe_dump(pipeline.generate(stacks, {"dev": pipeline.Mode.PLAN}, only=set())))
    return files


def test_gitlab_ci_and_every_generated_child_validate_against_gitlabs_schema(children):
    result = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.gitlab-ci",
         str(REPO_ROOT / ".gitlab-ci.yml"), *map(str, children.values())],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_validate_job_runs_the_readme_test_command():
    readme = (REPO_ROOT / "README.md").read_text()
    jobs = yaml.safe_load((REPO_ROOT / ".gitlab-ci.yml").read_text())
    assert "make test" in readme
    assert "make test" in jobs["validate"]["script"]
    assert jobs["validate"]["artifacts"]["reports"]["junit"] == "reports/junit.xml"
    assert "make test" in (REPO_ROOT / ".ci" / "run").read_text()


def _scripts(document: dict) -> dict[str, list[str]]:
    defaults = document.get("default", {})
    found = {}
    for name, job in document.items():
        if isinstance(job, dict) and ("script" in job or name == "default"):
            lines = [*job.get("before_script", defaults.get("before_script", []) if "script" in job else []),
                     *job.get("script", [])]
            found[name] = lines
    return found


def test_shell_in_every_job_is_minimal_and_passes_shellcheck(children, tmp_path):
    documents = {"parent": yaml.safe_load((REPO_ROOT / ".gitlab-ci.yml").read_text())}
    documents.update({name: yaml.safe_load(path.read_text()) for name, path in children.items()})
    checked = 0
    for origin, document in documents.items():
        for job, lines in _scripts(document).items():
            assert len(lines) <= 3, f"{origin} {job}: move logic into ci/ (python -m ci ...), not job shell"
            script = tmp_path / f"{origin}-{job.replace(':', '_').replace('/', '_')}.sh"
            script.write_text("#!/bin/bash\nset -euo pipefail\n" + "\n".join(lines) + "\n")
            result = subprocess.run([str(BIN / "shellcheck"), str(script)], capture_output=True, text=True)
            assert result.returncode == 0, f"{origin} {job}:\n{result.stdout}"
            checked += 1
    assert checked >= 15


def test_every_variable_the_pipeline_reads_is_documented():
    """docs/ci-cd.md lists each project variable the jobs, the tool lock and the generated jobs read."""
    import re

    from ci import identity

    docs = (REPO_ROOT / "docs" / "ci-cd.md").read_text()
    sources = (REPO_ROOT / ".gitlab-ci.yml").read_text() + (REPO_ROOT / "ci" / "tools.lock").read_text()
    read = set(re.findall(r"\$(PLATFORM_[A-Z0-9_]+)", sources)) | {"PLATFORM_ALLOW_DESTROY", "PLATFORM_PLAN_ALL"}
    per_env = {f"PLATFORM_<ENV>_{output.upper()}" for output in identity.BOOTSTRAP_OUTPUTS}
    for name in read:
        generic = re.sub(r"^PLATFORM_(DEV|STAGING|PROD)_", "PLATFORM_<ENV>_", name)
        if generic in per_env:
            continue
        assert f"`{name}" in docs, f"{name} is read by the pipeline but not documented in docs/ci-cd.md"
    for output in identity.BOOTSTRAP_OUTPUTS:
        assert f"_{output.upper()}`" in docs, output


def test_every_image_is_pinned_by_a_literal_digest():
    """No tag-only image and no digest taken from a variable: what runs is what the review saw."""
    import re

    document = yaml.safe_load((REPO_ROOT / ".gitlab-ci.yml").read_text())
    images = {name: value for name, value in document["variables"].items() if name.endswith("_IMAGE")}
    assert set(images) == {"CI_PYTHON_IMAGE", "CI_DIND_IMAGE"}
    for name, reference in images.items():
        assert re.fullmatch(r"[a-z0-9./-]+:[\w.-]+@sha256:[0-9a-f]{64}", reference), f"{name}: {reference}"
    assert document["default"]["image"] == "$CI_PYTHON_IMAGE"
    assert document[".docker"]["services"][0]["name"] == "$CI_DIND_IMAGE"


def test_the_pipeline_documentation_is_reachable_from_the_readme_and_the_testing_guide():
    assert "(docs/ci-cd.md)" in (REPO_ROOT / "README.md").read_text()
    assert "(ci-cd.md)" in (REPO_ROOT / "docs" / "testing.md").read_text()
