"""A GKE node pool with the node hardening every pool shares: COS containerd, dedicated service account,
GKE metadata server, shielded VM (secure boot + integrity monitoring), kubelet read-only port off, auto-repair
and auto-upgrade, surge upgrades, and the network tag the firewall targets.

Pool name and taints are a contract with the Kubernetes manifests (`cloud.google.com/gke-nodepool`
selectors and tolerations): the name is used verbatim.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping

from constructs_lib.cdk import Construct, google
from constructs_lib.gke_cluster import CLOUD_PLATFORM_SCOPE
from constructs_lib.limits import GpuDriverVersion, LocationPolicy

_POOL_NAME = re.compile(r"^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$")
_TAINT_PART = re.compile(r"^([a-z0-9.-]+/)?[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$")
# Kubernetes spelling (what the manifests' tolerations say) → GKE API spelling.
TAINT_EFFECTS = {"NoSchedule": "NO_SCHEDULE", "PreferNoSchedule": "PREFER_NO_SCHEDULE", "NoExecute": "NO_EXECUTE"}


@dataclass(frozen=True, kw_only=True)
class Taint:
    key: str
    value: str
    effect: str = "NoSchedule"
    """Kubernetes spelling: NoSchedule, PreferNoSchedule or NoExecute. Default: NoSchedule."""


@dataclass(frozen=True, kw_only=True)
class Accelerator:
    type: str
    """GKE accelerator type, e.g. nvidia-l4."""
    count: int = 1
    driver_version: GpuDriverVersion = "DEFAULT"
    """GKE-installed NVIDIA driver: DEFAULT (paired with the node version) or LATEST. Default: DEFAULT."""


@dataclass(frozen=True, kw_only=True)
class NodePoolProps:
    project_id: str
    cluster: str
    """Cluster id or name."""
    location: str
    """The cluster's location (its region)."""
    name: str
    """Used verbatim: manifests select the pool by this name."""
    node_locations: tuple[str, ...]
    machine_type: str
    min_nodes: int
    """Per zone; 0 lets the pool scale to zero."""
    max_nodes: int
    """Per zone."""
    service_account: str
    """Email of the dedicated node service account; the Compute Engine default account is refused."""
    network_tags: tuple[str, ...]
    """At least the node tag the firewall rules target."""
    disk_size_gb: int = 100
    """Default: 100."""
    disk_type: str = "pd-balanced"
    """Default: pd-balanced."""
    boot_disk_kms_key: str
    """Cloud KMS key id that encrypts the boot disks (CMEK); the Compute Engine service agent must hold
    encrypter/decrypter on it. Required."""
    spot: bool = False
    """Spot VMs: cheaper, preemptible at any time. Default: off."""
    taints: tuple[Taint, ...] = ()
    """Default: none (any pod may schedule)."""
    accelerator: Accelerator | None = None
    """Default: none (CPU-only pool)."""
    location_policy: LocationPolicy = "BALANCED"
    """Autoscaler zone choice: BALANCED spreads evenly, ANY takes capacity where it exists (spot, GPUs)."""
    max_surge: int = 1
    """Extra nodes during an upgrade. Default: 1."""
    max_unavailable: int = 0
    """Nodes down at once during an upgrade. Default: 0."""
    kubernetes_labels: Mapping[str, str] = field(default_factory=dict)
    """Node labels beyond GKE's own. Default: none."""


def _check(props: NodePoolProps) -> None:
    where = f"NodePool {props.name}"
    if not props.boot_disk_kms_key:
        raise ValueError(f"{where}: boot_disk_kms_key is empty; node boot disks are encrypted with a customer-managed key")
    if not _POOL_NAME.match(props.name):
        raise ValueError(f"{where}: name {props.name!r} must be 1-40 lower-case letters, digits or '-'")
    if not props.node_locations:
        raise ValueError(f"{where}: node_locations is empty; list the zones the pool spans")
    account = props.service_account
    if not account or account == "default" or account.endswith("-compute@developer.gserviceaccount.com"):
        raise ValueError(
            f"{where}: service_account {account!r} is the Compute Engine default account (or empty); use the "
            "dedicated node service account"
        )
    if not props.network_tags:
        raise ValueError(f"{where}: network_tags is empty; every pool carries the node tag the firewall targets")
    for taint in props.taints:
        if taint.effect not in TAINT_EFFECTS:
            raise ValueError(
                f"{where}: taint {taint.key} effect {taint.effect!r} must be one of {', '.join(TAINT_EFFECTS)}"
            )
        for part in (taint.key, taint.value):
            if not _TAINT_PART.match(part):
                raise ValueError(f"{where}: taint {taint.key}={taint.value} has an invalid key or value {part!r}")


class NodePool(Construct):
    def __init__(self, scope: Construct, id: str, props: NodePoolProps) -> None:
        super().__init__(scope, id)
        _check(props)
        m = google.container_node_pool
        accelerators = None
        if props.accelerator:
            accelerators = [
                m.ContainerNodePoolNodeConfigGuestAccelerator(
                    type=props.accelerator.type,
                    count=props.accelerator.count,
                    # GKE installs and upgrades the NVIDIA driver itself: no driver DaemonSet to maintain.
                    gpu_driver_installation_config=m.ContainerNodePoolNodeConfigGuestAcceleratorGpuDriverInstallationConfig(
                        gpu_driver_version=props.accelerator.driver_version
                    ),
                )
            ]
        self.pool = m.ContainerNodePool(
            self,
            "pool",
            project=props.project_id,
            cluster=props.cluster,
            location=props.location,
            name=props.name,
            node_locations=list(props.node_locations),
            autoscaling=m.ContainerNodePoolAutoscaling(
                min_node_count=props.min_nodes,
                max_node_count=props.max_nodes,
                location_policy=props.location_policy,
            ),
            management=m.ContainerNodePoolManagement(auto_repair=True, auto_upgrade=True),
            upgrade_settings=m.ContainerNodePoolUpgradeSettings(
                strategy="SURGE", max_surge=props.max_surge, max_unavailable=props.max_unavailable
            ),
            node_config=m.ContainerNodePoolNodeConfig(
                machine_type=props.machine_type,
                disk_size_gb=props.disk_size_gb,
                disk_type=props.disk_type,
                boot_disk_kms_key=props.boot_disk_kms_key,
                image_type="COS_CONTAINERD",
                spot=props.spot,
                service_account=props.service_account,
                # Access is decided by the service account's IAM roles; the scope only stops being a second,
                # coarser filter.
                oauth_scopes=[CLOUD_PLATFORM_SCOPE],
                tags=list(props.network_tags),
                labels=dict(props.kubernetes_labels) or None,
                taint=[
                    m.ContainerNodePoolNodeConfigTaint(key=t.key, value=t.value, effect=TAINT_EFFECTS[t.effect])
                    for t in props.taints
                ]
                or None,
                guest_accelerator=accelerators,
                workload_metadata_config=m.ContainerNodePoolNodeConfigWorkloadMetadataConfig(mode="GKE_METADATA"),
                shielded_instance_config=m.ContainerNodePoolNodeConfigShieldedInstanceConfig(
                    enable_secure_boot=True, enable_integrity_monitoring=True
                ),
                kubelet_config=m.ContainerNodePoolNodeConfigKubeletConfig(insecure_kubelet_readonly_port_enabled="FALSE"),
                gvnic=m.ContainerNodePoolNodeConfigGvnic(enabled=True),
            ),
        )
