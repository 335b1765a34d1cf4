"""Constructs reject bad props early, naming the bad value and the fix."""
from __future__ import annotations

import json

import pytest

from constructs_lib.cdk import App, TerraformStack, google
from constructs_lib.firewall import Firewall, FirewallProps, FirewallRule
from constructs_lib.gitlab_federation import CiIdentity, CiRole, GitlabFederation, GitlabFederationProps
from constructs_lib.iam import IamCondition, IamMember, validate_iam
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
        validate_iam("Thing x", iam={"roles/editor": ["group:ops@example.com"]})


def test_public_members_are_refused():
    with pytest.raises(ValueError, match=r"granted to 'allUsers'"):
        validate_iam("Thing x", iam={"roles/storage.objectViewer": ["allUsers"]})


def test_malformed_members_are_refused():
    with pytest.raises(ValueError, match=r"member 'ops@example.com' .* is not an IAM principal"):
        validate_iam("Thing x", iam={"roles/storage.objectViewer": ["ops@example.com"]})


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
        StateBucket(stack, "state", StateBucketProps(name="b", location="eu", iam={}, kms_key="k", noncurrent_versions_kept=0))


def test_vpc_subnet_roles_are_unique(stack):
    subnets = (SubnetSpec(role="a", cidr="10.0.0.0/24"), SubnetSpec(role="a", cidr="10.0.1.0/24"))
    with pytest.raises(ValueError, match=r"subnet roles must be unique, got \['a', 'a'\]"):
        Vpc(stack, "vpc", VpcProps(project_id="p", name="v", region="r", subnets=subnets))


def test_nat_needs_subnets(stack):
    with pytest.raises(ValueError, match="no subnetworks"):
        Nat(stack, "nat", NatProps(project_id="p", name="n", region="r", network="x", subnetworks=()))


def federation_props(**overrides) -> GitlabFederationProps:
    values = {
        "project_id": "p", "pool_id": "acme-gitlab", "issuer_uri": "https://gitlab.com", "gitlab_project_id": 1,
        "gitlab_namespace_id": 2, "apply_refs": ("main",), **overrides,
    }
    return GitlabFederationProps(**values)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"apply_refs": ()}, "apply_refs is empty"),
        ({"gitlab_project_id": 0}, "gitlab_project_id 0 must be GitLab's positive numeric id"),
        ({"gitlab_namespace_id": True}, "gitlab_namespace_id True must be GitLab's positive numeric id"),
        (
            {"identities": {"plan": CiIdentity(account_id="acme-ci-plan", display_name="p", trust="project",
                                               roles=(CiRole(role="roles/compute.viewer", reason="why"),))}},
            r"plan role roles/compute.viewer needs a reason",
        ),
    ],
)
def test_gitlab_federation_refuses_bad_props(stack, overrides, message):
    with pytest.raises(ValueError, match=message):
        GitlabFederation(stack, "gitlab", federation_props(**overrides))


# --- one IAM shape: the same rules for every construct -------------------------------------------------


def test_additive_grants_are_keyed_by_what_they_are_not_by_position():
    with pytest.raises(ValueError, match=r"iam_additive key '0' must name the grant"):
        validate_iam("Thing x", iam_additive={"0": IamMember(role="roles/compute.viewer", member="group:ops@example.com")})


def test_a_role_is_either_authoritative_or_additive_never_both():
    with pytest.raises(ValueError, match=r"both authoritative \(iam\) and additive"):
        validate_iam(
            "Thing x",
            iam={"roles/compute.viewer": ("group:a@example.com",)},
            iam_additive={"ops": IamMember(role="roles/compute.viewer", member="group:ops@example.com")},
        )


def test_project_roles_are_validated_without_placeholder_members(stack):
    with pytest.raises(ValueError, match=r"ServiceAccount acme-dev-x: role 'roles/owner' is a primitive role"):
        ServiceAccount(stack, "sa", ServiceAccountProps(project_id="p", account_id="acme-dev-x", display_name="x", iam_project_roles=("roles/owner",)))


def test_a_condition_must_name_one_of_the_accounts_project_roles(stack):
    props = ServiceAccountProps(
        project_id="p", account_id="acme-dev-x", display_name="x",
        iam_project_conditions={"roles/compute.viewer": IamCondition(title="t", expression="true")},
    )
    with pytest.raises(ValueError, match=r"iam_project_conditions names \['roles/compute.viewer'\]"):
        ServiceAccount(stack, "sa", props)


def test_members_are_kept_in_the_order_given(stack, tmp_path):
    google.provider.GoogleProvider(stack, "google", project="p")
    members = ("serviceAccount:b@p.iam.gserviceaccount.com", "serviceAccount:a@p.iam.gserviceaccount.com")
    StateBucket(stack, "state", StateBucketProps(name="bucket-x", location="eu", kms_key="k", iam={"roles/storage.objectViewer": members}))
    stack.node.scope.synth()
    document = json.loads((tmp_path / "stacks" / "test" / "cdk.tf.json").read_text())
    (binding,) = document["resource"]["google_storage_bucket_iam_binding"].values()
    assert binding["members"] == list(members)


def test_uptime_alert_period(stack):
    with pytest.raises(ValueError, match="period_seconds 30 must be 60, 300, 600 or 900"):
        UptimeAlert(stack, "up", UptimeAlertProps(project_id="p", name="n", host="api.example.com", period_seconds=30))
