"""`<env>-network`: VPC, subnets, NAT, firewall, DNS zones and Private Service Access."""
from __future__ import annotations

from constructs_lib.cdk import App
from constructs_lib.dns import DnsZones, DnsZonesProps
from constructs_lib.firewall import Firewall, FirewallProps, FirewallRule
from constructs_lib.nat import Nat, NatProps
from constructs_lib.private_google_apis_dns import PrivateGoogleApisDns, PrivateGoogleApisDnsProps
from constructs_lib.private_service_access import PrivateServiceAccess, PrivateServiceAccessProps
from constructs_lib.vpc import SubnetSpec, Vpc, VpcProps
from stacks.config import EnvironmentConfig
from stacks.base import LayerStack
from stacks.contracts import NetworkOutputs

# Google's published source ranges (https://cloud.google.com/load-balancing/docs/health-checks#fw-rule,
# https://cloud.google.com/iap/docs/using-tcp-forwarding#create-firewall-rule).
HEALTH_CHECK_RANGES = ("35.191.0.0/16", "130.211.0.0/22")
IAP_TCP_FORWARDING_RANGE = "35.235.240.0/20"
# Admission webhooks and aggregated APIs (KEDA metrics 6443, webhooks 8443/9443) that a private
# control plane must reach on the nodes; GKE's own rule only opens 443 and 10250.
CONTROL_PLANE_WEBHOOK_PORTS = ("6443", "8443", "9443")
# The port every workload container serves HTTP on (services/README.md; manifests checked against it by
# tests/k8s/test_terraform_contract.py).
WORKLOAD_PORT = 8080
# What load balancers reach: the workloads' container port (container-native NEGs) and NodePorts.
SERVING_PORTS = (str(WORKLOAD_PORT), "30000-32767")


# Private Google Access VIPs (https://cloud.google.com/vpc/docs/configure-private-google-access): the
# private.googleapis.com range our DNS answers with, and restricted.googleapis.com for VPC-SC projects.
PRIVATE_GOOGLE_ACCESS_RANGES = ("199.36.153.8/30", "199.36.153.4/30")
# Nodes to the control plane: the API server and the Konnectivity tunnel.
CONTROL_PLANE_PORTS = ("443", "8132")


def egress_rules(env: EnvironmentConfig) -> tuple[FirewallRule, ...]:
    """With internet egress (dev, with a reason in its config): the stated allow-all, out through NAT.
    Without: deny everything, then allow exactly what nodes need, each with its reason."""
    plan = env.network
    if plan.internet_egress:
        return (
            FirewallRule(
                name="allow-egress",
                description=f"Egress through Cloud NAT or Private Google Access: {plan.internet_egress_reason}",
                direction="EGRESS",
                protocol="all",
                destination_ranges=("0.0.0.0/0",),
                priority=65534,
            ),
        )
    in_vpc = tuple(str(network) for path, network in plan.ranges().items() if path != "network.control_plane_cidr")
    return (
        FirewallRule(
            name="deny-all-egress",
            description="Baseline: nothing leaves the VPC unless a higher-priority rule allows it (no internet)",
            direction="EGRESS",
            action="deny",
            protocol="all",
            destination_ranges=("0.0.0.0/0",),
            priority=65534,
        ),
        FirewallRule(
            name="allow-egress-google-apis",
            description="Google APIs and Artifact Registry (incl. the mirrors) through the Private Google Access VIPs",
            direction="EGRESS",
            protocol="tcp",
            ports=("443",),
            destination_ranges=PRIVATE_GOOGLE_ACCESS_RANGES,
        ),
        FirewallRule(
            name="allow-egress-control-plane",
            description="Kubelets and Konnectivity agents to the private GKE control plane",
            direction="EGRESS",
            protocol="tcp",
            ports=CONTROL_PLANE_PORTS,
            destination_ranges=(plan.control_plane_cidr,),
        ),
        FirewallRule(
            name="allow-egress-vpc",
            description="Node, pod and service traffic inside the VPC, and Private Service Access (Cloud SQL)",
            direction="EGRESS",
            protocol="all",
            destination_ranges=in_vpc,
        ),
    )


