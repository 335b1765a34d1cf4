"""One IAM shape everywhere, as cloud-foundation-fabric has it.

Every construct that grants access on the resource it creates takes the same two props:

* `iam`: `{role: (member, ...)}`, authoritative per role on that resource (`google_*_iam_binding`): only
  the listed members hold the role there.
* `iam_additive`: `{key: IamMember(role, member, condition)}`, one additive grant per entry
  (`google_*_iam_member`), for grants that share a role with members managed elsewhere. The key is the
  construct id: name the grant by what it is ("ci-apply", "nodes"), never by its position.

A service account additionally takes `iam_project_roles`: roles the account itself holds on its project.

Both shapes go through `validate_iam`, and resources are made by `bind_iam`, so every construct rejects the
same mistakes with the same message and keys construct ids by value.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

IamBindings = Mapping[str, Sequence[str]]

PRIMITIVE_ROLES = frozenset({"roles/owner", "roles/editor", "roles/viewer"})
_ROLE = re.compile(r"^(roles/[a-zA-Z0-9_.]+|projects/[^/]+/roles/[a-zA-Z0-9_.]+|\$\{.+\})$")
_MEMBER = re.compile(r"^(serviceAccount:|user:|group:|domain:|principal:|principalSet:|\$\{).+")
_KEY = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$")


@dataclass(frozen=True, kw_only=True)
class IamCondition:
    """An IAM condition (CEL) that narrows a grant."""

    title: str
    expression: str
    description: str = ""


@dataclass(frozen=True, kw_only=True)
class IamMember:
    """One additive grant of `role` to `member`, optionally conditioned."""

    role: str
    member: str
    condition: IamCondition | None = None


IamAdditive = Mapping[str, IamMember]


def _check_role(role: str, where: str) -> None:
    if role in PRIMITIVE_ROLES:
        raise ValueError(
            f"{where}: role {role!r} is a primitive role; grant the predefined or custom role that covers "
            "only the needed permissions"
        )
    if not _ROLE.match(role):
        raise ValueError(f"{where}: role {role!r} is not a role name (expected roles/<name> or projects/<p>/roles/<name>)")


def _check_member(member: str, role: str, where: str) -> None:
    if member in ("allUsers", "allAuthenticatedUsers"):
        raise ValueError(f"{where}: role {role!r} is granted to {member!r}; public grants are not allowed")
    if not _MEMBER.match(member):
        raise ValueError(
            f"{where}: member {member!r} of {role!r} is not an IAM principal "
            "(expected serviceAccount:, group:, user:, principal: or principalSet:)"
        )


def validate_iam(
    where: str,
    *,
    iam: IamBindings | None = None,
    iam_additive: IamAdditive | None = None,
    roles: Sequence[str] = (),
) -> None:
    """Reject primitive roles, public or malformed members, empty bindings and positional or duplicate
    keys, with a message that names the place. `roles` are roles without members yet (a service account's
    own project roles, whose member is the account being created)."""
    for role in roles:
        _check_role(role, where)
    if len(set(roles)) != len(roles):
        raise ValueError(f"{where}: a role is listed twice in {list(roles)}")
    for role, members in (iam or {}).items():
        _check_role(role, where)
        if not members:
            raise ValueError(f"{where}: role {role!r} has no members; drop the role or name its members")
        if isinstance(members, str):
            raise ValueError(f"{where}: members of {role!r} must be a tuple of principals, got the string {members!r}")
        for member in members:
            _check_member(member, role, where)
    for key, grant in (iam_additive or {}).items():
        if not _KEY.match(key) or key.isdigit():
            raise ValueError(
                f"{where}: iam_additive key {key!r} must name the grant (letters, digits, '-', '_' or '.'), not count it"
            )
        _check_role(grant.role, where)
        _check_member(grant.member, grant.role, where)
        if grant.role in (iam or {}):
            raise ValueError(
                f"{where}: role {grant.role!r} is both authoritative (iam) and additive (iam_additive key {key!r}); "
                "the binding would remove the additive member on every apply"
            )


def unique_members(members: Sequence[str]) -> list[str]:
    """Members without duplicates, in the order given. Never sorted: members are often unresolved CDKTF
    tokens, whose text depends on how many tokens the process created before, so sorting them would
    reorder the synthesized JSON from one run to the next."""
    return list(dict.fromkeys(members))


def short_role(role: str) -> str:
    """`roles/storage.objectViewer` → `storage.objectViewer`: the role part of construct ids."""
    return role.rsplit("/", 1)[-1]


def condition_block(condition: IamCondition | None) -> dict | None:
    if condition is None:
        return None
    block = {"title": condition.title, "expression": condition.expression}
    if condition.description:
        block["description"] = condition.description
    return block


def bind_iam(
    scope,
    *,
    iam: IamBindings | None = None,
    iam_additive: IamAdditive | None = None,
    binding: Callable[..., object] | None = None,
    member: Callable[..., object] | None = None,
    target: Mapping[str, object],
    binding_id: Callable[[str], str] = lambda role: f"iam-{short_role(role)}",
) -> None:
    """Create one `binding` resource per role of `iam` and one `member` resource per entry of
    `iam_additive` (construct id = its key), each on `target` (the resource's identifying arguments, e.g.
    `{"bucket": name}`). `binding_id` exists so constructs keep the ids their resources already have."""
    for role, members in (iam or {}).items():
        binding(scope, binding_id(role), **target, role=role, members=unique_members(members))
    for key, grant in (iam_additive or {}).items():
        extra = {"condition": condition_block(grant.condition)} if grant.condition else {}
        member(scope, key, **target, role=grant.role, member=grant.member, **extra)


def bind_bucket_iam(
    scope, bucket: str, *, iam: IamBindings, iam_additive: IamAdditive, binding_id: Callable[[str], str] | None = None
) -> None:
    """`bind_iam` for a Cloud Storage bucket."""
    from constructs_lib.cdk import google

    extra = {"binding_id": binding_id} if binding_id else {}
    bind_iam(
        scope,
        iam=iam,
        iam_additive=iam_additive,
        binding=google.storage_bucket_iam_binding.StorageBucketIamBinding,
        member=google.storage_bucket_iam_member.StorageBucketIamMember,
        target={"bucket": bucket},
        **extra,
    )


def service_account_member(email: str) -> str:
    return f"serviceAccount:{email}"
