"""What each layer hands to the layers after it. Values are Terraform tokens: CDKTF turns a token used in
another stack into an output here and a remote-state read there. Stacks never reach into each other's
constructs; they receive one of these."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class BootstrapOutputs:
    state_bucket: str
    plan_service_account: str
    apply_service_account: str
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
