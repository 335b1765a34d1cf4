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
from constructs_lib.iam import validate_iam, unique_members
from constructs_lib.limits import MAX_KEY_ROTATION_DAYS

_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,63}$")
ENCRYPTER_ROLE = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
SECONDS_PER_DAY = 86400


@dataclass(frozen=True, kw_only=True)
class KmsKeySpec:
    name: str
    """Key name inside the ring; also the construct id (renaming it means a new key)."""
    users: tuple[str, ...]
    """Principals granted encrypt/decrypt on this key only (authoritative). Required: at least one."""


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
            if not key.users:
                raise ValueError(f"{where}: key {key.name!r} has no users; name the service agent that encrypts with it")
            validate_iam({ENCRYPTER_ROLE: key.users}, f"{where}/{key.name}")
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
            google.kms_crypto_key_iam_binding.KmsCryptoKeyIamBinding(
                self,
                f"{key.name}-users",
                crypto_key_id=crypto_key.id,
                role=ENCRYPTER_ROLE,
                members=unique_members(key.users),
            )
            self.keys[key.name] = crypto_key
