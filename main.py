"""Synthesize the platform: `python main.py` (or `cdktf synth`) → cdktf.out/stacks/<env>-<layer>/cdk.tf.json.

The only place that reads the process environment and the command line.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

from stacks import synth_cache
from stacks.layers import LAYERS
from stacks.synth_cache import SynthCache
from stacks.synthesis import Interrupted, raise_interrupted

ROOT = Path(__file__).resolve().parent
# Incremental synthesis (stacks/synth_cache.py, docs/performance.md); `make clean` removes it.
CACHE_DIR = ROOT / ".synth-cache"


def parse_jobs(value: str) -> int | None:
    """A positive number of processes, or None for auto."""
    if value == "auto":
        return None
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number or auto (--jobs or $PLATFORM_SYNTH_JOBS), got {value!r}")
    return int(value)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config-dir", type=Path, default=ROOT / "config", help="directory of <env>.yaml files")
    parser.add_argument("--env", action="append", default=[], help="only this environment (repeatable)")
    parser.add_argument(
        "--stack",
        help="only <env>-<layer> and the stacks it depends on, for fast iteration (e.g. dev-network)",
    )
    parser.add_argument("--outdir", type=Path, help="default: $CDKTF_OUTDIR (set by `cdktf synth`) or ./cdktf.out")
    parser.add_argument(
        "--jobs",
        type=parse_jobs,
        default=os.environ.get("PLATFORM_SYNTH_JOBS", "auto"),  # argparse applies `type` to a string default
        help="processes synthesizing environments at once: a number, or auto (default, or $PLATFORM_SYNTH_JOBS): "
        "one per 3 environments or per 2 cores, at most 2 (stacks/synthesis.py: auto_jobs)",
    )
    parser.add_argument(
        "--bootstrap-local-state",
        action="store_true",
        help="bootstrap stacks keep state in .bootstrap-state/: the first apply, before the bucket exists (docs/bootstrap.md)",
    )
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help=f"rebuild every environment, neither reading nor writing .synth-cache/ (or ${synth_cache.CACHE_ENV}=off)",
    )
    return parser.parse_args(argv)


def split_stack(value: str, environments: list[str]) -> tuple[str, str]:
    """`--stack <env>-<layer>` → (env, layer), matched against the known names: environment names may
    contain '-' (`staging-eu-network`)."""
    for env in environments:
        for layer in LAYERS:
            if value == f"{env}-{layer}":
                return env, layer
    raise ValueError(
        f"--stack {value!r}: expected <env>-<layer> with env one of {', '.join(sorted(environments))} "
        f"and layer one of {', '.join(LAYERS)}"
    )


def main(argv: list[str] | None = None) -> int:
    """Exit codes: 0 done, 1 synth failed, 2 bad arguments or configuration, 130/143 interrupted."""
    previous = signal.signal(signal.SIGTERM, raise_interrupted)  # CI cancel, `timeout`: clean up like Ctrl-C
    try:
        return _run(parse_args(argv))
    except (KeyboardInterrupt, Interrupted) as exc:
        signum = getattr(exc, "signum", signal.SIGINT)
        print(f"interrupted ({signal.Signals(signum).name}): nothing was synthesized, the output is unchanged", file=sys.stderr)
        return 128 + signum
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    if not args.config_dir.is_dir():
        problem = "is not a directory" if args.config_dir.exists() else "does not exist"
        print(f"error: --config-dir {args.config_dir} {problem}; expected a directory of <env>.yaml files", file=sys.stderr)
        return 2
    cache = None if args.no_cache or synth_cache.disabled_by_environment() else SynthCache(CACHE_DIR, ROOT)
    files = _environment_files(args.config_dir)
    names = cache.validated(files) if cache is not None and files else None  # file → environment name
    configs = None
    try:
        if names is None or any(env not in names.values() for env in args.env):
            configs = _load_configs(args.config_dir, tuple(args.env))
            names = {path: config.name for path, config in zip(sorted(files or ()), configs.values())}
            if cache is not None and files is not None and len(names) == len(files):
                _keep(cache.record_validated, files, names)
        selected = [name for name in names.values() if not args.env or name in args.env]
        up_to = LAYERS[-1]
        if args.stack:
            env_name, up_to = split_stack(args.stack, selected)
            selected = [env_name]
    except _Exit as exc:
        return exc.code
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    outdir = args.outdir or Path(os.environ.get("CDKTF_OUTDIR") or ROOT / "cdktf.out")
    state_dir = ROOT / ".bootstrap-state" if args.bootstrap_local_state else None
    eager = os.environ.get("PLATFORM_EAGER_PROVIDER_IMPORT") == "1"
    reused: dict[str, dict[str, bytes]] = {}
    keys: dict[str, str] = {}
    if cache is not None:
        options = synth_cache.Options(up_to=up_to, bootstrap_state_dir=str(state_dir) if state_dir else None, eager_provider_import=eager)
        by_name = {name: path for path, name in names.items()}
        keys = {name: cache.environment_key(name, files[by_name[name]], options) for name in selected}
        reused = {name: entry for name in selected if (entry := cache.load(name, keys[name])) is not None}
    to_build = [name for name in selected if name not in reused]
    if to_build and configs is None:
        try:
            configs = _load_configs(args.config_dir, ())
        except _Exit as exc:
            return exc.code

    from stacks.synthesis import SynthError, auto_jobs, synthesize

    try:
        jobs = max(1, min(args.jobs or auto_jobs(len(to_build)), len(to_build)))
        summaries = synthesize(
            [configs[name] for name in to_build],
            outdir,
            up_to=up_to,
            bootstrap_state_dir=state_dir,
            jobs=jobs,
            eager_provider_import=eager,
            reused=reused if cache is not None else None,
            built=_storing(cache, keys, args.config_dir, files) if cache is not None else None,
        )
    except (ValueError, SynthError, RuntimeError) as exc:
        print(f"error: {exc}\nnothing was synthesized; {outdir} is unchanged", file=sys.stderr)
        return 1
    for summary in summaries:
        shown = os.path.relpath(summary.path) if summary.path.is_relative_to(Path.cwd()) else summary.path
        print(f"{summary.name:<28} {summary.resources:>4} resources  {shown}")
    total = sum(summary.resources for summary in summaries)
    notes = [f"{jobs} processes"] if jobs > 1 else []
    if cache is not None:
        notes += [f"{what}: {', '.join(names)}" for what, names in (("reused", list(reused)), ("built", to_build)) if names]
    shown_notes = f" ({'; '.join(notes)})" if notes else ""
    print(f"{len(summaries)} stacks, {total} resources in {time.perf_counter() - started:.2f}s{shown_notes}")
    return 0


def _storing(cache: SynthCache, keys: dict[str, str], config_dir: Path, files: dict[Path, bytes]):
    """`synthesize(built=...)`: keep each built environment, unless an input changed while it was being
    built (modules are imported and config files read after the key was computed): its entry would hold
    output that does not match its key."""
    unchanged: list[bool] = []

    def built(name: str, part: Path) -> None:
        if not unchanged:
            unchanged.append(synth_cache.source_digest(ROOT) == cache.source and _environment_files(config_dir) == files)
            if not unchanged[0]:
                print("warning: the generator or a config file changed during synth; nothing was cached", file=sys.stderr)
        if unchanged[0]:
            _keep(cache.store, name, keys[name], part)

    return built


class _Exit(Exception):
    """Leave `_run` with this exit code; the message has been printed."""

    def __init__(self, code: int) -> None:
        self.code = code


def _environment_files(config_dir: Path) -> dict[Path, bytes] | None:
    """The raw bytes of every environment file (the cache key's input); None if one cannot be read (the
    config loader then says why)."""
    try:
        return {
            path: path.read_bytes()
            for path in sorted(config_dir.glob("*.yaml"))
            if not path.name.startswith("_")  # as stacks/config_loading.py data_files (which imports pydantic)
        }
    except OSError:
        return None


def _load_configs(config_dir: Path, only: tuple[str, ...]) -> dict:
    """Every environment, validated (the config model is imported only when a synth needs it)."""
    from stacks.config import ConfigError, load_configs

    try:
        configs = load_configs(config_dir)
        if any(name not in {config.name for config in configs} for name in only):
            load_configs(config_dir, only=only)  # raises the loader's "not found" message
    except ConfigError as exc:
        print(f"error: invalid configuration, nothing was synthesized\n{exc}", file=sys.stderr)
        raise _Exit(2) from None
    return {config.name: config for config in configs}


def _keep(operation, *args) -> None:
    """A cache write that fails (full disk, read-only checkout) costs the next run time, not this one."""
    try:
        operation(*args)
    except OSError as exc:
        print(f"warning: synth cache {CACHE_DIR} not updated: {exc}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