class NetworkStack(LayerStack):
    layer = "network"

    def __init__(self, scope: App, env: EnvironmentConfig) -> None:
        super().__init__(scope, env)
        plan = env.network
        name = self.resource_name("vpc")
        pods_range, services_range = f"{name}-pods", f"{name}-services"
        node_tag = self.resource_name("gke-node")
        vpc = Vpc(
            self,
            "vpc",
            VpcProps(
                project_id=env.project_id,
                name=name,
                region=env.region,
                flow_logs_sampling=plan.flow_logs_sampling,
                subnets=(
                    SubnetSpec(
                        role="private",
                        cidr=plan.private.cidr,
                        secondary_ranges={pods_range: plan.private.pods_cidr, services_range: plan.private.services_cidr},
                        purpose="GKE nodes (no external IPs); pods and services in the secondary ranges",
                    ),
                    SubnetSpec(role="public", cidr=plan.public.cidr, purpose="Load-balancer-facing resources that need it"),
                    SubnetSpec(role="management", cidr=plan.management.cidr, purpose="Bastion and CI runners, reached through IAP"),
                ),
            ),
        )
        private, public, management = (vpc.subnets[role] for role in ("private", "public", "management"))
        if plan.internet_egress:
            Nat(
                self,
                "nat",
                NatProps(
                    project_id=env.project_id,
                    name=self.resource_name("nat"),
                    region=env.region,
                    network=vpc.network.id,
                    subnetworks=(private.id, management.id),
                    log_filter=plan.nat_log_filter,
                    min_ports_per_vm=plan.nat_min_ports_per_vm,
                ),
            )
        Firewall(
            self,
            "firewall",
            FirewallProps(
                project_id=env.project_id,
                network=vpc.network.id,
                network_name=name,
                rules=(
                    FirewallRule(
                        name="deny-all-ingress",
                        description="Baseline: nothing enters unless a higher-priority rule allows it",
                        action="deny",
                        protocol="all",
                        source_ranges=("0.0.0.0/0",),
                        priority=65534,
                    ),
                    FirewallRule(
                        name="allow-health-checks",
                        description="Google load-balancer health checks and proxies to serving and node ports",
                        protocol="tcp",
                        ports=SERVING_PORTS,
                        source_ranges=HEALTH_CHECK_RANGES,
                        target_tags=(node_tag,),
                    ),
                    FirewallRule(
                        name="allow-iap-ssh-management",
                        description="IAP TCP forwarding to the management subnet, SSH only",
                        protocol="tcp",
                        ports=("22",),
                        source_ranges=(IAP_TCP_FORWARDING_RANGE,),
                        destination_ranges=(plan.management.cidr,),
                    ),
                    FirewallRule(
                        name="allow-control-plane-webhooks",
                        description="GKE control plane to admission webhooks and aggregated APIs on nodes",
                        protocol="tcp",
                        ports=CONTROL_PLANE_WEBHOOK_PORTS,
                        source_ranges=(plan.control_plane_cidr,),
                        target_tags=(node_tag,),
                    ),
                    *egress_rules(env),
                ),
            ),
        )
        dns = DnsZones(
            self,
            "dns",
            DnsZonesProps(
                project_id=env.project_id,
                name_prefix=self.resource_name("dns"),
                public_domain=env.domain,
                private_domain=env.dns.private_domain,
                network=vpc.network.id,
                labels=self.labels_for("dns"),
            ),
        )
        PrivateGoogleApisDns(
            self,
            "google-apis-dns",
            PrivateGoogleApisDnsProps(
                project_id=env.project_id,
                name_prefix=self.resource_name("dns"),
                network=vpc.network.id,
                labels=self.labels_for("dns"),
            ),
        )
        psa = PrivateServiceAccess(
            self,
            "psa",
            PrivateServiceAccessProps(
                project_id=env.project_id,
                name=self.resource_name("psa"),
                network=vpc.network.id,
                cidr=plan.psa_cidr,
                labels=self.labels_for("private-service-access"),
            ),
        )
        self.outputs = NetworkOutputs(
            network_id=vpc.network.id,
            network_name=name,
            private_subnet_id=private.id,
            management_subnet_id=management.id,
            public_subnet_id=public.id,
            pods_range_name=pods_range,
            services_range_name=services_range,
            node_tag=node_tag,
            public_zone_name=dns.public.name,
            public_zone_dns_name=dns.public.dns_name,
            private_zone_name=dns.private.name,
            psa_connection_id=psa.connection.id,
            psa_range_name=psa.range.name,
        )
