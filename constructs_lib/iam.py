"""One IAM shape everywhere: `{role: (member, ...)}`, validated the same way for every resource type."""
from __future__ import annotations

import re
from typing import Mapping, Sequence

IamBindings = Mapping[str, Sequence[str]]

PRIMITIVE_ROLES = frozenset({"roles/owner", "roles/editor", "roles/viewer"})
_ROLE = re.compile(r"^(roles/[a-zA-Z0-9_.]+|projects/[^/]+/roles/[a-zA-Z0-9_.]+|\$\{.+\})$")
_MEMBER = re.compile(r"^(serviceAccount:|user:|group:|domain:|principal:|principalSet:|\$\{).+")


def validate_iam(iam: IamBindings, where: str) -> None:
    """Reject primitive roles and malformed roles/members with a message that names the place."""
    for role, members in iam.items():
        if role in PRIMITIVE_ROLES:
            raise ValueError(
                f"{where}: role {role!r} is a primitive role; grant the predefined or custom role that covers "
                "only the needed permissions"
            )
        if not _ROLE.match(role):
            raise ValueError(f"{where}: role {role!r} is not a role name (expected roles/<name> or projects/<p>/roles/<name>)")
        if not members:
            raise ValueError(f"{where}: role {role!r} has no members; drop the role or name its members")
        for member in members:
            if member in ("allUsers", "allAuthenticatedUsers"):
                raise ValueError(f"{where}: role {role!r} is granted to {member!r}; public grants are not allowed")
            if not _MEMBER.match(member):
                raise ValueError(
                    f"{where}: member {member!r} of {role!r} is not an IAM principal "
                    "(expected serviceAccount:, group:, user:, principal: or principalSet:)"
                )


def unique_members(members: Sequence[str]) -> list[str]:
    """Members without duplicates, in the order given. Never sorted: members are often unresolved CDKTF
    tokens, whose text depends on how many tokens the process created before, so sorting them would
    reorder the synthesized JSON from one run to the next."""
    return list(dict.fromkeys(members))


def service_account_member(email: str) -> str:
    return f"serviceAccount:{email}"
