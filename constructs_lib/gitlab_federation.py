"""Keyless CI identity: GitLab OIDC tokens exchanged through Workload Identity Federation.

Two service accounts: `plan` (read-only, any pipeline of the configured project) and `apply` (writes,
only pipelines of the configured protected branches). The attribute condition rejects tokens of every
other GitLab project before any binding is evaluated.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

from constructs_lib.cdk import Construct, google
from constructs_lib.service_account import ServiceAccount, ServiceAccountProps

_POOL_ID = re.compile(r"^[a-z][a-z0-9-]{3,31}$")


@dataclass(frozen=True, kw_only=True)
class GitlabFederationProps:
    project_id: str
    pool_id: str
    """4-32 characters. Pools are soft-deleted for 30 days, so a deleted id cannot be reused at once."""
    issuer_uri: str
    """GitLab instance URL, e.g. https://gitlab.com."""
    project_path: str
    """Only tokens whose `project_path` claim equals this are accepted."""
    apply_refs: tuple[str, ...]
    """Protected branches whose pipelines may impersonate the apply account."""
    plan_account_id: str
    apply_account_id: str
    plan_roles: tuple[str, ...]
    apply_roles: tuple[str, ...]
    audience: str = ""
    """Expected `aud` claim. Default: the issuer URI, which is what GitLab's `id_tokens` use when
    configured with `aud: <gitlab url>`."""


class GitlabFederation(Construct):
    def __init__(self, scope: Construct, id: str, props: GitlabFederationProps) -> None:
        super().__init__(scope, id)
        if not _POOL_ID.match(props.pool_id):
            raise ValueError(f"GitlabFederation {id}: pool_id {props.pool_id!r} must be 4-32 lower-case letters, digits or '-'")
        if not props.apply_refs:
            raise ValueError(f"GitlabFederation {id}: apply_refs is empty; name the protected branches that may apply")
        self.pool = google.iam_workload_identity_pool.IamWorkloadIdentityPool(
            self,
            "pool",
            project=props.project_id,
            workload_identity_pool_id=props.pool_id,
            display_name="GitLab CI",
            description=f"GitLab pipelines of {props.project_path}",
        )
        self.provider = google.iam_workload_identity_pool_provider.IamWorkloadIdentityPoolProvider(
            self,
            "provider",
            project=props.project_id,
            workload_identity_pool_id=self.pool.workload_identity_pool_id,
            workload_identity_pool_provider_id="gitlab",
            display_name="GitLab OIDC",
            attribute_mapping={
                "google.subject": "assertion.sub",
                "attribute.project_path": "assertion.project_path",
                "attribute.ref": "assertion.ref",
                "attribute.ref_type": "assertion.ref_type",
                "attribute.ref_protected": "assertion.ref_protected",
                # `true` only for pipelines of the protected branches allowed to apply: the apply binding
                # names this one value (a principalSet matches a single attribute value).
                "attribute.apply_allowed": (
                    "assertion.ref_protected == 'true' && assertion.ref_type == 'branch' && ("
                    + " || ".join(f"assertion.ref == {json.dumps(ref)}" for ref in props.apply_refs)
                    + ") ? 'true' : 'false'"
                ),
            },
            attribute_condition=f"assertion.project_path == {json.dumps(props.project_path)}",
            oidc={
                "issuer_uri": props.issuer_uri,
                "allowed_audiences": [props.audience or props.issuer_uri],
            },
        )
        pool_principals = f"principalSet://iam.googleapis.com/{self.pool.name}"
        self.plan = ServiceAccount(
            self,
            "plan",
            ServiceAccountProps(
                project_id=props.project_id,
                account_id=props.plan_account_id,
                display_name="CI plan (read-only)",
                description=f"terraform plan from any pipeline of {props.project_path}",
                project_roles=props.plan_roles,
                impersonators=(f"{pool_principals}/*",),
            ),
        )
        self.apply = ServiceAccount(
            self,
            "apply",
            ServiceAccountProps(
                project_id=props.project_id,
                account_id=props.apply_account_id,
                display_name="CI apply",
                description=f"terraform apply from protected branches {', '.join(props.apply_refs)}",
                project_roles=props.apply_roles,
                impersonators=(f"{pool_principals}/attribute.apply_allowed/true",),
            ),
        )
