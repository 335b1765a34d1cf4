"""Keyless CI identities: GitLab OIDC tokens exchanged through Workload Identity Federation.

The provider accepts tokens of one GitLab project only, named by its numeric `project_id` and
`namespace_id` (paths can be renamed or re-registered by someone else; ids never are). Its audience is
the provider's own resource name (GCP's default when `allowed_audiences` is empty), so a token minted for
another relying party is useless here.

Each identity says which pipelines may act as it (`CiTrust`):
* `project`: any pipeline of the project, merge-request pipelines included (read-only identities only);
* `protected`: pipelines of protected branches or tags, never `merge_request_event` pipelines;
* `apply_refs`: `protected`, and the ref is one of the configured branches.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Literal, Mapping

from constructs_lib.cdk import Construct, google
from constructs_lib.iam import IamCondition, IamMember
from constructs_lib.service_account import ServiceAccount, ServiceAccountProps

_POOL_ID = re.compile(r"^[a-z][a-z0-9-]{3,31}$")
WORKLOAD_IDENTITY_USER = "roles/iam.workloadIdentityUser"
CiTrust = Literal["project", "protected", "apply_refs"]
# The value each trust level's attribute must have; the binding names one principalSet per level.
_TRUST_ATTRIBUTE = {"protected": "attribute.protected/true", "apply_refs": "attribute.apply_allowed/true"}


@dataclass(frozen=True, kw_only=True)
class CiRole:
    """A project role of a CI identity and why the identity needs it."""

    role: str
    reason: str
    """One line a reviewer can judge: what the identity does with the role."""
    condition: IamCondition | None = None
    """Narrows the grant (e.g. which roles projectIamAdmin may grant). Default: unconditional."""


@dataclass(frozen=True, kw_only=True)
class CiIdentity:
    account_id: str
    """6-30 characters: `<prefix>-ci-<duty>`."""
    display_name: str
    trust: CiTrust
    """Which pipelines may act as this identity (see the module docstring)."""
    roles: tuple[CiRole, ...] = ()
    """Project roles, each with its reason. Default: none (grants live on resources, e.g. a repository)."""


@dataclass(frozen=True, kw_only=True)
class GitlabFederationProps:
    project_id: str
    pool_id: str
    """4-32 characters. Pools are soft-deleted for 30 days, so a deleted id cannot be reused at once."""
    issuer_uri: str
    """GitLab instance URL, e.g. https://gitlab.com."""
    gitlab_project_id: int
    """Numeric id of the GitLab project: only its tokens are accepted."""
    gitlab_namespace_id: int
    """Numeric id of the project's group (namespace): checked too, so a transferred project stops working."""
    apply_refs: tuple[str, ...]
    """Protected branches whose pipelines may act as the `apply_refs` identities."""
    identities: Mapping[str, CiIdentity] = field(default_factory=dict)
    """Duty (also the construct id: keep it stable) → identity."""


class GitlabFederation(Construct):
    def __init__(self, scope: Construct, id: str, props: GitlabFederationProps) -> None:
        super().__init__(scope, id)
        where = f"GitlabFederation {id}"
        if not _POOL_ID.match(props.pool_id):
            raise ValueError(f"{where}: pool_id {props.pool_id!r} must be 4-32 lower-case letters, digits or '-'")
        if not props.apply_refs:
            raise ValueError(f"{where}: apply_refs is empty; name the protected branches that may apply")
        for name, value in (("gitlab_project_id", props.gitlab_project_id), ("gitlab_namespace_id", props.gitlab_namespace_id)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{where}: {name} {value!r} must be GitLab's positive numeric id")
        for duty, identity in props.identities.items():
            for row in identity.roles:
                if len(row.reason.split()) < 3:
                    raise ValueError(f"{where}: {duty} role {row.role} needs a reason (a line a reviewer can judge)")
        self.pool = google.iam_workload_identity_pool.IamWorkloadIdentityPool(
            self,
            "pool",
            project=props.project_id,
            workload_identity_pool_id=props.pool_id,
            display_name="GitLab CI",
            description=f"GitLab pipelines of project {props.gitlab_project_id}",
        )
        protected = "assertion.ref_protected == 'true' && assertion.pipeline_source != 'merge_request_event'"
        apply_ref = " || ".join(f"assertion.ref == {json.dumps(ref)}" for ref in props.apply_refs)
        self.provider = google.iam_workload_identity_pool_provider.IamWorkloadIdentityPoolProvider(
            self,
            "provider",
            project=props.project_id,
            workload_identity_pool_id=self.pool.workload_identity_pool_id,
            workload_identity_pool_provider_id="gitlab",
            display_name="GitLab OIDC",
            attribute_mapping={
                "google.subject": "assertion.sub",
                "attribute.project_id": "assertion.project_id",
                "attribute.namespace_id": "assertion.namespace_id",
                "attribute.ref": "assertion.ref",
                "attribute.ref_type": "assertion.ref_type",
                "attribute.ref_protected": "assertion.ref_protected",
                "attribute.pipeline_source": "assertion.pipeline_source",
                # A principalSet matches one attribute value, so each trust level is one computed attribute.
                "attribute.protected": f"{protected} ? 'true' : 'false'",
                "attribute.apply_allowed": (
                    f"{protected} && assertion.ref_type == 'branch' && ({apply_ref}) ? 'true' : 'false'"
                ),
            },
            # GitLab sends the ids as strings.
            attribute_condition=(
                f"assertion.project_id == {json.dumps(str(props.gitlab_project_id))} && "
                f"assertion.namespace_id == {json.dumps(str(props.gitlab_namespace_id))}"
            ),
            # No allowed_audiences: the token's `aud` must then be this provider's own resource name
            # (`//iam.googleapis.com/projects/<number>/.../providers/gitlab`), the `audience` output.
            oidc={"issuer_uri": props.issuer_uri},
        )
        pool_principals = f"principalSet://iam.googleapis.com/{self.pool.name}"
        self.audience = f"//iam.googleapis.com/{self.provider.name}"
        self.accounts: dict[str, ServiceAccount] = {}
        for duty, identity in props.identities.items():
            principal = (
                f"{pool_principals}/attribute.project_id/{props.gitlab_project_id}"
                if identity.trust == "project"
                else f"{pool_principals}/{_TRUST_ATTRIBUTE[identity.trust]}"
            )
            self.accounts[duty] = ServiceAccount(
                self,
                duty,
                ServiceAccountProps(
                    project_id=props.project_id,
                    account_id=identity.account_id,
                    display_name=identity.display_name,
                    description=f"GitLab project {props.gitlab_project_id}, {identity.trust} pipelines",
                    iam_project_roles=tuple(row.role for row in identity.roles),
                    iam_project_conditions={row.role: row.condition for row in identity.roles if row.condition},
                    iam_additive={
                        f"gitlab-{identity.trust.replace('_', '-')}": IamMember(role=WORKLOAD_IDENTITY_USER, member=principal)
                    },
                ),
            )
