"""Builds the CDKTF app: for each environment, one stack per layer, wired through output contracts."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from constructs_lib.cdk import App
from stacks.app_context import APP_CONTEXT
from stacks.base import LayerStack
from stacks.bootstrap import BootstrapStack
from stacks.config import EnvironmentConfig
from stacks.cluster import ClusterStack
from stacks.data import DataStack
from stacks.network import NetworkStack
from stacks.security import SecurityStack

from stacks.layers import LAYERS
from stacks.observability import ObservabilityStack


def build_environment(
    app: App, env: EnvironmentConfig, *, up_to: str = LAYERS[-1], bootstrap_state_dir: Path | None = None
) -> list[LayerStack]:
    """Stacks of one environment in apply order, stopping after `up_to` (its dependencies included)."""
    if up_to not in LAYERS:
        raise ValueError(f"unknown layer {up_to!r}; expected one of {', '.join(LAYERS)}")
    wanted = LAYERS[: LAYERS.index(up_to) + 1]
    stacks: list[LayerStack] = []
    bootstrap = BootstrapStack(app, env, local_state_dir=bootstrap_state_dir)
    stacks.append(bootstrap)
    if "network" in wanted:
        network = NetworkStack(app, env)
        network.add_dependency(bootstrap)
        stacks.append(network)
    if "security" in wanted:
        security = SecurityStack(app, env, bootstrap=bootstrap.outputs, network=network.outputs)
        security.add_dependency(network)
        stacks.append(security)
    if "cluster" in wanted:
        cluster = ClusterStack(
            app, env, bootstrap=bootstrap.outputs, network=network.outputs, security=security.outputs
        )
        cluster.add_dependency(security)
        stacks.append(cluster)
    if "data" in wanted:
        data = DataStack(app, env, cluster=cluster.outputs, network=network.outputs, security=security.outputs)
        data.add_dependency(cluster)
        stacks.append(data)
    if "observability" in wanted:
        observability = ObservabilityStack(app, env, cluster=cluster.outputs, security=security.outputs)
        observability.add_dependency(data)
        stacks.append(observability)
    return stacks


def build_app(
    configs: Iterable[EnvironmentConfig],
    *,
    outdir: Path,
    up_to: str = LAYERS[-1],
    bootstrap_state_dir: Path | None = None,
) -> App:
    """`bootstrap_state_dir`: keep bootstrap state in local files there (first apply, docs/bootstrap.md)."""
    app = App(outdir=str(outdir), stack_traces=False, context=APP_CONTEXT)
    for env in configs:
        build_environment(app, env, up_to=up_to, bootstrap_state_dir=bootstrap_state_dir)
    return app
