"""A project custom role: for when the narrowest predefined role still grants more than a component needs."""
from __future__ import annotations

import re
from dataclasses import dataclass

from constructs_lib.cdk import Construct, google

_ROLE_ID = re.compile(r"^[a-zA-Z0-9_.]{3,64}$")
_PERMISSION = re.compile(r"^[a-z][a-zA-Z0-9]*(\.[a-zA-Z0-9]+){2}$")


@dataclass(frozen=True, kw_only=True)
class CustomRoleProps:
    project_id: str
    role_id: str
    """3-64 letters, digits, '_' or '.'. A deleted role id stays reserved for 37 days."""
    title: str
    description: str
    """Who holds the role and why the predefined alternative was too broad."""
    permissions: tuple[str, ...]
    """`<service>.<resource>.<verb>` permissions. Required: at least one."""


class CustomRole(Construct):
    def __init__(self, scope: Construct, id: str, props: CustomRoleProps) -> None:
        super().__init__(scope, id)
        where = f"CustomRole {props.role_id}"
        if not _ROLE_ID.match(props.role_id):
            raise ValueError(f"{where}: role_id {props.role_id!r} must be 3-64 letters, digits, '_' or '.' (no '-')")
        if not props.permissions:
            raise ValueError(f"{where}: permissions is empty; list the permissions the holder needs")
        for permission in props.permissions:
            if not _PERMISSION.match(permission):
                raise ValueError(f"{where}: {permission!r} is not a permission (expected <service>.<resource>.<verb>)")
        if len(set(props.permissions)) != len(props.permissions):
            raise ValueError(f"{where}: a permission is listed twice")
        self.role = google.project_iam_custom_role.ProjectIamCustomRole(
            self,
            "role",
            project=props.project_id,
            role_id=props.role_id,
            title=props.title,
            description=props.description,
            permissions=sorted(props.permissions),
            stage="GA",
        )
        self.name = f"projects/{props.project_id}/roles/{props.role_id}"
        """The role's full name, known at synth time, so construct ids derived from it stay stable."""
