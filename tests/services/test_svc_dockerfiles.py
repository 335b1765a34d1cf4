"""Static checks of the four Dockerfiles (no Docker engine here) and of the pinned requirements."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from svc_dockerfile_lint import check, parse, requirement_problems
from svc_testlib import SERVICES_DIR

SERVICES = {"api-server": "api_server", "ai-server": "ai_server", "backend": "backend_server",
            "temporal-worker": "temporal_worker"}
REPO_ROOT = SERVICES_DIR.parent


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_dockerfile_passes_the_checks(service):
    dockerfile = SERVICES_DIR / service / "Dockerfile"
    assert check(dockerfile, SERVICES_DIR) == []


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_dockerfile_runs_its_own_package_as_uid_65532(service):
    instructions = parse((SERVICES_DIR / service / "Dockerfile").read_text())
    final = instructions[max(i for i, ins in enumerate(instructions) if ins.keyword == "FROM"):]
    assert [ins.args for ins in final if ins.keyword == "USER"] == ["65532:65532"]
    assert [ins.args for ins in final if ins.keyword == "ENTRYPOINT"] == [f'["python", "-m", "{SERVICES[service]}"]']
    froms = [ins.args for ins in instructions if ins.keyword == "FROM"]
    assert froms[0] == "python:3.11.10-slim-bookworm AS build" and froms[-1] == "python:3.11.10-slim-bookworm"
    assert "digest" in (SERVICES_DIR / service / "Dockerfile").read_text()  # why no digest is explained


def test_the_checker_finds_problems_in_a_bad_dockerfile(tmp_path):
    (tmp_path / "app").mkdir()
    (tmp_path / "reqs.txt").write_text("requests>=2\n")
    (tmp_path / "Dockerfile").write_text(
        "FROM python:latest\n"
        "ENV API_TOKEN=abc\n"
        "COPY reqs.txt /tmp/reqs.txt\n"
        "RUN pip install -r /tmp/reqs.txt\n"
        "COPY missing/ /app/missing\n"
        "COPY app /app/app\n"
        "USER root\n"
        'CMD python -m nothing\n')
    problems = check(tmp_path / "Dockerfile", tmp_path)
    expected = ["FROM python:latest is not pinned", "API_TOKEN looks like a secret",
                "pip install without --require-hashes", "COPY source missing/ does not exist",
                "USER root is not numeric", "no HEALTHCHECK", "PYTHONDONTWRITEBYTECODE=1 is not set",
                "EXPOSEs no port", "CMD is not in exec form", "requests>=2 is not pinned", "requests>=2 has no --hash"]
    for fragment in expected:
        assert any(fragment in p for p in problems), (fragment, problems)


def test_the_checker_rejects_an_untagged_base_uid_0_and_a_missing_module(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "Dockerfile").write_text(
        "FROM debian\nENV PYTHONDONTWRITEBYTECODE=1 PYTHONPATH=/app PORT=8080\nCOPY pkg /app/pkg\n"
        "USER 0:0\nEXPOSE 9090\nHEALTHCHECK CMD [\"true\"]\nENTRYPOINT [\"python\", \"-m\", \"pkg\"]\n")
    problems = check(tmp_path / "Dockerfile", tmp_path)
    for fragment in ("FROM debian has no tag", "USER 0:0 is root", "does not include PORT=8080",
                     "module pkg has no __main__.py"):
        assert any(fragment in p for p in problems), (fragment, problems)


def test_copy_sources_are_not_excluded_by_dockerignore(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / ".dockerignore").write_text("src\n")
    (tmp_path / "Dockerfile").write_text("FROM python:3.11.10-slim\nCOPY src /app/src\n")
    assert any("excluded by .dockerignore" in p for p in check(tmp_path / "Dockerfile", tmp_path))


def test_requirements_are_pinned_with_hashes():
    for path in (SERVICES_DIR / "common" / "requirements.txt", SERVICES_DIR / "temporal-worker" / "requirements.txt"):
        assert requirement_problems(path) == []


def test_image_prometheus_client_matches_the_repository_pin():
    pipfile = tomllib.loads((REPO_ROOT / "Pipfile").read_text())
    pinned = pipfile["dev-packages"]["prometheus-client"].lstrip("=")
    requirements = (SERVICES_DIR / "common" / "requirements.txt").read_text()
    assert re.search(rf"^prometheus-client=={re.escape(pinned)} ", requirements, re.M)


def test_temporalio_is_only_an_image_dependency():
    """The SDK stays out of the shared requirements and out of every module the tests import."""
    assert "temporalio" not in (SERVICES_DIR / "common" / "requirements.txt").read_text()
    worker_dir = SERVICES_DIR / "temporal-worker" / "temporal_worker"
    importers = sorted(p.name for p in Path(worker_dir).glob("*.py")
                       if re.search(r"^\s*(from|import) temporalio", p.read_text(), re.M))
    assert importers == ["temporal_source.py"]
