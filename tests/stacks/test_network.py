"""Network layer, as policies."""
from __future__ import annotations

import ipaddress

import pytest

from tests.conftest import ENVIRONMENTS as ENVS

ADMIN_PORTS = (22, 3389, 6443, 10250)


def firewall_rules(synthesized, env):
    return synthesized.resources(env, "network", "google_compute_firewall").values()


def ports_of(block) -> list[range]:
    ports = block.get("ports") or ["0-65535"]
    result = []
    for port in ports:
        low, _, high = port.partition("-")
        result.append(range(int(low), int(high or low) + 1))
    return result


@pytest.mark.parametrize("env", ENVS)
def test_no_firewall_rule_admits_the_internet_to_an_admin_port(synthesized, env):
    for rule in firewall_rules(synthesized, env):
        if rule["direction"] != "INGRESS" or "allow" not in rule:
            continue
        if any(ipaddress.ip_network(cidr).prefixlen == 0 for cidr in rule.get("source_ranges", [])):
            for block in rule["allow"]:
                for port_range in ports_of(block):
                    assert not any(p in port_range for p in ADMIN_PORTS), rule["name"]


@pytest.mark.parametrize("env", ENVS)
def test_ingress_is_denied_unless_allowed(synthesized, env):
    denies = [r for r in firewall_rules(synthesized, env) if r["direction"] == "INGRESS" and "deny" in r]
    assert len(denies) == 1
    deny = denies[0]
    assert deny["source_ranges"] == ["0.0.0.0/0"] and deny["deny"] == [{"protocol": "all"}]
    assert deny["priority"] > max(r["priority"] for r in firewall_rules(synthesized, env) if "allow" in r and r["direction"] == "INGRESS")


@pytest.mark.parametrize("env", ENVS)
def test_ssh_only_from_iap_and_only_to_the_management_subnet(synthesized, configs, env):
    ssh_rules = [
        r for r in firewall_rules(synthesized, env)
        if "allow" in r and any(22 in pr for b in r["allow"] for pr in ports_of(b)) and r["direction"] == "INGRESS"
    ]
    assert [r["name"] for r in ssh_rules] == [f"{configs[env].prefix}-vpc-allow-iap-ssh-management"]
    (rule,) = ssh_rules
    assert rule["source_ranges"] == ["35.235.240.0/20"]
    assert rule["destination_ranges"] == [configs[env].network.management.cidr]
    assert rule["allow"] == [{"ports": ["22"], "protocol": "tcp"}]


@pytest.mark.parametrize("env", ENVS)
def test_internal_allow_rules_are_scoped_to_the_node_tag(synthesized, configs, env):
    node_tag = f"{configs[env].prefix}-gke-node"
    for rule in firewall_rules(synthesized, env):
        if rule["direction"] == "INGRESS" and "allow" in rule and "destination_ranges" not in rule:
            assert rule["target_tags"] == [node_tag], rule["name"]


@pytest.mark.parametrize("env", ENVS)
def test_health_checks_come_only_from_google_ranges(synthesized, env):
    (rule,) = [r for r in firewall_rules(synthesized, env) if r["name"].endswith("allow-health-checks")]
    assert sorted(rule["source_ranges"]) == ["130.211.0.0/22", "35.191.0.0/16"]


@pytest.mark.parametrize("env", ENVS)
def test_every_firewall_rule_logs(synthesized, env):
    for rule in firewall_rules(synthesized, env):
        assert rule["log_config"] == {"metadata": "INCLUDE_ALL_METADATA"}, rule["name"]


@pytest.mark.parametrize("env", ENVS)
def test_egress_policy_is_stated(synthesized, configs, env):
    egress = {r["name"].rsplit("-vpc-", 1)[1]: r for r in firewall_rules(synthesized, env) if r["direction"] == "EGRESS"}
    if configs[env].network.internet_egress:
        assert list(egress) == ["allow-egress"]
        assert configs[env].network.internet_egress_reason in egress["allow-egress"]["description"]
    else:
        assert set(egress) == {"deny-all-egress", "allow-egress-google-apis", "allow-egress-control-plane", "allow-egress-vpc"}


def test_prod_nodes_have_no_route_to_the_internet_except_through_explicit_rules(synthesized, configs):
    """Prod: the lowest-priority egress rule denies everything; every allow names its destination ranges,
    none of which is public except Google's Private Google Access VIPs; and there is no Cloud NAT."""
    rules = [r for r in firewall_rules(synthesized, "prod") if r["direction"] == "EGRESS"]
    (deny,) = [r for r in rules if "deny" in r]
    assert deny["destination_ranges"] == ["0.0.0.0/0"] and deny["deny"] == [{"protocol": "all"}]
    assert all(r["priority"] < deny["priority"] for r in rules if r is not deny)
    google_vips = [ipaddress.ip_network(c) for c in ("199.36.153.8/30", "199.36.153.4/30")]
    for rule in rules:
        if rule is deny:
            continue
        assert rule["description"], rule["name"]
        for cidr in rule["destination_ranges"]:
            network = ipaddress.ip_network(cidr)
            assert network.is_private or network in google_vips, f"{rule['name']} allows {cidr}"
    assert not synthesized.resources("prod", "network", "google_compute_router_nat"), "no NAT in prod"
    assert configs["prod"].network.internet_egress is False


