"""Typed environment configuration: `config/<env>.yaml` → `EnvironmentConfig`.

Everything that differs between environments lives in those files; this module is their schema and only
reader. Every rule is checked before a single construct is built, and every failure becomes one
`ConfigError` line that names the file, the field, the bad value and what is expected (the machinery for
that is generic and lives in `stacks/config_loading.py`).

The schema reads top-down like the platform: names shared by every layer, then one section per layer in
apply order (bootstrap, network, security, cluster, observability), then the environment that ties them
together. Limits that constructs also know come from `constructs_lib/limits.py`.
"""
from __future__ import annotations

import ipaddress
import itertools
from pathlib import Path
from typing import Annotated, Literal, Mapping

from pydantic import AfterValidator, Field, model_validator

from constructs_lib.limits import (
    CONTROL_PLANE_PREFIX,
    MAX_GPUS_PER_NODE,
    MAX_KEY_ROTATION_DAYS,
    MAX_PSA_PREFIX,
    MAX_AUTHORIZED_NETWORKS,
    MAX_LABELS,
    MIN_AUTHORIZED_NETWORK_PREFIX,
    WAF_SENSITIVITY_LEVELS,
    AutoscalingProfile,
    ExclusionScope,
    GpuDriverVersion,
    NatLogFilter,
    RateLimitAction,
    RateLimitInterval,
    ReleaseChannel,
    SecurityPosture,
    SslProfile,
    VulnerabilityMode,
)
from monitoring.alerts import check_slo, tunable as tunable_alerts
from stacks.components import COMPONENTS, backup_namespaces, database_components
from stacks.databases import (
    RESERVED_CONNECTIONS,
    ConnectionPool,
    default_max_connections,
    pool_connections,
    required_max_connections,
    tier_memory_mb,
)
from stacks.namespaces import namespace_names
from stacks.config_loading import (  # noqa: F401 - ConfigError is part of this module's interface
    Cidr,
    ConfigError,
    StrictModel,
    Timestamp,
    data_files,
    parse_time,
    pattern,
    read_yaml,
    validate,
)

# --- names shared by every layer -----------------------------------------------------------------------

# GCP naming rules, checked once here so that every derived name `<prefix>-<role>` is valid.
# The prefix is short enough that the longest role we use ("temporal-worker") still fits a service
# account id (6-30 characters).
PREFIX_PATTERN = r"^[a-z][a-z0-9-]{1,12}[a-z0-9]$"
PROJECT_ID_PATTERN = r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$"
BUCKET_PATTERN = r"^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$"
REGION_PATTERN = r"^[a-z]+-[a-z]+[0-9]+$"
DOMAIN_PATTERN = r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
K8S_NAME_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
LABEL_KEY_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
LABEL_VALUE_PATTERN = r"^[a-z0-9_-]{0,63}$"

Prefix = Annotated[str, pattern(PREFIX_PATTERN, "3-14 lower-case letters, digits or '-', starting with a letter")]
ProjectId = Annotated[str, pattern(PROJECT_ID_PATTERN, "a GCP project id: 6-30 lower-case letters, digits or '-'")]
BucketName = Annotated[str, pattern(BUCKET_PATTERN, "a GCS bucket name: 3-63 lower-case letters, digits, '-', '_' or '.'")]
Region = Annotated[str, pattern(REGION_PATTERN, "a GCP region such as europe-west4")]
Domain = Annotated[str, pattern(DOMAIN_PATTERN, "a lower-case DNS name without trailing dot, e.g. dev.example.com")]
K8sName = Annotated[str, pattern(K8S_NAME_PATTERN, "a Kubernetes DNS label: lower-case letters, digits or '-'")]
ShortName = Annotated[str, pattern(r"^[a-z][a-z0-9-]{0,19}$", "1-20 lower-case letters, digits or '-', starting with a letter")]
Zone = Annotated[str, pattern(r"^[a-z]+-[a-z]+[0-9]+-[a-z]$", "a GCP zone such as europe-west4-a")]
# Cloud SQL keeps write-ahead logs for point-in-time recovery at most this many days, per edition.
MAX_PITR_DAYS = {"ENTERPRISE": 7, "ENTERPRISE_PLUS": 35}


# --- bootstrap layer -----------------------------------------------------------------------------------


