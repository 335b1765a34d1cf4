"""The output directory is replaced only by a complete synth, whether one process or several wrote it."""
import json
import os
import subprocess
from pathlib import Path

import pytest

import main
from stacks import synthesis
from stacks.synthesis import atomic_directory, auto_jobs, merge_parts, stable_json, synthesize


def test_successful_run_replaces_the_previous_output(tmp_path):
    target = tmp_path / "cdktf.out"
    (target / "stacks" / "old").mkdir(parents=True)
    with atomic_directory(target) as staging:
        (staging / "stacks" / "new").mkdir(parents=True)
    assert [p.name for p in (target / "stacks").iterdir()] == ["new"]
    assert (target / synthesis.MARKER).is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cdktf.out"]


def test_failed_run_keeps_the_previous_output_and_cleans_up(tmp_path):
    target = tmp_path / "cdktf.out"
    (target / "stacks" / "old").mkdir(parents=True)
    with pytest.raises(RuntimeError):
        with atomic_directory(target) as staging:
            (staging / "half-written").write_text("{")
            raise RuntimeError("synth failed")
    assert [p.name for p in (target / "stacks").iterdir()] == ["old"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cdktf.out"]


def test_first_run_creates_the_directory(tmp_path):
    target = tmp_path / "nested" / "cdktf.out"
    with atomic_directory(target) as staging:
        (staging / "manifest.json").write_text("{}")
    assert (target / "manifest.json").read_text() == "{}"


# ------------------------------------------------------------------------------ parallel synthesis
# That several processes write the same bytes as one: tests/test_fast_import.py (the fast variant runs
# with --jobs 2).


def test_stable_json_writes_manifest_json_exactly_as_cdktf_does(synthesized):
    written = (synthesized.outdir / "manifest.json").read_text(encoding="utf-8")
    assert stable_json(json.loads(written)) == written


def test_stable_json_keeps_cdktfs_layout_for_empty_containers_and_refuses_floats():
    assert stable_json({"b": [], "a": {}}) == '{\n  "a": {\n  },\n  "b": [\n  ]\n}'
    assert stable_json(["é", 1, True, None]) == '[\n  "é",\n  1,\n  true,\n  null\n]'
    with pytest.raises(TypeError, match="floats"):
        stable_json({"a": 1.0})


def _part(root: Path, name: str, stacks: list[str], version: str = "0.21.0") -> Path:
    part = root / name
    for stack in stacks:
        (part / "stacks" / stack).mkdir(parents=True)
        (part / "stacks" / stack / "cdk.tf.json").write_text(f'{{"stack": "{stack}"}}')
    manifest = {"stacks": {stack: {"name": stack, "dependencies": []} for stack in stacks}, "version": version}
    (part / "manifest.json").write_text(stable_json(manifest))
    return part


def test_merging_parts_moves_every_stack_and_unites_the_manifests(tmp_path):
    parts = [_part(tmp_path, ".part-0", ["dev-network", "dev-bootstrap"]), _part(tmp_path, ".part-1", ["prod-network"])]
    merge_parts(parts, tmp_path)
    assert sorted(p.name for p in (tmp_path / "stacks").iterdir()) == ["dev-bootstrap", "dev-network", "prod-network"]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert list(manifest["stacks"]) == ["dev-bootstrap", "dev-network", "prod-network"]
    assert manifest["version"] == "0.21.0"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".part-")]


@pytest.mark.parametrize(
    "second, problem",
    [(["dev-network"], "synthesized by two parts"), (["prod-network"], "manifests this merge does not know")],
)
def test_merging_parts_refuses_a_stack_written_twice_or_another_cdktf_version(tmp_path, second, problem):
    version = "0.21.0" if problem.startswith("synthesized") else "0.20.0"
    parts = [_part(tmp_path, ".part-0", ["dev-network"]), _part(tmp_path, ".part-1", second, version)]
    with pytest.raises(RuntimeError, match=problem):
        merge_parts(parts, tmp_path)


@pytest.mark.parametrize(
    "cpus, jobs_for",
    [
        (1, {1: 1, 3: 1, 12: 1}),
        (2, {1: 1, 3: 1, 5: 1, 6: 2, 12: 2}),  # measured: 3 environments gain nothing from a second process
        (4, {1: 1, 2: 2, 3: 2, 12: 2}),
        (16, {2: 2, 3: 2, 30: 2}),  # ~360 MB per process: two stay within 1 GB
    ],
)
def test_auto_jobs_uses_half_the_cores_and_more_only_for_enough_environments(cpus, jobs_for):
    assert {count: auto_jobs(count, cpus) for count in jobs_for} == jobs_for


@pytest.mark.parametrize("value", ["0", "-1", "two", ""])
def test_a_bad_job_count_is_refused_naming_the_flag_and_the_variable(value, monkeypatch, capsys):
    monkeypatch.setenv("PLATFORM_SYNTH_JOBS", value)
    with pytest.raises(SystemExit) as exited:
        main.main([])
    assert exited.value.code == 2
    assert f"argument --jobs: expected a positive number or auto (--jobs or $PLATFORM_SYNTH_JOBS), got {value!r}" in capsys.readouterr().err


def _worker(configs, outdir: Path, up_to: str) -> synthesis._Worker:
    return synthesis._Worker.start(configs, outdir, up_to, None, False)


def test_a_validation_error_in_a_worker_reaches_the_user_as_the_same_message(configs, tmp_path):
    worker = _worker([configs["prod"]], tmp_path / "part", up_to="nope")
    with pytest.raises(ValueError, match=r"^unknown layer 'nope'; expected one of bootstrap, "):
        worker.wait()


def test_a_crashing_worker_fails_the_synth_with_its_traceback(configs, tmp_path):
    (tmp_path / "part").mkdir()
    (tmp_path / "part" / "stacks").write_text("")  # where cdktf writes the stack directories
    worker = _worker([configs["prod"]], tmp_path / "part", up_to="network")
    with pytest.raises(RuntimeError, match=r"(?s)the synth worker for prod failed \(exit 1\):.*Traceback"):
        worker.wait()


def test_when_this_process_fails_the_workers_are_stopped_and_the_output_is_untouched(configs, tmp_path):
    outdir = tmp_path / "cdktf.out"
    (outdir / "stacks" / "old").mkdir(parents=True)
    (outdir / synthesis.MARKER).write_text("")
    with pytest.raises(ValueError, match="unknown layer 'nope'"):
        synthesize(list(configs.values()), outdir, up_to="nope", jobs=3)
    assert [p.name for p in (outdir / "stacks").iterdir()] == ["old"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cdktf.out"]
    children = subprocess.run(["ps", "-o", "args=", "--ppid", str(os.getpid())], capture_output=True, text=True)
    assert "stacks.synthesis" not in children.stdout
