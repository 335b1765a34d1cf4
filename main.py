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

from stacks.config import ConfigError, load_configs
from stacks.layers import LAYERS
from stacks.synthesis import Interrupted, raise_interrupted

ROOT = Path(__file__).resolve().parent


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
    try:
        configs = load_configs(args.config_dir, only=tuple(args.env))
        up_to = LAYERS[-1]
        if args.stack:
            env_name, up_to = split_stack(args.stack, [config.name for config in configs])
            configs = tuple(config for config in configs if config.name == env_name)
    except ConfigError as exc:
        print(f"error: invalid configuration, nothing was synthesized\n{exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    from stacks.synthesis import SynthError, auto_jobs, synthesize

    outdir = args.outdir or Path(os.environ.get("CDKTF_OUTDIR") or ROOT / "cdktf.out")
    try:
        state_dir = ROOT / ".bootstrap-state" if args.bootstrap_local_state else None
        jobs = min(args.jobs or auto_jobs(len(configs)), len(configs))
        summaries = synthesize(
            configs,
            outdir,
            up_to=up_to,
            bootstrap_state_dir=state_dir,
            jobs=jobs,
            eager_provider_import=os.environ.get("PLATFORM_EAGER_PROVIDER_IMPORT") == "1",
        )
    except (ValueError, SynthError, RuntimeError) as exc:
        print(f"error: {exc}\nnothing was synthesized; {outdir} is unchanged", file=sys.stderr)
        return 1
    for summary in summaries:
        shown = os.path.relpath(summary.path) if summary.path.is_relative_to(Path.cwd()) else summary.path
        print(f"{summary.name:<28} {summary.resources:>4} resources  {shown}")
    total = sum(summary.resources for summary in summaries)
    processes = f" ({jobs} processes)" if jobs > 1 else ""
    print(f"{len(summaries)} stacks, {total} resources in {time.perf_counter() - started:.2f}s{processes}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
