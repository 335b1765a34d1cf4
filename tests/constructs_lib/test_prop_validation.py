"""Constructs reject bad props early, naming the bad value and the fix."""
from __future__ import annotations

import pytest

from constructs_lib.cdk import App, TerraformStack
from constructs_lib.firewall import Firewall, FirewallProps, FirewallRule
from constructs_lib.gitlab_federation import GitlabFederation, GitlabFederationProps
from constructs_lib.iam import validate_iam
from constructs_lib.nat import Nat, NatProps
from constructs_lib.project_services import ProjectServices, ProjectServicesProps
from constructs_lib.service_account import ServiceAccount, ServiceAccountProps
from constructs_lib.state_bucket import StateBucket, StateBucketProps
from constructs_lib.uptime_alert import UptimeAlert, UptimeAlertProps
from constructs_lib.vpc import SubnetSpec, Vpc, VpcProps


@pytest.fixture
def stack(tmp_path):
    return TerraformStack(App(outdir=str(tmp_path)), "test")


def test_primitive_roles_are_refused():
    with pytest.raises(ValueError, match=r"role 'roles/editor' is a primitive role"):
        validate_iam({"roles/editor": ["group:ops@example.com"]}, "Thing x")


def test_public_members_are_refused():
    with pytest.raises(ValueError, match=r"granted to 'allUsers'"):
        validate_iam({"roles/storage.objectViewer": ["allUsers"]}, "Thing x")


def test_malformed_members_are_refused():
    with pytest.raises(ValueError, match=r"member 'ops@example.com' .* is not an IAM principal"):
        validate_iam({"roles/storage.objectViewer": ["ops@example.com"]}, "Thing x")


def test_firewall_refuses_internet_to_ssh(stack):
    rule = FirewallRule(name="open-ssh", description="x", ports=("22",), source_ranges=("0.0.0.0/0",))
    with pytest.raises(ValueError, match=r"open-ssh: allows 0.0.0.0/0 to administrative port\(s\) \['22'\]"):
        Firewall(stack, "fw", FirewallProps(project_id="p", network="n", network_name="net", rules=(rule,)))


def test_firewall_refuses_internet_to_a_port_range_covering_rdp(stack):
    rule = FirewallRule(name="wide", description="x", ports=("3000-4000",), source_ranges=("0.0.0.0/0",))
    with pytest.raises(ValueError, match=r"administrative port\(s\) \['3000-4000'\]"):
        Firewall(stack, "fw", FirewallProps(project_id="p", network="n", network_name="net", rules=(rule,)))


def test_firewall_ingress_needs_sources(stack):
    rule = FirewallRule(name="nowhere", description="x", ports=("443",))
    with pytest.raises(ValueError, match=r"nowhere: an ingress rule needs source_ranges"):
        Firewall(stack, "fw", FirewallProps(project_id="p", network="n", network_name="net", rules=(rule,)))


def test_service_account_id_length(stack):
    with pytest.raises(ValueError, match=r"account_id 'acme-production-temporal-worker-x' must be 6-30"):
        ServiceAccount(stack, "sa", ServiceAccountProps(project_id="p", account_id="acme-production-temporal-worker-x", display_name="x"))


def test_project_services_must_be_api_names(stack):
    with pytest.raises(ValueError, match=r"'container' is not an API name"):
        ProjectServices(stack, "apis", ProjectServicesProps(project_id="p", services=("container",)))


def test_state_bucket_keeps_at_least_one_version(stack):
    with pytest.raises(ValueError, match="retention must keep at least one day and one version"):
        StateBucket(stack, "state", StateBucketProps(name="b", location="eu", iam={}, noncurrent_versions_kept=0))


def test_vpc_subnet_roles_are_unique(stack):
    subnets = (SubnetSpec(role="a", cidr="10.0.0.0/24"), SubnetSpec(role="a", cidr="10.0.1.0/24"))
    with pytest.raises(ValueError, match=r"subnet roles must be unique, got \['a', 'a'\]"):
        Vpc(stack, "vpc", VpcProps(project_id="p", name="v", region="r", subnets=subnets))


def test_nat_needs_subnets(stack):
    with pytest.raises(ValueError, match="no subnetworks"):
        Nat(stack, "nat", NatProps(project_id="p", name="n", region="r", network="x", subnetworks=()))


def test_gitlab_federation_needs_apply_refs(stack):
    props = GitlabFederationProps(
        project_id="p", pool_id="acme-gitlab", issuer_uri="https://gitlab.com", project_path="a/b", apply_refs=(),
        plan_account_id="acme-ci-plan", apply_account_id="acme-ci-apply", plan_roles=(), apply_roles=(),
    )
    with pytest.raises(ValueError, match="apply_refs is empty"):
        GitlabFederation(stack, "gitlab", props)


def test_uptime_alert_period(stack):
    with pytest.raises(ValueError, match="period_seconds 30 must be 60, 300, 600 or 900"):
        UptimeAlert(stack, "up", UptimeAlertProps(project_id="p", name="n", host="api.example.com", period_seconds=30))
