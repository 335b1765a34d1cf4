"""The synthesized app as data: every stack's Terraform JSON and the stack dependencies of cdktf's manifest.

`synthesize()` runs a real App.synth() into a temporary directory (never the checkout's cdktf.out/, which may
be stale or partial); tests pass the outdir of their session synth to `SynthesizedApp.read` instead.
"""
from __future__ import annotations

import json
import re
import sys
import tempfile
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from stacks.layers import LAYERS  # noqa: E402

REFERENCE = re.compile(r"\$\{([^}]+)\}")
REMOTE_OUTPUT = re.compile(r"data\.terraform_remote_state\.cross-stack-reference-input-([\w-]+)\.outputs\.([\w-]+)")
# The attribute that names a resource for a person, by type; the first present wins.
NAME_ATTRIBUTES = ("account_id", "secret_id", "role_id", "repository_id", "workload_identity_pool_id", "name")


@dataclass(frozen=True)
class SynthesizedApp:
    stacks: dict[str, dict]
    """`<env>-<layer>` → parsed cdk.tf.json."""
    dependencies: dict[str, tuple[str, ...]]
    """`<env>-<layer>` → the stacks it depends on (cdktf's manifest)."""

    @classmethod
    def read(cls, outdir: Path) -> "SynthesizedApp":
        manifest = json.loads((outdir / "manifest.json").read_text(encoding="utf-8"))["stacks"]
        stacks = {name: json.loads((outdir / entry["synthesizedStackPath"]).read_text(encoding="utf-8"))
                  for name, entry in sorted(manifest.items())}
        return cls(stacks=stacks, dependencies={name: tuple(entry["dependencies"]) for name, entry in manifest.items()})

    @property
    def environments(self) -> tuple[str, ...]:
        return tuple(sorted({name.rsplit("-", 1)[0] for name in self.stacks}))

    def layers(self, env: str) -> tuple[str, ...]:
        return tuple(layer for layer in LAYERS if f"{env}-{layer}" in self.stacks)

    def resources(self, stack: str, type_: str | None = None) -> Iterator[tuple[str, str, dict]]:
        """(type, logical id, body) of one stack, optionally of one type."""
        for resource_type, items in self.stacks[stack].get("resource", {}).items():
            if type_ is None or resource_type == type_:
                for logical_id, body in items.items():
                    yield resource_type, logical_id, body

    def has(self, stack: str, type_: str, attribute: str, value: str) -> bool:
        """Whether `stack` holds a `type_` (or, for type `terraform`, a terraform block) whose dotted
        `attribute` is `value` or, for a list, contains it; references are resolved first."""
        if stack not in self.stacks:
            return False
        document = self.stacks[stack]
        bodies = [document.get("terraform", {})] if type_ == "terraform" else [body for _, _, body in self.resources(stack, type_)]
        for body in bodies:
            found = body
            for key in attribute.split("."):
                found = found.get(key) if isinstance(found, dict) else None
            for candidate in found if isinstance(found, list) else [found]:
                if candidate == value or (isinstance(candidate, str) and self.resolve(stack, candidate) == value):
                    return True
        return False

    def name_of(self, stack: str, type_: str, logical_id: str, attribute: str = "name") -> str:
        body = self.stacks[stack].get("resource", {}).get(type_, {}).get(logical_id)
        if body is None:
            return f"<{type_}.{logical_id}>"
        if type_ == "google_service_account":
            project = body.get("project", "<project>")
            if attribute == "email":
                return f"{body['account_id']}@{project}.iam.gserviceaccount.com"
            if attribute in ("name", "id"):
                return f"projects/{project}/serviceAccounts/{body['account_id']}@{project}.iam.gserviceaccount.com"
        for key in NAME_ATTRIBUTES:
            if key in body:
                return self.resolve(stack, str(body[key]))
        return f"<{type_}.{logical_id}>"

    def resolve(self, stack: str, text: str) -> str:
        """`text` with every `${...}` reference replaced by the name it stands for, across stacks."""
        def replace(match: re.Match) -> str:
            expression = match.group(1)
            remote = REMOTE_OUTPUT.fullmatch(expression)
            if remote:
                other, output = remote.groups()
                value = self.stacks.get(other, {}).get("output", {}).get(output, {}).get("value")
                return self.resolve(other, value) if isinstance(value, str) else f"<{expression}>"
            if expression == "data.google_project.project.number":
                return "<project-number>"
            if expression.startswith("data.google_storage_project_service_account."):
                return "service-<project-number>@gs-project-accounts.iam.gserviceaccount.com"
            parts = expression.split(".")
            if parts[0] != "data" and len(parts) >= 3:
                return self.name_of(stack, parts[0], parts[1], parts[2])
            return f"<{expression}>"

        return REFERENCE.sub(replace, text)

    def path_of(self, body: dict) -> str:
        """Construct path below the stack, e.g. `gitlab/apply/account`."""
        return body["//"]["metadata"]["path"].split("/", 1)[1]


def synthesize() -> SynthesizedApp:
    """A fresh synth of every environment in config/."""
    from constructs_lib import provider_loader

    provider_loader.configure(eager=False)
    from stacks.app import build_app
    from stacks.config import load_configs

    with tempfile.TemporaryDirectory(prefix="docgen-") as outdir:
        build_app(load_configs(ROOT / "config"), outdir=Path(outdir)).synth()
        return SynthesizedApp.read(Path(outdir))


def replace_between(text: str, name: str, content: str) -> str:
    """`text` with the part between `<!-- generated:<name>:begin -->` and `...:end -->` replaced."""
    begin, end = f"<!-- generated:{name}:begin -->", f"<!-- generated:{name}:end -->"
    if text.count(begin) != 1 or text.count(end) != 1 or text.index(begin) > text.index(end):
        raise ValueError(f"expected one {begin} followed by one {end}")
    head, rest = text.split(begin)
    _, tail = rest.split(end)
    return f"{head}{begin}\n{content.rstrip()}\n{end}{tail}"


def between(text: str, name: str) -> str:
    begin, end = f"<!-- generated:{name}:begin -->", f"<!-- generated:{name}:end -->"
    return text.split(begin)[1].split(end)[0].strip("\n")


def environment_order(configs: dict) -> list[str]:
    """Environment names from the least to the most protected tier, then by name: the column order of
    every per-environment table."""
    from stacks.config import EnvironmentConfig

    tiers = typing.get_args(EnvironmentConfig.model_fields["tier"].annotation)
    return sorted(configs, key=lambda name: (tiers.index(configs[name].tier), name))


def slug(heading: str) -> str:
    """The anchor GitLab gives a Markdown heading: lower case, punctuation dropped, spaces to hyphens,
    runs of hyphens collapsed (a repeated heading gets `-1`, `-2`, ...: see `anchors`)."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return re.sub(r"-{2,}", "-", text.replace(" ", "-"))


def anchors(markdown: str) -> set[str]:
    """Every heading anchor of a Markdown document (headings inside fenced code blocks excluded)."""
    seen: dict[str, int] = {}
    found = set()
    for line in strip_fences(markdown).splitlines():
        match = re.match(r"^#{1,6}\s+(.+?)\s*#*\s*$", line)
        if match:
            base = slug(match.group(1))
            found.add(base if base not in seen else f"{base}-{seen[base]}")
            seen[base] = seen.get(base, 0) + 1
    return found


def strip_fences(markdown: str) -> str:
    """The document with fenced code blocks blanked (their lines kept, so line numbers stay)."""
    out, fenced = [], False
    for line in markdown.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            out.append("")
        else:
            out.append("" if fenced else line)
    return "\n".join(out)
