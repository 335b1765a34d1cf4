"""Regional, private, VPC-native GKE Standard cluster with the hardening the platform relies on.

Node pools are separate `google_container_node_pool` resources (`NodePool`); the default pool is removed
right after creation. What is fixed here (not a prop) is what the platform never wants different: Dataplane
V2, Workload Identity, shielded nodes, no legacy ABAC, no client certificate, Gateway API, Managed Service
for Prometheus, GKE Secret Manager add-on, Backup for GKE agent.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Mapping

from constructs_lib.cdk import Construct, TerraformResourceLifecycle, google
from constructs_lib.limits import (
    MIN_AUTHORIZED_NETWORK_PREFIX,
    AutoscalingProfile,
    ExclusionScope,
    ReleaseChannel,
    SecurityPosture,
    VulnerabilityMode,
)
from constructs_lib.workload_identity import workload_pool

_NAME = re.compile(r"^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$")
LOGGING_COMPONENTS = ("SYSTEM_COMPONENTS", "WORKLOADS", "APISERVER")
# What GKE collects into Cloud Monitoring: its system metrics and the Google-managed control plane, which no
# pod can scrape. Object state (kube-state-metrics) and the kubelet/cAdvisor are scraped by the in-cluster
# Prometheus of the observability layer, so the POD/DEPLOYMENT/STATEFULSET/DAEMONSET/HPA/STORAGE and
# KUBELET/CADVISOR packages stay off: each target has one collector (docs/observability.md).
MONITORING_COMPONENTS = (
    "SYSTEM_COMPONENTS",
    "APISERVER",
    "SCHEDULER",
    "CONTROLLER_MANAGER",
)
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"


@dataclass(frozen=True, kw_only=True)
class MaintenanceWindow:
    start: str
    """RFC 3339 UTC start of the first occurrence."""
    end: str
    recurrence: str
    """RFC 5545 rule, e.g. FREQ=WEEKLY;BYDAY=SA,SU."""


@dataclass(frozen=True, kw_only=True)
class MaintenanceExclusion:
    name: str
    start: str
    end: str
    scope: ExclusionScope = "NO_UPGRADES"
    """What is held back. Default: NO_UPGRADES."""


@dataclass(frozen=True, kw_only=True)
class GkeClusterProps:
    project_id: str
    name: str
    region: str
    """Regional cluster: the control plane is replicated across the region's zones."""
    node_locations: tuple[str, ...]
    """Zones nodes may run in (pools choose a subset)."""
    network: str
    subnetwork: str
    pods_range_name: str
    services_range_name: str
    master_ipv4_cidr: str
    """The control plane's private /28."""
    node_service_account: str
    """Email of the node service account (also used by the transient default pool)."""
    node_tag: str
    """Network tag of every node; firewall rules target it."""
    database_encryption_key: str
    """Cloud KMS key id for application-layer encryption of Kubernetes Secrets in etcd."""
    boot_disk_kms_key: str
    """Cloud KMS key id for the transient default pool's boot disks (the pools set their own)."""
    authorized_networks: Mapping[str, str] = field(default_factory=dict)
    """Display name → CIDR allowed to reach the control plane besides the VPC. Default: none (VPC only);
    ranges broader than /MIN_AUTHORIZED_NETWORK_PREFIX (constructs_lib/limits.py) are refused."""
    private_endpoint: bool = False
    """Control plane reachable on its private IP only. Default: off (public IP, authorized networks only)."""
    release_channel: ReleaseChannel = "REGULAR"
    min_master_version: str | None = None
    """Minimum control-plane version (e.g. "1.33"); the release channel upgrades from there. Default: none."""
    binary_authorization: bool = True
    """Admission checked against the project's Binary Authorization policy. Default: on."""
    maintenance_window: MaintenanceWindow | None = None
    """Default: none (GKE picks any time)."""
    maintenance_exclusions: tuple[MaintenanceExclusion, ...] = ()
    autoscaling_profile: AutoscalingProfile = "BALANCED"
    security_posture: SecurityPosture = "BASIC"
    """Default: BASIC."""
    vulnerability_mode: VulnerabilityMode = "VULNERABILITY_BASIC"
    rbac_security_group: str | None = None
    """`gke-security-groups@<domain>` for Google Groups in RBAC. Default: none."""
    deletion_protection: bool = True
    """Terraform refuses to destroy the cluster. Default: on."""
    labels: Mapping[str, str] = field(default_factory=dict)


