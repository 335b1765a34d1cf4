"""A Secret Manager secret that only its owner can read.

The secret is a container: this construct never creates a version, so no credential ever appears in the
synthesized JSON or in Terraform state. Values are added out of band (docs/layers.md, "Adding secret
values"), and workloads read them through Workload Identity.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping

from constructs_lib.cdk import Construct, google
from constructs_lib.iam import IamAdditive, IamBindings, bind_iam, short_role, validate_iam

_SECRET_ID = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
ACCESSOR_ROLE = "roles/secretmanager.secretAccessor"


@dataclass(frozen=True, kw_only=True)
class SecretProps:
    project_id: str
    secret_id: str
    """`<prefix>-<credential>`: letters, digits, '-' and '_', at most 255 characters."""
    iam: IamBindings
    """Roles on this secret, authoritative per role. Required: `roles/secretmanager.secretAccessor` with the
    principals that may read the secret's versions (so nobody else holds the accessor role here)."""
    iam_additive: IamAdditive = field(default_factory=dict)
    """Additive grants on this secret, keyed by what they are for. Default: none."""
    replica_locations: tuple[str, ...] = ()
    """Regions of user-managed replication. Default: empty, automatic replication (Google picks)."""
    labels: Mapping[str, str] = field(default_factory=dict)
    deletion_protection: bool = True
    """Terraform refuses to destroy the secret (and with it every version). Default: on."""


class Secret(Construct):
    def __init__(self, scope: Construct, id: str, props: SecretProps) -> None:
        super().__init__(scope, id)
        if not _SECRET_ID.match(props.secret_id):
            raise ValueError(
                f"Secret {id}: secret_id {props.secret_id!r} must be 1-255 letters, digits, '-' or '_'"
            )
        if not props.iam.get(ACCESSOR_ROLE):
            raise ValueError(
                f"Secret {props.secret_id}: iam has no {ACCESSOR_ROLE} members; name the one service account that owns "
                "the credential"
            )
        if len(set(props.replica_locations)) != len(props.replica_locations):
            raise ValueError(f"Secret {props.secret_id}: replica_locations {list(props.replica_locations)} lists a region twice")
        validate_iam(f"Secret {props.secret_id}", iam=props.iam, iam_additive=props.iam_additive)
        if props.replica_locations:
            module = google.secret_manager_secret
            replication = module.SecretManagerSecretReplication(
                user_managed=module.SecretManagerSecretReplicationUserManaged(
                    replicas=[
                        module.SecretManagerSecretReplicationUserManagedReplicas(location=location)
                        for location in props.replica_locations
                    ]
                )
            )
        else:
            replication = google.secret_manager_secret.SecretManagerSecretReplication(
                auto=google.secret_manager_secret.SecretManagerSecretReplicationAuto()
            )
        self.secret = google.secret_manager_secret.SecretManagerSecret(
            self,
            "secret",
            project=props.project_id,
            secret_id=props.secret_id,
            replication=replication,
            labels=dict(props.labels),
            deletion_protection=props.deletion_protection,
        )
        bind_iam(
            self,
            iam=props.iam,
            iam_additive=props.iam_additive,
            binding=google.secret_manager_secret_iam_binding.SecretManagerSecretIamBinding,
            member=google.secret_manager_secret_iam_member.SecretManagerSecretIamMember,
            target={"project": props.project_id, "secret_id": self.secret.secret_id},
            # `accessor`: the id the owner's binding has always had (renaming it would move state).
            binding_id=lambda role: "accessor" if role == ACCESSOR_ROLE else f"iam-{short_role(role)}",
        )
