"""python -m scripts.dr <drill> --env <env> [--<option> value] [--execute [--yes]]"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scripts.dr import DRILLS  # noqa: E402
from scripts.dr.drill import execute, listing  # noqa: E402
from scripts.dr.objectives import objectives  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m scripts.dr", description=__doc__)
    sub = parser.add_subparsers(dest="drill", required=True, metavar="drill")
    for name, module in DRILLS.items():
        drill_parser = sub.add_parser(name, help=(module.__doc__ or "").strip().splitlines()[0])
        drill_parser.add_argument("--env", required=True, help="environment (config/<env>.yaml)")
        for option, text in module.PARAMETERS.items():
            drill_parser.add_argument(f"--{option}", help=text)
        drill_parser.add_argument("--execute", action="store_true", help="run the commands (default: print them)")
        drill_parser.add_argument("--yes", action="store_true", help="with --execute: do not ask for confirmation")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    from stacks.config import load_configs

    args = parse_args(argv)
    configs = {config.name: config for config in load_configs(ROOT / "config")}
    if args.env not in configs:
        print(f"--env {args.env!r}: no config/{args.env}.yaml; expected one of {', '.join(sorted(configs))}", file=sys.stderr)
        return 2
    env = configs[args.env]
    module = DRILLS[args.drill]
    options = {option: getattr(args, option) for option in module.PARAMETERS if getattr(args, option) is not None}
    try:
        drill = module.build(env, **options)
    except ValueError as error:
        print(f"{args.drill}: {error}", file=sys.stderr)
        return 2
    rto = objectives(env)[drill.scenario].rto_minutes
    if not args.execute:
        sys.stdout.write(listing(drill, rto))
        return 0
    if not args.yes:
        answer = input(f"Run drill {drill.name} against {env.name} ({env.project_id})? Type the environment name: ")
        if answer.strip() != env.name:
            print("not confirmed; nothing was run", file=sys.stderr)
            return 2
    return execute(drill, rto, out=sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
