"""Cloud DNS: a public zone signed with DNSSEC, a private zone visible only inside the VPC, and query
logging for the VPC."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from constructs_lib.cdk import Construct, google


@dataclass(frozen=True, kw_only=True)
class DnsZonesProps:
    project_id: str
    name_prefix: str
    public_domain: str
    private_domain: str
    network: str
    """VPC id the private zone and the logging policy attach to."""
    labels: Mapping[str, str] = field(default_factory=dict)
    query_logging: bool = True
    """Log every query from the VPC (Cloud Logging). Default: on, for incident forensics."""


class DnsZones(Construct):
    def __init__(self, scope: Construct, id: str, props: DnsZonesProps) -> None:
        super().__init__(scope, id)
        for field_name in ("public_domain", "private_domain"):
            value = getattr(props, field_name)
            if value.endswith(".") or not value or value != value.lower():
                raise ValueError(f"DnsZones {id}: {field_name} {value!r} must be lower-case without a trailing dot")
        if props.public_domain == props.private_domain:
            raise ValueError(f"DnsZones {id}: public and private domain are both {props.public_domain!r}")
        self.public = google.dns_managed_zone.DnsManagedZone(
            self,
            "public",
            project=props.project_id,
            name=f"{props.name_prefix}-public",
            dns_name=f"{props.public_domain}.",
            description=f"Public records of {props.public_domain}",
            visibility="public",
            labels=dict(props.labels),
            dnssec_config={
                "state": "on",
                "non_existence": "nsec3",
                "default_key_specs": [
                    google.dns_managed_zone.DnsManagedZoneDnssecConfigDefaultKeySpecs(
                        algorithm="ecdsap256sha256", key_type=key_type, key_length=256
                    )
                    for key_type in ("keySigning", "zoneSigning")
                ],
            },
            cloud_logging_config={"enable_logging": True},
        )
        self.private = google.dns_managed_zone.DnsManagedZone(
            self,
            "private",
            project=props.project_id,
            name=f"{props.name_prefix}-private",
            dns_name=f"{props.private_domain}.",
            description=f"VPC-internal records of {props.private_domain}",
            visibility="private",
            labels=dict(props.labels),
            private_visibility_config={
                "networks": [google.dns_managed_zone.DnsManagedZonePrivateVisibilityConfigNetworks(network_url=props.network)]
            },
        )
        self.policy = google.dns_policy.DnsPolicy(
            self,
            "policy",
            project=props.project_id,
            name=f"{props.name_prefix}-vpc",
            description="Query logging for the VPC",
            enable_logging=props.query_logging,
            enable_inbound_forwarding=False,
            networks=[google.dns_policy.DnsPolicyNetworks(network_url=props.network)],
        )
