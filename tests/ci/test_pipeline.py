"""The generated child pipeline: which environments each situation plans and applies, dependency order,
identities, resource groups, and that applies consume their own pipeline's plans."""
from __future__ import annotations

import pytest

from ci import manifest, pipeline
from ci.pipeline import Mode, Situation
from tests.ci.conftest import layered

APPLY_REFS = {"dev": ("develop",), "staging": ("develop",), "prod": ("main",)}
MR = Situation(source="merge_request_event")
DEVELOP = Situation(source="push", branch="develop", protected=True)
MAIN = Situation(source="push", branch="main", protected=True)
SCHEDULE = Situation(source="schedule", branch="main", protected=True)


@pytest.mark.parametrize("situation, expected", [
    (MR, {"dev": Mode.PLAN, "staging": Mode.PLAN}),
    (DEVELOP, {"dev": Mode.AUTO, "staging": Mode.AUTO}),
    (MAIN, {"prod": Mode.MANUAL}),
    (Situation(source="web", branch="main", protected=True), {"prod": Mode.MANUAL}),
    (SCHEDULE, {"dev": Mode.DRIFT, "staging": Mode.DRIFT, "prod": Mode.DRIFT}),
    (Situation(source="push", branch="feature/x"), {}),
    (Situation(source="push", branch="develop", protected=False), {}),  # unprotected: never applies
    (Situation(source="trigger", branch="main", protected=True), {}),
])
def test_each_situation_plans_and_applies_only_what_it_may(situation, expected):
    assert pipeline.modes(situation, APPLY_REFS) == expected


def test_situation_reads_gitlabs_variables():
    environ = {"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BRANCH": "main", "CI_COMMIT_REF_PROTECTED": "true",
               "CI_DEFAULT_BRANCH": "trunk"}
    assert Situation.from_environ(environ) == Situation(source="push", branch="main", protected=True, default_branch="trunk")
    assert Situation.from_environ({}).protected is False


@pytest.fixture
def stacks(synth_dir):
    return manifest.load(synth_dir("out", {**layered("dev"), **layered("prod")}))


def test_plan_only_pipelines_plan_in_dependency_order_and_never_apply(stacks):
    document = pipeline.generate(stacks, {"dev": Mode.PLAN})
    jobs = {name: job for name, job in document.items() if ":" in name}
    assert sorted(jobs) == sorted(f"plan:dev-{layer}" for layer in ("bootstrap", "network", "security", "cluster", "data"))
    cluster = jobs["plan:dev-cluster"]
    assert {need["job"] for need in cluster["needs"]} == {"synth", "plan:dev-security", "plan:dev-network", "plan:dev-bootstrap"}
    assert cluster["variables"] == {"PLATFORM_ENV": "dev", "PLATFORM_IDENTITY": "plan", "PLATFORM_STACK": "dev-cluster",
                                    "PLATFORM_PLAN_MODE": "plan"}
    assert cluster["id_tokens"] == {"GITLAB_OIDC_TOKEN": {"aud": "$PLATFORM_DEV_WORKLOAD_IDENTITY_AUDIENCE"}}
    assert cluster["allow_failure"] == {"exit_codes": [3]}  # the destroy guard warns in merge requests
    assert cluster["artifacts"]["access"] == "developer"
    assert cluster["artifacts"]["reports"] == {"terraform": "cdktf.out/stacks/dev-cluster/plan-report.json"}


def test_apply_pipelines_apply_each_saved_plan_and_plan_dependents_after_the_apply(stacks):
    document = pipeline.generate(stacks, {"prod": Mode.MANUAL})
    apply = document["apply:prod-network"]
    assert apply["needs"] == [{"pipeline": "$PARENT_PIPELINE_ID", "job": "synth"},
                              {"job": "plan:prod-network", "artifacts": True}]
    assert apply["resource_group"] == "prod-network"
    assert apply["environment"] == {"name": "production", "deployment_tier": "production", "action": "start"}
    assert apply["variables"]["PLATFORM_IDENTITY"] == "apply"
    assert apply["rules"][-1] == {"when": "manual"} and apply["allow_failure"] is False
    assert apply["rules"][0]["when"] == "never" and "CI_COMMIT_REF_PROTECTED" in apply["rules"][0]["if"]
    # A stack plans only after the stacks whose outputs it reads are applied.
    assert {n["job"] for n in document["plan:prod-cluster"]["needs"]} == {
        "synth", "apply:prod-security", "apply:prod-network", "apply:prod-bootstrap"}
    assert "cdktf.out/stacks/prod-network/plan.tfplan" in document["plan:prod-network"]["artifacts"]["paths"]
    assert not any(name.startswith("plan:dev") or name.startswith("apply:dev") for name in document)


