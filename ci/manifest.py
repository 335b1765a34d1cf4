"""Stacks and their dependencies as cdktf wrote them to `<outdir>/manifest.json`."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping


@dataclass(frozen=True, kw_only=True)
class Stack:
    name: str
    """`<env>-<layer>`, the stack id (also the state prefix `stacks/<name>`)."""
    dependencies: tuple[str, ...]
    """Stacks whose outputs this one reads: they must be applied first."""
    directory: str
    """The stack's Terraform root module, relative to the synth output directory."""
    exec_commands: tuple[str, ...] = ()
    """Programs the stack's providers run as exec credential plugins (the helm and kubernetes providers run
    gke-gcloud-auth-plugin to reach the cluster's DNS endpoint): its plan and apply jobs need them on PATH.
    Default: none (Google-only stacks)."""

    @property
    def env(self) -> str:
        # Environment names contain no '-' (main.py splits --stack the same way).
        return self.name.partition("-")[0]

    @property
    def layer(self) -> str:
        return self.name.partition("-")[2]


class ManifestError(ValueError):
    """manifest.json is missing, malformed or names a dependency it does not define."""


def load(outdir: Path) -> dict[str, Stack]:
    path = outdir / "manifest.json"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        entries = document["stacks"]
        stacks = {
            name: Stack(
                name=name,
                dependencies=tuple(entry["dependencies"]),
                directory=entry["workingDirectory"],
                exec_commands=_exec_commands(outdir / entry["synthesizedStackPath"]),
            )
            for name, entry in entries.items()
        }
    except FileNotFoundError:
        raise ManifestError(f"{path}: not found; synthesize first (python main.py --outdir {outdir})") from None
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise ManifestError(f"{path}: not a cdktf manifest (stacks.<name>.dependencies/workingDirectory): {exc}") from None
    for stack in stacks.values():
        unknown = [dep for dep in stack.dependencies if dep not in stacks]
        if unknown:
            raise ManifestError(f"{path}: stack {stack.name} depends on {unknown[0]!r}, which the manifest does not define")
    return stacks


def _exec_commands(document_path: Path) -> tuple[str, ...]:
    """Every `exec.command` in the document's provider blocks (kubernetes: a list of exec blocks; helm: one
    block under `kubernetes`), sorted."""
    if not document_path.is_file():
        raise ManifestError(f"{document_path}: named by manifest.json but missing; synthesize again")
    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "exec":
                    found.update(block["command"] for block in (value if isinstance(value, list) else [value]))
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(json.loads(document_path.read_text(encoding="utf-8")).get("provider", {}))
    return tuple(sorted(found))


def dependency_order(stacks: Mapping[str, Stack]) -> list[str]:
    """Every stack after the stacks it depends on; ties in name order, so the output is stable."""
    remaining = {name: set(stack.dependencies) for name, stack in stacks.items()}
    order: list[str] = []
    while remaining:
        ready = sorted(name for name, deps in remaining.items() if not deps)
        if not ready:
            raise ManifestError(f"dependency cycle among stacks: {', '.join(sorted(remaining))}")
        for name in ready:
            del remaining[name]
            order.append(name)
        for deps in remaining.values():
            deps.difference_update(ready)
    return order


def with_dependents(stacks: Mapping[str, Stack], names: Iterable[str]) -> set[str]:
    """`names` plus every stack that depends on one of them, directly or through others: a changed stack's
    outputs can change what its dependents plan even when their own JSON is unchanged."""
    selected = set(names)
    grew = True
    while grew:
        grew = False
        for stack in stacks.values():
            if stack.name not in selected and selected.intersection(stack.dependencies):
                selected.add(stack.name)
                grew = True
    return selected
