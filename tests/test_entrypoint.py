"""`python main.py` and `cdktf synth` are the same program."""
from __future__ import annotations

import errno
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

import main
from constructs_lib import provider_loader
from stacks import synthesis
from tests.conftest import REPO_ROOT


def test_cdktf_json_runs_main_through_the_project_environment():
    settings = json.loads((REPO_ROOT / "cdktf.json").read_text())
    command = shlex.split(settings["app"])
    assert command == [".venv/bin/python", "main.py"]
    assert settings["language"] == "python" and settings["output"] == "cdktf.out"
    # Prebuilt bindings pin required_providers; listing providers would make `cdktf get` generate bindings.
    assert settings.get("terraformProviders", []) == [] and settings.get("terraformModules", []) == []


def test_app_context_matches_cdktf_json():
    from stacks.app_context import APP_CONTEXT

    assert json.loads((REPO_ROOT / "cdktf.json").read_text())["context"] == APP_CONTEXT


def test_cdktf_outdir_is_honoured_and_a_stack_subset_synthesizes_with_its_dependencies(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CDKTF_OUTDIR", str(tmp_path / "from-cli"))
    assert main.main(["--stack", "staging-network"]) == 0
    stacks = sorted(p.name for p in (tmp_path / "from-cli" / "stacks").iterdir())
    assert stacks == ["staging-bootstrap", "staging-network"]
    assert (tmp_path / "from-cli" / "manifest.json").is_file()
    out = capsys.readouterr().out
    assert "staging-network" in out and "2 stacks" in out


# ------------------------------------------------------------------------------ failures leave everything as it was
# Each failure ends with one clear message and a non-zero exit; the previous output and an unrelated file beside it
# stay byte-identical, and no staging directory, lock file or process is left. Most tests replace the jsii synth
# with a stand-in (`fake_synth`): what they check happens before or after it.


@pytest.fixture
def workspace(tmp_path):
    """A copy of the example configs, a previous synth output and an unrelated file beside it."""
    config_dir = tmp_path / "config"
    shutil.copytree(REPO_ROOT / "config", config_dir)
    outdir = tmp_path / "cdktf.out"
    (outdir / "stacks" / "dev-network").mkdir(parents=True)
    (outdir / "stacks" / "dev-network" / "cdk.tf.json").write_text('{"previous": true}')
    (outdir / "manifest.json").write_text('{"stacks": {}, "version": "previous"}')
    (outdir / synthesis.MARKER).write_text("previous")
    (tmp_path / "notes.txt").write_text("not synth's")
    return tmp_path


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def fake_synth(configs, outdir: Path, up_to, bootstrap_state_dir, eager) -> None:
    """What App.synth() writes, for these tests: one stack per environment, whose content follows the
    config and the options, and the manifest."""
    stacks = {}
    for config in configs:
        name = f"{config.name}-{up_to}"
        (outdir / "stacks" / name).mkdir(parents=True)
        content = {"config": config.model_dump_json(), "state": str(bootstrap_state_dir), "generation": FAKE_GENERATION[0]}
        (outdir / "stacks" / name / "cdk.tf.json").write_text(json.dumps(content))
        stacks[name] = {"name": name, "dependencies": []}
    (outdir / "manifest.json").write_text(synthesis.stable_json({"stacks": stacks, "version": "0.21.0"}))


FAKE_GENERATION = [1]  # bumped by a test to tell what fake_synth wrote when


def run_failing(workspace: Path, capsys, *args: str, code: int = 1, outdir: Path | None = None) -> str:
    before = tree(workspace)
    outdir = outdir or workspace / "cdktf.out"
    assert main.main(["--config-dir", str(workspace / "config"), "--outdir", str(outdir), *args]) == code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert tree(workspace) == before, "a failed run changed a file"
    assert sorted(p.name for p in workspace.iterdir()) == ["cdktf.out", "config", "notes.txt"]
    children = subprocess.run(["ps", "-o", "args=", "--ppid", str(os.getpid())], capture_output=True, text=True)
    assert "stacks.synthesis" not in children.stdout
    return err


def test_an_outdir_holding_other_files_is_refused(workspace, capsys):
    (workspace / "cdktf.out" / synthesis.MARKER).unlink()
    (workspace / "cdktf.out" / "keep.txt").write_text("mine")
    err = run_failing(workspace, capsys, "--env", "dev")
    assert f"error: {workspace / 'cdktf.out'} is not empty and is not a previous synth output (it has no {synthesis.MARKER})" in err


def test_outdir_dot_does_not_delete_the_checkout(workspace, capsys, monkeypatch):
    monkeypatch.chdir(workspace)
    err = run_failing(workspace, capsys, "--env", "dev", outdir=Path("."))
    assert f"{workspace} is not empty and is not a previous synth output" in err


def test_an_outdir_that_is_a_file_is_refused(workspace, capsys):
    err = run_failing(workspace, capsys, "--env", "dev", outdir=workspace / "notes.txt")
    assert f"{workspace / 'notes.txt'} is not a directory" in err


def test_an_outdir_that_is_a_symbolic_link_is_refused(workspace, capsys):
    link = workspace / "cdktf.out" / "stacks" / "link"
    link.symlink_to(workspace / "config")
    err = run_failing(workspace, capsys, "--env", "dev", outdir=link)
    assert f"{link} is a symbolic link; point --outdir / $CDKTF_OUTDIR at the directory itself" in err


def test_a_successful_run_marks_its_output_and_sweeps_stale_staging_of_its_own(workspace, capsys, monkeypatch):
    monkeypatch.setattr(synthesis, "_synth_here", fake_synth)
    for stale in (".cdktf.out.new-killed", ".cdktf.out.old-4242"):
        (workspace / stale / "stacks").mkdir(parents=True)
    (workspace / ".other.new-x").mkdir()  # not ours
    assert main.main(["--config-dir", str(workspace / "config"), "--outdir", str(workspace / "cdktf.out"), "--env", "dev"]) == 0
    assert sorted(p.name for p in workspace.iterdir()) == [".other.new-x", "cdktf.out", "config", "notes.txt"]
    assert sorted(p.name for p in (workspace / "cdktf.out").iterdir()) == [synthesis.MARKER, "manifest.json", "stacks"]
    assert (workspace / "notes.txt").read_text() == "not synth's"


def test_a_legacy_cdktf_output_without_the_marker_is_replaced(workspace, capsys, monkeypatch):
    monkeypatch.setattr(synthesis, "_synth_here", fake_synth)
    (workspace / "cdktf.out" / synthesis.MARKER).unlink()
    assert main.main(["--config-dir", str(workspace / "config"), "--outdir", str(workspace / "cdktf.out"), "--env", "dev"]) == 0
    assert (workspace / "cdktf.out" / "stacks" / "dev-observability").is_dir()


def test_ctrl_c_prints_one_line_and_leaves_nothing(workspace, capsys, monkeypatch):
    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(synthesis, "_synth_here", interrupted)
    err = run_failing(workspace, capsys, "--env", "dev", code=130)
    assert err == "interrupted (SIGINT): nothing was synthesized, the output is unchanged\n"


def test_sigterm_stops_the_workers_and_their_node_processes_and_leaves_nothing(workspace):
    tag = f"synth-test-{uuid.uuid4()}"
    before = tree(workspace)
    env = {key: value for key, value in provider_loader.child_environment().items() if key != "CDKTF_OUTDIR"}
    env.update(SYNTH_TEST_TAG=tag, JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20")
    args = ["--config-dir", str(workspace / "config"), "--outdir", str(workspace / "cdktf.out"), "--jobs", "2", "--no-cache"]
    process = subprocess.Popen(
        [sys.executable, str(REPO_ROOT / "main.py"), *args, "--env", "dev", "--env", "staging"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 60
    while len(_tagged_processes(tag)) < 4 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)  # main, its node, the worker, the worker's node
    assert process.poll() is None, process.communicate()
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM
    assert err.splitlines()[-1] == "interrupted (SIGTERM): nothing was synthesized, the output is unchanged"
    assert "Traceback" not in err
    assert tree(workspace) == before
    assert sorted(p.name for p in workspace.iterdir()) == ["cdktf.out", "config", "notes.txt"]
    assert _tagged_processes(tag) == []


def _tagged_processes(tag: str) -> list[int]:
    """Live processes whose environment carries `tag` (every descendant of the process started with it)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and f"SYNTH_TEST_TAG={tag}".encode() in (proc / "environ").read_bytes():
                if (proc / "stat").read_text().split(") ")[1][0] != "Z":
                    found.append(int(proc.name))
        except OSError:
            pass
    return found


def test_non_utf8_config_bytes_name_the_file_and_line(workspace, capsys):
    path = workspace / "config" / "dev.yaml"
    path.write_bytes(path.read_bytes().replace(b"\nname:", b"\n# caf\xe9\nname:", 1))
    line = path.read_bytes().split(b"\xe9")[0].count(b"\n") + 1
    err = run_failing(workspace, capsys, "--env", "dev", code=2)
    assert f"{path}: line {line}: byte 0xe9 is not UTF-8; expected UTF-8 text" in err


@pytest.mark.parametrize(
    "error, message",
    [(errno.ENOSPC, "No space left on device"), (errno.EROFS, "Read-only file system"), (errno.EACCES, "Permission denied")],
)
def test_a_write_error_during_synth_is_one_line_naming_the_file(workspace, capsys, monkeypatch, error, message):
    def failing(configs, outdir, *args):
        raise OSError(error, os.strerror(error), str(outdir / "stacks" / "dev-bootstrap" / "cdk.tf.json"))

    monkeypatch.setattr(synthesis, "_synth_here", failing)
    err = run_failing(workspace, capsys, "--env", "dev")
    assert re.search(rf"error: cannot write \S+/\.cdktf\.out\.new-\S+/stacks/dev-bootstrap/cdk\.tf\.json: {message}\n", err)
    assert err.endswith(f"nothing was synthesized; {workspace / 'cdktf.out'} is unchanged\n")


def test_a_read_only_output_parent_is_one_line(workspace, capsys, monkeypatch):
    def read_only(*args, dir, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), dir)

    monkeypatch.setattr(synthesis.tempfile, "mkdtemp", read_only)
    err = run_failing(workspace, capsys, "--env", "dev")
    assert f"error: cannot write {workspace}: Read-only file system" in err


@pytest.mark.parametrize("failing_call", [1, 2], ids=["busy output (moving it aside)", "swapping the new output in"])
def test_a_failed_swap_restores_the_previous_output(workspace, capsys, monkeypatch, failing_call):
    monkeypatch.setattr(synthesis, "_synth_here", fake_synth)
    calls = []
    real_replace = os.replace

    def replace(source, destination):
        calls.append(source)
        if len(calls) == failing_call:
            raise OSError(errno.EBUSY, os.strerror(errno.EBUSY), str(source))
        real_replace(source, destination)

    monkeypatch.setattr(synthesis.os, "replace", replace)
    err = run_failing(workspace, capsys, "--env", "dev")
    assert "Device or resource busy" in err


def test_a_second_synth_into_the_same_outdir_fails_at_once_naming_the_lock(workspace, capsys, monkeypatch):
    monkeypatch.setattr(synthesis, "_synth_here", fake_synth)
    outdir = workspace / "cdktf.out"
    lock = workspace / ".cdktf.out.lock"
    with synthesis.output_lock(outdir):
        before = tree(workspace)
        assert main.main(["--config-dir", str(workspace / "config"), "--outdir", str(outdir), "--env", "dev"]) == 1
        assert tree(workspace) == before
    assert f"error: another synth is writing {outdir} (it holds the lock {lock}); wait for it to finish" in capsys.readouterr().err
    assert not lock.exists()


@pytest.mark.parametrize("make, problem", [(None, "does not exist"), ("file", "is not a directory")])
def test_a_missing_config_dir_says_so(workspace, capsys, make, problem):
    missing = workspace / "no-such-config"
    if make:
        missing.write_text("")
    before = tree(workspace / "cdktf.out")
    assert main.main(["--config-dir", str(missing), "--outdir", str(workspace / "cdktf.out")]) == 2
    assert f"error: --config-dir {missing} {problem}; expected a directory of <env>.yaml files" in capsys.readouterr().err
    assert tree(workspace / "cdktf.out") == before


# ------------------------------------------------------------------------------ --stack and environment names with '-'


@pytest.fixture
def with_staging_eu(workspace):
    """The example configs plus an environment whose name contains '-' and ends like a layer could start."""
    text = (workspace / "config" / "staging.yaml").read_text()
    text = text.replace("name: staging\n", "name: staging-eu\n").replace("prefix: acme-staging\n", "prefix: acme-stg-eu\n")
    text = text.replace("state_bucket: example-platform-staging-tfstate\n", "state_bucket: example-platform-stg-eu-tfstate\n")
    (workspace / "config" / "staging-eu.yaml").write_text(text)
    return workspace


@pytest.mark.parametrize("value, env, layer", [("staging-eu-network", "staging-eu", "network"), ("staging-network", "staging", "network")])
def test_stack_matches_environment_names_containing_a_dash(with_staging_eu, monkeypatch, value, env, layer):
    built = []

    def recording(configs, outdir, up_to, *rest):
        built.append(([config.name for config in configs], up_to))
        fake_synth(configs, outdir, up_to, *rest)

    monkeypatch.setattr(synthesis, "_synth_here", recording)
    args = ["--config-dir", str(with_staging_eu / "config"), "--outdir", str(with_staging_eu / "cdktf.out"), "--stack", value]
    assert main.main(args) == 0
    assert built == [([env], layer)]


def test_an_unknown_stack_lists_the_environments_and_layers(with_staging_eu, capsys):
    err = run_failing(with_staging_eu, capsys, "--stack", "staging-eu-netwrok", code=2)
    assert "error: --stack 'staging-eu-netwrok': expected <env>-<layer> with env one of dev, prod, staging, staging-eu and layer one of bootstrap, network" in err


# ------------------------------------------------------------------------------ YAML aliases and long error lists


def test_yaml_anchors_and_aliases_are_refused_before_anything_is_expanded(workspace, capsys):
    laughs = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + level)}: &{chr(98 + level)} [{', '.join(['*' + chr(97 + level)] * 9)}]\n" for level in range(9)
    )
    path = workspace / "config" / "dev.yaml"
    path.write_text(laughs)  # expanded, 9**10 strings
    err = run_failing(workspace, capsys, "--env", "dev", code=2)
    assert f"{path}: line 1: invalid YAML: YAML anchor &a is not supported; expected each value written out" in err
    text = (workspace / "config" / "prod.yaml").read_text()
    (workspace / "config" / "prod.yaml").write_text(text + "\nextra: *nothing\n")
    err = run_failing(workspace, capsys, "--env", "dev", code=2)
    assert "prod.yaml: line" in err and "YAML alias *nothing is not supported" in err


def test_a_file_with_many_bad_entries_shows_the_first_fifty_errors_and_counts_the_rest(workspace, capsys):
    path = workspace / "config" / "dev.yaml"
    labels = "".join(f"  Bad-Key-{index}: x\n" for index in range(60))  # within the 64 labels allowed
    path.write_text(path.read_text().replace("labels:\n", f"labels:\n{labels}", 1))
    err = run_failing(workspace, capsys, "--env", "dev", code=2)
    errors = [line for line in err.splitlines() if line.startswith(str(path))]
    assert len(errors) == 50
    assert err.endswith("\n... and 10 more errors not shown\n")
