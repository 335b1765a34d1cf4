"""terraform plan and apply of one stack, the plan summary, and the destroy guard.

A plan job saves the binary plan; the apply job of the same pipeline applies exactly that file (Terraform
refuses a saved plan whose state changed since: `apply` turns that into one clear message). The plan's JSON
(`terraform show -json`) is read in memory and never stored, because it holds planned values in clear text;
only the counts (GitLab's terraform report) and the human-readable plan (sensitive values masked) are kept.
"""
from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

# Types whose deletion loses data or takes the platform down; a plan that deletes or replaces one fails
# unless the pipeline names the exact address in ALLOW_DESTROY_VARIABLE. Every bucket the platform creates
# holds Terraform state, logs or backups; every node pool runs workloads (the backend's disk lives on one).
PROTECTED_TYPES = (
    "google_sql_database_instance",
    "google_container_cluster",
    "google_container_node_pool",
    "google_storage_bucket",
    "google_kms_crypto_key",
    "google_kms_key_ring",
    "google_compute_disk",
    "google_secret_manager_secret",
)
ALLOW_DESTROY_VARIABLE = "PLATFORM_ALLOW_DESTROY"
GUARD_EXIT = 3  # the plan job's exit code for a guarded change (merge requests show it as a warning)
STALE_PLAN_MARKERS = ("Saved plan is stale", "Saved plan does not match the given state")


@dataclass(frozen=True)
class Change:
    address: str
    type: str
    actions: tuple[str, ...]

    @property
    def kind(self) -> str:
        """create, update, delete, replace, or no-op/read."""
        if set(self.actions) == {"delete", "create"}:
            return "replace"
        return self.actions[0] if len(self.actions) == 1 else "+".join(self.actions)


def changes(plan: Mapping) -> list[Change]:
    """The resource changes of a `terraform show -json` document, without no-ops and reads."""
    found = []
    for entry in plan.get("resource_changes") or ():
        actions = tuple(entry["change"]["actions"])
        if actions not in (("no-op",), ("read",)):
            found.append(Change(entry["address"], entry["type"], actions))
    return found


def counts(plan: Mapping) -> dict[str, int]:
    """Create/update/delete/replace counts (a replace counts once, as replace)."""
    result = {"create": 0, "update": 0, "delete": 0, "replace": 0}
    for change in changes(plan):
        if change.kind in result:
            result[change.kind] += 1
    return result


def gitlab_report(plan: Mapping) -> dict[str, int]:
    """GitLab's `artifacts:reports:terraform` JSON: {"create", "update", "delete"}, counted as GitLab's own
    documented jq does (every action of a resource; a replace is one create and one delete)."""
    actions = [action for entry in plan.get("resource_changes") or () for action in entry["change"]["actions"]]
    return {kind: actions.count(kind) for kind in ("create", "update", "delete")}


def summary(stack: str, plan: Mapping) -> str:
    numbers = counts(plan)
    lines = [f"{stack}: {numbers['create']} to create, {numbers['update']} to update, "
             f"{numbers['replace']} to replace, {numbers['delete']} to delete"]
    lines += [f"  {change.kind:8} {change.address}" for change in changes(plan)]
    return "\n".join(lines)


class AcknowledgementError(ValueError):
    """PLATFORM_ALLOW_DESTROY is malformed or names an address this plan does not delete or replace."""


def parse_acknowledgements(value: str) -> set[tuple[str, str]]:
    """`<stack>:<address>` entries separated by commas, spaces or newlines."""
    entries = set()
    for item in re.split(r"[\s,]+", value.strip()):
        if not item:
            continue
        stack, sep, address = item.partition(":")
        if not sep or not stack or not address:
            raise AcknowledgementError(
                f"{ALLOW_DESTROY_VARIABLE}: entry {item!r} is not <stack>:<resource address>, "
                "e.g. prod-cluster:google_container_node_pool.pool-gpu_pool_F6A4C468"
            )
        entries.add((stack, address))
    return entries