def test_develop_applies_automatically(stacks):
    document = pipeline.generate(stacks, {"dev": Mode.AUTO})
    assert document["apply:dev-data"]["rules"][-1] == {"when": "on_success"}
    assert "allow_failure" not in document["apply:dev-data"]


def test_merge_requests_plan_only_the_changed_stacks(stacks):
    document = pipeline.generate(stacks, {"dev": Mode.PLAN}, only={"dev-cluster", "dev-data"})
    assert sorted(name for name in document if ":" in name) == ["plan:dev-cluster", "plan:dev-data"]
    assert {n["job"] for n in document["plan:dev-data"]["needs"]} == {"synth", "plan:dev-cluster"}


def test_nothing_to_plan_still_gives_a_valid_pipeline(stacks):
    document = pipeline.generate(stacks, {"dev": Mode.PLAN}, only=set())
    assert [name for name in document if name not in ("stages", "default")] == ["no-stack-changed"]


def test_drift_plans_keep_no_plan_file(stacks):
    job = pipeline.generate(stacks, {"prod": Mode.DRIFT})["plan:prod-data"]
    assert job["variables"]["PLATFORM_PLAN_MODE"] == "drift"
    assert not any(path.endswith("plan.tfplan") for path in job["artifacts"]["paths"])
    assert "allow_failure" not in job


def test_variable_names_are_derived_from_the_environment_and_output():
    assert pipeline.variable("prod", "workload_identity_audience") == "PLATFORM_PROD_WORKLOAD_IDENTITY_AUDIENCE"


def test_jobs_of_a_stack_that_talks_to_the_cluster_get_its_auth_plugin(synth_dir):
    from tests.ci.test_manifest import HELM_AND_KUBERNETES

    stacks = manifest.load(synth_dir("cluster", layered("prod", data=HELM_AND_KUBERNETES)))
    document = pipeline.generate(stacks, {"prod": Mode.MANUAL})
    for job in ("plan:prod-data", "apply:prod-data"):
        assert document[job]["variables"][pipeline.TOOLS_VARIABLE] == "gke-gcloud-auth-plugin", job
    assert pipeline.TOOLS_VARIABLE not in document["plan:prod-cluster"]["variables"]


def test_an_exec_plugin_the_tool_lock_does_not_pin_is_refused(synth_dir):
    document = {"provider": {"kubernetes": [{"exec": [{"command": "aws-iam-authenticator"}]}]}}
    stacks = manifest.load(synth_dir("foreign", layered("dev", data=document)))
    with pytest.raises(manifest.ManifestError, match=r"stack dev-data: its providers run 'aws-iam-authenticator' .* tools.lock does not pin"):
        pipeline.generate(stacks, {"dev": Mode.PLAN})


def test_plan_and_apply_put_the_jobs_tools_on_path(synth_dir, tmp_path, monkeypatch):
    from ci import __main__ as cli, tools

    outdir = synth_dir("cdktf.out", layered("dev"))
    installed = {name: tmp_path / "tools" / name / name for name in ("terraform", "gke-gcloud-auth-plugin")}
    monkeypatch.setattr(tools, "install", lambda name, environ=None: installed[name])
    monkeypatch.setenv("PLATFORM_ENV", "dev")
    monkeypatch.setenv("PLATFORM_IDENTITY", "plan")
    monkeypatch.setenv("GITLAB_OIDC_TOKEN", "t")
    monkeypatch.setenv("PLATFORM_DEV_WORKLOAD_IDENTITY_AUDIENCE", "//iam.googleapis.com/x")
    monkeypatch.setenv("PLATFORM_DEV_PLAN_SERVICE_ACCOUNT", "plan@p.iam.gserviceaccount.com")
    monkeypatch.setenv("TF_PLUGIN_CACHE_DIR", str(tmp_path / "plugins"))
    monkeypatch.setenv(pipeline.TOOLS_VARIABLE, "gke-gcloud-auth-plugin")
    tf, _ = cli._terraform("dev-data", outdir)
    assert tf.binary == installed["terraform"] and tf.directory == outdir / "stacks" / "dev-data"
    assert tf.env["PATH"].split(":")[0] == str(installed["gke-gcloud-auth-plugin"].parent)
    monkeypatch.delenv(pipeline.TOOLS_VARIABLE)
    assert str(tmp_path / "tools") not in cli._terraform("dev-data", outdir)[0].env["PATH"]
