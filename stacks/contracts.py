"""What each layer hands to the layers after it. Values are Terraform tokens: CDKTF turns a token used in
another stack into an output here and a remote-state read there. Stacks never reach into each other's
constructs; they receive one of these."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping


@dataclass(frozen=True, kw_only=True)
class BootstrapOutputs:
    state_bucket: str
    plan_service_account: str
    apply_service_account: str
    push_service_account: str
    """The only writer of the apps repository (protected refs)."""
    deploy_service_account: str
    workload_identity_provider: str
    """Full provider resource name, the `GCP_WORKLOAD_IDENTITY_PROVIDER` a pipeline needs."""
    service_agents: Mapping[str, str]
    """API → email of its service agent, created here so later layers can grant it roles (CMEK keys)."""


@dataclass(frozen=True, kw_only=True)
class NetworkOutputs:
    network_id: str
    network_name: str
    private_subnet_id: str
    management_subnet_id: str
    public_subnet_id: str
    pods_range_name: str
    services_range_name: str
    node_tag: str
    """Network tag GKE nodes carry; firewall rules target it."""
    public_zone_name: str
    public_zone_dns_name: str
    private_zone_name: str
    psa_connection_id: str
    psa_range_name: str
    """The Private Service Access range Cloud SQL takes its private IP from."""


@dataclass(frozen=True, kw_only=True)
class SecurityOutputs:
    node_service_account: str
    """Email of the GKE node service account."""
    workload_service_accounts: Mapping[str, str]
    """Component → service account resource name (`projects/<p>/serviceAccounts/<email>`), the target of
    its Workload Identity binding (made in the cluster stack, once the identity pool exists)."""
    gke_secrets_key: str
    """Cloud KMS key id for GKE application-layer secrets encryption."""
    registry_key: str
    """Cloud KMS key id for the Artifact Registry repositories (CMEK)."""
    boot_disk_key: str
    """Cloud KMS key id for node boot disks (CMEK)."""
    backup_key: str
    """Cloud KMS key id for Backup for GKE backups (CMEK)."""
    cloud_sql_key: str
    """Cloud KMS key id for the Cloud SQL instance, its backups and logs (CMEK)."""
    logs_key: str
    """Cloud KMS key id for the log archive bucket and the log analytics dataset (CMEK)."""
    secret_ids: Mapping[str, str]
    """Credential name → Secret Manager secret id, for the delivery's SecretProviderClass."""
    armor_policy_name: str
    edge_ip_address: str
    certificate_map_name: str
    ssl_policy_name: str


@dataclass(frozen=True, kw_only=True)
class ClusterOutputs:
    cluster_name: str
    endpoint: str
    """DNS-based control-plane endpoint, without scheme: IAM-authorized, publicly trusted certificate, so
    no cluster CA travels between stacks (ClusterAccess)."""
    location: str
    node_service_account: str
    workload_identity_pool: str
    registry_url: str


@dataclass(frozen=True, kw_only=True)
class DataOutputs:
    sql_instance_name: str
    sql_connection_name: str
    """`project:region:instance`, what the Cloud SQL Auth Proxy (`--auto-iam-authn`) connects to."""
    sql_private_ip: str
    """The instance's private address in the Private Service Access range (the proxy reaches it on 3307)."""
    sql_databases: tuple[str, ...]
    sql_users: Mapping[str, str]
    """Component → its IAM database user name (the service account email without `.gserviceaccount.com`)."""
    sql_backup_location: str | None
    """Region of the cross-region backup copy the DR plan restores from; None: Cloud SQL's default location."""
    sql_availability: str
    """REGIONAL (standby in another zone, automatic failover) or ZONAL."""
    sql_point_in_time_recovery_days: int
    """How far back point-in-time recovery reaches (write-ahead log retention)."""
