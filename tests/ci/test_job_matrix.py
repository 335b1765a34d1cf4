"""The job set per situation, evaluated by gitlab-ci-local (GitLab's rules, needs and extends semantics) on
temporary git repositories: the parent pipeline per branch / merge request / schedule, and the generated
child pipelines. Nothing here runs a job: `--list-json` and `--preview` only evaluate the configuration."""
from __future__ import annotations

import json
import os
import subprocess
from functools import lru_cache
from pathlib import Path

import pytest
import yaml

from ci import manifest, pipeline
from ci.checkov_reports import SCANS, report_paths
from tests.conftest import REPO_ROOT

GCL = REPO_ROOT / "node_modules" / ".bin" / "gitlab-ci-local"
PUSH_OR_DEPLOY = {"build:staging", "deploy:staging", "build:prod", "canary:prod", "verify:prod", "promote:prod",
                  "review:build", "review:deploy", "review:stop"}


def _git(repo, *args):
    subprocess.run(["git", "-C", str(repo), "-c", "user.email=ci@example.com", "-c", "user.name=ci", *args],
                   check=True, capture_output=True)


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    if not GCL.exists():
        pytest.fail("gitlab-ci-local is not installed: run `make test` (its node_modules/.installed step runs npm ci)",
                    pytrace=False)
    path = tmp_path_factory.mktemp("gcl-repo")
    _git(path, "init", "-q", "-b", "main")
    _git(path, "commit", "-q", "--allow-empty", "-m", "init")
    for branch in ("develop", "feature/login"):
        _git(path, "branch", branch)
    return path


