"""The child pipeline: one plan job per environment × stack and, where the ref may apply, one apply job per
plan, all ordered by the stacks' dependencies (cdktf.out/manifest.json). GitLab's runners are the
distributed engine; this module only writes the job graph.

What runs where (docs/ci-cd.md):
- merge request: plan the environments that no default-branch pipeline applies (dev, staging), only the
  stacks the merge request changes; no apply job.
- push/web pipeline of a protected branch B: plan and apply every stack of the environments whose
  `ci.apply_refs` contain B; applies are automatic, except from the default branch (prod), where each is a
  manual job on the protected environment.
- schedule: drift detection, a plan of every stack of every environment that fails on any change; no apply.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Mapping, Sequence

from ci import manifest, tools
from ci.plan import GUARD_EXIT

# GitLab environment names (and deployment tiers) of the platform environments; others keep their name.
GITLAB_ENVIRONMENTS = {"prod": ("production", "production"), "staging": ("staging", "staging"), "dev": ("dev", "development")}
SYNTH_JOB = "synth"
CHILD_FILE = "child-pipeline.yml"
IMAGE = "$CI_PYTHON_IMAGE"
PYTHON = ".venv/bin/python"
TOOLS_VARIABLE = "PLATFORM_TOOLS"
# Artifacts of plan jobs can hold sensitive values (plan files embed planned attribute values): never public.
_PLAN_PATHS = ("plan.tfplan", "plan-summary.txt", "plan-report.json", ".terraform.lock.hcl")


class Mode(str, Enum):
    PLAN = "plan"          # plan only (merge requests)
    AUTO = "auto"          # plan, then apply automatically
    MANUAL = "manual"      # plan, then apply on a button press on the protected environment
    DRIFT = "drift"        # plan with -detailed-exitcode: any change fails the job


@dataclass(frozen=True, kw_only=True)
class Situation:
    """The pipeline the child is generated for, from GitLab's predefined variables."""

    source: str
    """CI_PIPELINE_SOURCE of the parent: merge_request_event, push, web, schedule, ..."""
    branch: str = ""
    """CI_COMMIT_BRANCH (empty in merge request and tag pipelines)."""
    protected: bool = False
    """CI_COMMIT_REF_PROTECTED == "true"."""
    default_branch: str = "main"
    """CI_DEFAULT_BRANCH: its pipelines release to production, so their applies are manual."""

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> "Situation":
        return cls(
            source=environ.get("CI_PIPELINE_SOURCE", ""),
            branch=environ.get("CI_COMMIT_BRANCH", ""),
            protected=environ.get("CI_COMMIT_REF_PROTECTED") == "true",
            default_branch=environ.get("CI_DEFAULT_BRANCH", "main"),
        )


def modes(situation: Situation, apply_refs: Mapping[str, Sequence[str]]) -> dict[str, Mode]:
    """Environment → what the pipeline does with it. `apply_refs`: each environment's `ci.apply_refs`."""
    if situation.source == "schedule":
        return {env: Mode.DRIFT for env in apply_refs}
    if situation.source == "merge_request_event":
        # Prod state is readable from protected refs only; merge requests plan what develop applies.
        return {env: Mode.PLAN for env, refs in apply_refs.items() if situation.default_branch not in refs}
    if situation.source in ("push", "web") and situation.protected and situation.branch:
        mode = Mode.MANUAL if situation.branch == situation.default_branch else Mode.AUTO
        return {env: mode for env, refs in apply_refs.items() if situation.branch in refs}
    return {}


def generate(
    stacks: Mapping[str, manifest.Stack],
    env_modes: Mapping[str, Mode],
    *,
    only: set[str] | None = None,
) -> dict:
    """The child pipeline document. `only`: the stacks to plan (merge requests: the changed ones)."""
    selected = [
        name for name in manifest.dependency_order(stacks)
        if stacks[name].env in env_modes and (only is None or name in only)
    ]
    pinned = tools.load()
    for name in selected:
        unpinned = [command for command in stacks[name].exec_commands if command not in pinned]
        if unpinned:
            raise manifest.ManifestError(
                f"stack {name}: its providers run {unpinned[0]!r} as an exec credential plugin, which "
                f"{tools.LOCK.name} does not pin; add its row (version, URL, sha256) there"
            )
    jobs: dict[str, dict] = {}
    for name in selected:
        stack, mode = stacks[name], env_modes[stacks[name].env]
        deps = [dep for dep in stack.dependencies if dep in selected]
        applies = mode in (Mode.AUTO, Mode.MANUAL)
        # Where the pipeline applies, a stack plans after its dependencies are applied: it reads their outputs
        # (remote state) at plan time, and a plan made before they changed would apply stale values.
        after = [f"apply:{dep}" if applies else f"plan:{dep}" for dep in deps]
        jobs[f"plan:{name}"] = _plan_job(stack, mode, after)
        if applies:
            jobs[f"apply:{name}"] = _apply_job(stack, mode)
    if not jobs:
        jobs["no-stack-changed"] = {
            "stage": "terraform",
            "before_script": [],
            "cache": [],
            "script": ["echo 'No synthesized stack differs from the merge base: nothing to plan.'"],
        }
    return {
        "stages": ["terraform"],  # one stage: the order is the needs graph (a plan may follow an apply)
        # Never cancel a running plan/apply: an interrupted apply leaves the state locked.
        "default": {
            "image": IMAGE,
            "interruptible": False,
            "before_script": ["make install"],
            "cache": [_venv_cache(), _tools_cache(), _plugin_cache()],
        },
        **jobs,
    }


