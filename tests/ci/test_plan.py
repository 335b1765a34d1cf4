"""Plan summary, GitLab's terraform report, the destroy guard, stale plans, and the plan/apply flow over a
fake terraform that behaves like the real CLI's exit codes and messages."""
from __future__ import annotations

import json
import stat

import pytest

from ci import plan
from tests.ci.conftest import plan_document

NODE_POOL = "google_container_node_pool.pool-gpu_pool_F6A4C468"
MIXED = plan_document(
    ("google_compute_network.vpc", "google_compute_network", ["create"]),
    ("google_compute_subnetwork.a", "google_compute_subnetwork", ["update"]),
    ("google_compute_firewall.old", "google_compute_firewall", ["delete"]),
    (NODE_POOL, "google_container_node_pool", ["delete", "create"]),
    ("google_project_service.x", "google_project_service", ["no-op"]),
    ("data.google_client_config.c", "google_client_config", ["read"]),
)


def test_summary_counts_each_kind_and_lists_every_change():
    assert plan.counts(MIXED) == {"create": 1, "update": 1, "delete": 1, "replace": 1}
    text = plan.summary("dev-cluster", MIXED)
    assert text.splitlines()[0] == "dev-cluster: 1 to create, 1 to update, 1 to replace, 1 to delete"
    assert f"  replace  {NODE_POOL}" in text
    assert "google_project_service.x" not in text and "data.google_client_config" not in text


def test_gitlab_report_counts_like_gitlabs_documented_jq():
    # GitLab's jq flattens all actions: a replace is one create and one delete.
    assert plan.gitlab_report(MIXED) == {"create": 2, "update": 1, "delete": 2}
    assert plan.gitlab_report({"format_version": "1.2"}) == {"create": 0, "update": 0, "delete": 0}


@pytest.mark.parametrize("actions", [["delete"], ["delete", "create"], ["create", "delete"]])
@pytest.mark.parametrize("type_", plan.PROTECTED_TYPES)
def test_deleting_or_replacing_a_protected_type_fails_without_acknowledgement(type_, actions):
    document = plan_document((f"{type_}.r", type_, actions))
    [problem] = plan.guard("prod-data", document, set())
    assert "prod-data: the plan would" in problem and f"{type_}.r" in problem
    assert f"{plan.ALLOW_DESTROY_VARIABLE}=prod-data:{type_}.r" in problem


def test_updates_and_unprotected_deletes_pass():
    document = plan_document(
        ("google_container_cluster.c", "google_container_cluster", ["update"]),
        ("google_compute_firewall.f", "google_compute_firewall", ["delete"]),
    )
    assert plan.guard("prod-cluster", document, set()) == []


def test_the_acknowledgement_names_the_exact_address_of_that_stack():
    document = plan_document((NODE_POOL, "google_container_node_pool", ["delete", "create"]))
    assert plan.guard("prod-cluster", document, plan.parse_acknowledgements(f"prod-cluster:{NODE_POOL}")) == []
    # The same address in another environment's stack acknowledges nothing here.
    other = plan.guard("prod-cluster", document, plan.parse_acknowledgements(f"staging-cluster:{NODE_POOL}"))
    assert len(other) == 1 and "would replace" in other[0]


def test_an_acknowledgement_that_matches_nothing_fails_so_a_typo_cannot_pass():
    document = plan_document((NODE_POOL, "google_container_node_pool", ["delete"]))
    acks = plan.parse_acknowledgements(f"prod-cluster:{NODE_POOL}, prod-cluster:{NODE_POOL}x\nprod-data:y.z")
    assert plan.guard("prod-cluster", document, acks) == [
        f"prod-cluster: {plan.ALLOW_DESTROY_VARIABLE} names {NODE_POOL}x, but this plan does not delete or replace it"
    ]


def test_a_malformed_acknowledgement_is_one_clear_error():
    with pytest.raises(plan.AcknowledgementError, match=r"entry 'google_sql_database_instance.x' is not <stack>:<resource address>"):
        plan.parse_acknowledgements("google_sql_database_instance.x")
    assert plan.parse_acknowledgements("  \n ") == set()


def test_a_stale_plan_is_explained_and_other_errors_are_not_misread():
    output = "Error: Saved plan is stale\n\nThe given plan file can no longer be applied because the state was changed"
    message = plan.stale_plan_message("prod-data", output)
    assert message.startswith("prod-data: NOTHING WAS APPLIED. The saved plan is stale")
    assert "Run a new pipeline" in message
    assert plan.stale_plan_message("prod-data", "Error: googleapi: Error 403") is None


