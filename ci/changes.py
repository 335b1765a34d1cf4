"""Which stacks a merge request changes.

The merge request pipeline synthesizes twice: the merge request's commit and its merge base with the target
branch (`CI_MERGE_REQUEST_DIFF_BASE_SHA`, the commit GitLab's "Changes" tab diffs against). A stack is
changed when its `cdk.tf.json` differs (compared as JSON, so formatting never counts) or did not exist at
the merge base; its dependents are added because they read its outputs. Comparing with the merge base rather
than with the target branch's newest synth means commits merged into the target after the branch was cut
never show up as this merge request's changes, and no artifact of another pipeline (expired, or from a
pipeline that failed) is needed. Synthesis takes seconds, so the second synth is cheap.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from ci import manifest


def changed_stacks(current: Path, base: Path) -> set[str]:
    """Stacks of `current` whose synthesized JSON differs from `base` (or is absent there), with dependents."""
    stacks = manifest.load(current)
    base_stacks = manifest.load(base)
    changed = set()
    for name, stack in stacks.items():
        old = base_stacks.get(name)
        if old is None or _document(current / stack.directory) != _document(base / old.directory):
            changed.add(name)
    return manifest.with_dependents(stacks, changed)


def _document(directory: Path) -> object:
    return json.loads((directory / "cdk.tf.json").read_text(encoding="utf-8"))


def synthesize_commit(repo: Path, commit: str, outdir: Path, python: str = sys.executable) -> None:
    """Synthesize `commit` of `repo` into `outdir` from a detached worktree (fetched first if the clone is
    shallow and lacks it). Raises CalledProcessError when git or the synth fails."""
    if subprocess.run(["git", "-C", str(repo), "cat-file", "-e", f"{commit}^{{commit}}"], capture_output=True).returncode:
        subprocess.run(["git", "-C", str(repo), "fetch", "--quiet", "--depth=1", "origin", commit], check=True)
    with tempfile.TemporaryDirectory(prefix="ci-base-") as scratch:
        worktree = Path(scratch) / "tree"
        subprocess.run(["git", "-C", str(repo), "worktree", "add", "--quiet", "--detach", str(worktree), commit], check=True)
        try:
            env = {**os.environ, "PYTHONPATH": str(worktree)}
            subprocess.run([python, "main.py", "--outdir", str(outdir.resolve())], cwd=worktree, env=env, check=True)
        finally:
            subprocess.run(["git", "-C", str(repo), "worktree", "remove", "--force", str(worktree)], check=False)