class CiConfig(StrictModel):
    """GitLab OIDC federation: who may plan and who may apply in this environment."""

    gitlab_url: Annotated[str, pattern(r"^https://[a-z0-9.-]+(:[0-9]+)?$", "an https URL without path, e.g. https://gitlab.com")] = Field(
        default="https://gitlab.com", description="OIDC issuer and token audience. Default: https://gitlab.com."
    )
    project_path: Annotated[str, pattern(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$", "a GitLab project path such as acme/platform")] = Field(
        description="The GitLab project, for people and descriptions; tokens are matched by project_id and namespace_id."
    )
    project_id: int = Field(
        ge=1,
        description="Numeric id of the GitLab project (Settings > General): the only project whose pipeline tokens "
        "are accepted. Ids never change or get reused, unlike paths.",
    )
    namespace_id: int = Field(
        ge=1, description="Numeric id of the project's group (namespace); a project moved to another group stops working."
    )
    apply_refs: tuple[Annotated[str, pattern(r"^[A-Za-z0-9._/-]+$", "a git branch name without wildcards")], ...] = Field(
        description="Protected branches whose pipelines may apply, push images and deploy (exact names, no wildcards); "
        "at least one.",
    )

    @model_validator(mode="after")
    def _some_apply_ref(self) -> "CiConfig":
        if not self.apply_refs:
            raise ValueError("apply_refs: is empty; expected the protected branches that may apply, e.g. [main]")
        return self


# --- network layer -------------------------------------------------------------------------------------


class PrivateSubnet(StrictModel):
    """GKE nodes. Pods and services live in the secondary ranges."""

    cidr: Cidr = Field(description="Primary range: node IPs.")
    pods_cidr: Cidr = Field(description="Secondary range for pod IPs (VPC-native); size it for max nodes x 110 pods.")
    services_cidr: Cidr = Field(description="Secondary range for ClusterIP services.")


class PlainSubnet(StrictModel):
    cidr: Cidr = Field(description="Primary range of the subnet.")


class NetworkConfig(StrictModel):
    private: PrivateSubnet = Field(description="GKE nodes, no external IPs, egress through Cloud NAT.")
    public: PlainSubnet = Field(description="Load-balancer-facing resources that need it; no NAT.")
    management: PlainSubnet = Field(description="Bastion and CI runners, reached through IAP on port 22 only.")
    psa_cidr: Cidr = Field(description="Private Service Access range reserved for Cloud SQL and other producers.")
    control_plane_cidr: Cidr = Field(description="GKE control-plane /28.")
    flow_logs_sampling: float = Field(
        default=0.5, ge=0.0, le=1.0, strict=False, description="Share of VPC flows logged on every subnet (0-1). Default: 0.5."
    )
    nat_log_filter: NatLogFilter = Field(
        default="ERRORS_ONLY", description="Which Cloud NAT events are logged. Default: ERRORS_ONLY."
    )
    nat_min_ports_per_vm: int = Field(
        default=64, ge=32, le=65536, description="NAT source ports reserved per VM, a power of two; dynamic allocation grows it "
        "on demand. Default: 64."
    )
    internet_egress: bool = Field(
        default=False,
        description="Nodes may reach the internet through Cloud NAT. Default: off: egress is denied except Google APIs "
        "(Private Google Access), the control plane and the VPC; third-party images come through the Artifact "
        "Registry mirrors. Turning it on needs internet_egress_reason; never in prod.",
    )
    internet_egress_reason: str | None = Field(default=None, min_length=10, description="Required when internet_egress is on.")

    @model_validator(mode="after")
    def _egress_needs_reason(self) -> "NetworkConfig":
        if self.internet_egress and not self.internet_egress_reason:
            raise ValueError(
                "internet_egress: true needs internet_egress_reason (at least 10 characters) explaining why nodes "
                "may reach the internet"
            )
        if self.nat_min_ports_per_vm & (self.nat_min_ports_per_vm - 1):
            raise ValueError(
                f"nat_min_ports_per_vm: {self.nat_min_ports_per_vm} is not a power of two; Cloud NAT's dynamic port "
                "allocation needs one, e.g. 64"
            )
        return self

    @model_validator(mode="after")
    def _range_sizes(self) -> "NetworkConfig":
        if ipaddress.IPv4Network(self.control_plane_cidr).prefixlen != CONTROL_PLANE_PREFIX:
            raise ValueError(
                f"control_plane_cidr: {self.control_plane_cidr!r} must be a /{CONTROL_PLANE_PREFIX} (GKE private control-plane range)"
            )
        if ipaddress.IPv4Network(self.psa_cidr).prefixlen > MAX_PSA_PREFIX:
            raise ValueError(f"psa_cidr: {self.psa_cidr!r} is too small; expected a /{MAX_PSA_PREFIX} or larger for Cloud SQL")
        return self

    def ranges(self) -> dict[str, ipaddress.IPv4Network]:
        """Every range this environment owns, by the field path that declares it."""
        named = {
            "network.private.cidr": self.private.cidr,
            "network.private.pods_cidr": self.private.pods_cidr,
            "network.private.services_cidr": self.private.services_cidr,
            "network.public.cidr": self.public.cidr,
            "network.management.cidr": self.management.cidr,
            "network.psa_cidr": self.psa_cidr,
            "network.control_plane_cidr": self.control_plane_cidr,
        }
        return {path: ipaddress.IPv4Network(cidr) for path, cidr in named.items()}


class DnsConfig(StrictModel):
    """Cloud DNS zones besides the public zone of `domain`."""

    private_domain: Domain = Field(description="Zone bound to the VPC only, e.g. dev.internal.example.com.")


# --- security layer ------------------------------------------------------------------------------------


class SecretsConfig(StrictModel):
    """Secret Manager secrets (containers only; values are added out of band, docs/layers.md)."""

    replication: Literal["automatic", "user_managed"] = Field(
        default="automatic",
        description="Secret Manager replication: Google-chosen locations (automatic, default) or the listed regions.",
    )
    locations: tuple[Region, ...] = Field(
        default=(), description="user_managed only: replica regions. Empty (default): the environment's region."
    )

    @model_validator(mode="after")
    def _locations_need_user_managed(self) -> "SecretsConfig":
        if self.locations and self.replication != "user_managed":
            raise ValueError(
                f"locations: {list(self.locations)!r} is set but replication is {self.replication!r}; expected "
                "replication: user_managed, or no locations"
            )
        return self


class RateLimitConfig(StrictModel):
    """Per client IP, evaluated after the WAF rules."""

    action: RateLimitAction = Field(
        default="throttle", description="throttle (default): excess requests get 429; rate_based_ban: the IP is banned."
    )
    requests: int = Field(default=600, ge=1, le=1_000_000, description="Requests per interval. Default: 600.")
    interval_sec: RateLimitInterval = Field(
        default=60, description="Window length in seconds. Default: 60."
    )
    ban_duration_sec: int = Field(default=600, ge=60, le=86400, description="rate_based_ban only. Default: 600.")


class WafConfig(StrictModel):
    """Cloud Armor policy of the public edge: OWASP CRS 3.3 rules, CVE canary, rate limit."""

    sensitivity: int = Field(
        default=1, ge=WAF_SENSITIVITY_LEVELS[0], le=WAF_SENSITIVITY_LEVELS[1], description="OWASP CRS 3.3 sensitivity level; 1 (default) has the fewest false positives."
    )
    preview: bool = Field(default=False, description="Rules only log, never block. Off unless preview_reason says why.")
    preview_reason: str | None = Field(default=None, min_length=10, description="Required when preview is on.")
    rate_limit: RateLimitConfig = RateLimitConfig()

    @model_validator(mode="after")
    def _preview_needs_reason(self) -> "WafConfig":
        if self.preview and not self.preview_reason:
            raise ValueError(
                "preview: true needs preview_reason (at least 10 characters) explaining why the WAF may only log"
            )
        return self


class EdgeConfig(StrictModel):
    """Public edge: TLS policy and the optional CDN for static assets."""

    ssl_profile: SslProfile = Field(
        default="MODERN", description="Load-balancer TLS profile; TLS 1.2 is the minimum either way. Default: MODERN."
    )
    static_cdn: bool = Field(
        default=False,
        description="Serve static assets from a Cloud CDN-backed bucket at static.<domain>. Default: off.",
    )
    preview_hostnames: bool = Field(
        default=False,
        description="Per-branch preview URLs `<slug>.preview.<domain>` (wildcard certificate entry and DNS "
        "record; docs/skaffold.md). Default: off.",
    )


class SecurityConfig(StrictModel):
    """The security layer: KMS keys, secrets, WAF and edge."""

    kms_rotation_days: int = Field(default=MAX_KEY_ROTATION_DAYS, ge=1, le=MAX_KEY_ROTATION_DAYS, description="Cloud KMS key rotation period. Default: 90 (the CIS maximum).")
    secrets: SecretsConfig = SecretsConfig()
    waf: WafConfig = WafConfig()
    edge: EdgeConfig = EdgeConfig()


# --- cluster layer -------------------------------------------------------------------------------------


class MasterAuthorizedNetwork(StrictModel):
    name: ShortName = Field(description="Label shown in GKE, e.g. office-vpn.")
    cidr: Cidr = Field(description=f"Source range allowed to reach the control plane (prefix length >= {MIN_AUTHORIZED_NETWORK_PREFIX}).")


class NodePoolConfig(StrictModel):
    """One GKE node pool: size and autoscaling bounds."""

    machine_type: Annotated[str, pattern(r"^[a-z0-9]+-[a-z0-9-]+$", "a GCE machine type such as e2-standard-4")] = Field(
        description="GCE machine type of the nodes."
    )
    min_nodes: int = Field(ge=0, description="Autoscaling lower bound per zone; 0 lets the pool scale to zero.")
    max_nodes: int = Field(ge=1, description="Autoscaling upper bound per zone.")
    spot: bool = Field(default=False, description="Spot VMs: much cheaper, may be preempted. Default: off.")
    disk_size_gb: int = Field(default=100, ge=20, le=65536, description="Boot disk size (pd-balanced). Default: 100.")
    zones: tuple[Zone, ...] = Field(
        default=(),
        description="Zones of this pool, a subset of the environment's zones (e.g. where the GPU type is "
        "offered). Empty (default): every zone of the environment.",
    )

    @model_validator(mode="after")
    def _bounds(self) -> "NodePoolConfig":
        if self.min_nodes > self.max_nodes:
            raise ValueError(f"min_nodes ({self.min_nodes}) must not exceed max_nodes ({self.max_nodes})")
        return self


class GpuNodePoolConfig(NodePoolConfig):
    accelerator_type: Annotated[str, pattern(r"^nvidia-[a-z0-9-]+$", "a GKE accelerator type such as nvidia-l4")] = Field(
        description="GPU model attached to each node, e.g. nvidia-l4 (G2 machines)."
    )
    accelerator_count: int = Field(default=1, ge=1, le=MAX_GPUS_PER_NODE, description="GPUs per node. Default: 1.")
    gpu_driver_version: GpuDriverVersion = Field(
        default="DEFAULT",
        description="NVIDIA driver GKE installs: the one paired with the node version (DEFAULT, the default) or "
        "the newest (LATEST).",
    )


class NodePoolsConfig(StrictModel):
    """The three pools the Kubernetes manifests are written against (names and taints are a contract)."""

    general: NodePoolConfig = Field(description="API, backend and platform services, spread across zones.")
    gpu: GpuNodePoolConfig = Field(description="AI inference; tainted nvidia.com/gpu so only GPU workloads land.")
    workers: NodePoolConfig = Field(description="Temporal worker pools; tainted dedicated=temporal-workers.")


class MaintenanceWindowConfig(StrictModel):
    """When GKE may upgrade: the first occurrence's start/end and an RFC 5545 recurrence."""

    start: Timestamp = Field(default="2026-01-03T02:00:00Z", description="Start of the first occurrence (UTC).")
    end: Timestamp = Field(default="2026-01-03T08:00:00Z", description="End of the first occurrence; at least 4 hours after start.")
    recurrence: Annotated[str, pattern(r"^FREQ=(DAILY|WEEKLY)(;[A-Z]+=[A-Z0-9,]+)*$", "an RFC 5545 rule such as FREQ=WEEKLY;BYDAY=SA,SU")] = Field(
        default="FREQ=WEEKLY;BYDAY=SA,SU", description="Default: weekends, 02:00-08:00 UTC."
    )

    @model_validator(mode="after")
    def _long_enough(self) -> "MaintenanceWindowConfig":
        hours = (parse_time(self.end) - parse_time(self.start)).total_seconds() / 3600
        if hours < 4:
            raise ValueError(
                f"end: {self.end!r} is {hours:g} hours after start {self.start!r}; GKE needs windows of at least 4 hours"
            )
        return self


class MaintenanceExclusionConfig(StrictModel):
    """A period in which GKE holds back upgrades, e.g. a release freeze."""

    name: ShortName = Field(description="Unique name of the exclusion.")
    start: Timestamp = Field(description="Start (UTC).")
    end: Timestamp = Field(description="End (UTC), after start.")
    scope: ExclusionScope = Field(
        default="NO_UPGRADES", description="What is held back. NO_UPGRADES (default) may last at most 30 days."
    )

    @model_validator(mode="after")
    def _span(self) -> "MaintenanceExclusionConfig":
        days = (parse_time(self.end) - parse_time(self.start)).total_seconds() / 86400
        if days <= 0:
            raise ValueError(f"end: {self.end!r} is not after start {self.start!r}")
        if self.scope == "NO_UPGRADES" and days > 30:
            raise ValueError(
                f"end: {self.end!r} makes a {days:g}-day NO_UPGRADES exclusion; GKE allows at most 30 days "
                "(use NO_MINOR_UPGRADES for longer freezes)"
            )
        return self


class MaintenanceConfig(StrictModel):
    """When GKE may upgrade the control plane and nodes, and when it may not."""

    window: MaintenanceWindowConfig = MaintenanceWindowConfig()
    exclusions: tuple[MaintenanceExclusionConfig, ...] = Field(
        default=(), description="Periods without upgrades, e.g. a release freeze. Default: none."
    )

    @model_validator(mode="after")
    def _unique_names(self) -> "MaintenanceConfig":
        names = [exclusion.name for exclusion in self.exclusions]
        for index, name in enumerate(names):
            if name in names[:index]:
                raise ValueError(f"exclusions.{index}.name: {name!r} is used twice; expected unique names")
        return self


class BackupConfig(StrictModel):
    """Backup for GKE: which namespaces, how often, how long backups are kept."""

    namespaces: tuple[K8sName, ...] = Field(
        default=backup_namespaces(),
        min_length=1,
        description="Namespaces with state worth restoring (manifests, secrets and volume data).",
    )
    cron_schedule: Annotated[str, pattern(r"^(\S+ ){4}\S+$", "a 5-field cron expression such as '0 3 * * *'")] = Field(
        default="0 3 * * *", description="When backups run (UTC). Default: daily at 03:00."
    )
    retain_days: int = Field(default=30, ge=1, le=365, description="Days a backup is kept. Default: 30.")
    delete_lock_days: int = Field(
        default=0, ge=0, le=90, description="Days a backup cannot be deleted, even by an admin. Default: 0."
    )

    @model_validator(mode="after")
    def _consistent(self) -> "BackupConfig":
        for index, namespace in enumerate(self.namespaces):
            if namespace in self.namespaces[:index]:
                raise ValueError(f"namespaces.{index}: {namespace!r} is listed twice")
        if self.delete_lock_days > self.retain_days:
            raise ValueError(
                f"delete_lock_days: {self.delete_lock_days} exceeds retain_days ({self.retain_days}); a backup "
                "cannot be locked longer than it is kept"
            )
        return self


class RegistryConfig(StrictModel):
    """Cleanup of the Artifact Registry repository `<prefix>-apps`."""

    keep_recent: int = Field(default=20, ge=1, le=1000, description="Newest versions per image always kept. Default: 20.")
    delete_untagged_after_days: int = Field(
        default=14, ge=1, le=365, description="Untagged versions older than this are deleted. Default: 14."
    )
    delete_tagged_after_days: int = Field(
        default=90, ge=1, le=3650,
        description="Tagged versions older than this are deleted, except the keep_recent newest per image. Default: 90.",
    )
    immutable_tags: bool = Field(default=True, description="A pushed tag never moves (images are addressed by tag). Default: on.")

    @model_validator(mode="after")
    def _untagged_go_first(self) -> "RegistryConfig":
        if self.delete_untagged_after_days > self.delete_tagged_after_days:
            raise ValueError(
                f"delete_untagged_after_days: {self.delete_untagged_after_days} exceeds delete_tagged_after_days "
                f"({self.delete_tagged_after_days}); untagged versions should never outlive tagged ones"
            )
        return self


class SurgeUpgradeConfig(StrictModel):
    """Surge upgrades of every node pool."""

    max_surge: int = Field(default=1, ge=0, le=20, description="Extra nodes during an upgrade. Default: 1.")
    max_unavailable: int = Field(default=0, ge=0, le=20, description="Nodes down at once during an upgrade. Default: 0.")

    @model_validator(mode="after")
    def _progress(self) -> "SurgeUpgradeConfig":
        if self.max_surge == 0 and self.max_unavailable == 0:
            raise ValueError("max_surge: 0 together with max_unavailable 0 would never upgrade; expected one of them >= 1")
        return self


class ClusterConfig(StrictModel):
    kubernetes_version: Annotated[str, pattern(r"^1\.[0-9]{2}$", "a Kubernetes minor version such as 1.33")] = Field(
        description="Minimum control-plane minor version; also the schema version manifests are validated against."
    )
    release_channel: ReleaseChannel = Field(
        default="REGULAR", description="GKE release channel that drives automatic upgrades. Default: REGULAR."
    )
    master_authorized_networks: tuple[MasterAuthorizedNetwork, ...] = Field(
        default=(),
        description=f"Who may reach the control plane's IP endpoint besides the VPC (at most {MAX_AUTHORIZED_NETWORKS}). "
        "Empty: VPC only. CI and people use the IAM-authorized DNS endpoint instead.",
    )
    node_pools: NodePoolsConfig = Field(description="Machine sizes and autoscaling bounds per pool.")
    private_endpoint: bool = Field(
        default=False,
        description="No public IP endpoint: the control plane's IP endpoint is private (VPC only); everyone else uses "
        "the IAM-authorized DNS endpoint. Required for staging and prod. Default: off, the public IP endpoint is "
        "open to master_authorized_networks only.",
    )
    autoscaling_profile: AutoscalingProfile = Field(
        default="BALANCED", description="Cluster autoscaler: keep headroom (BALANCED, default) or pack nodes tightly."
    )
    binary_authorization: Literal["ENFORCE", "DRYRUN"] = Field(
        default="ENFORCE",
        description="Images outside the allowlist are blocked (ENFORCE, default) or only audit-logged (DRYRUN).",
    )
    security_posture: SecurityPosture = Field(
        default="BASIC", description="GKE security posture dashboard (workload configuration audit). Default: BASIC."
    )
    vulnerability_scanning: VulnerabilityMode = Field(
        default="VULNERABILITY_BASIC", description="Container OS vulnerability scanning. Default: VULNERABILITY_BASIC."
    )
    rbac_security_group: Annotated[str, pattern(r"^gke-security-groups@[a-z0-9.-]+\.[a-z]{2,}$", "gke-security-groups@<your Workspace domain>")] | None = Field(
        default=None,
        description="Google Groups for RBAC: the group whose member groups RoleBindings may name. Default: none.",
    )
    maintenance: MaintenanceConfig = MaintenanceConfig()
    backup: BackupConfig = BackupConfig()
    registry: RegistryConfig = RegistryConfig()
    node_upgrade: SurgeUpgradeConfig = SurgeUpgradeConfig()

    @model_validator(mode="after")
    def _no_open_control_plane(self) -> "ClusterConfig":
        if len(self.master_authorized_networks) > MAX_AUTHORIZED_NETWORKS:
            raise ValueError(
                f"master_authorized_networks: {len(self.master_authorized_networks)} entries; GKE allows at most "
                f"{MAX_AUTHORIZED_NETWORKS}: merge ranges or use the IAM-authorized DNS endpoint"
            )
        for index, network in enumerate(self.master_authorized_networks):
            if ipaddress.IPv4Network(network.cidr).prefixlen < MIN_AUTHORIZED_NETWORK_PREFIX:
                raise ValueError(
                    f"master_authorized_networks.{index}.cidr: {network.cidr!r} is too broad for control-plane "
                    f"access; expected a specific office/VPN range (prefix length >= {MIN_AUTHORIZED_NETWORK_PREFIX})"
                )
        return self


class WorkloadIdentityBinding(StrictModel):
    namespace: K8sName
    service_account: K8sName


# Every component of stacks/components.py with its default KSA. An environment overrides an entry under
# `workloads:` only when its delivery names a KSA differently.
DEFAULT_WORKLOADS: Mapping[str, WorkloadIdentityBinding] = {
    c.name: WorkloadIdentityBinding(namespace=c.namespace, service_account=c.kubernetes_service_account)
    for c in COMPONENTS
}


def _known_workloads(value: Mapping[str, WorkloadIdentityBinding]) -> Mapping[str, WorkloadIdentityBinding]:
    unknown = sorted(set(value) - set(DEFAULT_WORKLOADS))
    if unknown:
        raise ValueError(f"{unknown[0]}: unknown component; expected one of: {', '.join(DEFAULT_WORKLOADS)}")
    return {**DEFAULT_WORKLOADS, **value}


# --- data layer ----------------------------------------------------------------------------------------


class CloudSqlBackupsConfig(StrictModel):
    """Automated backups and point-in-time recovery (always on: the API leaves PITR off unless asked)."""

    start_time: Annotated[str, pattern(r"^([01][0-9]|2[0-3]):00$", "a full hour HH:00 in UTC, e.g. 02:00")] = Field(
        default="02:00", description="Start of the 4-hour daily backup window (UTC). Default: 02:00."
    )
    retained_backups: int = Field(default=14, ge=1, le=365, description="Daily backups kept. Default: 14.")
    transaction_log_retention_days: int = Field(
        default=7, ge=1, le=MAX_PITR_DAYS["ENTERPRISE_PLUS"],
        description="Days of write-ahead log kept for point-in-time recovery (at most 7 on ENTERPRISE, 35 on "
        "ENTERPRISE_PLUS). Default: 7.",
    )
    location: Region | None = Field(
        default=None,
        description="Region backups are stored in, another than the instance's: the cross-region copy the DR "
        "plan restores from (docs/dr.md). Required in prod. Default: none (the multi-region nearest the instance).",
    )


class CloudSqlMaintenanceConfig(StrictModel):
    """When Cloud SQL may restart the instance for updates."""

    day: int = Field(default=7, ge=1, le=7, description="Day of week, 1 = Monday … 7 = Sunday (UTC). Default: 7.")
    hour: int = Field(default=4, ge=0, le=23, description="Start hour (UTC) of the 1-hour window. Default: 4.")
    update_track: Literal["canary", "stable", "week5"] = Field(
        default="stable",
        description="canary: updates a week earlier; stable (default): the normal release; week5: the fifth week.",
    )


class ConnectionPoolConfig(StrictModel):
    """The pools one database-using component opens (the connection arithmetic, stacks/databases.py)."""

    pods: int = Field(ge=1, le=1000, description="Most pods at once (replicas or the autoscaler's maximum).")
    max_conns: int = Field(ge=1, le=1000, description="Maximum connections of each pool (one pool per database it uses).")


# Every component that uses a database (stacks/components.py) with its pool bounds; `connection_pools:`
# overrides entries.
DEFAULT_CONNECTION_POOLS: Mapping[str, ConnectionPoolConfig] = {
    c.name: ConnectionPoolConfig(pods=2, max_conns=5) for c in database_components()
}


def _known_pools(value: Mapping[str, ConnectionPoolConfig]) -> Mapping[str, ConnectionPoolConfig]:
    unknown = sorted(set(value) - set(DEFAULT_CONNECTION_POOLS))
    if unknown:
        raise ValueError(
            f"{unknown[0]}: is not a component that uses a database; expected one of: {', '.join(DEFAULT_CONNECTION_POOLS)}"
        )
    return {**DEFAULT_CONNECTION_POOLS, **value}


class CloudSqlConfig(StrictModel):
    """The Cloud SQL for PostgreSQL instance: private IP only, IAM authentication, CMEK, PITR."""

    database_version: Literal["POSTGRES_16", "POSTGRES_17"] = Field(
        default="POSTGRES_17", description="PostgreSQL major version. Default: POSTGRES_17."
    )
    edition: Literal["ENTERPRISE", "ENTERPRISE_PLUS"] = Field(
        default="ENTERPRISE",
        description="ENTERPRISE (default) with db-custom-* tiers, or ENTERPRISE_PLUS with db-perf-optimized-N-* tiers.",
    )
    tier: Annotated[str, pattern(r"^db-(custom|perf-optimized-N)-[0-9]+-[0-9]+$", "db-custom-<cpus>-<memory MB> or db-perf-optimized-N-<cpus>-<memory MB>")] = Field(
        default="db-custom-2-7680", description="Machine shape; its memory bounds max_connections. Default: db-custom-2-7680."
    )
    disk_size_gb: int = Field(
        default=20, ge=10, le=65536, description="Initial SSD size; it grows automatically (never shrinks). Default: 20."
    )
    availability: Literal["REGIONAL", "ZONAL"] = Field(
        default="REGIONAL",
        description="REGIONAL (default): a standby in another zone with automatic failover. ZONAL needs "
        "availability_reason and is refused outside tier dev.",
    )
    availability_reason: str | None = Field(default=None, min_length=10, description="Required when availability is ZONAL.")
    backups: CloudSqlBackupsConfig = CloudSqlBackupsConfig()
    maintenance: CloudSqlMaintenanceConfig = CloudSqlMaintenanceConfig()
    connection_pools: Annotated[Mapping[str, ConnectionPoolConfig], AfterValidator(_known_pools)] = Field(
        default_factory=lambda: dict(DEFAULT_CONNECTION_POOLS),
        description="Component → its pool bounds, for max_connections. Default: DEFAULT_CONNECTION_POOLS (2 pods x "
        "5 connections each); list only the components that differ.",
    )
    connection_headroom_percent: int = Field(
        default=25, ge=0, le=200,
        description="Extra connections above every pool at its maximum, in percent (rolling updates, schema "
        "jobs, operators). Default: 25.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> "CloudSqlConfig":
        if self.availability == "ZONAL" and not self.availability_reason:
            raise ValueError(
                "availability: ZONAL needs availability_reason (at least 10 characters) explaining why the "
                "database may go down with its zone"
            )
        tier_family = "db-perf-optimized-N-" if self.edition == "ENTERPRISE_PLUS" else "db-custom-"
        if not self.tier.startswith(tier_family):
            raise ValueError(f"tier: {self.tier!r} is not offered by edition {self.edition}; expected {tier_family}<cpus>-<memory MB>")
        if self.backups.transaction_log_retention_days > MAX_PITR_DAYS[self.edition]:
            raise ValueError(
                f"backups.transaction_log_retention_days: {self.backups.transaction_log_retention_days} exceeds "
                f"{MAX_PITR_DAYS[self.edition]}, the most edition {self.edition} keeps; expected 1-{MAX_PITR_DAYS[self.edition]}"
            )
        budget = default_max_connections(tier_memory_mb(self.tier))
        if self.max_connections > budget:
            raise ValueError(
                f"connection_pools: need max_connections {self.max_connections} "
                f"({pool_connections(self.pools())} pool connections + {self.connection_headroom_percent}% headroom "
                f"+ {RESERVED_CONNECTIONS} reserved), but tier {self.tier} allows {budget}; expected a tier with "
                "more memory or smaller pools"
            )
        return self

    def pools(self) -> tuple[ConnectionPool, ...]:
        """The connection pools of every database-using component, as the arithmetic counts them."""
        return tuple(
            ConnectionPool(
                component=component.name,
                pods=self.connection_pools[component.name].pods,
                pools_per_pod=len(component.databases),
                max_conns=self.connection_pools[component.name].max_conns,
            )
            for component in database_components()
        )

    @property
    def max_connections(self) -> int:
        return required_max_connections(self.pools(), headroom_percent=self.connection_headroom_percent)

# --- data layer: platform namespaces --------------------------------------------------------------------

CpuQuantity = Annotated[str, pattern(r"^([1-9][0-9]*|[0-9]+m|[0-9]+\.[0-9]+)$", "a CPU quantity such as 4, 500m or 1.5")]
MemoryQuantity = Annotated[str, pattern(r"^[1-9][0-9]*(Mi|Gi|Ti)$", "a memory quantity such as 512Mi or 8Gi")]


class NamespaceQuotaConfig(StrictModel):
    """Overrides of one namespace's ResourceQuota (stacks/namespaces.py holds the prod-sized defaults)."""

    requests_cpu: CpuQuantity | None = Field(default=None, description="Sum of CPU requests. Default: the table's.")
    requests_memory: MemoryQuantity | None = Field(default=None, description="Sum of memory requests. Default: the table's.")
    limits_memory: MemoryQuantity | None = Field(default=None, description="Sum of memory limits. Default: the table's.")
    pods: int | None = Field(default=None, ge=1, le=5000, description="Number of pods. Default: the table's.")


PLATFORM_NAMESPACES = namespace_names()


def _known_namespaces(value: Mapping[str, NamespaceQuotaConfig]) -> Mapping[str, NamespaceQuotaConfig]:
    unknown = sorted(set(value) - set(PLATFORM_NAMESPACES))
    if unknown:
        raise ValueError(f"{unknown[0]}: not a platform namespace; expected one of: {', '.join(PLATFORM_NAMESPACES)}")
    return value


class NamespacesConfig(StrictModel):
    """The platform namespaces the data layer creates (stacks/namespaces.py)."""

    quotas: Annotated[Mapping[str, NamespaceQuotaConfig], AfterValidator(_known_namespaces)] = Field(
        default_factory=dict,
        description="Namespace -> ResourceQuota overrides where an environment is smaller than prod. Default: none.",
    )


# --- observability layer -------------------------------------------------------------------------------


class NotificationsConfig(StrictModel):
    """Where alerts go. Names only: webhook URLs and keys live in Secret Manager."""

    emails: tuple[Annotated[str, pattern(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", "an e-mail address")], ...] = Field(
        default=(), description="Cloud Monitoring e-mail channels. Default: none."
    )
    slack_channels: tuple[Annotated[str, pattern(r"^#[a-z0-9_-]+$", "a Slack channel name such as #alerts")], ...] = Field(
        default=(), description="Slack channels for Alertmanager; each gets a webhook secret to fill. Default: none."
    )
    pagerduty_services: tuple[ShortName, ...] = Field(
        default=(), description="PagerDuty services paged by Alertmanager; each gets a routing-key secret. Default: none."
    )


class SloConfig(StrictModel):
    """The API's service-level objectives; burn-rate alert thresholds are derived from them
    (monitoring/alerts.py, BURN_RATE_WINDOWS)."""

    availability_objective: float = Field(
        default=0.995, gt=0.9, le=0.999, strict=False,
        description="Share of API requests at the edge that must not be 5xx. Default: 0.995.",
    )
    latency_objective: float = Field(
        default=0.99, gt=0.9, le=0.999, strict=False,
        description="Share of API requests that must be served within latency_threshold_ms. Default: 0.99.",
    )
    latency_threshold_ms: int = Field(
        default=500, ge=10, le=60000, description="What counts as fast enough for the latency SLO. Default: 500."
    )
    window_days: int = Field(
        default=30, ge=7, le=30, description="Rolling window of both SLOs (Cloud Monitoring allows 1-30). Default: 30."
    )

    @model_validator(mode="after")
    def _burn_rates_can_fire(self) -> "SloConfig":
        for field_name in ("availability_objective", "latency_objective"):
            try:
                check_slo(self.window_days, getattr(self, field_name))
            except ValueError as error:
                raise ValueError(f"{field_name}: {error}") from None
        return self


class LogArchiveConfig(StrictModel):
    """The audit-log archive: a GCS bucket behind a log sink, with a retention policy."""

    retention_days: int = Field(
        default=400, ge=1, le=3650,
        description="Objects cannot be deleted or replaced before this age (retention policy); deleted after it. "
        "Default: 400 (a year of audit evidence plus a margin).",
    )
    locked: bool = Field(
        default=False,
        description="Lock the retention policy: nobody, not even a project owner, can shorten it or delete the "
        "bucket while objects are younger than retention_days. Irreversible. Required in tier prod. Default: off.",
    )
    nearline_after_days: int = Field(default=30, ge=1, le=3650, description="Objects move to NEARLINE at this age. Default: 30.")
    archive_after_days: int = Field(default=90, ge=1, le=3650, description="Objects move to ARCHIVE at this age. Default: 90.")

    @model_validator(mode="after")
    def _colder_later(self) -> "LogArchiveConfig":
        if self.archive_after_days <= self.nearline_after_days:
            raise ValueError(
                f"archive_after_days: {self.archive_after_days} is not after nearline_after_days "
                f"({self.nearline_after_days}); objects move to colder storage in that order"
            )
        return self


class LogAnalyticsConfig(StrictModel):
    """The BigQuery dataset behind a log sink (partitioned tables) for querying logs with SQL."""

    retention_days: int = Field(
        default=30, ge=1, le=3650, description="Partitions older than this are deleted. Default: 30."
    )


def _known_thresholds(value: Mapping[str, float]) -> Mapping[str, float]:
    for name, threshold in value.items():
        if name not in tunable_alerts():
            raise ValueError(
                f"{name}: not an alert with a threshold; expected one of: {', '.join(tunable_alerts())}"
            )
        if threshold < 0:
            raise ValueError(f"{name}: {threshold!r} is negative; expected a threshold >= 0")
    return value


class ObservabilityConfig(StrictModel):
    """Alert thresholds, SLOs and log retention (alerts themselves: monitoring/alerts.py)."""

    thresholds: Annotated[Mapping[str, float], AfterValidator(_known_thresholds)] = Field(
        default_factory=dict,
        description="Alert name → this environment's threshold, for the alerts whose default does not fit "
        "(docs/observability.md lists every alert and its default). Default: none.",
    )
    slo: SloConfig = SloConfig()
    log_archive: LogArchiveConfig = LogArchiveConfig()
    log_analytics: LogAnalyticsConfig = LogAnalyticsConfig()
class PrometheusStorageConfig(StrictModel):
    """The in-cluster Prometheus (kube-prometheus-stack): how long and how much it keeps."""

    retention_days: int = Field(
        default=15, ge=1, le=90,
        description="Days of samples kept; longer history belongs in Cloud Monitoring. Default: 15.",
    )
    storage_gib: int = Field(
        default=50, ge=10, le=2000,
        description="Persistent disk per replica. Size-based retention stops at 85 % of it, so the disk never fills. Default: 50.",
    )


class AlertmanagerStorageConfig(StrictModel):
    """Alertmanager's silences and notification log."""

    storage_gib: int = Field(default=2, ge=1, le=50, description="Persistent disk per replica. Default: 2.")


class MonitoringStackConfig(StrictModel):
    """Prometheus, Grafana and Alertmanager in the cluster (observability layer, kube-prometheus-stack)."""

    prometheus: PrometheusStorageConfig = PrometheusStorageConfig()
    alertmanager: AlertmanagerStorageConfig = AlertmanagerStorageConfig()
    storage_class: Literal["standard-rwo", "premium-rwo"] = Field(
        default="standard-rwo",
        description="GKE storage class of the Prometheus and Alertmanager disks (balanced or SSD persistent disk). "
        "Default: standard-rwo.",
    )


# --- the environment -----------------------------------------------------------------------------------


class ProtectionConfig(StrictModel):
    """Deletion protection of stateful and hard-to-recreate resources (cluster, keys, buckets)."""

    deletion_protection: bool = Field(default=True, description="On unless a reason says why not.")
    reason: str | None = Field(default=None, min_length=10, description="Required when deletion_protection is off.")

    @model_validator(mode="after")
    def _opt_out_needs_reason(self) -> "ProtectionConfig":
        if not self.deletion_protection and not self.reason:
            raise ValueError(
                "deletion_protection: false needs protection.reason (at least 10 characters) explaining why this "
                "environment may be destroyed"
            )
        return self


class EnvironmentConfig(StrictModel):
    name: ShortName = Field(description="Environment name; stacks are `<name>-<layer>`. Unique across files.")
    tier: Literal["dev", "staging", "prod"] = Field(description="Drives policy: prod demands protection and enforcement.")
    prefix: Prefix = Field(description="Start of every GCP resource name (`<prefix>-<role>`). Unique across files.")
    project_id: ProjectId = Field(description="GCP project of this environment.")
    region: Region = Field(description="Region of every regional resource.")
    zones: tuple[Zone, ...] = Field(
        min_length=1, description="Zones of the regional cluster, all in `region`."
    )
    domain: Domain = Field(description="Public DNS zone (DNSSEC); hostnames are api.<domain> and ai.<domain>.")
    state_bucket: BucketName = Field(description="GCS bucket for Terraform state, created by the bootstrap stack. Unique across files.")
    labels: Mapping[
        Annotated[str, pattern(LABEL_KEY_PATTERN, "a label key of lower-case letters, digits and '_' ('-' is rewritten by CDKTF in provider labels)")],
        Annotated[str, pattern(LABEL_VALUE_PATTERN, "a GCP label value")],
    ] = Field(
        default_factory=dict,
        description=f"Extra labels on every resource, e.g. cost_center; at most {MAX_LABELS - 4} (GCP allows {MAX_LABELS}, "
        "the platform adds env, layer, managed_by and component). Default: none.",
    )
    network: NetworkConfig = Field(description="The CIDR plan: every range must be disjoint from every other.")
    dns: DnsConfig
    ci: CiConfig
    cluster: ClusterConfig = Field(description="The regional GKE cluster and its node pools.")
    protection: ProtectionConfig = ProtectionConfig()
    notifications: NotificationsConfig = NotificationsConfig()
    security: SecurityConfig = SecurityConfig()
    workloads: Annotated[Mapping[str, WorkloadIdentityBinding], AfterValidator(_known_workloads)] = Field(
        default_factory=lambda: dict(DEFAULT_WORKLOADS),
        description="Component → Kubernetes namespace and service account bound to its Google service account. "
        "Default: DEFAULT_WORKLOADS; list only the components whose KSA differs.",
    )
    cloud_sql: CloudSqlConfig = CloudSqlConfig()
    namespaces: NamespacesConfig = NamespacesConfig()
    observability: ObservabilityConfig = ObservabilityConfig()
    monitoring_stack: MonitoringStackConfig = Field(
        default_factory=MonitoringStackConfig,
        description="In-cluster Prometheus, Grafana and Alertmanager. Default: 15 days / 50 GiB on standard-rwo.",
    )

    @model_validator(mode="after")
    def _node_pool_zones(self) -> "EnvironmentConfig":
        for pool in ("general", "gpu", "workers"):
            for index, zone in enumerate(getattr(self.cluster.node_pools, pool).zones):
                if zone not in self.zones:
                    raise ValueError(
                        f"cluster.node_pools.{pool}.zones.{index}: {zone!r} is not one of the environment's zones; "
                        f"expected one of {', '.join(self.zones)}"
                    )
        return self

    @model_validator(mode="after")
    def _label_budget(self) -> "EnvironmentConfig":
        if len(self.labels) > MAX_LABELS - 4:
            raise ValueError(
                f"labels: {len(self.labels)} labels; at most {MAX_LABELS - 4} (GCP allows {MAX_LABELS} per resource and "
                "the platform adds env, layer, managed_by and component)"
            )
        return self

    @model_validator(mode="after")
    def _platform_workloads_stay_in_their_namespace(self) -> "EnvironmentConfig":
        # A Terraform layer installs platform components into their table namespace; only the KSA name may differ.
        for component in COMPONENTS:
            binding = self.workloads[component.name]
            if component.delivery == "platform" and binding.namespace != component.namespace:
                raise ValueError(
                    f"workloads.{component.name}.namespace: {binding.namespace!r}; platform component {component.name} "
                    f"is installed into {component.namespace!r} by its layer; expected {component.namespace!r}"
                )
        return self

    @model_validator(mode="after")
    def _no_public_control_plane_outside_dev(self) -> "EnvironmentConfig":
        if self.tier != "dev" and not self.cluster.private_endpoint:
            raise ValueError(
                f"cluster.private_endpoint: got False; tier {self.tier!r} must not run a public control-plane IP "
                "endpoint (CI reaches the IAM-authorized DNS endpoint); expected true"
            )
        return self

    @model_validator(mode="after")
    def _only_prod_pages(self) -> "EnvironmentConfig":
        if self.notifications.pagerduty_services and self.tier != "prod":
            raise ValueError(
                f"notifications.pagerduty_services: {list(self.notifications.pagerduty_services)!r}; tier "
                f"{self.tier!r} never pages a human (critical alerts reach Slack and e-mail); expected none"
            )
        return self

    @model_validator(mode="after")
    def _prod_enforces(self) -> "EnvironmentConfig":
        if self.tier != "prod":
            return self
        if self.network.internet_egress:
            raise ValueError(
                "network.internet_egress: got True; tier 'prod' nodes have no internet egress (images come through "
                "the Artifact Registry mirrors); expected false"
            )
        if not self.protection.deletion_protection:
            raise ValueError(
                "protection.deletion_protection: got False; tier 'prod' keeps its cluster, keys, secrets and "
                "buckets protected; expected true"
            )
        if self.security.waf.preview:
            raise ValueError("security.waf.preview: got True; tier 'prod' must block WAF matches; expected false")
        if not self.observability.log_archive.locked:
            raise ValueError(
                "observability.log_archive.locked: got False; tier 'prod' keeps its audit logs in a locked "
                "archive; expected true"
            )
        if self.cluster.binary_authorization != "ENFORCE":
            raise ValueError(
                f"cluster.binary_authorization: got {self.cluster.binary_authorization!r}; tier 'prod' must block "
                "images outside the allowlist; expected ENFORCE"
            )
        return self

    @model_validator(mode="after")
    def _cloud_sql_durability(self) -> "EnvironmentConfig":
        sql = self.cloud_sql
        if self.tier != "dev" and sql.availability != "REGIONAL":
            raise ValueError(
                f"cloud_sql.availability: got {sql.availability!r}; tier {self.tier!r} keeps a standby in another "
                "zone; expected REGIONAL"
            )
        if sql.backups.location == self.region:
            raise ValueError(
                f"cloud_sql.backups.location: {sql.backups.location!r} is the instance's own region; expected another "
                "region (the copy that survives a regional outage), or no location"
            )
        if self.tier == "prod" and not sql.backups.location:
            raise ValueError(
                "cloud_sql.backups.location: not set; tier 'prod' keeps its backups in a second region for disaster "
                f"recovery; expected a region other than {self.region}"
            )
        return self

    @model_validator(mode="after")
    def _zones_in_region(self) -> "EnvironmentConfig":
        for index, zone in enumerate(self.zones):
            if zone.rsplit("-", 1)[0] != self.region:
                raise ValueError(f"zones.{index}: {zone!r} is not in region {self.region!r}; expected {self.region}-<letter>")
        if len(set(self.zones)) != len(self.zones):
            raise ValueError(f"zones: {list(self.zones)!r} lists a zone twice")
        return self

    @model_validator(mode="after")
    def _ranges_disjoint(self) -> "EnvironmentConfig":
        for (path_a, net_a), (path_b, net_b) in itertools.combinations(self.network.ranges().items(), 2):
            if net_a.overlaps(net_b):
                raise ValueError(f"{path_b}: {str(net_b)!r} overlaps {path_a} ({net_a}); expected disjoint ranges")
        return self


# --- loading -------------------------------------------------------------------------------------------


def parse_environment(data: object, source: str) -> EnvironmentConfig:
    """Validate already-parsed YAML. `source` names the file in messages."""
    return validate(EnvironmentConfig, data, source)


def load_environment(path: Path) -> EnvironmentConfig:
    return parse_environment(read_yaml(path), str(path))


def environment_names(config_dir: Path) -> tuple[str, ...]:
    """The environments a config directory defines, by file name, without reading them: what tests,
    renderers and generators iterate over instead of a hard-coded list."""
    return tuple(path.stem for path in data_files(config_dir))


def load_configs(config_dir: Path, only: tuple[str, ...] = ()) -> tuple[EnvironmentConfig, ...]:
    """Every `*.yaml` in `config_dir` (sorted by file name), or the environments named in `only`. Files
    whose name starts with `_` are about environments, not environments (e.g. `_differences.yaml`)."""
    files = data_files(config_dir)
    if not files:
        raise ConfigError(f"{config_dir}: no environment files (*.yaml) found")
    configs: list[EnvironmentConfig] = []
    errors: list[str] = []
    for path in files:
        try:
            configs.append(load_environment(path))
        except ConfigError as exc:
            errors.append(str(exc))
    if errors:
        raise ConfigError("\n".join(errors))
    _check_unique(configs, files)
    if only:
        known = {config.name for config in configs}
        unknown = [name for name in only if name not in known]
        if unknown:
            raise ConfigError(
                f"{config_dir}: environment {unknown[0]!r} not found; expected one of: {', '.join(sorted(known))}"
            )
        configs = [config for config in configs if config.name in only]
    return tuple(configs)


def _check_unique(configs: list[EnvironmentConfig], files: list[Path]) -> None:
    """Two files must never claim the same environment, prefix or state bucket: their resources would collide."""
    for field in ("name", "prefix", "state_bucket"):
        seen: dict[str, Path] = {}
        for config, path in zip(configs, files):
            value = getattr(config, field)
            if value in seen:
                raise ConfigError(
                    f"{path}: {field}: {value!r} is already used by {seen[value]}; expected a value unique across environments"
                )
            seen[value] = path