@pytest.mark.parametrize("env", ENVS)
def test_vpc_is_custom_mode(synthesized, env):
    (network,) = synthesized.resources(env, "network", "google_compute_network").values()
    assert network["auto_create_subnetworks"] is False


@pytest.mark.parametrize("env", ENVS)
def test_subnets_match_the_cidr_plan_with_private_google_access_and_flow_logs(synthesized, configs, env):
    plan = configs[env].network
    subnets = {s["name"].rsplit("-", 1)[1]: s for s in synthesized.resources(env, "network", "google_compute_subnetwork").values()}
    assert set(subnets) == {"private", "public", "management"}
    assert subnets["private"]["ip_cidr_range"] == plan.private.cidr
    assert {r["ip_cidr_range"] for r in subnets["private"]["secondary_ip_range"]} == {plan.private.pods_cidr, plan.private.services_cidr}
    assert subnets["public"]["ip_cidr_range"] == plan.public.cidr
    assert subnets["management"]["ip_cidr_range"] == plan.management.cidr
    for subnet in subnets.values():
        assert subnet["private_ip_google_access"] is True
        assert subnet["log_config"]["flow_sampling"] == plan.flow_logs_sampling
        assert subnet["log_config"]["metadata"] == "INCLUDE_ALL_METADATA"


@pytest.mark.parametrize("env", ENVS)
def test_nat_exists_only_where_egress_is_allowed_and_serves_only_private_and_management_subnets(synthesized, configs, env):
    nats = list(synthesized.resources(env, "network", "google_compute_router_nat").values())
    if not configs[env].network.internet_egress:
        assert nats == []
        return
    (nat,) = nats
    subnet_ids = synthesized.resources(env, "network", "google_compute_subnetwork")
    by_role = {body["name"].rsplit("-", 1)[1]: logical_id for logical_id, body in subnet_ids.items()}
    natted = {entry["name"] for entry in nat["subnetwork"]}
    assert natted == {f"${{google_compute_subnetwork.{by_role[r]}.id}}" for r in ("private", "management")}
    assert nat["source_subnetwork_ip_ranges_to_nat"] == "LIST_OF_SUBNETWORKS"
    assert nat["log_config"] == {"enable": True, "filter": configs[env].network.nat_log_filter}
    # Dynamic allocation sized for 110 pods x 64 connections per destination (7040 → 8192 ports).
    assert nat["enable_dynamic_port_allocation"] is True and nat["enable_endpoint_independent_mapping"] is False
    assert nat["max_ports_per_vm"] >= 110 * 64 and nat["min_ports_per_vm"] == configs[env].network.nat_min_ports_per_vm


@pytest.mark.parametrize("env", ENVS)
def test_google_apis_resolve_to_the_private_access_vip_inside_the_vpc(synthesized, env):
    zones = {z["dns_name"]: z for z in synthesized.resources(env, "network", "google_dns_managed_zone").values()}
    for domain in ("googleapis.com.", "pkg.dev.", "gcr.io."):
        assert zones[domain]["visibility"] == "private"
    records = {(r["name"], r["type"]): r["rrdatas"] for r in synthesized.resources(env, "network", "google_dns_record_set").values()}
    assert records[("private.googleapis.com.", "A")] == ["199.36.153.8", "199.36.153.9", "199.36.153.10", "199.36.153.11"]
    assert records[("*.googleapis.com.", "CNAME")] == ["private.googleapis.com."]
    # Google's layout for the other domains: the apex answers with the VIP, the wildcard points at the apex,
    # so `gcr.io` itself resolves inside the VPC too.
    for domain in ("pkg.dev.", "gcr.io."):
        assert records[(domain, "A")] == ["199.36.153.8", "199.36.153.9", "199.36.153.10", "199.36.153.11"]
        assert records[(f"*.{domain}", "CNAME")] == [domain]


@pytest.mark.parametrize("env", ENVS)
def test_public_zone_is_signed_and_private_zone_is_bound_to_the_vpc(synthesized, configs, env):
    zones = {z["visibility"]: z for z in synthesized.resources(env, "network", "google_dns_managed_zone").values() if z["name"].endswith(("-public", "-private"))}
    assert zones["public"]["dns_name"] == f"{configs[env].domain}."
    assert zones["public"]["dnssec_config"]["state"] == "on"
    assert all(spec["algorithm"] != "rsasha1" for spec in zones["public"]["dnssec_config"]["default_key_specs"])
    assert zones["private"]["dns_name"] == f"{configs[env].dns.private_domain}."
    (network_id,) = synthesized.resources(env, "network", "google_compute_network")
    assert zones["private"]["private_visibility_config"]["networks"] == [
        {"network_url": f"${{google_compute_network.{network_id}.id}}"}
    ]


@pytest.mark.parametrize("env", ENVS)
def test_private_service_access_reserves_the_configured_range(synthesized, configs, env):
    (reserved,) = synthesized.resources(env, "network", "google_compute_global_address").values()
    network = ipaddress.IPv4Network(configs[env].network.psa_cidr)
    assert (reserved["purpose"], reserved["address_type"]) == ("VPC_PEERING", "INTERNAL")
    assert (reserved["address"], reserved["prefix_length"]) == (str(network.network_address), network.prefixlen)
    (connection,) = synthesized.resources(env, "network", "google_service_networking_connection").values()
    assert connection["service"] == "servicenetworking.googleapis.com"

