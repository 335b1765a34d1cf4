"""A Google service account with its project roles, in the project's one IAM shape. Never a key."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from constructs_lib.cdk import Construct, google
from constructs_lib.iam import validate_iam

_ACCOUNT_ID = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")


@dataclass(frozen=True, kw_only=True)
class ServiceAccountProps:
    project_id: str
    account_id: str
    """6-30 characters: `<prefix>-<role>`."""
    display_name: str
    description: str = ""
    project_roles: tuple[str, ...] = ()
    """Project-level roles, granted additively (`google_project_iam_member`). Default: none."""
    impersonators: tuple[str, ...] = field(default=())
    """Principals allowed to act as this account (`roles/iam.workloadIdentityUser`), e.g. a Workload
    Identity principalSet or `serviceAccount:<project>.svc.id.goog[<ns>/<ksa>]`. Default: none."""


class ServiceAccount(Construct):
    def __init__(self, scope: Construct, id: str, props: ServiceAccountProps) -> None:
        super().__init__(scope, id)
        if not _ACCOUNT_ID.match(props.account_id):
            raise ValueError(
                f"ServiceAccount {id}: account_id {props.account_id!r} must be 6-30 lower-case letters, digits or "
                "'-', starting with a letter (shorten the prefix or the role)"
            )
        where = f"ServiceAccount {props.account_id}"
        validate_iam({role: ["serviceAccount:placeholder"] for role in props.project_roles}, where)
        if props.impersonators:
            validate_iam({"roles/iam.workloadIdentityUser": props.impersonators}, where)
        self.account = google.service_account.ServiceAccount(
            self,
            "account",
            project=props.project_id,
            account_id=props.account_id,
            display_name=props.display_name,
            description=props.description or None,
        )
        self.member = f"serviceAccount:{self.account.email}"
        for role in sorted(set(props.project_roles)):
            google.project_iam_member.ProjectIamMember(
                self,
                f"role-{role.rsplit('/', 1)[-1]}",
                project=props.project_id,
                role=role,
                member=self.member,
            )
        for index, principal in enumerate(props.impersonators):
            google.service_account_iam_member.ServiceAccountIamMember(
                self,
                f"impersonator-{index}",
                service_account_id=self.account.name,
                role="roles/iam.workloadIdentityUser",
                member=principal,
            )

    @property
    def email(self) -> str:
        return self.account.email
