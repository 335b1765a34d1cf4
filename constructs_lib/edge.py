"""The Terraform-owned half of the public edge; the GKE Gateway (Kubernetes delivery) references it by name.

`Edge`: global static IP, Google-managed certificate (DNS authorization) in a Certificate Manager map with
one entry per hostname, the SSL policy, and A records pointing the hostnames at the IP.
`ManagedCertificate`: the DNS-authorized certificate on its own, also used by `StaticSite`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping

from constructs_lib.cdk import Construct, google
from constructs_lib.limits import SslProfile

# An optional leading `*.` is a wildcard: Certificate Manager covers it with a DNS authorization of the
# parent domain, and a map entry / A record with the same wildcard name.
_HOSTNAME = re.compile(r"^(?=.{1,253}$)(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_KEY = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
DNS_TTL = 300


def check_hosts(hosts: Mapping[str, str], where: str) -> None:
    if not hosts:
        raise ValueError(f"{where}: hosts is empty; name at least one public hostname")
    for key, hostname in hosts.items():
        if not _KEY.match(key):
            raise ValueError(f"{where}: host key {key!r} must be 1-20 lower-case letters, digits or '-' (it names resources)")
        if not _HOSTNAME.match(hostname):
            raise ValueError(f"{where}: hostname {hostname!r} of {key!r} must be a lower-case DNS name without trailing dot")
    if len(set(hosts.values())) != len(hosts):
        raise ValueError(f"{where}: a hostname is listed twice: {sorted(hosts.values())}")


@dataclass(frozen=True, kw_only=True)
class ManagedCertificateProps:
    project_id: str
    name: str
    """Certificate name; DNS authorizations are named `<name>-<host key>`."""
    hosts: Mapping[str, str]
    """Short key (stable construct id) → hostname the certificate covers."""
    dns_zone: str
    """Cloud DNS managed zone (name) that holds the hostnames' validation records."""
    labels: Mapping[str, str] = field(default_factory=dict)


class ManagedCertificate(Construct):
    """One DNS authorization (and its CNAME) per hostname, and one Google-managed certificate for all of
    them. DNS authorization works before traffic reaches the load balancer, so the certificate is ready
    when the Gateway comes up."""

    def __init__(self, scope: Construct, id: str, props: ManagedCertificateProps) -> None:
        super().__init__(scope, id)
        check_hosts(props.hosts, f"ManagedCertificate {props.name}")
        authorizations = []
        for key, hostname in props.hosts.items():
            auth = google.certificate_manager_dns_authorization.CertificateManagerDnsAuthorization(
                self,
                f"auth-{key}",
                project=props.project_id,
                name=f"{props.name}-{key}",
                domain=hostname.removeprefix("*."),
                description=f"Proves control of {hostname} for its managed certificate",
                labels=dict(props.labels),
            )
            record = auth.dns_resource_record.get(0)
            google.dns_record_set.DnsRecordSet(
                self,
                f"auth-record-{key}",
                project=props.project_id,
                managed_zone=props.dns_zone,
                name=record.name,
                type=record.type,
                ttl=DNS_TTL,
                rrdatas=[record.data],
            )
            authorizations.append(auth.id)
        self.certificate = google.certificate_manager_certificate.CertificateManagerCertificate(
            self,
            "certificate",
            project=props.project_id,
            name=props.name,
            description=f"Google-managed certificate for {', '.join(props.hosts.values())}",
            scope="DEFAULT",
            managed=google.certificate_manager_certificate.CertificateManagerCertificateManaged(
                domains=list(props.hosts.values()), dns_authorizations=authorizations
            ),
            labels=dict(props.labels),
        )


@dataclass(frozen=True, kw_only=True)
class EdgeProps:
    project_id: str
    ip_name: str
    """Global static IP; the Gateway names it in `addresses` (naming.py `edge_ip_name`)."""
    certificate_map_name: str
    """The Gateway's `networking.gke.io/certmap` annotation (naming.py `certificate_map_name`)."""
    certificate_name: str
    ssl_policy_name: str
    """The GCPGatewayPolicy's `sslPolicy` (naming.py `ssl_policy_name`)."""
    hosts: Mapping[str, str]
    """Short key (stable construct id) → public hostname served through the Gateway."""
    dns_zone: str
    """Public Cloud DNS managed zone (name) for the A and validation records."""
    ssl_profile: SslProfile = "MODERN"
    """The minimum TLS version is 1.2 either way. Default: MODERN."""
    labels: Mapping[str, str] = field(default_factory=dict)


class Edge(Construct):
    def __init__(self, scope: Construct, id: str, props: EdgeProps) -> None:
        super().__init__(scope, id)
        where = f"Edge {props.ip_name}"
        check_hosts(props.hosts, where)
        self.address = google.compute_global_address.ComputeGlobalAddress(
            self,
            "ip",
            project=props.project_id,
            name=props.ip_name,
            description="Public edge: the GKE Gateway's address",
            address_type="EXTERNAL",
            ip_version="IPV4",
            labels=dict(props.labels),
        )
        certificate = ManagedCertificate(
            self,
            "certificate",
            ManagedCertificateProps(
                project_id=props.project_id,
                name=props.certificate_name,
                hosts=props.hosts,
                dns_zone=props.dns_zone,
                labels=props.labels,
            ),
        )
        self.certificate_map = google.certificate_manager_certificate_map.CertificateManagerCertificateMap(
            self,
            "map",
            project=props.project_id,
            name=props.certificate_map_name,
            description="Certificates the public Gateway serves, by hostname",
            labels=dict(props.labels),
        )
        for key, hostname in props.hosts.items():
            google.certificate_manager_certificate_map_entry.CertificateManagerCertificateMapEntry(
                self,
                f"entry-{key}",
                project=props.project_id,
                name=f"{props.certificate_map_name}-{key}",
                map=self.certificate_map.name,
                hostname=hostname,
                certificates=[certificate.certificate.id],
                labels=dict(props.labels),
            )
            google.dns_record_set.DnsRecordSet(
                self,
                f"record-{key}",
                project=props.project_id,
                managed_zone=props.dns_zone,
                name=f"{hostname}.",
                type="A",
                ttl=DNS_TTL,
                rrdatas=[self.address.address],
            )
        self.ssl_policy = google.compute_ssl_policy.ComputeSslPolicy(
            self,
            "tls",
            project=props.project_id,
            name=props.ssl_policy_name,
            description=f"{props.ssl_profile} ciphers, TLS 1.2 or newer",
            profile=props.ssl_profile,
            min_tls_version="TLS_1_2",
        )