FAKE_TERRAFORM = """#!/bin/sh
# Records its arguments; behaves by $FAKE_TF_MODE like terraform: plan exit codes, show -json, a stale apply.
echo "$@" >> "$FAKE_TF_LOG"
case "$2" in
  init) exit 0 ;;
  plan) [ "$FAKE_TF_MODE" = error ] && exit 1
        case " $* " in *" -detailed-exitcode "*) [ -n "$FAKE_TF_CHANGES" ] && exit 2 ;; esac; exit 0 ;;
  show) cat "$FAKE_TF_PLAN_JSON"; exit 0 ;;
  apply) [ "$FAKE_TF_MODE" = stale ] && { echo "Error: Saved plan is stale" >&2; exit 1; }; echo "Apply complete!"; exit 0 ;;
esac
exit 99
"""


@pytest.fixture
def fake(tmp_path):
    binary = tmp_path / "terraform"
    binary.write_text(FAKE_TERRAFORM)
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    stack = tmp_path / "stack"
    stack.mkdir()
    log = tmp_path / "log"

    def make(document: dict, mode: str = "", changes: bool = False) -> plan.Terraform:
        (tmp_path / "plan.json").write_text(json.dumps(document))
        env = {"PATH": "/usr/bin:/bin", "FAKE_TF_LOG": str(log), "FAKE_TF_MODE": mode,
               "FAKE_TF_PLAN_JSON": str(tmp_path / "plan.json"), "FAKE_TF_CHANGES": "1" if changes else ""}
        return plan.Terraform(binary, stack, env)

    make.log = log
    make.stack = stack
    return make


def test_a_plan_job_saves_the_plan_summary_and_report_and_never_the_plan_json(fake):
    tf = fake(plan_document(("google_compute_network.vpc", "google_compute_network", ["create"])))
    assert plan.plan_stack(tf, "dev-network", "plan", "") == 0
    calls = fake.log.read_text().splitlines()
    assert any(" plan " in f" {c} " and "-out=plan.tfplan" in c and "-lock=false" in c for c in calls)
    assert json.loads((fake.stack / "plan-report.json").read_text()) == {"create": 1, "update": 0, "delete": 0}
    assert (fake.stack / "plan-summary.txt").read_text().startswith("dev-network: 1 to create")
    # plan.tfplan is terraform's (the fake writes none); the show -json document is never written.
    assert sorted(p.name for p in fake.stack.iterdir()) == ["plan-report.json", "plan-summary.txt"]


def test_a_guarded_plan_exits_with_the_guard_code(fake, capsys):
    tf = fake(plan_document((NODE_POOL, "google_container_node_pool", ["delete"])))
    assert plan.plan_stack(tf, "prod-cluster", "plan", "") == plan.GUARD_EXIT
    assert "DESTROY GUARD: prod-cluster: the plan would delete" in capsys.readouterr().out
    assert plan.plan_stack(tf, "prod-cluster", "plan", f"prod-cluster:{NODE_POOL}") == 0


def test_drift_fails_on_any_change_and_passes_on_none(fake, capsys):
    drifted = fake(plan_document(("google_compute_firewall.f", "google_compute_firewall", ["update"])), changes=True)
    assert plan.plan_stack(drifted, "prod-network", "drift", "") == 2
    assert "DRIFT: prod-network differs" in capsys.readouterr().out
    assert "-detailed-exitcode" in fake.log.read_text()
    clean = fake(plan_document())
    assert plan.plan_stack(clean, "prod-network", "drift", "") == 0


def test_a_failed_plan_fails_the_job(fake):
    assert plan.plan_stack(fake(plan_document(), mode="error"), "dev-network", "plan", "") == 1


def test_apply_uses_the_saved_plan_and_the_plans_lock_file(fake, capsys):
    assert plan.apply_stack(fake(plan_document()), "staging-data") == 0
    calls = fake.log.read_text().splitlines()
    assert any("init" in c and "-lockfile=readonly" in c for c in calls)
    [apply] = [c for c in calls if " apply " in f" {c} "]
    assert apply.endswith("plan.tfplan") and "-auto-approve" not in apply
    assert "Apply complete!" in capsys.readouterr().out


def test_a_stale_apply_fails_with_the_explanation(fake, capsys):
    assert plan.apply_stack(fake(plan_document(), mode="stale"), "prod-data") == 1
    assert "prod-data: NOTHING WAS APPLIED. The saved plan is stale" in capsys.readouterr().out
