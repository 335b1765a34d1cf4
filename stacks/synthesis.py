"""Synthesis: build into a fresh directory beside the output and swap it in only when everything succeeded,
so a failed run never leaves a half-written `cdktf.out` for `terraform apply` to find.

Environments share nothing but the app's code, so they can be synthesized by several processes at once
(`jobs`): the calling process builds one group of environments itself while worker processes
(`python -m stacks.synthesis`, one jsii kernel each) build the others into their own directories; the
parts are then merged into exactly the files one process would have written (`merge_parts`;
tests/test_fast_import.py compares every byte). Each process costs its own start-up (python, node, the
cdktf and provider assemblies: ~3.5 s of CPU), so more jobs only pay off when there are spare cores and
enough environments to share: `auto_jobs` (figures in docs/performance.md).
"""
from __future__ import annotations

import fcntl
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
import traceback
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Callable, Iterator, Mapping, Sequence

if TYPE_CHECKING:  # the CLI imports this module before it knows whether it needs the config model
    from stacks.config import EnvironmentConfig

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# A worker exits with this code when building the app raised ValueError (a validation message for the
# user, printed on stderr), and with 1 for anything else (a traceback).
_WORKER_INVALID = 3
# `auto_jobs`: the environments one more process must take to pay for its start-up on a busy machine, and
# the most processes it starts: each (python and its two node processes) peaks at ~360 MB, and two stay
# within the 1 GB a synth may use. `--jobs N` sets more.
ENVIRONMENTS_PER_JOB = 3
MAX_AUTO_JOBS = 2


@dataclass(frozen=True)
class StackSummary:
    name: str
    resources: int
    path: Path


# Written into every output directory synth creates: only a directory holding it (or an empty one, or the
# manifest.json + stacks/ of a cdktf output written before the marker existed) may be replaced.
MARKER = ".platform-synth"
_MARKER_TEXT = "Written by main.py (stacks/synthesis.py): synth replaces this whole directory on every run.\n"
_LEGACY_OUTPUT = {"manifest.json", "stacks"}


class SynthError(Exception):
    """A failure phrased for the user: one line, nothing was synthesized."""