def guard(stack: str, plan: Mapping, acknowledged: Iterable[tuple[str, str]]) -> list[str]:
    """Problems: each unacknowledged delete/replace of a protected type, and each acknowledgement for this
    stack that matches no such change (a typo would otherwise pass silently). Empty means safe."""
    mine = {address for name, address in acknowledged if name == stack}
    dangerous = [c for c in changes(plan) if c.type in PROTECTED_TYPES and "delete" in c.actions]
    problems = [
        f"{stack}: the plan would {c.kind} {c.address} ({c.type} is protected). If that is intended, run "
        f"the pipeline again with {ALLOW_DESTROY_VARIABLE}={stack}:{c.address}"
        for c in dangerous if c.address not in mine
    ]
    matched = {c.address for c in dangerous}
    problems += [
        f"{stack}: {ALLOW_DESTROY_VARIABLE} names {address}, but this plan does not delete or replace it"
        for address in sorted(mine - matched)
    ]
    return problems


def stale_plan_message(stack: str, output: str) -> str | None:
    """The explanation for a failed apply of a saved plan whose state changed, or None for other errors."""
    if not any(marker in output for marker in STALE_PLAN_MARKERS):
        return None
    return (
        f"{stack}: NOTHING WAS APPLIED. The saved plan is stale: the stack's state changed after this pipeline "
        "planned it (another apply, or a change by hand, ran in between). Run a new pipeline on this branch to "
        "plan against the current state and review that plan."
    )


class Terraform:
    """terraform in one stack directory."""

    def __init__(self, binary: Path, directory: Path, env: Mapping[str, str]) -> None:
        self.binary, self.directory, self.env = binary, directory, dict(env)

    def run(self, *args: str, capture: bool = False, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(self.binary), f"-chdir={self.directory}", *args],
            env=self.env, text=True, check=check, capture_output=capture,
        )

    def init(self, *, readonly_lock: bool) -> None:
        self.run("init", "-input=false", "-no-color", *(["-lockfile=readonly"] if readonly_lock else []))

    def plan(self, *, detailed: bool) -> int:
        # The plan identity is read-only and cannot take the state lock; the apply rechecks the state.
        args = ["plan", "-input=false", "-no-color", "-lock=false", "-out=plan.tfplan"]
        return self.run(*args, *(["-detailed-exitcode"] if detailed else []), check=False).returncode

    def show_json(self) -> dict:
        return json.loads(self.run("show", "-json", "plan.tfplan", capture=True).stdout)

    def apply_saved(self) -> subprocess.CompletedProcess:
        return self.run("apply", "-input=false", "-no-color", "plan.tfplan", capture=True, check=False)


def plan_stack(tf: Terraform, stack: str, mode: str, acknowledged: str) -> int:
    """Plan, write summary and GitLab report next to the plan, run the destroy guard. Returns the exit code."""
    tf.init(readonly_lock=False)
    code = tf.plan(detailed=mode == "drift")
    if code not in (0, 2):  # 2 only with -detailed-exitcode: the plan has changes
        return 1
    plan = tf.show_json()
    text = summary(stack, plan)
    (tf.directory / "plan-summary.txt").write_text(text + "\n", encoding="utf-8")
    (tf.directory / "plan-report.json").write_text(json.dumps(gitlab_report(plan)), encoding="utf-8")
    print(text)
    if mode == "drift":
        if changes(plan):
            print(f"DRIFT: {stack} differs from its configuration (see the summary above); nothing is applied "
                  "in scheduled pipelines. Fix it with a merge request or an apply from the protected branch.")
            return 2
        return 0
    problems = guard(stack, plan, parse_acknowledgements(acknowledged))
    for problem in problems:
        print(f"DESTROY GUARD: {problem}")
    return GUARD_EXIT if problems else 0


def apply_stack(tf: Terraform, stack: str) -> int:
    # The plan job's lock file: init must install exactly the providers the plan was made with.
    tf.init(readonly_lock=True)
    result = tf.apply_saved()
    print(result.stdout, end="")
    print(result.stderr, end="")
    if result.returncode:
        message = stale_plan_message(stack, result.stdout + result.stderr)
        if message:
            print(message)
    return result.returncode


def stack_directory(outdir: Path, stacks: Mapping, name: str) -> Path:
    if name not in stacks:
        raise SystemExit(f"error: stack {name!r} is not in {outdir}/manifest.json; expected one of {', '.join(sorted(stacks))}")
    return outdir / stacks[name].directory


