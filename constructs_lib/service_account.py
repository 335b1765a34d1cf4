"""A Google service account with its project roles and the grants on itself, in the project's one IAM
shape (constructs_lib/iam.py). Never a key."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping

from constructs_lib.cdk import Construct, google
from constructs_lib.iam import IamAdditive, IamBindings, IamCondition, bind_iam, condition_block, short_role, validate_iam

_ACCOUNT_ID = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")


@dataclass(frozen=True, kw_only=True)
class ServiceAccountProps:
    project_id: str
    account_id: str
    """6-30 characters: `<prefix>-<role>`."""
    display_name: str
    description: str = ""
    iam_project_roles: tuple[str, ...] = ()
    """Roles this account holds on its project, granted additively (`google_project_iam_member`, construct
    id `role-<role>`). Default: none."""
    iam_project_conditions: Mapping[str, IamCondition] = field(default_factory=dict)
    """Role of `iam_project_roles` → the condition that narrows it. Default: every role unconditional."""
    iam: IamBindings = field(default_factory=dict)
    """Roles on this account (who may act as it, e.g. `roles/iam.serviceAccountUser`), authoritative per
    role. Default: none."""
    iam_additive: IamAdditive = field(default_factory=dict)
    """Additive grants on this account, e.g. `roles/iam.workloadIdentityUser` to a Workload Identity
    Federation principalSet, keyed by what the grant is for. Default: none."""


class ServiceAccount(Construct):
    def __init__(self, scope: Construct, id: str, props: ServiceAccountProps) -> None:
        super().__init__(scope, id)
        if not _ACCOUNT_ID.match(props.account_id):
            raise ValueError(
                f"ServiceAccount {id}: account_id {props.account_id!r} must be 6-30 lower-case letters, digits or "
                "'-', starting with a letter (shorten the prefix or the role)"
            )
        where = f"ServiceAccount {props.account_id}"
        validate_iam(where, iam=props.iam, iam_additive=props.iam_additive, roles=props.iam_project_roles)
        stray = sorted(set(props.iam_project_conditions) - set(props.iam_project_roles))
        if stray:
            raise ValueError(f"{where}: iam_project_conditions names {stray}, which are not in iam_project_roles")
        self.account = google.service_account.ServiceAccount(
            self,
            "account",
            project=props.project_id,
            account_id=props.account_id,
            display_name=props.display_name,
            description=props.description or None,
        )
        self.member = f"serviceAccount:{self.account.email}"
        for role in sorted(props.iam_project_roles):
            condition = props.iam_project_conditions.get(role)
            google.project_iam_member.ProjectIamMember(
                self,
                f"role-{short_role(role)}",
                project=props.project_id,
                role=role,
                member=self.member,
                condition=condition_block(condition),
            )
        bind_iam(
            self,
            iam=props.iam,
            iam_additive=props.iam_additive,
            binding=google.service_account_iam_binding.ServiceAccountIamBinding,
            member=google.service_account_iam_member.ServiceAccountIamMember,
            target={"service_account_id": self.account.name},
        )

    @property
    def email(self) -> str:
        return self.account.email
