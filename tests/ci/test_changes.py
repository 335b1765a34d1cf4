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
