"""Cloud Router + Cloud NAT: outbound internet for private subnets only, with logging."""
from __future__ import annotations

from dataclasses import dataclass

from constructs_lib.cdk import Construct, google
from constructs_lib.limits import NatLogFilter


@dataclass(frozen=True, kw_only=True)
class NatProps:
    project_id: str
    name: str
    region: str
    network: str
    subnetworks: tuple[str, ...]
    """Subnet self links or ids that may use NAT (all their ranges, secondary included)."""
    log_filter: NatLogFilter = "ERRORS_ONLY"
    """Which NAT events are logged. Default ERRORS_ONLY keeps log volume low."""
    min_ports_per_vm: int = 64


class Nat(Construct):
    def __init__(self, scope: Construct, id: str, props: NatProps) -> None:
        super().__init__(scope, id)
        if not props.subnetworks:
            raise ValueError(f"Nat {props.name}: no subnetworks; list the private subnets that need egress")
        self.router = google.compute_router.ComputeRouter(
            self, "router", project=props.project_id, name=f"{props.name}-router", region=props.region, network=props.network
        )
        self.nat = google.compute_router_nat.ComputeRouterNat(
            self,
            "nat",
            project=props.project_id,
            name=props.name,
            region=props.region,
            router=self.router.name,
            nat_ip_allocate_option="AUTO_ONLY",
            # Explicit list: the public subnet gets no NAT, so nothing there egresses by accident.
            source_subnetwork_ip_ranges_to_nat="LIST_OF_SUBNETWORKS",
            subnetwork=[
                google.compute_router_nat.ComputeRouterNatSubnetwork(name=subnet, source_ip_ranges_to_nat=["ALL_IP_RANGES"])
                for subnet in props.subnetworks
            ],
            min_ports_per_vm=props.min_ports_per_vm,
            enable_endpoint_independent_mapping=False,
            log_config={"enable": True, "filter": props.log_filter},
        )
