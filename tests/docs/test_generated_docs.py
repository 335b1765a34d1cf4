"""Every generated document in docs/ is what its generator produces from the current code (`make docs`)."""
from __future__ import annotations

import importlib

import pytest

from scripts.docgen.synthesized import SynthesizedApp


def generator(name: str):
    return importlib.import_module(f"scripts.{name}")


@pytest.fixture(scope="session")
def app(synthesized) -> SynthesizedApp:
    return SynthesizedApp.read(synthesized.outdir)


def test_access_policies_are_current(app, configs):
    module = generator("access_policies")
    assert module.TARGET.read_text(encoding="utf-8") == module.render(app, configs), "run `make docs`"


def test_access_policies_list_every_grant(app, configs):
    """Each IAM resource of every stack yields at least one row; a new IAM type the generator cannot read fails."""
    module = generator("access_policies")
    iam_resources = sum(1 for stack in app.stacks for type_, _, _ in app.resources(stack) if module.IAM_TYPE.match(type_))
    assert iam_resources and sum(len(envs) for envs in module.grants(app, configs).values()) >= iam_resources


@pytest.fixture(scope="session")
def architecture(app):
    from k8s import render as k8s_render

    module = generator("architecture")
    return module, module.build(app, module.DRAWN_ENV, k8s_render.render(module.DRAWN_ENV)), k8s_render.render(module.DRAWN_ENV)


def test_architecture_diagram_is_current(app, architecture):
    module, _, rendered = architecture
    for path, content in module.render(app, rendered).items():
        assert path.read_bytes() == content, f"{path.name} is stale: run `make docs`"


def test_diagram_shows_the_request_path_and_the_ci_path(architecture):
    _, graph, _ = architecture
    traffic = {(edge.source, edge.target) for edge in graph.edges if edge.kind == "traffic"}
    ci = {(edge.source, edge.target) for edge in graph.edges if edge.kind == "ci"}
    assert {("users", "edge_ip"), ("edge_ip", "armor"), ("armor", "gateway")} <= traffic
    assert any(source == "gateway" and target.startswith("wl_") for source, target in traffic), "no HTTPRoute backend drawn"
    assert {("gitlab", "wif"), ("wif", "ci_accounts")} <= ci


def test_every_diagram_node_is_in_a_group_and_every_edge_joins_drawn_nodes(architecture):
    _, graph, _ = architecture
    ids = {node.id for node in graph.nodes}
    assert len(ids) == len(graph.nodes), "two boxes share an id"
    assert all(node.group in graph.groups for node in graph.nodes)
    assert all(edge.source in ids and edge.target in ids for edge in graph.edges)


def test_environment_differences_are_current(configs):
    module = generator("environment_differences")
    assert module.TARGET.read_text(encoding="utf-8") == module.render(configs), "run `make docs`"


def test_dr_objectives_are_current(app, configs):
    module = generator("dr_objectives")
    assert module.TARGET.read_text(encoding="utf-8") == module.render(app, configs), "run `make docs`"


def test_rpo_follows_the_backup_schedule(configs):
    """Changing the configured schedule changes the documented RPO (derived, not typed)."""
    from scripts.dr.objectives import objectives

    env = next(iter(configs.values()))
    hourly = env.model_copy(update={"cluster": env.cluster.model_copy(update={
        "backup": env.cluster.backup.model_copy(update={"cron_schedule": "0 * * * *"})})})
    assert objectives(hourly)["deleted-namespace"].rpo == "≤ 1 h"
    assert objectives(env)["deleted-namespace"].rpo != "≤ 1 h"


def test_runbook_sections_are_current(app, configs):
    module = generator("runbook_sections")
    assert module.TARGET.read_text(encoding="utf-8") == module.render(app, configs), "run `make docs`"


def test_every_secret_of_every_environment_is_in_the_runbook(app, configs):
    from scripts.docgen.synthesized import between

    table = between((generator("runbook_sections").TARGET).read_text(encoding="utf-8"), "secrets")
    for env, config in configs.items():
        for _, _, secret in app.resources(f"{env}-security", "google_secret_manager_secret"):
            assert f"`{secret['secret_id'].replace(config.prefix, '<prefix>')}`" in table


def test_security_review_cis_and_exceptions_are_current(app, configs):
    """The checkov tables are compared by the policy tests, from their own checkov runs."""
    module = generator("security_review")
    assert module.TARGET.read_text(encoding="utf-8") == module.render(app, configs), "run `make docs`"


def test_cis_items_are_evaluated_and_can_fail(app, configs):
    module = generator("security_review")
    env = next(iter(configs))
    facts = module.Facts(app, env)
    results = {item.id: item.check(facts) for item in module.CIS_ITEMS if item.check}
    assert all(isinstance(value, bool) for value in results.values())
    broken = module.Facts(app, env)
    object.__setattr__(broken, "env", "no-such-env")
    with pytest.raises(IndexError):  # no cluster: the predicates read real resources, they do not default to yes
        next(item for item in module.CIS_ITEMS if item.id == "5.3.1").check(broken)
