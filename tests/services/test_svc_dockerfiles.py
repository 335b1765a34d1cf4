"""services/Dockerfile (no Docker engine here): checkov's dockerfile framework for the generic checks, run
once; the project-specific checks of svc_dockerfile_lint for each Skaffold artifact's build args; the entry
point's signal handling; the pinned requirements."""
from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from dockerfile_parse import DockerfileParser
from svc_dockerfile_lint import artifact_problems, pin_problems, requirement_problems
from svc_testlib import SERVICES_DIR, Client
from test_svc_entrypoints import JsonLines

REPO_ROOT = SERVICES_DIR.parent
DOCKERFILE = SERVICES_DIR / "Dockerfile"
ARTIFACTS = {a["image"]: a["docker"]["buildArgs"]
             for a in yaml.safe_load((REPO_ROOT / "skaffold.yaml").read_text())["build"]["artifacts"]}
# checkov reports these on stderr when a check crashes or a file cannot be parsed; its results would then
# be silently incomplete.
STDERR_FAILURES = ("Failed to run check", "Traceback", "parsing error", "Failed to parse", "Exception")
# Generic checks the project relies on checkov for (no home-made code), proven on a known-bad Dockerfile.
BAD_DOCKERFILE = "FROM python:latest\nADD app.py /app/\nUSER root\nENTRYPOINT [\"python\", \"/app/app.py\"]\n"
BAD_DOCKERFILE_FAILS = {"CKV_DOCKER_2": "no HEALTHCHECK", "CKV_DOCKER_4": "ADD instead of COPY",
                        "CKV_DOCKER_7": "latest tag", "CKV_DOCKER_8": "root USER"}


# --- checkov (generic Dockerfile checks) ------------------------------------------------------------------

def _start_checkov() -> tuple[subprocess.Popen, Path, Path]:
    """One checkov run over services/Dockerfile and a known-bad Dockerfile. Its start-up (~4 s of imports)
    dominates, so it starts when this module is imported, at collection, and runs while the other service
    tests do; the fixture only waits for it. Output goes to files: an unread pipe could block it."""
    workdir = Path(tempfile.mkdtemp(prefix="checkov-dockerfile-")).resolve()  # checkov reports resolved paths
    bad = workdir / "bad" / "Dockerfile"
    bad.parent.mkdir()
    bad.write_text(BAD_DOCKERFILE)
    with open(workdir / "stdout", "wb") as stdout, open(workdir / "stderr", "wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "checkov.main", "--framework", "dockerfile", "-f", str(DOCKERFILE),
             "-f", str(bad), "-o", "json", "--compact", "--skip-download"],
            stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL, cwd=workdir,
            env={**os.environ, "BC_SKIP_MAPPING": "TRUE"})

    def _cleanup() -> None:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(workdir, ignore_errors=True)

    atexit.register(_cleanup)
    return proc, workdir, bad


_CHECKOV = _start_checkov()


@pytest.fixture(scope="module")
def checkov_results() -> dict[str, Any]:
    proc, workdir, bad = _CHECKOV
    returncode = proc.wait(timeout=300)
    stdout, stderr = (workdir / "stdout").read_text(), (workdir / "stderr").read_text()
    bad_stderr = [line for line in stderr.splitlines() if any(m in line for m in STDERR_FAILURES)]
    if bad_stderr or returncode not in (0, 1):
        pytest.fail(f"checkov did not run cleanly (exit {returncode}):\n{stderr[-3000:]}", pytrace=False)
    report = json.loads(stdout)
    assert isinstance(report, dict) and report["check_type"] == "dockerfile", stdout[:500]
    assert report["summary"]["parsing_errors"] == 0, report["summary"]
    results: dict[str, dict[str, list[str]]] = {str(DOCKERFILE): {}, str(bad): {}}
    for outcome in ("passed_checks", "failed_checks"):
        for result in report["results"].get(outcome, []):
            results[result["file_abs_path"]].setdefault(outcome, []).append(result["check_id"])
    return {"real": results[str(DOCKERFILE)], "bad": results[str(bad)]}


