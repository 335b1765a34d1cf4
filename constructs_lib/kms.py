"""Cloud KMS key ring with symmetric keys that rotate, never get destroyed by Terraform, and are usable only
by the principals named per key.

Why `prevent_destroy` is unconditional: data encrypted with a key (GKE secrets in etcd, registry layers)
outlives any single apply, and a destroyed key makes that data unreadable. Key ring and key names can never
be reused in a project either, so a destroy/re-create cycle cannot work anyway. To tear down a disposable
environment, `terraform state rm` the keys first (docs/layers.md).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping

from constructs_lib.cdk import Construct, TerraformResourceLifecycle, google
from constructs_lib.iam import IamBindings, bind_iam, short_role, validate_iam
from constructs_lib.limits import MAX_KEY_ROTATION_DAYS

_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,63}$")
ENCRYPTER_ROLE = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
SECONDS_PER_DAY = 86400


@dataclass(frozen=True, kw_only=True)
class KmsKeySpec:
    name: str
    """Key name inside the ring; also the construct id (renaming it means a new key)."""
    iam: IamBindings
    """Roles on this key, authoritative per role. Required: `roles/cloudkms.cryptoKeyEncrypterDecrypter` with
    the service agents that encrypt with it."""


@dataclass(frozen=True, kw_only=True)
class KeyRingProps:
    project_id: str
    name: str
    location: str
    """Region of the ring; a key can only protect resources in its own location."""
    keys: tuple[KmsKeySpec, ...]
    rotation_days: int = 90
    """A new primary version every N days (1-90). Default: 90, the CIS benchmark maximum."""
    labels: Mapping[str, str] = field(default_factory=dict)


class KeyRing(Construct):
    def __init__(self, scope: Construct, id: str, props: KeyRingProps) -> None:
        super().__init__(scope, id)
        where = f"KeyRing {props.name}"
        if not 1 <= props.rotation_days <= MAX_KEY_ROTATION_DAYS:
            raise ValueError(
                f"{where}: rotation_days {props.rotation_days} must be within 1-{MAX_KEY_ROTATION_DAYS} "
                f"(CIS: at most {MAX_KEY_ROTATION_DAYS})"
            )
        if not props.keys:
            raise ValueError(f"{where}: no keys; list the keys the ring holds")
        names = [key.name for key in props.keys]
        if len(set(names)) != len(names):
            raise ValueError(f"{where}: key names must be unique, got {names}")
        for key in props.keys:
            if not _NAME.match(key.name):
                raise ValueError(f"{where}: key name {key.name!r} must be 1-63 letters, digits, '-' or '_'")
            if not key.iam.get(ENCRYPTER_ROLE):
                raise ValueError(f"{where}: key {key.name!r} has no users; name the service agent that encrypts with it")
            validate_iam(f"{where}/{key.name}", iam=key.iam)
        self.ring = google.kms_key_ring.KmsKeyRing(
            self, "ring", project=props.project_id, name=props.name, location=props.location
        )
        self.keys: dict[str, google.kms_crypto_key.KmsCryptoKey] = {}
        for key in props.keys:
            crypto_key = google.kms_crypto_key.KmsCryptoKey(
                self,
                key.name,
                name=key.name,
                key_ring=self.ring.id,
                purpose="ENCRYPT_DECRYPT",
                rotation_period=f"{props.rotation_days * SECONDS_PER_DAY}s",
                version_template=google.kms_crypto_key.KmsCryptoKeyVersionTemplate(
                    algorithm="GOOGLE_SYMMETRIC_ENCRYPTION", protection_level="SOFTWARE"
                ),
                labels=dict(props.labels),
                lifecycle=TerraformResourceLifecycle(prevent_destroy=True),
            )
            bind_iam(
                self,
                iam=key.iam,
                binding=google.kms_crypto_key_iam_binding.KmsCryptoKeyIamBinding,
                target={"crypto_key_id": crypto_key.id},
                # `<key>-users`: the id the encrypter binding has always had (renaming it would move state).
                binding_id=lambda role, key=key: f"{key.name}-users" if role == ENCRYPTER_ROLE else f"{key.name}-{short_role(role)}",
            )
            self.keys[key.name] = crypto_key
