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
