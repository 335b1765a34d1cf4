"""`<env>-bootstrap`: the things every other stack needs before it can run: APIs, the state bucket and
the keyless CI identities. Applied once by a person (see docs/bootstrap.md), then by CI."""
from __future__ import annotations

from pathlib import Path

from constructs_lib.cdk import App, google
from constructs_lib.dependencies import depend_on
from constructs_lib.gitlab_federation import GitlabFederation, GitlabFederationProps
from constructs_lib.project_services import ProjectServices, ProjectServicesProps
from constructs_lib.state_bucket import StateBucket, StateBucketProps
from stacks.base import LayerStack
from stacks.config import EnvironmentConfig
from stacks.contracts import BootstrapOutputs

REQUIRED_SERVICES = (
    "artifactregistry.googleapis.com",
    "binaryauthorization.googleapis.com",
    "certificatemanager.googleapis.com",
    "cloudkms.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "compute.googleapis.com",
    "container.googleapis.com",
    "containersecurity.googleapis.com",
    "dns.googleapis.com",
    "gkebackup.googleapis.com",
    "iam.googleapis.com",
    "iamcredentials.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "secretmanager.googleapis.com",
    "servicenetworking.googleapis.com",
    "serviceusage.googleapis.com",
    "storage.googleapis.com",
    "sts.googleapis.com",
)

# Plan reads everything a refresh touches, and nothing else: no primitive viewer role (it would also
# read data), state is read with -lock=false.
PLAN_ROLES = (
    "roles/artifactregistry.reader",
    "roles/binaryauthorization.policyViewer",
    "roles/certificatemanager.viewer",
    "roles/cloudkms.viewer",
    "roles/compute.viewer",
    "roles/container.viewer",
    "roles/dns.reader",
    "roles/gkebackup.viewer",
    "roles/iam.roleViewer",
    "roles/iam.securityReviewer",
    "roles/iam.serviceAccountViewer",
    "roles/iam.workloadIdentityPoolViewer",
    "roles/logging.viewer",
    "roles/monitoring.viewer",
    "roles/secretmanager.viewer",
    "roles/serviceusage.serviceUsageViewer",
)

# Apply administers exactly the services the platform manages. Broad by nature, so it is reachable only
# from protected branches (see GitlabFederation) and holds no primitive role. It may act as a service
# account only where granted on that account (the GKE node account), never project-wide.
APPLY_ROLES = (
    "roles/artifactregistry.admin",
    "roles/binaryauthorization.policyEditor",
    "roles/certificatemanager.editor",
    "roles/cloudkms.admin",
    "roles/compute.loadBalancerAdmin",
    "roles/compute.networkAdmin",
    "roles/compute.securityAdmin",
    "roles/container.admin",
    "roles/dns.admin",
    "roles/gkebackup.admin",
    "roles/iam.roleAdmin",
    "roles/iam.serviceAccountAdmin",
    "roles/iam.workloadIdentityPoolAdmin",
    "roles/logging.configWriter",
    "roles/monitoring.admin",
    "roles/resourcemanager.projectIamAdmin",
    "roles/secretmanager.admin",
    "roles/servicenetworking.networksAdmin",
    "roles/serviceusage.serviceUsageAdmin",
)


class BootstrapStack(LayerStack):
    layer = "bootstrap"

    def __init__(self, scope: App, env: EnvironmentConfig, *, local_state_dir: Path | None = None) -> None:
        super().__init__(scope, env, local_state_dir=local_state_dir)
        services = ProjectServices(
            self, "services", ProjectServicesProps(project_id=env.project_id, services=REQUIRED_SERVICES)
        )
        federation = GitlabFederation(
            self,
            "gitlab",
            GitlabFederationProps(
                project_id=env.project_id,
                pool_id=self.resource_name("gitlab"),
                issuer_uri=env.ci.gitlab_url,
                project_path=env.ci.project_path,
                apply_refs=env.ci.apply_refs,
                plan_account_id=self.resource_name("ci-plan"),
                apply_account_id=self.resource_name("ci-apply"),
                plan_roles=PLAN_ROLES,
                apply_roles=APPLY_ROLES,
            ),
        )
        state = StateBucket(
            self,
            "state",
            StateBucketProps(
                name=env.state_bucket,
                location=env.region,
                labels=self.labels_for("terraform-state"),
                iam={
                    "roles/storage.objectAdmin": (federation.apply.member,),
                    "roles/storage.objectViewer": (federation.plan.member,),
                },
            ),
        )
        # The APIs must be on before anything that calls them is created.
        depend_on(federation, services)
        depend_on(state, services)
        # Bucket access logs are legacy; reads and writes of state are audited as data-access logs.
        google.project_iam_audit_config.ProjectIamAuditConfig(
            self,
            "storage-audit",
            project=env.project_id,
            service="storage.googleapis.com",
            audit_log_config=[
                google.project_iam_audit_config.ProjectIamAuditConfigAuditLogConfig(log_type=log_type)
                for log_type in ("DATA_READ", "DATA_WRITE")
            ],
        )
        self.outputs = BootstrapOutputs(
            state_bucket=state.name,
            plan_service_account=federation.plan.email,
            apply_service_account=federation.apply.email,
            workload_identity_provider=federation.provider.name,
        )
