"""Static assets behind Cloud CDN: a private bucket served by its own global external Application Load
Balancer at one hostname (e.g. `static.<domain>`).

Why a separate load balancer: the GKE Gateway owns the edge URL map and cannot route to a backend bucket,
and its GCPBackendPolicy has no CDN setting, so CDN for static content needs its own front end. The bucket
stays private (public access prevention enforced); only Cloud CDN's fill service agent may read it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping

from constructs_lib.cdk import Construct, google
from constructs_lib.edge import DNS_TTL, ManagedCertificate, ManagedCertificateProps
from constructs_lib.iam import IamAdditive, IamBindings, bind_bucket_iam, short_role, validate_iam

OBJECT_VIEWER = "roles/storage.objectViewer"
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$")


@dataclass(frozen=True, kw_only=True)
class StaticSiteProps:
    project_id: str
    name: str
    """Prefix of every resource name, e.g. `<prefix>-static`."""
    bucket_name: str
    """Globally unique bucket name."""
    location: str
    """Bucket location (region or multi-region); CDN caches at the edge regardless."""
    hostname: str
    dns_zone: str
    """Public Cloud DNS managed zone (name) for the A and validation records."""
    certificate_map_name: str
    """Existing certificate map to add this hostname to (the edge map)."""
    certificate_map_id: str
    """Its id (`projects/<p>/locations/global/certificateMaps/<name>`), for the HTTPS proxy."""
    ssl_policy: str
    """SSL policy id or self link; the edge policy keeps TLS settings identical."""
    iam: IamBindings
    """Roles on the bucket, authoritative per role. Required: `roles/storage.objectViewer` for Cloud CDN's
    fill service agent (`serviceAccount:service-<number>@cloud-cdn-fill.iam.gserviceaccount.com`)."""
    iam_additive: IamAdditive = field(default_factory=dict)
    """Additive grants on the bucket, e.g. the object writer that uploads the assets. Default: none."""
    default_ttl: int = 3600
    """Seconds a response without Cache-Control is cached. Default: 3600."""
    labels: Mapping[str, str] = field(default_factory=dict)


class StaticSite(Construct):
    def __init__(self, scope: Construct, id: str, props: StaticSiteProps) -> None:
        super().__init__(scope, id)
        where = f"StaticSite {props.name}"
        if not _BUCKET.match(props.bucket_name):
            raise ValueError(f"{where}: bucket_name {props.bucket_name!r} is not a valid bucket name (3-63 lower-case characters)")
        if not props.iam.get(OBJECT_VIEWER):
            raise ValueError(f"{where}: iam has no {OBJECT_VIEWER} members; name Cloud CDN's fill service agent")
        if not 0 < props.default_ttl <= 31_536_000:
            raise ValueError(f"{where}: default_ttl {props.default_ttl} must be 1-31536000 seconds")
        validate_iam(where, iam=props.iam, iam_additive=props.iam_additive)
        self.bucket = google.storage_bucket.StorageBucket(
            self,
            "bucket",
            project=props.project_id,
            name=props.bucket_name,
            location=props.location,
            uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            versioning=google.storage_bucket.StorageBucketVersioning(enabled=True),
            lifecycle_rule=[
                google.storage_bucket.StorageBucketLifecycleRule(
                    action=google.storage_bucket.StorageBucketLifecycleRuleAction(type="Delete"),
                    condition=google.storage_bucket.StorageBucketLifecycleRuleCondition(days_since_noncurrent_time=30),
                )
            ],
            labels=dict(props.labels),
        )
        bind_bucket_iam(
            self,
            self.bucket.name,
            iam=props.iam,
            iam_additive=props.iam_additive,
            # `readers`: the id the CDN reader binding has always had (renaming it would move state).
            binding_id=lambda role: "readers" if role == OBJECT_VIEWER else f"iam-{short_role(role)}",
        )
        backend = google.compute_backend_bucket.ComputeBackendBucket(
            self,
            "backend",
            project=props.project_id,
            name=f"{props.name}-backend",
            bucket_name=self.bucket.name,
            enable_cdn=True,
            compression_mode="AUTOMATIC",
            cdn_policy=google.compute_backend_bucket.ComputeBackendBucketCdnPolicy(
                cache_mode="CACHE_ALL_STATIC",
                default_ttl=props.default_ttl,
                client_ttl=props.default_ttl,
                max_ttl=86400,
                serve_while_stale=86400,
            ),
        )
        url_map = google.compute_url_map.ComputeUrlMap(
            self, "urls", project=props.project_id, name=f"{props.name}-urls", default_service=backend.id
        )
        certificate = ManagedCertificate(
            self,
            "certificate",
            ManagedCertificateProps(
                project_id=props.project_id,
                name=f"{props.name}-cert",
                hosts={"static": props.hostname},
                dns_zone=props.dns_zone,
                labels=props.labels,
            ),
        )
        google.certificate_manager_certificate_map_entry.CertificateManagerCertificateMapEntry(
            self,
            "entry",
            project=props.project_id,
            name=f"{props.certificate_map_name}-static",
            map=props.certificate_map_name,
            hostname=props.hostname,
            certificates=[certificate.certificate.id],
            labels=dict(props.labels),
        )
        proxy = google.compute_target_https_proxy.ComputeTargetHttpsProxy(
            self,
            "proxy",
            project=props.project_id,
            name=f"{props.name}-https",
            url_map=url_map.id,
            certificate_map=f"//certificatemanager.googleapis.com/{props.certificate_map_id}",
            ssl_policy=props.ssl_policy,
        )
        self.address = google.compute_global_address.ComputeGlobalAddress(
            self,
            "ip",
            project=props.project_id,
            name=f"{props.name}-ip",
            address_type="EXTERNAL",
            ip_version="IPV4",
            labels=dict(props.labels),
        )
        google.compute_global_forwarding_rule.ComputeGlobalForwardingRule(
            self,
            "https",
            project=props.project_id,
            name=f"{props.name}-https",
            ip_address=self.address.address,
            port_range="443",
            target=proxy.id,
            load_balancing_scheme="EXTERNAL_MANAGED",
            labels=dict(props.labels),
        )
        google.dns_record_set.DnsRecordSet(
            self,
            "record",
            project=props.project_id,
            managed_zone=props.dns_zone,
            name=f"{props.hostname}.",
            type="A",
            ttl=DNS_TTL,
            rrdatas=[self.address.address],
        )