def test_checkov_passes_the_dockerfile(checkov_results):
    real = checkov_results["real"]
    assert real.get("failed_checks", []) == [], "failed checkov checks (fix them; there is no exception list)"
    # evaluated and passed, not merely absent (checkov reports its ADD check only where ADD is used)
    assert {"CKV_DOCKER_2", "CKV_DOCKER_3", "CKV_DOCKER_7", "CKV_DOCKER_8"} <= set(real["passed_checks"])


def test_checkov_catches_what_the_project_relies_on_it_for(checkov_results):
    assert set(checkov_results["bad"].get("failed_checks", [])) >= set(BAD_DOCKERFILE_FAILS)


# --- project-specific checks per Skaffold artifact --------------------------------------------------------

@pytest.mark.parametrize("image", sorted(ARTIFACTS))
def test_artifact_build_passes_the_project_checks(image):
    assert artifact_problems(DOCKERFILE, SERVICES_DIR, ARTIFACTS[image]) == []


def test_every_service_folder_has_an_artifact():
    folders = {main.parent.parent.name for main in SERVICES_DIR.glob("*/*/__main__.py")}
    assert sorted(args["SERVICE"] for args in ARTIFACTS.values()) == sorted(folders)


def _context(root: Path) -> tuple[Path, dict[str, str]]:
    """A minimal build context for the real Dockerfile: the shared package plus one service `svc`."""
    (root / "common" / "platform_service").mkdir(parents=True)
    (root / "common" / "platform_service" / "__init__.py").write_text("")
    (root / "common" / "requirements.txt").write_text("# nothing\n")
    (root / "svc" / "pkg").mkdir(parents=True)
    (root / "svc" / "pkg" / "__main__.py").write_text("")
    (root / "svc" / "requirements.txt").write_text("lib==1.0 \\\n    --hash=sha256:" + "0" * 64 + "\n")
    shutil.copy(SERVICES_DIR / ".dockerignore", root / ".dockerignore")
    return root, {"SERVICE": "svc", "PACKAGE": "pkg"}


def test_a_minimal_context_passes(tmp_path):
    context, args = _context(tmp_path)
    assert artifact_problems(DOCKERFILE, context, args) == []


@pytest.mark.parametrize("case, expected", [
    ("unknown service folder", "COPY source other/requirements.txt does not exist"),
    ("service without requirements.txt", "COPY source svc/requirements.txt does not exist"),
    ("package not given", "SERVICE_PACKAGE='' is not a package copied"),
    ("package without __main__.py", "svc/pkg has no __main__.py"),
    ("build arg typo", "build arg DATADIR is not declared"),
    ("folder excluded by .dockerignore", "COPY source svc/pkg: svc/pkg is excluded by .dockerignore"),
    ("code excluded by .dockerignore", "COPY source common/platform_service: common/platform_service/__init__.py"),
    ("requirement not pinned", "svc/requirements.txt: lib>=1.0 is not pinned with =="),
    ("requirement without hash", "svc/requirements.txt: lib==1.0 has no --hash"),
])
def test_each_project_check_catches_its_problem(tmp_path, case, expected):
    context, args = _context(tmp_path)
    requirements = context / "svc" / "requirements.txt"
    if case == "unknown service folder":
        args["SERVICE"] = "other"
    elif case == "service without requirements.txt":
        requirements.unlink()
    elif case == "package not given":
        del args["PACKAGE"]
    elif case == "package without __main__.py":
        (context / "svc" / "pkg" / "__main__.py").rename(context / "svc" / "pkg" / "main.py")
    elif case == "build arg typo":
        args["DATADIR"] = "/var/lib/svc"
    elif case == "folder excluded by .dockerignore":
        (context / ".dockerignore").write_text("svc/pkg\n")
    elif case == "code excluded by .dockerignore":
        (context / ".dockerignore").write_text("**/*.py\n")
    elif case == "requirement not pinned":
        requirements.write_text(requirements.read_text().replace("==", ">="))
    else:
        requirements.write_text("lib==1.0\n")
    problems = artifact_problems(DOCKERFILE, context, args)
    assert any(expected in p for p in problems), problems


