"""Private Service Access: a reserved range peered with Google's service producers (Cloud SQL, Memorystore),
so managed databases get private IPs only."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Mapping

from constructs_lib.cdk import Construct, google


@dataclass(frozen=True, kw_only=True)
class PrivateServiceAccessProps:
    project_id: str
    name: str
    network: str
    cidr: str
    """The reserved range; at least a /MAX_PSA_PREFIX (constructs_lib/limits.py), which the config model checks."""
    labels: Mapping[str, str] = field(default_factory=dict)


class PrivateServiceAccess(Construct):
    def __init__(self, scope: Construct, id: str, props: PrivateServiceAccessProps) -> None:
        super().__init__(scope, id)
        network = ipaddress.IPv4Network(props.cidr)
        self.range = google.compute_global_address.ComputeGlobalAddress(
            self,
            "range",
            project=props.project_id,
            name=props.name,
            purpose="VPC_PEERING",
            address_type="INTERNAL",
            address=str(network.network_address),
            prefix_length=network.prefixlen,
            network=props.network,
            labels=dict(props.labels),
        )
        self.connection = google.service_networking_connection.ServiceNetworkingConnection(
            self,
            "connection",
            network=props.network,
            service="servicenetworking.googleapis.com",
            reserved_peering_ranges=[self.range.name],
            # ABANDON: deleting the peering while a producer (Cloud SQL) still uses it fails the destroy;
            # the range reservation is what matters and it is deleted with the stack.
            deletion_policy="ABANDON",
        )
