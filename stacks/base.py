"""What every layer stack has: its name, provider, labels and state location."""
from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from constructs_lib.cdk import App, GcsBackend, LocalBackend, TerraformStack, google
from stacks.config import EnvironmentConfig
from stacks.naming import resource_name

MANAGED_BY = "cdktf-platform"


class LayerStack(TerraformStack):
    """`<env>-<layer>`: one Terraform root module with its own state prefix in the environment's bucket."""

    layer: ClassVar[str]

    def __init__(self, scope: App, env: EnvironmentConfig, *, local_state_dir: Path | None = None) -> None:
        super().__init__(scope, f"{env.name}-{self.layer}")
        self.env = env
        google.provider.GoogleProvider(
            self,
            "google",
            project=env.project_id,
            region=env.region,
            # Provider-level labels reach every labelable resource; constructs add `component`. Label keys
            # use `_`, not `-`: CDKTF snake-cases provider map keys (`managed-by` would become `managed_by`).
            default_labels=self.default_labels(),
            add_terraform_attribution_label=False,
        )
        if local_state_dir is not None:
            # Outside cdktf.out, which every synth replaces: this state must survive until it is pushed.
            LocalBackend(self, path=str(local_state_dir / f"{self.node.id}.tfstate"))
        else:
            GcsBackend(self, bucket=env.state_bucket, prefix=self.state_prefix)

    @property
    def state_prefix(self) -> str:
        return f"stacks/{self.node.id}"

    def default_labels(self) -> dict[str, str]:
        return {**self.env.labels, "env": self.env.name, "layer": self.layer, "managed_by": MANAGED_BY}

    @staticmethod
    def labels_for(component: str) -> dict[str, str]:
        """Per-resource labels; env, layer and managed_by come from the provider's default_labels."""
        return {"component": component}

    def resource_name(self, role: str) -> str:
        return resource_name(self.env.prefix, role)