def test_requirement_check_reads_continuations_and_comments(tmp_path):
    path = tmp_path / "requirements.txt"
    path.write_text("# comment\na==1 \\\n    --hash=sha256:ab  # trailing\nb==2\nc \\\n  --hash=sha256:cd\n")
    prefix = f"{tmp_path.name}/requirements.txt"
    assert requirement_problems(path) == [f"{prefix}: b==2 has no --hash", f"{prefix}: c is not pinned with =="]


def test_image_prometheus_client_matches_the_repository_pin(tmp_path):
    requirements = SERVICES_DIR / "common" / "requirements.txt"
    assert pin_problems(REPO_ROOT / "Pipfile", requirements) == []
    other = tmp_path / "Pipfile"
    other.write_text('[dev-packages]\nprometheus-client = "==0.1.0"\n')
    assert pin_problems(other, requirements) == [
        "requirements.txt does not pin prometheus-client==0.1.0 like Pipfile"]


def test_temporalio_is_only_an_image_dependency():
    """The SDK stays out of the shared requirements and out of every module the tests import."""
    assert "temporalio" not in (SERVICES_DIR / "common" / "requirements.txt").read_text()
    worker_dir = SERVICES_DIR / "temporal-worker" / "temporal_worker"
    importers = sorted(p.name for p in Path(worker_dir).glob("*.py")
                       if re.search(r"^\s*(from|import) temporalio", p.read_text(), re.M))
    assert importers == ["temporal_source.py"]


# --- entry point ------------------------------------------------------------------------------------------

def test_the_entrypoint_execs_python_which_gets_sigterm(tmp_path):
    """The image's ENTRYPOINT and ENV (api-server's build args), run here with the test venv's `python`:
    the shell execs Python (same PID, so Python is PID 1 in the container) and SIGTERM drains it cleanly."""
    parser = DockerfileParser(str(DOCKERFILE), build_args=ARTIFACTS["api-server"])
    (entrypoint,) = [i["value"] for i in parser.structure if i["instruction"] == "ENTRYPOINT"]
    image_env = parser.envs
    env = {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", "HOME": str(tmp_path),
           "PYTHONPATH": os.pathsep.join(str(SERVICES_DIR / d) for d in ("common", "api-server")),
           "SERVICE_PACKAGE": image_env["SERVICE_PACKAGE"], "PYTHONDONTWRITEBYTECODE": "1",
           "PORT": "0", "BIND_ADDRESS": "127.0.0.1", "SHUTDOWN_GRACE_SECONDS": "2"}
    proc = subprocess.Popen(json.loads(entrypoint), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=tmp_path)
    try:
        reader = JsonLines(proc)
        listening = reader.until(lambda e: e["message"] == "listening", timeout=15)[-1]
        assert Client("127.0.0.1", int(listening["port"])).get("/healthz").status == 200
        argv = Path(f"/proc/{proc.pid}/cmdline").read_bytes().split(b"\0")
        assert argv[:3] == [b"python", b"-m", b"api_server"], argv  # no shell left in between
        proc.send_signal(signal.SIGTERM)
        lines = reader.until(lambda e: e["message"] == "shutdown complete", timeout=15)
        assert any(e["message"] == "signal received" and e["signal"] == "SIGTERM" for e in lines)
        assert lines[-1]["clean"] is True and proc.wait(timeout=10) == 0
        assert proc.stderr.read() == b""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        proc.stdout.close()
        proc.stderr.close()