def _check(props: GkeClusterProps) -> None:
    where = f"GkeCluster {props.name}"
    if not _NAME.match(props.name):
        raise ValueError(f"{where}: name must be 1-40 lower-case letters, digits or '-', starting with a letter")
    if not props.node_locations:
        raise ValueError(f"{where}: node_locations is empty; list the zones nodes run in")
    for name, cidr in props.authorized_networks.items():
        if ipaddress.IPv4Network(cidr).prefixlen < MIN_AUTHORIZED_NETWORK_PREFIX:
            raise ValueError(
                f"{where}: authorized network {name!r} is {cidr}, broader than /{MIN_AUTHORIZED_NETWORK_PREFIX}; "
                "name the office/VPN range instead"
            )
    if not props.database_encryption_key:
        raise ValueError(f"{where}: database_encryption_key is empty; Kubernetes Secrets must be encrypted with a KMS key")
    if not props.node_service_account or props.node_service_account.endswith("-compute@developer.gserviceaccount.com"):
        raise ValueError(
            f"{where}: node_service_account {props.node_service_account!r} is empty or the Compute Engine default "
            "account; use the dedicated node service account"
        )


class GkeCluster(Construct):
    def __init__(self, scope: Construct, id: str, props: GkeClusterProps) -> None:
        super().__init__(scope, id)
        _check(props)
        m = google.container_cluster
        maintenance = None
        if props.maintenance_window or props.maintenance_exclusions:
            window = props.maintenance_window
            maintenance = m.ContainerClusterMaintenancePolicy(
                recurring_window=m.ContainerClusterMaintenancePolicyRecurringWindow(
                    start_time=window.start, end_time=window.end, recurrence=window.recurrence
                )
                if window
                else None,
                maintenance_exclusion=[
                    m.ContainerClusterMaintenancePolicyMaintenanceExclusion(
                        exclusion_name=exclusion.name,
                        start_time=exclusion.start,
                        end_time=exclusion.end,
                        exclusion_options=m.ContainerClusterMaintenancePolicyMaintenanceExclusionExclusionOptions(
                            scope=exclusion.scope
                        ),
                    )
                    for exclusion in props.maintenance_exclusions
                ]
                or None,
            )
        self.workload_pool = workload_pool(props.project_id)
        self.cluster = m.ContainerCluster(
            self,
            "cluster",
            project=props.project_id,
            name=props.name,
            location=props.region,
            node_locations=list(props.node_locations),
            network=props.network,
            subnetwork=props.subnetwork,
            networking_mode="VPC_NATIVE",
            ip_allocation_policy=m.ContainerClusterIpAllocationPolicy(
                cluster_secondary_range_name=props.pods_range_name,
                services_secondary_range_name=props.services_range_name,
            ),
            # Dataplane V2 enforces NetworkPolicy itself (eBPF); the legacy Calico add-on must stay off. The
            # explicit `enabled = false` next to ADVANCED_DATAPATH is the form checkov's CKV_GCP_12 accepts.
            datapath_provider="ADVANCED_DATAPATH",
            network_policy=m.ContainerClusterNetworkPolicy(enabled=False),
            enable_intranode_visibility=True,
            private_cluster_config=m.ContainerClusterPrivateClusterConfig(
                enable_private_nodes=True,
                enable_private_endpoint=props.private_endpoint,
                master_ipv4_cidr_block=props.master_ipv4_cidr,
                master_global_access_config=m.ContainerClusterPrivateClusterConfigMasterGlobalAccessConfig(enabled=False),
            ),
            # The DNS-based endpoint: IAM decides who reaches the API server (container.clusters.connect),
            # from anywhere, without a public IP endpoint. CI and people use it (ClusterAccess).
            control_plane_endpoints_config=m.ContainerClusterControlPlaneEndpointsConfig(
                dns_endpoint_config=m.ContainerClusterControlPlaneEndpointsConfigDnsEndpointConfig(
                    allow_external_traffic=True
                ),
                ip_endpoints_config=m.ContainerClusterControlPlaneEndpointsConfigIpEndpointsConfig(enabled=True),
            ),
            master_authorized_networks_config=m.ContainerClusterMasterAuthorizedNetworksConfig(
                cidr_blocks=[
                    m.ContainerClusterMasterAuthorizedNetworksConfigCidrBlocks(display_name=name, cidr_block=cidr)
                    for name, cidr in props.authorized_networks.items()
                ]
                or None,
                # Not "any Google Cloud IP": that would admit every GCE VM of every customer.
                gcp_public_cidrs_access_enabled=False,
            ),
            master_auth=m.ContainerClusterMasterAuth(
                client_certificate_config=m.ContainerClusterMasterAuthClientCertificateConfig(issue_client_certificate=False)
            ),
            enable_legacy_abac=False,
            enable_shielded_nodes=True,
            workload_identity_config=m.ContainerClusterWorkloadIdentityConfig(workload_pool=self.workload_pool),
            database_encryption=m.ContainerClusterDatabaseEncryption(
                state="ENCRYPTED", key_name=props.database_encryption_key
            ),
            binary_authorization=m.ContainerClusterBinaryAuthorization(
                evaluation_mode="PROJECT_SINGLETON_POLICY_ENFORCE" if props.binary_authorization else "DISABLED"
            ),
            release_channel=m.ContainerClusterReleaseChannel(channel=props.release_channel),
            min_master_version=props.min_master_version,
            gateway_api_config=m.ContainerClusterGatewayApiConfig(channel="CHANNEL_STANDARD"),
            secret_manager_config=m.ContainerClusterSecretManagerConfig(enabled=True),
            # Anonymous requests reach only the health endpoints; RBAC can never grant the whole world.
            anonymous_authentication_config=m.ContainerClusterAnonymousAuthenticationConfig(mode="LIMITED"),
            rbac_binding_config=m.ContainerClusterRbacBindingConfig(
                enable_insecure_binding_system_unauthenticated=False,
                enable_insecure_binding_system_authenticated=False,
            ),
            authenticator_groups_config=m.ContainerClusterAuthenticatorGroupsConfig(security_group=props.rbac_security_group)
            if props.rbac_security_group
            else None,
            addons_config=m.ContainerClusterAddonsConfig(
                http_load_balancing=m.ContainerClusterAddonsConfigHttpLoadBalancing(disabled=False),
                horizontal_pod_autoscaling=m.ContainerClusterAddonsConfigHorizontalPodAutoscaling(disabled=False),
                network_policy_config=m.ContainerClusterAddonsConfigNetworkPolicyConfig(disabled=True),
                gce_persistent_disk_csi_driver_config=m.ContainerClusterAddonsConfigGcePersistentDiskCsiDriverConfig(
                    enabled=True
                ),
                gke_backup_agent_config=m.ContainerClusterAddonsConfigGkeBackupAgentConfig(enabled=True),
            ),
            logging_config=m.ContainerClusterLoggingConfig(enable_components=list(LOGGING_COMPONENTS)),
            monitoring_config=m.ContainerClusterMonitoringConfig(
                enable_components=list(MONITORING_COMPONENTS),
                managed_prometheus=m.ContainerClusterMonitoringConfigManagedPrometheus(enabled=True),
            ),
            maintenance_policy=maintenance,
            # Node auto-provisioning stays off: pools are a fixed contract with the manifests (names, taints).
            cluster_autoscaling=m.ContainerClusterClusterAutoscaling(enabled=False, autoscaling_profile=props.autoscaling_profile),
            vertical_pod_autoscaling=m.ContainerClusterVerticalPodAutoscaling(enabled=True),
            security_posture_config=m.ContainerClusterSecurityPostureConfig(
                mode=props.security_posture, vulnerability_mode=props.vulnerability_mode
            ),
            node_pool_defaults=m.ContainerClusterNodePoolDefaults(
                node_config_defaults=m.ContainerClusterNodePoolDefaultsNodeConfigDefaults(
                    insecure_kubelet_readonly_port_enabled="FALSE"
                )
            ),
            # The default pool exists for a moment during creation; it still gets the hardened node settings
            # and the dedicated service account, never the Compute Engine default one.
            remove_default_node_pool=True,
            initial_node_count=1,
            node_config=m.ContainerClusterNodeConfig(
                service_account=props.node_service_account,
                oauth_scopes=[CLOUD_PLATFORM_SCOPE],
                image_type="COS_CONTAINERD",
                boot_disk_kms_key=props.boot_disk_kms_key,
                tags=[props.node_tag],
                shielded_instance_config=m.ContainerClusterNodeConfigShieldedInstanceConfig(
                    enable_secure_boot=True, enable_integrity_monitoring=True
                ),
                workload_metadata_config=m.ContainerClusterNodeConfigWorkloadMetadataConfig(mode="GKE_METADATA"),
                kubelet_config=m.ContainerClusterNodeConfigKubeletConfig(insecure_kubelet_readonly_port_enabled="FALSE"),
            ),
            deletion_protection=props.deletion_protection,
            resource_labels=dict(props.labels),
            # Once the default pool is gone the API reports another pool's settings here; without this every
            # plan would show a diff on node_config, whose change forces a new cluster.
            lifecycle=TerraformResourceLifecycle(ignore_changes=["node_config", "initial_node_count"]),
        )

    @property
    def dns_endpoint(self) -> str:
        """The DNS-based control-plane endpoint (`gke-<id>.<region>.gke.goog`), without scheme."""
        return self.cluster.control_plane_endpoints_config.dns_endpoint_config.endpoint

    @property
    def name(self) -> str:
        return self.cluster.name
