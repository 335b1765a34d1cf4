"""Atomic synthesis: build into a fresh directory beside the output and swap it in only when everything
succeeded, so a failed run never leaves a half-written `cdktf.out` for `terraform apply` to find."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

from stacks.config import EnvironmentConfig


@dataclass(frozen=True)
class StackSummary:
    name: str
    resources: int
    path: Path


@contextmanager
def atomic_directory(target: Path) -> Iterator[Path]:
    """Yield an empty sibling directory; on success it replaces `target`, on failure it is deleted."""
    target = target.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.new-", dir=target.parent))
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    previous = target.with_name(f".{target.name}.old-{os.getpid()}")
    if target.exists():
        os.replace(target, previous)
    os.replace(staging, target)
    shutil.rmtree(previous, ignore_errors=True)


def synthesize(
    configs: Sequence[EnvironmentConfig], outdir: Path, *, up_to: str, bootstrap_state_dir: Path | None = None
) -> list[StackSummary]:
    from stacks.app import build_app  # imports the CDK; kept out of config validation's path

    with atomic_directory(outdir) as staging:
        app = build_app(configs, outdir=staging, up_to=up_to, bootstrap_state_dir=bootstrap_state_dir)
        app.synth()
    return summarize(outdir.resolve())


def summarize(outdir: Path) -> list[StackSummary]:
    summaries = []
    for stack_file in sorted(outdir.glob("stacks/*/cdk.tf.json")):
        document = json.loads(stack_file.read_text(encoding="utf-8"))
        count = sum(len(items) for items in document.get("resource", {}).values())
        summaries.append(StackSummary(stack_file.parent.name, count, stack_file))
    return summaries

