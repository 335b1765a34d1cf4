"""`<env>-cluster`: the GKE cluster and its node pools, Backup for GKE, the Artifact Registry repository,
the Binary Authorization policy, and the Workload Identity bindings of the security stack's accounts."""
from __future__ import annotations

from constructs_lib.artifact_registry import DockerRepository, DockerRepositoryProps
from constructs_lib.binary_authorization import BinaryAuthorization, BinaryAuthorizationProps
from constructs_lib.cdk import App, TerraformOutput
from constructs_lib.dependencies import depend_on
from constructs_lib.gke_backup import GkeBackup, GkeBackupProps
from constructs_lib.gke_cluster import GkeCluster, GkeClusterProps, MaintenanceExclusion, MaintenanceWindow
from constructs_lib.iam import service_account_member
from constructs_lib.node_pool import Accelerator, NodePool, NodePoolProps, Taint
from constructs_lib.workload_identity import WorkloadBinding, WorkloadIdentity, WorkloadIdentityProps
from stacks.base import LayerStack
from stacks.config import EnvironmentConfig, NodePoolConfig
from stacks.contracts import BootstrapOutputs, ClusterOutputs, NetworkOutputs, SecurityOutputs
from stacks.naming import DeliveryNames

# Contract with the Kubernetes manifests: pods select pools by these names and tolerate these taints.
GPU_TAINT = Taint(key="nvidia.com/gpu", value="present", effect="NoSchedule")
WORKERS_TAINT = Taint(key="dedicated", value="temporal-workers", effect="NoSchedule")

# Third-party images the platform runs (Helm charts of the data and observability layers), fully qualified by
# their upstream registry: the reviewed list. tests/stacks/test_cluster.py checks every image of the pinned
# charts against it. Nodes pull them through the Artifact Registry mirrors, and Binary Authorization admits
# only the mirror paths (`mirrored_patterns`).
THIRD_PARTY_IMAGES = (
    "ghcr.io/kedacore/*",
    "docker.io/temporalio/*",
    "docker.io/library/influxdb*",
    "docker.io/grafana/*",
    "docker.io/library/busybox*",
    "docker.io/busybox*",
    "quay.io/kiwigrid/k8s-sidecar*",
    "quay.io/prometheus/*",
    "quay.io/prometheus-operator/*",
    "quay.io/thanos/thanos*",
    "ghcr.io/jkroepke/kube-webhook-certgen*",
    "registry.k8s.io/kube-state-metrics/*",
    "registry.k8s.io/kubectl*",
)


# Remote repository upstream per public registry (Docker Hub is a preset; the others are custom URLs).
MIRROR_UPSTREAMS = {
    "docker.io": "docker.io",
    "ghcr.io": "https://ghcr.io",
    "quay.io": "https://quay.io",
    "registry.k8s.io": "https://registry.k8s.io",
}


def mirrored_patterns(names: DeliveryNames, patterns: tuple[str, ...] = THIRD_PARTY_IMAGES) -> tuple[str, ...]:
    """`docker.io/temporalio/*` → `<mirror_url('docker.io')>/temporalio/*`: the allowlist names Artifact
    Registry paths only, which only the mirrors (reading the reviewed upstream) fill."""
    mirrored = []
    for pattern in patterns:
        registry, _, path = pattern.partition("/")
        mirrored.append(f"{names.mirror_url(registry)}/{path}")
    return tuple(mirrored)


