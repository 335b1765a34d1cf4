"""One synth, timed phase by phase in-process, reporting what it imported: `python -m benchmarks.probe`.

The same work as `main.py --no-cache --jobs 1` (config, CDK, app, synth), in a fresh process started by
benchmarks/synth.py with the variant's environment. It prints one line `PROBE <json>`: the seconds of each
phase, the provider modules in `sys.modules` (the naive variant must have run each package `__init__`),
and the jsii node processes with their environment (the fast variant's kernel must carry the lazy-index
hook, the naive one's must not).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from benchmarks.processes import jsii_processes

PROVIDER_PACKAGES = ("cdktf_cdktf_provider_google", "cdktf_cdktf_provider_kubernetes", "cdktf_cdktf_provider_helm")
PREFIX = "PROBE "


class Phases:
    def __init__(self) -> None:
        self.started = self.mark = time.perf_counter()
        self.seconds: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = now - self.mark
        self.mark = now


def provider_modules() -> dict[str, dict]:
    found = {}
    for package in PROVIDER_PACKAGES:
        module = sys.modules.get(package)
        found[package] = {
            "imported": module is not None,
            "submodules": sum(1 for name in sys.modules if name.startswith(package + ".")),
            "bare": bool(getattr(module, "__platform_bare_package__", False)),
            "complete_init": module is not None and hasattr(module, "__all__"),
        }
    return found


def run(outdir: Path, config_dir: Path, environments: list[str]) -> dict:
    phases = Phases()
    from stacks.config import load_configs

    configs = [config for config in load_configs(config_dir) if not environments or config.name in environments]
    phases.lap("config: import pydantic/yaml, validate")
    from constructs_lib import provider_loader

    provider_loader.configure(eager=os.environ.get("PLATFORM_EAGER_PROVIDER_IMPORT") == "1")
    import cdktf  # noqa: F401  (starts node and loads the constructs and cdktf assemblies)

    phases.lap("import cdktf: start node, load constructs + cdktf assemblies")
    provider_loader.google.provider
    phases.lap("load the google package/assembly (+ provider module)")
    from stacks.app import build_app

    app = build_app(configs, outdir=outdir)
    phases.lap("construct all stacks (other provider loads included)")
    app.synth()
    phases.lap("synth: serialize and write")
    return {
        "environments": [config.name for config in configs],
        "phases": phases.seconds,
        "in_process_s": time.perf_counter() - phases.started,
        "packages": provider_modules(),
        "kernels": jsii_processes(os.getpid()),
        "node_hook_status": provider_loader.node_hook_status(),
        "parent_env_restored": "PLATFORM_JSII_LAZY_INDEX_PACKAGES" not in os.environ,
    }


def parse(text: str) -> dict | None:
    """The probe's result in its output, or None."""
    line = next((line for line in text.splitlines() if line.startswith(PREFIX)), None)
    return None if line is None else json.loads(line.removeprefix(PREFIX))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outdir", type=Path, required=True)
    parser.add_argument("--config-dir", type=Path, required=True)
    parser.add_argument("--env", action="append", default=[], help="only this environment (repeatable)")
    args = parser.parse_args(argv)
    print(PREFIX + json.dumps(run(args.outdir, args.config_dir, args.env)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