class Interrupted(BaseException):
    """SIGTERM, raised like KeyboardInterrupt so that every cleanup path runs."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def raise_interrupted(signum, frame) -> None:
    raise Interrupted(signum)


def check_outdir(target: Path) -> None:
    """Refuse to replace anything synth did not create, or cannot delete once replaced."""
    if target.is_symlink():  # the swap would replace the link, not what it points to
        raise SynthError(f"{target} is a symbolic link; point --outdir / $CDKTF_OUTDIR at the directory itself")
    if target.exists() and not target.is_dir():
        raise SynthError(f"{target} is not a directory; point --outdir / $CDKTF_OUTDIR at a directory")
    if not target.exists():
        return
    entries = {entry.name for entry in target.iterdir()}
    if entries and MARKER not in entries and not ("manifest.json" in entries and entries <= _LEGACY_OUTPUT):
        raise SynthError(
            f"{target} is not empty and is not a previous synth output (it has no {MARKER}); synth replaces its "
            "output directory wholesale, so point --outdir / $CDKTF_OUTDIR at a new or empty directory"
        )
    for directory in [target, *(path for path in target.rglob("*") if path.is_dir() and not path.is_symlink())]:
        if not os.access(directory, os.W_OK | os.X_OK):
            raise SynthError(f"{directory} is not writable: synth could not delete the output it replaces")
    if not os.access(target.parent, os.W_OK | os.X_OK):
        raise SynthError(f"{target.parent} is not writable: synth writes its output beside {target.name}")


@contextmanager
def output_lock(target: Path) -> Iterator[None]:
    """An exclusive lock on `target` (fcntl.flock on `.<name>.lock` beside it, removed afterwards): a second
    synth into the same directory fails at once instead of racing for the swap."""
    lock_path = target.with_name(f".{target.name}.lock")
    while True:
        descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            raise SynthError(
                f"another synth is writing {target} (it holds the lock {lock_path}); wait for it to finish"
            ) from None
        try:  # the previous holder may have removed the file between our open and our lock: lock the new one
            if os.stat(lock_path).st_ino == os.fstat(descriptor).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(descriptor)
    try:
        yield
    finally:
        os.unlink(lock_path)
        os.close(descriptor)


def sweep_stale(target: Path) -> None:
    """Staging and old directories a killed synth left beside `target`; called under the lock, so no other
    synth is using them."""
    for pattern in (f".{target.name}.new-*", f".{target.name}.old-*"):
        for stale in target.parent.glob(pattern):
            shutil.rmtree(stale, ignore_errors=True)


@contextmanager
def atomic_directory(target: Path) -> Iterator[Path]:
    """Yield an empty sibling directory; on success it replaces `target`, on failure it is deleted and
    `target` is left as it was (also when the swap itself fails)."""
    target = target.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.new-", dir=target.parent))
    try:
        yield staging
        (staging / MARKER).write_text(_MARKER_TEXT, encoding="utf-8")
        previous = target.with_name(f".{target.name}.old-{os.getpid()}")
        if target.exists():
            os.replace(target, previous)
        try:
            os.replace(staging, target)
        except BaseException:
            if previous.exists():
                os.replace(previous, target)
            raise
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(previous, ignore_errors=True)


@contextmanager
def replacing(target: Path) -> Iterator[Path]:
    """`atomic_directory(target)` after the safety checks, under the lock, with stale staging swept. An
    OSError (full disk, read-only or busy directory) becomes a SynthError naming the file."""
    try:
        check_outdir(target.absolute())
        target = target.resolve()
        target.parent.mkdir(parents=True, exist_ok=True)
        with output_lock(target):
            sweep_stale(target)
            with atomic_directory(target) as staging:
                yield staging
    except OSError as exc:
        where = exc.filename or target
        raise SynthError(f"cannot write {where}: {exc.strerror or exc}") from None


def auto_jobs(environments: int, cpus: int | None = None) -> int:
    """How many processes `--jobs auto` synthesizes with.

    One synth process keeps about 1.2 cores busy (python and node take turns; V8 collects garbage on
    threads of its own) and costs ~3.5 s of CPU to start. Half the cores therefore run without contention;
    beyond that, up to one process per core, a process is only worth starting when it takes at least
    `ENVIRONMENTS_PER_JOB` environments. Never more than `MAX_AUTO_JOBS` (memory). Measured on 2 cores
    (docs/performance.md): 3 environments, one process or two take the same time; 6, two are 8 % faster;
    12, 24 % faster.
    """
    cpus = cpus or os.cpu_count() or 1
    wanted = max(cpus // 2, environments // ENVIRONMENTS_PER_JOB)
    return max(1, min(wanted, cpus, environments, MAX_AUTO_JOBS))


def synthesize(
    configs: Sequence[EnvironmentConfig],
    outdir: Path,
    *,
    up_to: str,
    bootstrap_state_dir: Path | None = None,
    jobs: int = 1,
    eager_provider_import: bool = False,
    reused: Mapping[str, Mapping[str, bytes]] | None = None,
    built: Callable[[str, Path], None] | None = None,
) -> list[StackSummary]:
    """Synthesize `configs` into `outdir` with `jobs` processes (the calling one included), together with
    the environments in `reused` (name → the files of a part, from stacks/synth_cache.py) that are not
    rebuilt. `built(name, part)` is called for each environment synthesized, with the part holding it."""
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    groups = [list(configs[index::jobs]) for index in range(min(jobs, len(configs)))]
    direct = len(groups) == 1 and not reused and built is None  # one process writes the output itself
    with replacing(outdir) as staging:
        parts = [staging] if direct else [staging / f".part-{index}" for index in range(len(groups))]
        _build(groups, parts, up_to, bootstrap_state_dir, eager_provider_import)
        if not direct:
            for group, part in zip(groups, parts):
                for config in group:
                    if built is not None:
                        built(config.name, part)
            for name, files in (reused or {}).items():
                parts.append(staging / f".reused-{name}")
                write_part(files, parts[-1])
            merge_parts(parts, staging)
    return summarize(outdir.resolve())


def _build(groups, parts: list[Path], up_to: str, bootstrap_state_dir: Path | None, eager: bool) -> None:
    """Each group of environments into its part: the first here, the others by worker processes."""
    if not groups:
        return
    workers: list[_Worker] = []
    try:
        for group, part in zip(groups[1:], parts[1:]):
            workers.append(_Worker.start(group, part, up_to, bootstrap_state_dir, eager))
        _synth_here(groups[0], parts[0], up_to, bootstrap_state_dir, eager)
        for worker in workers:
            worker.wait()
    except BaseException:  # including Ctrl-C: no worker outlives the run
        for worker in workers:
            worker.kill()
        raise


def write_part(files: Mapping[str, bytes], part: Path) -> None:
    """A part made of given files (a cache entry's), for `merge_parts`."""
    for relative, content in files.items():
        path = part / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def _synth_here(configs, outdir: Path, up_to: str, bootstrap_state_dir: Path | None, eager: bool) -> None:
    from constructs_lib import provider_loader

    provider_loader.configure(eager=eager)  # before the CDK import below starts the jsii kernel
    from stacks.app import build_app

    build_app(configs, outdir=outdir, up_to=up_to, bootstrap_state_dir=bootstrap_state_dir).synth()


class _Worker:
    """`python -m stacks.synthesis` building some environments into `outdir`; the job is pickled to stdin."""

    def __init__(self, process: subprocess.Popen, output: IO[bytes], names: list[str]) -> None:
        self.process, self.output, self.names = process, output, names

    @classmethod
    def start(cls, configs, outdir: Path, up_to: str, bootstrap_state_dir: Path | None, eager: bool) -> "_Worker":
        from constructs_lib import provider_loader

        env = provider_loader.child_environment()
        env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(PROJECT_ROOT), env.get("PYTHONPATH"))))
        # Temporary files (jsii's, node's) stay inside the part, which the merge or the failed run deletes.
        scratch = outdir / ".tmp"
        scratch.mkdir(parents=True)
        env["TMPDIR"] = str(scratch)
        # A file, not a pipe: a worker that prints much must not stall until this process gets to read it.
        output = tempfile.TemporaryFile(dir=scratch)
        # Its own process group, so that kill() also reaches the worker's node processes.
        process = subprocess.Popen(
            [sys.executable, "-m", "stacks.synthesis"],
            stdin=subprocess.PIPE, stdout=output, stderr=output, env=env, start_new_session=True,
        )
        job = {
            "configs": list(configs),
            "outdir": str(outdir),
            "up_to": up_to,
            "bootstrap_state_dir": str(bootstrap_state_dir) if bootstrap_state_dir else None,
            "eager": eager,
        }
        assert process.stdin is not None
        process.stdin.write(pickle.dumps(job))
        process.stdin.close()
        return cls(process, output, [config.name for config in configs])

    def wait(self) -> None:
        code = self.process.wait()
        self.output.seek(0)
        stderr = self.output.read().decode("utf-8", "replace")
        self.output.close()
        if code == _WORKER_INVALID:
            raise ValueError(stderr.strip())
        if code != 0:
            raise RuntimeError(
                f"the synth worker for {', '.join(self.names)} failed (exit {code}):\n{stderr.strip()[-6000:]}"
            )
        sys.stderr.write(stderr)  # warnings, as one process would have shown them

    def kill(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        self.output.close()


def merge_parts(parts: Sequence[Path], outdir: Path) -> None:
    """Move each part's stacks into `outdir` and write the union of their manifests, byte for byte as
    cdktf would have written it for all stacks at once."""
    manifests = [json.loads((part / "manifest.json").read_text(encoding="utf-8")) for part in parts]
    versions = {manifest["version"] for manifest in manifests}
    if len(versions) != 1 or any(set(manifest) != {"stacks", "version"} for manifest in manifests):
        raise RuntimeError(f"synth parts wrote manifests this merge does not know: {sorted(map(str, parts))}")
    merged: dict = {"stacks": {}, "version": versions.pop()}
    (outdir / "stacks").mkdir()
    for part, manifest in zip(parts, manifests):
        for name in manifest["stacks"]:
            if name in merged["stacks"]:
                raise RuntimeError(f"stack {name} was synthesized by two parts")
            os.replace(part / "stacks" / name, outdir / "stacks" / name)
        merged["stacks"].update(manifest["stacks"])
        shutil.rmtree(part)
    (outdir / "manifest.json").write_text(stable_json(merged), encoding="utf-8")


def stable_json(value, space: str = "  ", level: int = 0) -> str:
    """`json-stable-stringify(value, {space: 2})`, the serializer cdktf writes manifest.json with: keys
    sorted, and empty arrays and objects still broken over two lines."""
    if isinstance(value, dict):
        items = [f"{json.dumps(key, ensure_ascii=False)}: {stable_json(value[key], space, level + 1)}" for key in sorted(value)]
        return _group("{", "}", items, space, level)
    if isinstance(value, (list, tuple)):
        return _group("[", "]", [stable_json(item, space, level + 1) for item in value], space, level)
    if isinstance(value, float):  # JavaScript prints 1.0 as 1; nothing in a manifest is a float
        raise TypeError(f"stable_json does not write floats like JavaScript does: {value!r}")
    return json.dumps(value, ensure_ascii=False)


def _group(opening: str, closing: str, items: list[str], space: str, level: int) -> str:
    inner = ",".join(f"\n{space * (level + 1)}{item}" for item in items)
    return f"{opening}{inner}\n{space * level}{closing}"


def summarize(outdir: Path) -> list[StackSummary]:
    summaries = []
    for stack_file in sorted(outdir.glob("stacks/*/cdk.tf.json")):
        document = json.loads(stack_file.read_text(encoding="utf-8"))
        count = sum(len(items) for items in document.get("resource", {}).values())
        summaries.append(StackSummary(stack_file.parent.name, count, stack_file))
    return summaries


def _worker_main() -> int:
    job = pickle.load(sys.stdin.buffer)
    state_dir = Path(job["bootstrap_state_dir"]) if job["bootstrap_state_dir"] else None
    try:
        _synth_here(job["configs"], Path(job["outdir"]), job["up_to"], state_dir, job["eager"])
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return _WORKER_INVALID
    except Exception:
        traceback.print_exc()
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(_worker_main())
