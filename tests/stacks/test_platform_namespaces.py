"""Platform namespaces, as policies: the data layer creates every namespace the platform runs in, each with
Pod Security labels, a quota, container defaults, default-deny and only the flows of stacks/namespaces.py;
every Helm release goes into a namespace that exists before it, never one it creates."""
from __future__ import annotations

import copy
import dataclasses
import re

import pytest
import yaml

from stacks import namespaces as ns
from stacks.components import COMPONENTS
from stacks.config import ConfigError, parse_environment
from tests.conftest import ENVIRONMENTS as ENVS
from tests.conftest import REPO_ROOT

LAYER = "data"


def kinds(synthesized, env, type_):
    return synthesized.resources(env, LAYER, type_)


def namespaces_of(synthesized, env) -> dict[str, dict]:
    return {body["metadata"]["name"]: body for body in kinds(synthesized, env, "kubernetes_namespace_v1").values()}


def namespace_address(synthesized, env, name) -> str:
    (logical_id,) = [lid for lid, body in kinds(synthesized, env, "kubernetes_namespace_v1").items()
                     if body["metadata"]["name"] == name]
    return f"kubernetes_namespace_v1.{logical_id}"


def in_namespace(synthesized, env, type_, name) -> list[dict]:
    ref = "${" + namespace_address(synthesized, env, name) + ".metadata[0].name}"
    return [body for body in kinds(synthesized, env, type_).values() if body["metadata"]["namespace"] == ref]


@pytest.mark.parametrize("env", ENVS)
def test_the_data_layer_creates_every_platform_namespace(synthesized, env):
    assert sorted(namespaces_of(synthesized, env)) == sorted(
        ["keda", "temporal", "influxdb", "apps", "monitoring", "node-exporter"])
    assert {c.namespace for c in COMPONENTS} <= set(namespaces_of(synthesized, env))


@pytest.mark.parametrize("env", ENVS)
def test_pod_security_is_restricted_except_node_exporter(synthesized, configs, env):
    version = f"v{configs[env].cluster.kubernetes_version}"
    for name, body in namespaces_of(synthesized, env).items():
        labels = body["metadata"]["labels"]
        level = "privileged" if name == "node-exporter" else "restricted"
        for mode in ("enforce", "audit", "warn"):
            assert labels[f"pod-security.kubernetes.io/{mode}"] == level, (name, mode)
            assert labels[f"pod-security.kubernetes.io/{mode}-version"] == version, (name, mode)
    assert len(ns.by_name()["node-exporter"].pod_security_reason.split()) >= 8


@pytest.mark.parametrize("env", ENVS)
def test_only_apps_admits_routes_from_the_gateway(synthesized, env):
    admitted = [name for name, body in namespaces_of(synthesized, env).items()
                if body["metadata"]["labels"].get(ns.GATEWAY_ACCESS_LABEL) == "true"]
    assert admitted == ["apps"]


@pytest.mark.parametrize("env", ENVS)
def test_every_namespace_has_a_quota_container_defaults_and_default_deny(synthesized, env):
    for name in namespaces_of(synthesized, env):
        (quota,) = in_namespace(synthesized, env, "kubernetes_resource_quota_v1", name)
        assert {"requests.cpu", "requests.memory", "limits.memory", "pods"} <= set(quota["spec"]["hard"])
        assert quota["spec"]["hard"]["services.nodeports"] == "0"
        expected_lbs = "1" if name == "temporal" else "0"
        assert quota["spec"]["hard"]["services.loadbalancers"] == expected_lbs, name
        (limits,) = in_namespace(synthesized, env, "kubernetes_limit_range_v1", name)
        (container,) = limits["spec"]["limit"]
        assert container["type"] == "Container" and set(container["default_request"]) == {"cpu", "memory"}
        policies = in_namespace(synthesized, env, "kubernetes_network_policy_v1", name)
        deny = [p for p in policies if p["spec"]["pod_selector"] == {}
                and sorted(p["spec"]["policy_types"]) == ["Egress", "Ingress"]
                and not p["spec"].get("ingress") and not p["spec"].get("egress")]
        assert len(deny) == 1, f"{name}: exactly one default-deny policy"


@pytest.mark.parametrize("env", ENVS)
def test_every_namespace_resolves_names_through_kube_dns_only(synthesized, env):
    for name in namespaces_of(synthesized, env):
        (dns,) = [p for p in in_namespace(synthesized, env, "kubernetes_network_policy_v1", name)
                  if p["metadata"]["name"] == "egress-dns"]
        (rule,) = dns["spec"]["egress"]
        assert sorted((p["port"], p["protocol"]) for p in rule["ports"]) == [("53", "TCP"), ("53", "UDP")]
        kube_dns = rule["to"][0]
        assert kube_dns["namespace_selector"]["match_labels"] == {"kubernetes.io/metadata.name": "kube-system"}
        assert kube_dns["pod_selector"]["match_labels"] == {"k8s-app": "kube-dns"}


@pytest.mark.parametrize("env", ENVS)
def test_no_policy_opens_everything(synthesized, env):
    """An allow rule always names its peers and ports: an empty `from`/`to` or no ports would allow all."""
    for body in kinds(synthesized, env, "kubernetes_network_policy_v1").values():
        for rule in body["spec"].get("ingress", []) + body["spec"].get("egress", []):
            peers = rule.get("from") or rule.get("to")
            assert peers and all(peer for peer in peers), body["metadata"]["name"]
            assert rule["ports"], body["metadata"]["name"]
            assert all(peer.get("ip_block", {}).get("cidr") != "0.0.0.0/0" for peer in peers)