def gitlab_ci_local(repo, config: str, branch: str, *args: str, variables: dict[str, str] | None = None) -> str:
    (repo / ".gitlab-ci.yml").write_text(config)
    _git(repo, "checkout", "-q", branch)
    command = [str(GCL), *args]
    for name, value in (variables or {}).items():
        command += ["--variable", f"{name}={value}"]
    env = {**os.environ, "GCL_IGNORE_PREDEFINED_VARS": ",".join(variables or {})}
    result = subprocess.run(command, cwd=repo, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def listed(repo, config: str, branch: str, variables: dict[str, str]) -> dict[str, dict]:
    """Job name -> gitlab-ci-local's view (when, needs) of the jobs that exist in this pipeline."""
    out = gitlab_ci_local(repo, config, branch, "--list-json", variables=variables)
    jobs = json.loads(out[out.index("\n[") + 1:] if not out.startswith("[") else out)
    return {job["name"]: job for job in jobs if job["when"] != "never"}


PARENT = (REPO_ROOT / ".gitlab-ci.yml").read_text()
PROTECTED = {"CI_COMMIT_REF_PROTECTED": "true"}
MR = {"CI_PIPELINE_SOURCE": "merge_request_event", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "develop"}
SITUATIONS = {
    "feature branch push": ("feature/login", {}, {"validate", "checkov"}),
    "merge request": ("feature/login", MR, {"validate", "checkov", "synth", "infra"}),
    "protected merge request": ("develop", {**MR, **PROTECTED},
                                {"validate", "checkov", "synth", "infra", "review:build", "review:deploy", "review:stop"}),
    "develop": ("develop", PROTECTED, {"validate", "checkov", "synth", "infra", "build:staging", "deploy:staging"}),
    "develop, unprotected": ("develop", {}, {"validate", "checkov"}),
    "main": ("main", PROTECTED, {"validate", "checkov", "synth", "infra", "build:prod", "canary:prod", "verify:prod",
                                 "promote:prod"}),
    "schedule": ("main", {"CI_PIPELINE_SOURCE": "schedule", **PROTECTED}, {"synth", "infra"}),
}


@pytest.mark.parametrize("situation", SITUATIONS)
def test_the_parent_pipeline_has_exactly_the_jobs_of_its_situation(repo, situation):
    branch, variables, expected = SITUATIONS[situation]
    jobs = listed(repo, PARENT, branch, variables)
    assert set(jobs) == expected
    manual = {name for name, job in jobs.items() if job["when"] == "manual"}
    assert manual == expected & {"promote:prod", "review:stop"}
    if situation in ("feature branch push", "merge request", "develop, unprotected"):
        assert not set(jobs) & PUSH_OR_DEPLOY


@lru_cache(maxsize=1)
def _preview(repo) -> dict:
    return yaml.safe_load(gitlab_ci_local(repo, PARENT, "main", "--preview"))


def test_validation_reports_reach_the_merge_request_widgets(repo):
    jobs = _preview(repo)
    assert jobs["validate"]["artifacts"]["reports"] == {"junit": "reports/junit.xml"}
    checkov = jobs["checkov"]["artifacts"]
    assert checkov["when"] == "always"  # findings are shown even when the job fails
    # Exactly the files `ci checkov-reports` writes, one per scan.
    written = [report_paths(Path("reports"), name) for name in SCANS]
    assert checkov["reports"] == {"junit": [str(paths["junitxml"]) for paths in written],
                                  "sast": [str(paths["gitlab_sast"]) for paths in written]}


def test_each_delivery_job_uses_its_environments_audience_and_never_overlaps(repo):
    jobs = _preview(repo)
    for name in PUSH_OR_DEPLOY:
        env = "PROD" if name.endswith(":prod") else "STAGING"
        assert jobs[name]["id_tokens"] == {"GITLAB_OIDC_TOKEN": {"aud": f"$PLATFORM_{env}_WORKLOAD_IDENTITY_AUDIENCE"}}, name
    assert {jobs[n]["resource_group"] for n in ("canary:prod", "verify:prod", "promote:prod")} == {"deliver-prod"}
    assert jobs["promote:prod"]["environment"]["name"] == "production"
    review = jobs["review:deploy"]["environment"]
    assert review["name"] == "review/$CI_COMMIT_REF_SLUG" and review["on_stop"] == "review:stop"
    assert review["url"] == "$REVIEW_URL" and review["auto_stop_in"]
    assert jobs["infra"]["trigger"]["include"] == [{"artifact": "child-pipeline.yml", "job": "synth"}]
    assert jobs["infra"]["trigger"]["strategy"] == "depend"


@pytest.fixture(scope="module")
def real_stacks(synthesized):
    return manifest.load(synthesized.outdir)


def _child(real_stacks, situation: pipeline.Situation, configs) -> str:
    refs = {name: tuple(config.ci.apply_refs) for name, config in configs.items()}
    return yaml.safe_dump(pipeline.generate(real_stacks, pipeline.modes(situation, refs)), sort_keys=False)


CHILDREN = {
    "merge request": (pipeline.Situation(source="merge_request_event"), "feature/login", {}),
    "develop": (pipeline.Situation(source="push", branch="develop", protected=True), "develop", PROTECTED),
    "main": (pipeline.Situation(source="push", branch="main", protected=True), "main", PROTECTED),
    "schedule": (pipeline.Situation(source="schedule", branch="main", protected=True), "main", PROTECTED),
}


@pytest.mark.parametrize("name", CHILDREN)
def test_the_child_pipeline_of_each_situation(repo, real_stacks, configs, name):
    situation, branch, variables = CHILDREN[name]
    jobs = listed(repo, _child(real_stacks, situation, configs), branch, variables)
    plans = {job for job in jobs if job.startswith("plan:")}
    applies = {job for job in jobs if job.startswith("apply:")}
    refs = {env: config.ci.apply_refs for env, config in configs.items()}
    envs = {
        "merge request": {env for env, r in refs.items() if "main" not in r},  # prod state: protected refs only
        "develop": {env for env, r in refs.items() if "develop" in r},
        "main": {env for env, r in refs.items() if "main" in r},
        "schedule": set(refs),
    }[name]
    assert envs and ("prod" not in envs or name in ("main", "schedule"))
    assert plans == {f"plan:{stack}" for stack, s in real_stacks.items() if s.env in envs}
    if name in ("merge request", "schedule"):
        assert applies == set()
    else:
        assert applies == {job.replace("plan:", "apply:") for job in plans}
        for job in applies:
            # The apply consumes its own pipeline's plan of the same stack, with artifacts.
            assert {"job": job.replace("apply:", "plan:"), "artifacts": True, "optional": False} in jobs[job]["needs"]
            assert jobs[job]["when"] == ("manual" if name == "main" else "on_success")


def test_a_child_apply_cannot_run_outside_a_protected_branch_whatever_generated_it(repo, real_stacks, configs):
    child = _child(real_stacks, pipeline.Situation(source="push", branch="main", protected=True), configs)
    jobs = listed(repo, child, "feature/login", {})
    assert jobs and not any(job.startswith("apply:") for job in jobs)


def test_child_jobs_use_the_plan_and_apply_identities_and_one_resource_group_per_stack(repo, real_stacks, configs):
    child = _child(real_stacks, pipeline.Situation(source="push", branch="main", protected=True), configs)
    jobs = yaml.safe_load(gitlab_ci_local(repo, child, "main", "--preview"))
    for stack in (name for name, s in real_stacks.items() if s.env == "prod"):
        assert jobs[f"plan:{stack}"]["variables"]["PLATFORM_IDENTITY"] == "plan"
        assert jobs[f"apply:{stack}"]["variables"]["PLATFORM_IDENTITY"] == "apply"
        assert jobs[f"apply:{stack}"]["resource_group"] == stack
        assert jobs[f"apply:{stack}"]["id_tokens"]["GITLAB_OIDC_TOKEN"]["aud"] == "$PLATFORM_PROD_WORKLOAD_IDENTITY_AUDIENCE"


@pytest.mark.parametrize("name", ["merge request", "develop", "main", "schedule"])
def test_jobs_of_stacks_on_the_cluster_install_its_auth_plugin(repo, real_stacks, configs, name):
    """The data and observability layers' helm/kubernetes providers reach the cluster's DNS endpoint through
    gke-gcloud-auth-plugin: every plan and apply of such a stack puts the pinned plugin on PATH."""
    situation, branch, variables = CHILDREN[name]
    jobs = yaml.safe_load(gitlab_ci_local(repo, _child(real_stacks, situation, configs), branch, "--preview"))
    terraform_jobs = {job: spec for job, spec in jobs.items() if job.startswith(("plan:", "apply:"))}
    assert terraform_jobs
    on_cluster = set()
    for job, spec in terraform_jobs.items():
        stack = real_stacks[job.partition(":")[2]]
        assert spec["variables"].get(pipeline.TOOLS_VARIABLE, "") == " ".join(stack.exec_commands), job
        if stack.exec_commands:
            on_cluster.add(stack.layer)
    assert "data" in on_cluster
