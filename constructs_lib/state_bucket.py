"""GCS bucket that holds Terraform state: versioned, private, never force-destroyed."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from constructs_lib.cdk import Construct, TerraformResourceLifecycle, google
from constructs_lib.iam import IamAdditive, IamBindings, bind_bucket_iam, validate_iam


@dataclass(frozen=True, kw_only=True)
class StateBucketProps:
    name: str
    location: str
    """Region (or multi-region) of the bucket; state is read by every pipeline run, keep it near CI."""
    iam: IamBindings
    """Bucket-level roles, authoritative per role: only these members hold them."""
    kms_key: str
    """Cloud KMS key id (same location) that encrypts state objects; the Cloud Storage service agent must
    hold encrypter/decrypter on it before the bucket is created. Required: state holds resource secrets."""
    iam_additive: IamAdditive = field(default_factory=dict)
    """Additive bucket-level grants, keyed by what they are for. Default: none."""
    labels: Mapping[str, str] = field(default_factory=dict)
    noncurrent_version_days: int = 90
    """Days an overwritten state version is kept before deletion. Default: 90, enough to roll back a
    quarter's worth of applies."""
    noncurrent_versions_kept: int = 20
    """Newest overwritten versions that are never deleted by age. Default: 20."""
    prevent_destroy: bool = True
    """Terraform refuses to plan the bucket's deletion. Default: on; turning it off needs a code change."""


class StateBucket(Construct):
    def __init__(self, scope: Construct, id: str, props: StateBucketProps) -> None:
        super().__init__(scope, id)
        validate_iam(f"StateBucket {props.name}", iam=props.iam, iam_additive=props.iam_additive)
        if not props.kms_key:
            raise ValueError(f"StateBucket {props.name}: kms_key is empty; state is encrypted with a customer-managed key")
        if props.noncurrent_version_days < 1 or props.noncurrent_versions_kept < 1:
            raise ValueError(f"StateBucket {props.name}: retention must keep at least one day and one version")
        self.bucket = google.storage_bucket.StorageBucket(
            self,
            "bucket",
            name=props.name,
            location=props.location,
            storage_class="STANDARD",
            force_destroy=False,
            uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            versioning={"enabled": True},
            soft_delete_policy={"retention_duration_seconds": 7 * 24 * 3600},
            labels=dict(props.labels),
            encryption={"default_kms_key_name": props.kms_key},
            lifecycle_rule=[
                google.storage_bucket.StorageBucketLifecycleRule(
                    action=google.storage_bucket.StorageBucketLifecycleRuleAction(type="Delete"),
                    condition=google.storage_bucket.StorageBucketLifecycleRuleCondition(
                        days_since_noncurrent_time=props.noncurrent_version_days,
                        num_newer_versions=props.noncurrent_versions_kept,
                        with_state="ARCHIVED",
                    ),
                )
            ],
            lifecycle=TerraformResourceLifecycle(prevent_destroy=props.prevent_destroy),
        )
        bind_bucket_iam(self, self.bucket.name, iam=props.iam, iam_additive=props.iam_additive)

    @property
    def name(self) -> str:
        return self.bucket.name
