"""Backup for GKE: a scheduled backup plan for the stateful namespaces, and the restore plan that brings
them back.

The restore plan is a template; nothing restores until someone creates a Restore from a chosen backup
(docs/layers.md). It fails on conflicts instead of overwriting live objects: restore into a new cluster, or
delete the damaged namespace first. CRDs and StorageClasses come back too, so custom resources (e.g. KEDA
ScaledObjects) and volumes can be recreated.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping

from constructs_lib.cdk import Construct, google

_NAME = re.compile(r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")
_NAMESPACE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
# Cluster-scoped kinds a namespace restore needs back.
RESTORED_CLUSTER_KINDS = (
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("storage.k8s.io", "StorageClass"),
)


@dataclass(frozen=True, kw_only=True)
class GkeBackupProps:
    project_id: str
    location: str
    """Region the backups are stored in (the cluster's)."""
    cluster: str
    """Cluster id (`projects/<p>/locations/<l>/clusters/<name>`)."""
    plan_name: str
    restore_plan_name: str
    namespaces: tuple[str, ...]
    """Namespaces backed up and restored. Required: at least one."""
    encryption_key: str
    """Cloud KMS key id that encrypts the backups (CMEK; they hold Kubernetes Secrets); the Backup for GKE
    service agent must hold encrypter/decrypter on it. Required."""
    cron_schedule: str = "0 3 * * *"
    """UTC, 5-field cron. Default: daily at 03:00."""
    retain_days: int = 30
    """Default: 30."""
    delete_lock_days: int = 0
    """Days during which a backup cannot be deleted, by anyone. Default: 0."""
    include_secrets: bool = True
    """Kubernetes Secrets are part of the backup (encrypted by Google). Default: on."""
    include_volume_data: bool = True
    """Persistent volume snapshots are part of the backup. Default: on."""
    labels: Mapping[str, str] = field(default_factory=dict)


def _check(props: GkeBackupProps) -> None:
    where = f"GkeBackup {props.plan_name}"
    for name in (props.plan_name, props.restore_plan_name):
        if not _NAME.match(name):
            raise ValueError(f"{where}: plan name {name!r} must be 1-63 lower-case letters, digits or '-'")
    if not props.encryption_key:
        raise ValueError(f"{where}: encryption_key is empty; backups hold Secrets and are encrypted with a customer-managed key")
    if not props.namespaces:
        raise ValueError(f"{where}: namespaces is empty; list the namespaces whose state must survive")
    for namespace in props.namespaces:
        if not _NAMESPACE.match(namespace):
            raise ValueError(f"{where}: namespace {namespace!r} is not a Kubernetes name")


class GkeBackup(Construct):
    def __init__(self, scope: Construct, id: str, props: GkeBackupProps) -> None:
        super().__init__(scope, id)
        _check(props)
        b = google.gke_backup_backup_plan
        self.plan = b.GkeBackupBackupPlan(
            self,
            "plan",
            project=props.project_id,
            name=props.plan_name,
            location=props.location,
            cluster=props.cluster,
            description=f"Daily state of {', '.join(props.namespaces)}",
            backup_config=b.GkeBackupBackupPlanBackupConfig(
                include_secrets=props.include_secrets,
                include_volume_data=props.include_volume_data,
                encryption_key=b.GkeBackupBackupPlanBackupConfigEncryptionKey(gcp_kms_encryption_key=props.encryption_key),
                selected_namespaces=b.GkeBackupBackupPlanBackupConfigSelectedNamespaces(namespaces=list(props.namespaces)),
            ),
            backup_schedule=b.GkeBackupBackupPlanBackupSchedule(cron_schedule=props.cron_schedule),
            retention_policy=b.GkeBackupBackupPlanRetentionPolicy(
                backup_retain_days=props.retain_days, backup_delete_lock_days=props.delete_lock_days
            ),
            labels=dict(props.labels),
        )
        r = google.gke_backup_restore_plan
        self.restore_plan = r.GkeBackupRestorePlan(
            self,
            "restore",
            project=props.project_id,
            name=props.restore_plan_name,
            location=props.location,
            backup_plan=self.plan.id,
            cluster=props.cluster,
            description=f"Restore {', '.join(props.namespaces)} from {props.plan_name}",
            restore_config=r.GkeBackupRestorePlanRestoreConfig(
                selected_namespaces=r.GkeBackupRestorePlanRestoreConfigSelectedNamespaces(namespaces=list(props.namespaces)),
                namespaced_resource_restore_mode="FAIL_ON_CONFLICT",
                volume_data_restore_policy="RESTORE_VOLUME_DATA_FROM_BACKUP",
                cluster_resource_conflict_policy="USE_EXISTING_VERSION",
                cluster_resource_restore_scope=r.GkeBackupRestorePlanRestoreConfigClusterResourceRestoreScope(
                    selected_group_kinds=[
                        r.GkeBackupRestorePlanRestoreConfigClusterResourceRestoreScopeSelectedGroupKinds(
                            resource_group=group, resource_kind=kind
                        )
                        for group, kind in RESTORED_CLUSTER_KINDS
                    ]
                ),
            ),
            labels=dict(props.labels),
        )
