"""Builds the CDKTF app: for each environment, one stack per layer, wired through output contracts."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from constructs_lib.cdk import App
from stacks.base import LayerStack
from stacks.bootstrap import BootstrapStack
from stacks.config import EnvironmentConfig
from stacks.network import NetworkStack

# Apply order. A stack may only consume outputs of layers before it.
LAYERS = ("bootstrap", "network", "security", "cluster", "data", "observability")

# CDKTF feature flags of a current `cdktf init`, fixed here so `cdktf synth` and `python main.py`
# produce the same logical ids.
APP_CONTEXT = {
    "excludeStackIdFromLogicalIds": "true",
    "allowSepCharsInLogicalIds": "true",
}


def build_environment(
    app: App, env: EnvironmentConfig, *, up_to: str = LAYERS[-1], bootstrap_local_state: bool = False
) -> list[LayerStack]:
    """Stacks of one environment in apply order, stopping after `up_to` (its dependencies included)."""
    if up_to not in LAYERS:
        raise ValueError(f"unknown layer {up_to!r}; expected one of {', '.join(LAYERS)}")
    wanted = LAYERS[: LAYERS.index(up_to) + 1]
    stacks: list[LayerStack] = []
    bootstrap = BootstrapStack(app, env, local_state=bootstrap_local_state)
    stacks.append(bootstrap)
    if "network" in wanted:
        network = NetworkStack(app, env)
        network.add_dependency(bootstrap)
        stacks.append(network)
    return stacks


def build_app(
    configs: Iterable[EnvironmentConfig],
    *,
    outdir: Path,
    up_to: str = LAYERS[-1],
    bootstrap_local_state: bool = False,
) -> App:
    app = App(outdir=str(outdir), stack_traces=False, context=APP_CONTEXT)
    for env in configs:
        build_environment(app, env, up_to=up_to, bootstrap_local_state=bootstrap_local_state)
    return app
