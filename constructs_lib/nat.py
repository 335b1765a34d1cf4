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
    """Ports each VM starts with (a power of two); dynamic allocation grows it up to max_ports_per_vm."""
    max_ports_per_vm: int = 8192
    """Ceiling of dynamic allocation (a power of two). Default 8192, sized for a full GKE node: 110 pods x 64
    concurrent connections to one destination ip:port = 7040 ports, rounded up to the next power of two."""


class Nat(Construct):
    def __init__(self, scope: Construct, id: str, props: NatProps) -> None:
        super().__init__(scope, id)
        if not props.subnetworks:
            raise ValueError(f"Nat {props.name}: no subnetworks; list the private subnets that need egress")
        for name in ("min_ports_per_vm", "max_ports_per_vm"):
            value = getattr(props, name)
            if value < 32 or value > 65536 or value & (value - 1):
                raise ValueError(f"Nat {props.name}: {name} {value} must be a power of two within 32-65536")
        if props.min_ports_per_vm > props.max_ports_per_vm:
            raise ValueError(f"Nat {props.name}: min_ports_per_vm {props.min_ports_per_vm} exceeds max_ports_per_vm {props.max_ports_per_vm}")
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
            # Ports follow demand per VM instead of a fixed share: a node with 110 busy pods gets what it needs
            # without reserving that much for every idle node. Requires endpoint-independent mapping off.
            enable_dynamic_port_allocation=True,
            min_ports_per_vm=props.min_ports_per_vm,
            max_ports_per_vm=props.max_ports_per_vm,
            enable_endpoint_independent_mapping=False,
            log_config={"enable": True, "filter": props.log_filter},
        )
