"""The project's Binary Authorization policy: only allowlisted images (plus Google-maintained GKE system
images) may run; everything else is denied, or only audit-logged in dry-run mode.

Pattern syntax (Binary Authorization): `*` matches within one path segment, `**` also across `/`; images
are matched by the name the pod spec uses, so the delivery references third-party images fully qualified
(`docker.io/temporalio/server`, not `temporalio/server`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from constructs_lib.cdk import Construct, google

_PATTERN = re.compile(r"^[a-z0-9.-]+(:[0-9]+)?/[A-Za-z0-9._/*-]+$")


@dataclass(frozen=True, kw_only=True)
class BinaryAuthorizationProps:
    project_id: str
    allowed_images: tuple[str, ...]
    """Image name patterns that may run, `<registry>/<path>` with trailing `*`/`**`. Required."""
    enforce: bool = True
    """Block (True) or only audit-log (False) images outside the allowlist. Default: block."""


class BinaryAuthorization(Construct):
    def __init__(self, scope: Construct, id: str, props: BinaryAuthorizationProps) -> None:
        super().__init__(scope, id)
        where = f"BinaryAuthorization {id}"
        if not props.allowed_images:
            raise ValueError(f"{where}: allowed_images is empty; at least the platform's own registry must be allowed")
        for pattern in props.allowed_images:
            if not _PATTERN.match(pattern) or "*" in pattern.split("/", 1)[0]:
                raise ValueError(
                    f"{where}: image pattern {pattern!r} must be <registry>/<path> with wildcards only after the "
                    "registry, e.g. ghcr.io/kedacore/*"
                )
        if len(set(props.allowed_images)) != len(props.allowed_images):
            raise ValueError(f"{where}: allowed_images lists a pattern twice")
        m = google.binary_authorization_policy
        self.policy = m.BinaryAuthorizationPolicy(
            self,
            "policy",
            project=props.project_id,
            description="Only the platform registry and reviewed third-party images run",
            # Google-maintained system images (kube-system, GMP, GPU drivers, backup agent) pass without an
            # allowlist entry per image.
            global_policy_evaluation_mode="ENABLE",
            admission_whitelist_patterns=[
                m.BinaryAuthorizationPolicyAdmissionWhitelistPatterns(name_pattern=pattern)
                for pattern in props.allowed_images
            ],
            default_admission_rule=m.BinaryAuthorizationPolicyDefaultAdmissionRule(
                evaluation_mode="ALWAYS_DENY",
                enforcement_mode="ENFORCED_BLOCK_AND_AUDIT_LOG" if props.enforce else "DRYRUN_AUDIT_LOG_ONLY",
            ),
        )
