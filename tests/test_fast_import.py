"""The fast provider loader and parallel synthesis change how long synth takes, never what it writes.

`python main.py` is run twice in fresh subprocesses into two temporary directories: as it ships
(constructs_lib/provider_loader.py: bare provider packages, the Node-side lazy index, cached type-check
hints) with `--jobs 2` (two processes, their parts merged by stacks/synthesis.py), and the ordinary way:
PLATFORM_EAGER_PROVIDER_IMPORT=1 (provider packages imported as a CDKTF-docs app does) with `--jobs 1`.
Every synthesized file must exist in both and be byte-for-byte identical.

Both runs use one snapshot of the working tree, so an edit made elsewhere while the test runs cannot show
up as a difference. No timing is asserted here: see benchmarks/synth.py and docs/performance.md.
"""
from __future__ import annotations

import difflib
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.snapshot import copy_checkout
from constructs_lib import provider_loader

REPO_ROOT = Path(__file__).resolve().parent.parent
# value of PLATFORM_EAGER_PROVIDER_IMPORT, --jobs
VARIANTS = {"fast": (None, "2"), "ordinary": ("1", "1")}


def _env(eager: str | None) -> dict[str, str]:
    # Without the hook this test process may have configured for its own kernel (tests/conftest.py).
    env = {
        key: value
        for key, value in provider_loader.child_environment().items()
        if key not in ("PLATFORM_EAGER_PROVIDER_IMPORT", "PLATFORM_SYNTH_JOBS", "CDKTF_OUTDIR")
    }
    env.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    if eager is not None:
        env["PLATFORM_EAGER_PROVIDER_IMPORT"] = eager
    return env


def _files(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


def _short_diff(name: str, fast: bytes, ordinary: bytes, limit: int = 40) -> str:
    lines = list(
        difflib.unified_diff(
            ordinary.decode("utf-8", "replace").splitlines(),
            fast.decode("utf-8", "replace").splitlines(),
            fromfile=f"ordinary/{name}",
            tofile=f"fast/{name}",
            lineterm="",
            n=2,
        )
    )
    if not lines:  # same text, different bytes (line endings, encoding)
        return f"{name}: same lines, different bytes ({len(ordinary)} vs {len(fast)} bytes)"
    return "\n".join(lines[:limit] + ([f"... {len(lines) - limit} more diff lines"] if len(lines) > limit else []))


def test_fast_parallel_and_ordinary_serial_synth_write_identical_files(tmp_path):
    app = copy_checkout(REPO_ROOT, tmp_path / "app")
    outdirs = {variant: tmp_path / variant / "cdktf.out" for variant in VARIANTS}
    processes = {
        variant: subprocess.Popen(
            [sys.executable, str(app / "main.py"), "--outdir", str(outdirs[variant]), "--jobs", jobs, "--no-cache"],
            cwd=app,
            env=_env(eager),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for variant, (eager, jobs) in VARIANTS.items()
    }
    for variant, process in processes.items():
        output, _ = process.communicate(timeout=1800)
        assert process.returncode == 0, f"{variant} synth failed (exit {process.returncode}):\n{output[-4000:]}"
        if variant == "fast":
            assert "resources in" in output and "(2 processes)" in output, output[-2000:]

    fast, ordinary = _files(outdirs["fast"]), _files(outdirs["ordinary"])

    assert any(name.endswith("cdk.tf.json") for name in ordinary), f"nothing synthesized: {sorted(ordinary)}"
    only_fast, only_ordinary = sorted(fast.keys() - ordinary.keys()), sorted(ordinary.keys() - fast.keys())
    assert not only_fast and not only_ordinary, (
        f"different file sets: only in fast: {only_fast[:10]}, only in ordinary: {only_ordinary[:10]}"
    )
    differing = [name for name in sorted(fast) if fast[name] != ordinary[name]]
    if differing:
        pytest.fail(
            f"{len(differing)} of {len(fast)} files differ, first: {differing[0]}\n"
            + _short_diff(differing[0], fast[differing[0]], ordinary[differing[0]]),
            pytrace=False,
        )