def _identity(stack: manifest.Stack, identity: str) -> dict:
    variables = {"PLATFORM_ENV": stack.env, "PLATFORM_IDENTITY": identity, "PLATFORM_STACK": stack.name}
    if stack.exec_commands:
        # `ci plan`/`ci apply` put these pinned tools on PATH (the cluster's helm/kubernetes providers).
        variables[TOOLS_VARIABLE] = " ".join(stack.exec_commands)
    return {
        "id_tokens": {"GITLAB_OIDC_TOKEN": {"aud": f"${variable(stack.env, 'WORKLOAD_IDENTITY_AUDIENCE')}"}},
        "variables": variables,
    }


def variable(env: str, output: str) -> str:
    """The GitLab CI variable holding bootstrap output `output` of `env`, e.g. PLATFORM_DEV_PLAN_SERVICE_ACCOUNT."""
    return f"PLATFORM_{re.sub(r'[^A-Za-z0-9]', '_', env).upper()}_{output.upper()}"


def _synth_artifacts() -> dict:
    return {"pipeline": "$PARENT_PIPELINE_ID", "job": SYNTH_JOB}


def _plan_job(stack: manifest.Stack, mode: Mode, after: list[str]) -> dict:
    identity = _identity(stack, "plan")
    directory = f"cdktf.out/{stack.directory}"
    job = {
        "stage": "terraform",
        **identity,
        "variables": {**identity["variables"], "PLATFORM_PLAN_MODE": mode.value},
        "needs": [_synth_artifacts(), *({"job": job, "artifacts": False} for job in after)],
        "script": [f"{PYTHON} -m ci plan {stack.name}"],
        "artifacts": {
            "name": f"plan-{stack.name}",
            "access": "developer",
            "expire_in": "7 days",
            "paths": [f"{directory}/{path}" for path in _PLAN_PATHS],
            "reports": {"terraform": f"{directory}/plan-report.json"},
            "when": "always",
        },
    }
    if mode is Mode.PLAN:
        # A merge request that deletes a protected resource shows the guard's finding as a warning; the
        # protected branch's pipeline, where PLATFORM_ALLOW_DESTROY can be given, enforces it.
        job["allow_failure"] = {"exit_codes": [GUARD_EXIT]}
    if mode is Mode.DRIFT:
        job["artifacts"]["paths"] = [f"{directory}/plan-summary.txt", f"{directory}/plan-report.json"]
    return job


def _apply_job(stack: manifest.Stack, mode: Mode) -> dict:
    identity = _identity(stack, "apply")
    name, tier = GITLAB_ENVIRONMENTS.get(stack.env, (stack.env, "other"))
    job = {
        "stage": "terraform",
        **identity,
        # Exactly this pipeline's plan of this stack: the saved plan file, never a new plan.
        "needs": [_synth_artifacts(), {"job": f"plan:{stack.name}", "artifacts": True}],
        # One apply per stack at a time across all pipelines, oldest pipeline first (process_mode is a
        # resource group setting, set once through the API: docs/ci-cd.md).
        "resource_group": stack.name,
        "environment": {"name": name, "deployment_tier": tier, "action": "start"},
        "script": [f"{PYTHON} -m ci apply {stack.name}"],
        # Belt and braces: whatever generated this file, an apply never runs outside a protected branch.
        "rules": [
            {"if": '$CI_COMMIT_REF_PROTECTED != "true" || $CI_COMMIT_BRANCH == null', "when": "never"},
            {"when": "manual" if mode is Mode.MANUAL else "on_success"},
        ],
    }
    if mode is Mode.MANUAL:
        job["allow_failure"] = False  # blocking: later stacks wait for this button
    return job


def _venv_cache() -> dict:
    return {"key": {"files": ["Pipfile.lock"], "prefix": "venv"}, "paths": [".venv", ".tools", ".cache/pip"]}


def _tools_cache() -> dict:
    return {"key": {"files": ["ci/tools.lock"], "prefix": "tools"}, "paths": [".cache/tools"], "policy": "pull-push"}


def _plugin_cache() -> dict:
    return {"key": "terraform-plugins", "paths": [".cache/terraform-plugins"], "policy": "pull-push"}