class ClusterStack(LayerStack):
    layer = "cluster"

    def __init__(
        self,
        scope: App,
        env: EnvironmentConfig,
        *,
        bootstrap: BootstrapOutputs,
        network: NetworkOutputs,
        security: SecurityOutputs,
    ) -> None:
        super().__init__(scope, env)
        plan = env.cluster
        names = DeliveryNames.of(env)
        window = plan.maintenance.window
        gke = GkeCluster(
            self,
            "gke",
            GkeClusterProps(
                project_id=env.project_id,
                name=self.resource_name("gke"),
                region=env.region,
                node_locations=env.zones,
                network=network.network_id,
                subnetwork=network.private_subnet_id,
                pods_range_name=network.pods_range_name,
                services_range_name=network.services_range_name,
                master_ipv4_cidr=env.network.control_plane_cidr,
                authorized_networks={entry.name: entry.cidr for entry in plan.master_authorized_networks},
                private_endpoint=plan.private_endpoint,
                release_channel=plan.release_channel,
                min_master_version=plan.kubernetes_version,
                node_service_account=security.node_service_account,
                node_tag=network.node_tag,
                database_encryption_key=security.gke_secrets_key,
                boot_disk_kms_key=security.boot_disk_key,
                binary_authorization=True,
                maintenance_window=MaintenanceWindow(start=window.start, end=window.end, recurrence=window.recurrence),
                maintenance_exclusions=tuple(
                    MaintenanceExclusion(name=e.name, start=e.start, end=e.end, scope=e.scope)
                    for e in plan.maintenance.exclusions
                ),
                autoscaling_profile=plan.autoscaling_profile,
                security_posture=plan.security_posture,
                vulnerability_mode=plan.vulnerability_scanning,
                rbac_security_group=plan.rbac_security_group,
                deletion_protection=env.protection.deletion_protection,
                labels=self.labels_for("gke"),
            ),
        )

        def pool(name: str, spec: NodePoolConfig, **extra) -> NodePool:
            return NodePool(
                self,
                f"pool-{name}",
                NodePoolProps(
                    project_id=env.project_id,
                    cluster=gke.cluster.id,
                    location=env.region,
                    name=name,
                    node_locations=spec.zones or env.zones,
                    machine_type=spec.machine_type,
                    min_nodes=spec.min_nodes,
                    max_nodes=spec.max_nodes,
                    disk_size_gb=spec.disk_size_gb,
                    spot=spec.spot,
                    service_account=security.node_service_account,
                    boot_disk_kms_key=security.boot_disk_key,
                    network_tags=(network.node_tag,),
                    max_surge=plan.node_upgrade.max_surge,
                    max_unavailable=plan.node_upgrade.max_unavailable,
                    # Spot VMs and GPUs are scarce: take capacity in whichever zone has it.
                    location_policy="ANY" if spec.spot or "accelerator" in extra else "BALANCED",
                    **extra,
                ),
            )

        pools = plan.node_pools
        pool("general", pools.general)
        gpu = pools.gpu
        pool(
            "gpu",
            gpu,
            taints=(GPU_TAINT,),
            accelerator=Accelerator(type=gpu.accelerator_type, count=gpu.accelerator_count, driver_version=gpu.gpu_driver_version),
        )
        pool("workers", pools.workers, taints=(WORKERS_TAINT,))

        backup = plan.backup
        GkeBackup(
            self,
            "backup",
            GkeBackupProps(
                project_id=env.project_id,
                location=env.region,
                cluster=gke.cluster.id,
                plan_name=self.resource_name("gke-backup"),
                restore_plan_name=self.resource_name("gke-restore"),
                namespaces=backup.namespaces,
                encryption_key=security.backup_key,
                cron_schedule=backup.cron_schedule,
                retain_days=backup.retain_days,
                delete_lock_days=backup.delete_lock_days,
                labels=self.labels_for("gke-backup"),
            ),
        )

        registry = DockerRepository(
            self,
            "registry",
            DockerRepositoryProps(
                project_id=env.project_id,
                location=env.region,
                repository_id=self.resource_name("apps"),
                kms_key=security.registry_key,
                iam={
                    "roles/artifactregistry.reader": (service_account_member(security.node_service_account),),
                    # Only the protected push identity writes: Binary Authorization admits this repository's
                    # path, so who can push here decides what runs (docs/security.md).
                    "roles/artifactregistry.writer": (service_account_member(bootstrap.push_service_account),),
                },
                keep_recent=plan.registry.keep_recent,
                delete_untagged_after_days=plan.registry.delete_untagged_after_days,
                delete_tagged_after_days=plan.registry.delete_tagged_after_days,
                immutable_tags=plan.registry.immutable_tags,
                prevent_destroy=env.protection.deletion_protection,
                labels=self.labels_for("registry"),
            ),
        )
        if registry.url != names.registry_url:
            raise ValueError(f"ClusterStack: registry URL {registry.url} differs from naming.py's {names.registry_url}")

        for upstream, source in MIRROR_UPSTREAMS.items():
            mirror = DockerRepository(
                self,
                f"mirror-{upstream}",
                DockerRepositoryProps(
                    project_id=env.project_id,
                    location=env.region,
                    repository_id=names.mirror_repository_id(upstream),
                    description=f"Pull-through cache of {upstream}: nodes have no internet egress",
                    upstream=source,
                    kms_key=security.registry_key,
                    iam={"roles/artifactregistry.reader": (service_account_member(security.node_service_account),)},
                    keep_recent=plan.registry.keep_recent,
                    delete_untagged_after_days=plan.registry.delete_untagged_after_days,
                    delete_tagged_after_days=plan.registry.delete_tagged_after_days,
                    # A cache: everything in it can be pulled again from upstream.
                    prevent_destroy=False,
                    labels=self.labels_for("registry-mirror"),
                ),
            )
            if mirror.url != names.mirror_url(upstream):
                raise ValueError(f"ClusterStack: mirror URL {mirror.url} differs from naming.py's {names.mirror_url(upstream)}")

        BinaryAuthorization(
            self,
            "binauthz",
            BinaryAuthorizationProps(
                project_id=env.project_id,
                allowed_images=(f"{registry.url}/**", *mirrored_patterns(names)),
                enforce=plan.binary_authorization == "ENFORCE",
            ),
        )

        identity = WorkloadIdentity(
            self,
            "workload-identity",
            WorkloadIdentityProps(
                project_id=env.project_id,
                bindings={
                    component: WorkloadBinding(
                        google_service_account=security.workload_service_accounts[component],
                        namespace=ksa.namespace,
                        kubernetes_service_account=ksa.service_account,
                    )
                    for component, ksa in env.workloads.items()
                },
            ),
        )
        # The identity pool `<project>.svc.id.goog` exists only once the cluster does.
        depend_on(identity, gke)

        cluster = gke.cluster
        self.outputs = ClusterOutputs(
            cluster_name=cluster.name,
            endpoint=gke.dns_endpoint,
            location=cluster.location,
            node_service_account=security.node_service_account,
            workload_identity_pool=gke.workload_pool,
            registry_url=registry.url,
        )
        TerraformOutput(self, "cluster_name", value=cluster.name)
        TerraformOutput(self, "cluster_location", value=cluster.location)
        TerraformOutput(self, "registry_url", value=registry.url)
