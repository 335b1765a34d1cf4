"""Private DNS that sends Google API hostnames to the Private Google Access VIP (private.googleapis.com).

Workloads then reach Google APIs on one small, fixed range (199.36.153.8/30), which is what lets
Kubernetes NetworkPolicies and firewall rules allow Google APIs without allowing the internet.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping

from constructs_lib.cdk import Construct, google

PRIVATE_VIP_ADDRESSES = ("199.36.153.8", "199.36.153.9", "199.36.153.10", "199.36.153.11")
_DOMAIN = re.compile(r"^([a-z0-9-]+\.)+[a-z]{2,}$")


@dataclass(frozen=True, kw_only=True)
class PrivateGoogleApisDnsProps:
    project_id: str
    name_prefix: str
    network: str
    domains: tuple[str, ...] = ("googleapis.com", "pkg.dev", "gcr.io")
    """Zones answered privately. Default: Google APIs, Artifact Registry and Container Registry."""
    labels: Mapping[str, str] = field(default_factory=dict)


class PrivateGoogleApisDns(Construct):
    def __init__(self, scope: Construct, id: str, props: PrivateGoogleApisDnsProps) -> None:
        super().__init__(scope, id)
        if "googleapis.com" not in props.domains:
            raise ValueError(f"PrivateGoogleApisDns {id}: domains {props.domains} must include googleapis.com (it holds the VIP)")
        for domain in props.domains:
            if not _DOMAIN.match(domain):
                raise ValueError(f"PrivateGoogleApisDns {id}: {domain!r} is not a DNS domain such as pkg.dev")
        for domain in props.domains:
            zone_id = domain.replace(".", "-")
            zone = google.dns_managed_zone.DnsManagedZone(
                self,
                zone_id,
                project=props.project_id,
                name=f"{props.name_prefix}-{zone_id}",
                dns_name=f"{domain}.",
                description=f"{domain} through Private Google Access",
                visibility="private",
                labels=dict(props.labels),
                private_visibility_config={
                    "networks": [google.dns_managed_zone.DnsManagedZonePrivateVisibilityConfigNetworks(network_url=props.network)]
                },
            )
            # Google's layout (configure-private-google-access#config-domain): in googleapis.com the VIP name
            # holds the addresses and every other name is a CNAME to it; in the other domains the apex holds
            # the addresses (so `gcr.io` itself resolves) and the wildcard is a CNAME to the apex.
            vip_name = "private.googleapis.com." if domain == "googleapis.com" else f"{domain}."
            google.dns_record_set.DnsRecordSet(
                self,
                f"{zone_id}-vip",
                project=props.project_id,
                managed_zone=zone.name,
                name=vip_name,
                type="A",
                ttl=300,
                rrdatas=list(PRIVATE_VIP_ADDRESSES),
            )
            google.dns_record_set.DnsRecordSet(
                self,
                f"{zone_id}-wildcard",
                project=props.project_id,
                managed_zone=zone.name,
                name=f"*.{domain}.",
                type="CNAME",
                ttl=300,
                rrdatas=[vip_name],
            )
