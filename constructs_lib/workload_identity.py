"""Workload Identity: a Kubernetes service account (KSA) acts as a Google service account (GSA).

Each binding grants `roles/iam.workloadIdentityUser` on the GSA to exactly one KSA,
`serviceAccount:<project>.svc.id.goog[<namespace>/<ksa>]`. That member names the project's workload
identity pool, which only exists once a cluster with Workload Identity has been created in the project; IAM
rejects the binding before that ("Identity Pool does not exist"). So these bindings are made after the
cluster (the cluster stack makes them depend on it), while the GSAs themselves live in the security stack.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping

from constructs_lib.cdk import Construct, google

_K8S_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def workload_pool(project_id: str) -> str:
    """The project's GKE workload identity pool."""
    return f"{project_id}.svc.id.goog"


def workload_identity_member(project_id: str, namespace: str, service_account: str) -> str:
    return f"serviceAccount:{workload_pool(project_id)}[{namespace}/{service_account}]"


@dataclass(frozen=True, kw_only=True)
class WorkloadBinding:
    google_service_account: str
    """GSA resource name, `projects/<project>/serviceAccounts/<email>` (the `name` attribute)."""
    namespace: str
    """Kubernetes namespace of the KSA."""
    kubernetes_service_account: str
    """KSA name; it carries the `iam.gke.io/gcp-service-account` annotation in the delivery."""


@dataclass(frozen=True, kw_only=True)
class WorkloadIdentityProps:
    project_id: str
    bindings: Mapping[str, WorkloadBinding] = field(default_factory=dict)
    """Component (also the construct id, keep it stable) → its binding. Default: none."""


class WorkloadIdentity(Construct):
    def __init__(self, scope: Construct, id: str, props: WorkloadIdentityProps) -> None:
        super().__init__(scope, id)
        seen: dict[tuple[str, str], str] = {}
        for component, binding in props.bindings.items():
            for what, value in (("namespace", binding.namespace), ("kubernetes_service_account", binding.kubernetes_service_account)):
                if not _K8S_NAME.match(value):
                    raise ValueError(
                        f"WorkloadIdentity {id}: {component}: {what} {value!r} is not a Kubernetes name "
                        "(lower-case letters, digits and '-', at most 63 characters)"
                    )
            ksa = (binding.namespace, binding.kubernetes_service_account)
            if ksa in seen:
                raise ValueError(
                    f"WorkloadIdentity {id}: {component} and {seen[ksa]} both use KSA {ksa[0]}/{ksa[1]}; a KSA "
                    "acts as exactly one Google service account, give each component its own"
                )
            seen[ksa] = component
            if not binding.google_service_account:
                raise ValueError(f"WorkloadIdentity {id}: {component}: google_service_account is empty")
        self.members: dict[str, str] = {}
        for component, binding in props.bindings.items():
            member = workload_identity_member(props.project_id, binding.namespace, binding.kubernetes_service_account)
            self.members[component] = member
            google.service_account_iam_member.ServiceAccountIamMember(
                self,
                component,
                service_account_id=binding.google_service_account,
                role="roles/iam.workloadIdentityUser",
                member=member,
            )
