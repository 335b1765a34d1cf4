"""Where logs are kept beyond Cloud Logging's default buckets: a locked-able GCS archive of the audit logs
and a BigQuery dataset of the platform's logs for SQL, plus exclusions of noisy logs.

* Archive: every Cloud Audit Logs entry (admin activity, data access, system event, policy denied) goes to
  a CMEK bucket with a retention policy (lockable: then not even a project owner can delete evidence
  early) that moves objects to colder storage as they age. No exclusion applies to this sink.
* Analytics: the workloads', nodes', load balancer's and Cloud SQL's logs go to a CMEK dataset; the sink
  writes date-partitioned tables, whose partitions expire with the dataset's default.
* Noise: the same exclusions drop probe/scrape debug lines, load-balancer health probes and Kubernetes
  API reads (data-access audit) from the analytics sink and, as project exclusions, from the `_Default`
  bucket. Project exclusions apply to `_Default` only, so the archive still receives those audit entries.

Each sink writes as its own service identity (`unique_writer_identity`), which holds one role on its own
destination only: `roles/storage.objectCreator` on the bucket, `roles/bigquery.dataEditor` on the dataset.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping

from constructs_lib.cdk import Construct, TerraformResourceLifecycle, google
from constructs_lib.iam import IamMember, bind_bucket_iam, bind_iam, validate_iam

AUDIT_LOGS = 'logName:"/logs/cloudaudit.googleapis.com%2F"'
ANALYTICS_LOGS = 'resource.type=("k8s_container" OR "k8s_pod" OR "k8s_node" OR "k8s_cluster" OR "http_load_balancer" OR "cloudsql_database")'
OBJECT_CREATOR = "roles/storage.objectCreator"
DATA_EDITOR = "roles/bigquery.dataEditor"
_DATASET = re.compile(r"^[A-Za-z0-9_]{1,1024}$")
SECONDS_PER_DAY = 86400


@dataclass(frozen=True, kw_only=True)
class LogExclusion:
    name: str
    description: str
    filter: str


NOISY_LOGS: tuple[LogExclusion, ...] = (
    LogExclusion(
        name="debug-lines",
        description="Workload lines at DEBUG and below: the services log probes and scrapes there",
        filter='resource.type="k8s_container" AND severity<=DEBUG',
    ),
    LogExclusion(
        name="lb-health-probes",
        description="Successful load-balancer requests to the health endpoints (uptime checks, probes)",
        filter='resource.type="http_load_balancer" AND httpRequest.status<400 AND '
        'httpRequest.requestUrl=~"/(healthz|readyz)$"',
    ),
    LogExclusion(
        name="k8s-api-reads",
        description="Kubernetes API reads and lease renewals in the data-access audit log (controllers poll "
        "constantly); the audit archive still receives them",
        filter='logName:"/logs/cloudaudit.googleapis.com%2Fdata_access" AND protoPayload.serviceName="k8s.io" AND '
        'protoPayload.methodName=~"\\.(get|list|watch)$|leases\\.update$"',
    ),
)


@dataclass(frozen=True, kw_only=True)
class LogSinksProps:
    project_id: str
    location: str
    """Region of the bucket and the dataset (CMEK keys must be in the same location)."""
    archive_bucket: str
    archive_sink: str
    analytics_dataset: str
    """BigQuery dataset id: letters, digits and '_'."""
    analytics_sink: str
    kms_key: str
    """Cloud KMS key id that encrypts the bucket and the dataset; the Cloud Storage and BigQuery service
    agents must hold encrypter/decrypter on it."""
    archive_retention_days: int = 400
    """No object can be deleted or replaced before this age; lifecycle deletes it afterwards. Default: 400."""
    archive_locked: bool = False
    """Lock the retention policy (irreversible). Default: off."""
    nearline_after_days: int = 30
    archive_after_days: int = 90
    analytics_retention_days: int = 30
    """Partitions of the analytics tables expire at this age. Default: 30."""
    exclusions: tuple[LogExclusion, ...] = NOISY_LOGS
    """Dropped from the analytics sink and from `_Default` (never from the archive). Default: NOISY_LOGS."""
    prevent_destroy: bool = True
    """Terraform refuses to plan deleting the bucket or the dataset. Default: on."""
    labels: Mapping[str, str] = field(default_factory=dict)


class LogSinks(Construct):
    def __init__(self, scope: Construct, id: str, props: LogSinksProps) -> None:
        super().__init__(scope, id)
        where = f"LogSinks {props.archive_sink}"
        if not props.kms_key:
            raise ValueError(f"{where}: kms_key is empty; logs are encrypted with a customer-managed key")
        if not _DATASET.match(props.analytics_dataset):
            raise ValueError(f"{where}: dataset id {props.analytics_dataset!r} may only hold letters, digits and '_'")
        if props.archive_after_days <= props.nearline_after_days:
            raise ValueError(f"{where}: archive_after_days must come after nearline_after_days")
        names = [exclusion.name for exclusion in props.exclusions]
        if len(set(names)) != len(names):
            raise ValueError(f"{where}: exclusion names {names} must be unique")
        lifecycle = TerraformResourceLifecycle(prevent_destroy=props.prevent_destroy)

        bucket = google.storage_bucket.StorageBucket(
            self,
            "archive",
            project=props.project_id,
            name=props.archive_bucket,
            location=props.location,
            storage_class="STANDARD",
            force_destroy=False,
            uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            encryption={"default_kms_key_name": props.kms_key},
            retention_policy={
                "retention_period": props.archive_retention_days * SECONDS_PER_DAY,
                "is_locked": props.archive_locked,
            },
            lifecycle_rule=[
                google.storage_bucket.StorageBucketLifecycleRule(
                    action=google.storage_bucket.StorageBucketLifecycleRuleAction(type="SetStorageClass", storage_class=storage_class),
                    condition=google.storage_bucket.StorageBucketLifecycleRuleCondition(age=age),
                )
                for storage_class, age in (("NEARLINE", props.nearline_after_days), ("ARCHIVE", props.archive_after_days))
            ]
            + [
                google.storage_bucket.StorageBucketLifecycleRule(
                    action=google.storage_bucket.StorageBucketLifecycleRuleAction(type="Delete"),
                    condition=google.storage_bucket.StorageBucketLifecycleRuleCondition(age=props.archive_retention_days),
                )
            ],
            labels=dict(props.labels),
            lifecycle=lifecycle,
        )
        archive = google.logging_project_sink.LoggingProjectSink(
            self,
            "archive-sink",
            project=props.project_id,
            name=props.archive_sink,
            description="Every Cloud Audit Logs entry, to the retention-locked archive bucket",
            destination=f"storage.googleapis.com/{bucket.name}",
            filter=AUDIT_LOGS,
            unique_writer_identity=True,
        )
        archive_writer = {"archive-writer": IamMember(role=OBJECT_CREATOR, member=archive.writer_identity)}
        validate_iam(f"{where} bucket", iam_additive=archive_writer)
        bind_bucket_iam(self, bucket.name, iam={}, iam_additive=archive_writer)

        dataset = google.bigquery_dataset.BigqueryDataset(
            self,
            "analytics",
            project=props.project_id,
            dataset_id=props.analytics_dataset,
            location=props.location,
            description="Platform logs (workloads, nodes, load balancer, Cloud SQL), one partitioned table per log",
            default_partition_expiration_ms=props.analytics_retention_days * SECONDS_PER_DAY * 1000,
            default_encryption_configuration={"kms_key_name": props.kms_key},
            delete_contents_on_destroy=False,
            labels=dict(props.labels),
            lifecycle=lifecycle,
        )
        exclusions = [
            google.logging_project_sink.LoggingProjectSinkExclusions(
                name=exclusion.name, description=exclusion.description, filter=exclusion.filter
            )
            for exclusion in props.exclusions
        ]
        analytics = google.logging_project_sink.LoggingProjectSink(
            self,
            "analytics-sink",
            project=props.project_id,
            name=props.analytics_sink,
            description="Workload, node, load-balancer and Cloud SQL logs, to date-partitioned BigQuery tables",
            destination=f"bigquery.googleapis.com/projects/{props.project_id}/datasets/{dataset.dataset_id}",
            filter=ANALYTICS_LOGS,
            bigquery_options={"use_partitioned_tables": True},
            exclusions=exclusions or None,
            unique_writer_identity=True,
        )
        analytics_writer = {"analytics-writer": IamMember(role=DATA_EDITOR, member=analytics.writer_identity)}
        validate_iam(f"{where} dataset", iam_additive=analytics_writer)
        bind_iam(
            self,
            iam_additive=analytics_writer,
            member=google.bigquery_dataset_iam_member.BigqueryDatasetIamMember,
            target={"project": props.project_id, "dataset_id": dataset.dataset_id},
        )
        for exclusion in props.exclusions:
            google.logging_project_exclusion.LoggingProjectExclusion(
                self,
                f"exclude-{exclusion.name}",
                project=props.project_id,
                name=exclusion.name,
                description=f"{exclusion.description} (from _Default; the archive sink keeps audit entries)",
                filter=exclusion.filter,
            )
        self.archive_bucket = bucket
        self.archive_sink = archive
        self.analytics_dataset = dataset
        self.analytics_sink = analytics
