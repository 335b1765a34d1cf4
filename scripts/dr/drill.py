"""The shape every disaster-recovery drill shares: a list of steps (exact commands) against one
environment's resources, printed in dry-run, executed and timed in real mode.

Names come from the environment's config through stacks/naming.py, never from the synthesized JSON, so a
drill runs at 3 a.m. without a synth; each step declares the Terraform resources it names (`Ref`), and
tests/scripts/test_dr_drills.py checks every one exists in the synthesized stacks of every environment:
a renamed resource breaks the drill's test, not the drill.
"""
from __future__ import annotations

import re
import shlex
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, TextIO

PLACEHOLDER = re.compile(r"\{([A-Z][A-Z0-9_]*)\}")


@dataclass(frozen=True)
class Ref:
    """A Terraform resource a step names: in stack `<env>-<layer>`, a `type_` whose `attribute` is (or,
    for a list, contains) `value`."""

    layer: str
    type_: str
    attribute: str
    value: str


@dataclass(frozen=True, kw_only=True)
class Step:
    title: str
    argv: tuple[str, ...] = ()
    """The command; `{NAME}` is a value an earlier step captured (a shell variable in the dry-run listing)
    or a file of the drill (`{FILE_<name>}`)."""
    script: str = ""
    """Instead of argv: a bash pipeline (listed as is, run with `bash -c`), same placeholders."""
    refs: tuple[Ref, ...] = ()
    capture: str | None = None
    """Store the command's stdout (stripped) under this name for later steps."""
    cleanup: bool = False
    """Runs even when an earlier step failed, after the others (removes what the drill created)."""


@dataclass(frozen=True, kw_only=True)
class Drill:
    name: str
    title: str
    env: str
    scenario: str
    """Key of the objective (scripts/dr/objectives.py) whose RTO the timed run is compared with."""
    steps: tuple[Step, ...]
    files: dict[str, str] = field(default_factory=dict)
    """Files the commands read, by name (`{FILE_<name>}` in argv); written to a temporary directory."""
    notes: tuple[str, ...] = ()

    @property
    def refs(self) -> tuple[Ref, ...]:
        return tuple(ref for step in self.steps for ref in step.refs)


def _file_variable(name: str) -> str:
    return "FILE_" + re.sub(r"\W", "_", name).upper()


def shell_word(word: str) -> str:
    """One argv word for the listing: quoted, with `{NAME}` shown as a double-quoted shell variable."""
    if not PLACEHOLDER.search(word):
        return shlex.quote(word)
    pieces = PLACEHOLDER.split(word)
    out = []
    for index, piece in enumerate(pieces):
        if index % 2:
            out.append(f'"${{{piece}}}"')
        elif piece:
            out.append(shlex.quote(piece))
    return "".join(out)


def listing(drill: Drill, rto_minutes: int | None) -> str:
    """The dry run: a shell script a person can read, or run step by step."""
    lines = [
        f"# Drill {drill.name} for {drill.env}: {drill.title}",
        f"# Objective: RTO {rto_minutes} min ({drill.scenario}, docs/dr.md)" if rto_minutes else f"# Scenario: {drill.scenario} (docs/dr.md)",
        *(f"# {note}" for note in drill.notes),
        "set -euo pipefail",
    ]
    if drill.files:
        lines.append('WORKDIR="$(mktemp -d)"')
    for name, content in drill.files.items():
        lines += [f'{_file_variable(name)}="$WORKDIR/{name}"', f"cat > \"${_file_variable(name)}\" <<'EOF'", content.rstrip("\n"), "EOF"]
    for number, step in enumerate(drill.steps, 1):
        command = PLACEHOLDER.sub(r'"${\1}"', step.script) if step.script else " ".join(shell_word(word) for word in step.argv)
        lines.append(f"# {number}. {step.title}{' (cleanup)' if step.cleanup else ''}")
        lines.append(f'{step.capture}="$({command})"' if step.capture else command)
    return "\n".join(lines) + "\n"


@dataclass
class Timing:
    title: str
    seconds: float
    ok: bool


def execute(drill: Drill, rto_minutes: int | None, *, out: TextIO,
            run: Callable[..., subprocess.CompletedProcess] = subprocess.run) -> int:
    """Run every step, timing each; 0 when all succeeded within the RTO, 1 when a step failed, 3 when the
    steps succeeded but took longer than the RTO."""
    values: dict[str, str] = {}
    timings: list[Timing] = []
    failed = False
    with tempfile.TemporaryDirectory(prefix=f"dr-{drill.name}-") as workdir:
        for name, content in drill.files.items():
            path = Path(workdir) / name
            path.write_text(content, encoding="utf-8")
            values[_file_variable(name)] = str(path)
        for step in [s for s in drill.steps if not s.cleanup] + [s for s in drill.steps if s.cleanup]:
            if failed and not step.cleanup:
                continue
            words = ("bash", "-c", step.script) if step.script else step.argv
            argv = [PLACEHOLDER.sub(lambda m: values[m.group(1)], word) for word in words]
            print(f"==> {step.title}\n    {shlex.join(argv)}", file=out, flush=True)
            started = time.monotonic()
            result = run(argv, stdout=subprocess.PIPE if step.capture else None, text=True, check=False)
            elapsed = time.monotonic() - started
            timings.append(Timing(step.title, elapsed, result.returncode == 0))
            if result.returncode != 0:
                print(f"    FAILED (exit {result.returncode}) after {elapsed:.0f}s", file=out)
                failed = failed or not step.cleanup
            elif step.capture:
                values[step.capture] = (result.stdout or "").strip()
                print(f"    {step.capture}={values[step.capture]}", file=out)
    total = sum(t.seconds for t in timings if t.title not in {s.title for s in drill.steps if s.cleanup})
    print(f"\n{'step':<64} {'seconds':>8}  result", file=out)
    for timing in timings:
        print(f"{timing.title[:64]:<64} {timing.seconds:8.0f}  {'ok' if timing.ok else 'FAILED'}", file=out)
    verdict = ""
    if rto_minutes:
        within = total <= rto_minutes * 60
        verdict = f" against an RTO of {rto_minutes} min: {'within' if within else 'EXCEEDED'}"
    print(f"recovery steps took {total / 60:.1f} min{verdict}", file=out)
    if failed:
        return 1
    return 3 if rto_minutes and total > rto_minutes * 60 else 0