@pytest.mark.parametrize("env", ENVS)
def test_control_plane_ranges_come_from_the_network_config(synthesized, configs, env):
    control_plane = str(configs[env].network.control_plane_cidr)
    (webhooks,) = [p for p in in_namespace(synthesized, env, "kubernetes_network_policy_v1", "keda")
                   if p["metadata"]["name"] == "ingress-keda-webhooks"]
    assert webhooks["spec"]["ingress"][0]["from"] == [{"ip_block": {"cidr": control_plane}}]


@pytest.mark.parametrize("env", ENVS)
def test_every_release_uses_an_existing_namespace_and_waits_for_its_guard_rails(synthesized, env):
    releases = kinds(synthesized, env, "helm_release")
    assert releases
    for body in releases.values():
        assert body["create_namespace"] is False, body["name"]
        namespace = body["namespace"]
        guard_rails = {namespace_address(synthesized, env, namespace)} | {
            f"{type_}.{lid}" for type_ in ("kubernetes_resource_quota_v1", "kubernetes_limit_range_v1",
                                           "kubernetes_network_policy_v1")
            for lid, item in kinds(synthesized, env, type_).items()
            if item["metadata"]["namespace"].startswith("${" + namespace_address(synthesized, env, namespace))}
        assert guard_rails <= set(body.get("depends_on", [])), body["name"]


def test_quotas_follow_the_environment(synthesized, configs):
    for env in ENVS:
        (quota,) = in_namespace(synthesized, env, "kubernetes_resource_quota_v1", "apps")
        override = configs[env].namespaces.quotas.get("apps")
        expected = override.requests_cpu if override and override.requests_cpu else ns.by_name()["apps"].quota.requests_cpu
        assert quota["spec"]["hard"]["requests.cpu"] == expected


# --- the table's own rules ------------------------------------------------------------------------------

def test_a_new_components_namespace_gets_a_restricted_default_row(monkeypatch):
    from stacks import components

    extra = components.Component(name="cache", title="Cache", purpose="cache", namespace="cache", delivery="platform")
    monkeypatch.setattr(ns, "COMPONENTS", components.COMPONENTS + (extra,))
    (cache,) = [row for row in ns._derived_namespaces() if row.name == "cache"]
    assert (cache.pod_security, cache.quota) == ("restricted", ns.DEFAULT_QUOTA)


def test_settings_for_a_namespace_no_component_uses_are_refused(monkeypatch):
    stale = ns.PlatformNamespace(name="cache", purpose="gone", quota=ns.DEFAULT_QUOTA)
    monkeypatch.setattr(ns, "COMPONENT_NAMESPACE_SETTINGS", {**ns.COMPONENT_NAMESPACE_SETTINGS, "cache": stale})
    with pytest.raises(ValueError, match="has namespace 'cache', which no component runs in; remove it"):
        ns.check_tables()


def _with(namespaces=None, flows=None):
    return lambda: ns.check_tables(ns.NAMESPACES if namespaces is None else namespaces,
                                   ns.FLOWS if flows is None else flows)


@pytest.mark.parametrize(
    "check, message",
    [
        (_with(namespaces=ns.NAMESPACES + ns.NAMESPACES[:1]), "namespace 'apps' appears twice"),
        (_with(namespaces=tuple(dataclasses.replace(n, pod_security="baseline") if n.name == "temporal" else n
                                for n in ns.NAMESPACES)), "namespace 'temporal' enforces 'baseline'"),
        (_with(flows=ns.FLOWS + ns.FLOWS[:1]), "flow 'dns' appears twice"),
        (_with(flows=(dataclasses.replace(ns.FLOWS[0], sources=(ns.Pods(namespace="keda"), ns.Pods(namespace="keda"))),)),
         "flow 'dns' lists two sources in one namespace"),
        (_with(flows=(dataclasses.replace(ns.FLOWS[0], sources=(ns.Pods(),)),)),
         "a Pods peer needs exactly one of namespace and namespace_labels"),
        (_with(flows=(dataclasses.replace(ns.FLOWS[0], source_policy="overlays"),)),
         "source_policy 'overlays' is for sources in 'apps' only"),
    ],
)
def test_table_mistakes_are_refused_with_the_fix(check, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        check()


def _parse_dev(change):
    data = copy.deepcopy(yaml.safe_load((REPO_ROOT / "config/dev.yaml").read_text()))
    change(data)
    return parse_environment(data, "config/dev.yaml")


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d["namespaces"]["quotas"].update(temporall={"pods": 3}),
         "config/dev.yaml: namespaces.quotas.temporall: not a platform namespace; expected one of: apps, temporal"),
        (lambda d: d["namespaces"]["quotas"]["apps"].update(requests_cpu="4 cores"),
         "namespaces.quotas.apps.requests_cpu: got '4 cores'; expected a CPU quantity such as 4, 500m or 1.5"),
        (lambda d: d["namespaces"]["quotas"]["apps"].update(requests_memory="8GB"),
         "namespaces.quotas.apps.requests_memory: got '8GB'; expected a memory quantity such as 512Mi or 8Gi"),
    ],
)
def test_bad_quota_config_is_refused_with_file_field_and_expectation(change, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        _parse_dev(change)
