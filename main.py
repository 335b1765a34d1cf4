"""Synthesize the platform: `python main.py` (or `cdktf synth`) → cdktf.out/stacks/<env>-<layer>/cdk.tf.json.

The only place that reads the process environment and the command line.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from stacks.config import ConfigError, load_configs
from stacks.layers import LAYERS

ROOT = Path(__file__).resolve().parent


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
        "--bootstrap-local-state",
        action="store_true",
        help="bootstrap stacks keep state in .bootstrap-state/: the first apply, before the bucket exists (docs/bootstrap.md)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    started = time.perf_counter()
    args = parse_args(argv)
    envs, up_to = tuple(args.env), LAYERS[-1]
    if args.stack:
        env_name, _, layer = args.stack.partition("-")
        if layer not in LAYERS:
            print(f"error: --stack {args.stack!r}: expected <env>-<layer> with layer one of {', '.join(LAYERS)}", file=sys.stderr)
            return 2
        envs, up_to = (env_name,), layer
    try:
        configs = load_configs(args.config_dir, only=envs)
    except ConfigError as exc:
        print(f"error: invalid configuration, nothing was synthesized\n{exc}", file=sys.stderr)
        return 2

    from constructs_lib import provider_loader
    from stacks.synthesis import synthesize

    provider_loader.configure(eager=os.environ.get("PLATFORM_EAGER_PROVIDER_IMPORT") == "1")
    outdir = args.outdir or Path(os.environ.get("CDKTF_OUTDIR") or ROOT / "cdktf.out")
    try:
        state_dir = ROOT / ".bootstrap-state" if args.bootstrap_local_state else None
        summaries = synthesize(configs, outdir, up_to=up_to, bootstrap_state_dir=state_dir)
    except ValueError as exc:
        print(f"error: {exc}\nnothing was synthesized; {outdir} is unchanged", file=sys.stderr)
        return 1
    for summary in summaries:
        shown = os.path.relpath(summary.path) if summary.path.is_relative_to(Path.cwd()) else summary.path
        print(f"{summary.name:<28} {summary.resources:>4} resources  {shown}")
    total = sum(summary.resources for summary in summaries)
    print(f"{len(summaries)} stacks, {total} resources in {time.perf_counter() - started:.2f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
