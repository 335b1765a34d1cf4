"""Merge requests plan the stacks whose synthesized JSON differs from the merge base's, plus their dependents."""
from __future__ import annotations

import subprocess
import sys

from ci import changes
from tests.ci.conftest import layered


def test_a_changed_stack_brings_its_dependents_and_nothing_else(synth_dir):
    base = synth_dir("base", layered("dev"))
    current = synth_dir("current", layered("dev", network={"resource": {"google_compute_network": {"vpc": {"mtu": 1500}}}}))
    assert changes.changed_stacks(current, base) == {"dev-network", "dev-cluster", "dev-data"}


def test_identical_synths_change_nothing_even_when_formatting_differs(synth_dir, tmp_path):
    base = synth_dir("base", layered("dev"))
    current = synth_dir("current", layered("dev"))
    path = current / "stacks" / "dev-security" / "cdk.tf.json"
    path.write_text(path.read_text().replace("\n", "\n    "))  # same JSON, other whitespace
    assert changes.changed_stacks(current, base) == set()


def test_a_stack_new_since_the_merge_base_is_changed(synth_dir):
    base = synth_dir("base", {k: v for k, v in layered("dev").items() if k != "dev-data"})
    current = synth_dir("current", layered("dev"))
    assert changes.changed_stacks(current, base) == {"dev-data"}


def test_the_merge_base_is_synthesized_from_its_own_commit(tmp_path):
    """A real repository: the base commit's main.py (not the working tree's) writes the base synth."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.email=ci@example.com", "-c", "user.name=ci"]
    subprocess.run([*git, "init", "-q"], check=True)
    (repo / "main.py").write_text(
        "import argparse, pathlib\np = argparse.ArgumentParser(); p.add_argument('--outdir')\n"
        "out = pathlib.Path(p.parse_args().outdir); out.mkdir(parents=True); (out / 'which').write_text('base')\n"
    )
    subprocess.run([*git, "add", "main.py"], check=True)
    subprocess.run([*git, "commit", "-qm", "base"], check=True)
    base_sha = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    (repo / "main.py").write_text("raise SystemExit('the working tree must not run')\n")
    changes.synthesize_commit(repo, base_sha, tmp_path / "base-out", python=sys.executable)
    assert (tmp_path / "base-out" / "which").read_text() == "base"
    worktrees = subprocess.run([*git, "worktree", "list"], capture_output=True, text=True, check=True).stdout
    assert len(worktrees.splitlines()) == 1, "the temporary worktree is removed"


APPLY_REFS = {"dev": ("develop",), "staging": ("develop",), "prod": ("main",)}
MR_ENV = {"CI_PIPELINE_SOURCE": "merge_request_event", "CI_MERGE_REQUEST_DIFF_BASE_SHA": "abc123", "CI_DEFAULT_BRANCH": "main"}


def _plans(document: dict) -> set[str]:
    return {name for name in document if name.startswith("plan:")}


def test_ci_synth_plans_what_the_merge_request_changes(tmp_path):
    from ci.__main__ import child_pipeline
    from tests.ci.conftest import write_synth

    outdir = write_synth(tmp_path / "cdktf.out", {**layered("dev", data={"resource": {"a": {"b": {"c": 1}}}}), **layered("prod")})
    seen = []

    def base(sha, directory):
        seen.append(sha)
        write_synth(directory, {**layered("dev"), **layered("prod")})

    assert _plans(child_pipeline(outdir, MR_ENV, APPLY_REFS, base)) == {"plan:dev-data"}
    assert seen == ["abc123"]
    everything = child_pipeline(outdir, {**MR_ENV, "PLATFORM_PLAN_ALL": "true"}, APPLY_REFS, base)
    assert _plans(everything) == {f"plan:dev-{layer}" for layer in ("bootstrap", "network", "security", "cluster", "data")}


def test_ci_synth_plans_everything_when_the_merge_base_cannot_be_synthesized(tmp_path, capsys):
    from ci.__main__ import child_pipeline
    from tests.ci.conftest import write_synth

    outdir = write_synth(tmp_path / "cdktf.out", layered("dev"))

    def broken(sha, directory):
        raise subprocess.CalledProcessError(2, ["python", "main.py"])

    assert len(_plans(child_pipeline(outdir, MR_ENV, APPLY_REFS, broken))) == 5
    assert "could not synthesize the merge base abc123" in capsys.readouterr().err
