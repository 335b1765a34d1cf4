"""Helpers over synthesized Terraform JSON, shared by spec, snapshot and policy tests."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator


@dataclass(frozen=True)
class Synthesized:
    outdir: Path
    stacks: dict[str, dict]
    """`<env>-<layer>` → the parsed cdk.tf.json."""

    @classmethod
    def read(cls, outdir: Path) -> "Synthesized":
        stacks = {
            path.parent.name: json.loads(path.read_text(encoding="utf-8"))
            for path in sorted(outdir.glob("stacks/*/cdk.tf.json"))
        }
        return cls(outdir=outdir, stacks=stacks)

    def stack(self, env: str, layer: str) -> dict:
        return self.stacks[f"{env}-{layer}"]

    def resources(self, env: str, layer: str, type_: str) -> dict[str, dict]:
        """Resources of one Terraform type in one stack, by logical id."""
        return self.stack(env, layer).get("resource", {}).get(type_, {})

    def all_resources(self, layer: str | None = None) -> Iterator[tuple[str, str, str, dict]]:
        """(stack, type, logical id, body) for every resource, optionally of one layer only."""
        for stack_name, document in self.stacks.items():
            if layer and not stack_name.endswith(f"-{layer}"):
                continue
            for type_, items in document.get("resource", {}).items():
                for logical_id, body in items.items():
                    yield stack_name, type_, logical_id, body

    def by_path(self, env: str, layer: str, type_: str, construct_path: str) -> dict:
        """The resource whose construct path (below the stack) is `construct_path`, e.g. `vpc/network`."""
        wanted = f"{env}-{layer}/{construct_path}"
        for body in self.resources(env, layer, type_).values():
            if body["//"]["metadata"]["path"] == wanted:
                return body
        raise KeyError(f"no {type_} at {wanted}")
