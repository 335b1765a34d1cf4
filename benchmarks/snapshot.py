"""A copy of the checkout to synthesize from, so that edits made while a benchmark or a test runs cannot
change what it measures or compares. Shared by benchmarks/synth.py and tests/test_fast_import.py."""
from __future__ import annotations

import shutil
from pathlib import Path

# Everything that is not the app: version control, environments, tools, caches and earlier output.
# `.synth-cache` above all: a snapshot must synthesize, not reuse what the checkout synthesized before.
SNAPSHOT_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", ".tools", ".third_party", ".pytest_cache", "__pycache__", "node_modules", "cdktf.out",
    ".cdktf.out.*", "*.pyc", ".synth-cache", ".bootstrap-state",
)


def copy_checkout(source: Path, target: Path) -> Path:
    """Copy the app in `source` to `target` (which must not exist) and return `target`."""
    shutil.copytree(source, target, ignore=SNAPSHOT_IGNORE, symlinks=True)
    return target
