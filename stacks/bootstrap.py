"""`<env>-bootstrap`: the things every other stack needs before it can run: APIs, the state bucket and
the keyless CI identities. Applied by a person only (docs/bootstrap.md): the CI identities cannot change
their own grants, so no CI identity can widen itself."""
from __future__ import annotations

import json
from pathlib import Path

from constructs_lib.cdk import App, TerraformOutput, google
from constructs_lib.dependencies import depend_on
from constructs_lib.custom_role import CustomRole, CustomRoleProps
from constructs_lib.gitlab_federation import CiIdentity, CiRole, GitlabFederation, GitlabFederationProps
from constructs_lib.iam import IamCondition
from constructs_lib.kms import ENCRYPTER_ROLE, KeyRing, KeyRingProps, KmsKeySpec
from constructs_lib.project_services import ProjectServices, ProjectServicesProps, ServiceIdentities, ServiceIdentitiesProps
from constructs_lib.state_bucket import StateBucket, StateBucketProps
from stacks.base import LayerStack
from stacks.config import EnvironmentConfig
from stacks.contracts import BootstrapOutputs
from stacks.naming import resource_name
from stacks.security import project_roles_of

REQUIRED_SERVICES = (
    "artifactregistry.googleapis.com",
    "bigquery.googleapis.com",
    "binaryauthorization.googleapis.com",
    "certificatemanager.googleapis.com",
    "cloudkms.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "compute.googleapis.com",
    "container.googleapis.com",
    "containerscanning.googleapis.com",
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
    "sqladmin.googleapis.com",
    "storage.googleapis.com",
    "sts.googleapis.com",
)

# Service agents that later layers grant roles to before the service would create them on its own.
SERVICE_IDENTITIES = ("sqladmin.googleapis.com",)
STATE_KEY = "state"
AUDIT_LOG_TYPES = ("ADMIN_READ", "DATA_READ", "DATA_WRITE")

# Every role of every CI identity, with the reason it is needed. Grants on single resources (the state
# bucket, the registry, the node account) are made where those resources are, not here.
PLAN_ROLES = (
    CiRole(role="roles/artifactregistry.reader", reason="refresh repositories, their cleanup policies and IAM"),
    CiRole(role="roles/bigquery.metadataViewer", reason="refresh the log analytics dataset and its IAM; no table data"),
    CiRole(role="roles/binaryauthorization.policyViewer", reason="refresh the Binary Authorization policy"),
    CiRole(role="roles/certificatemanager.viewer", reason="refresh certificates, maps and DNS authorizations"),
    CiRole(role="roles/cloudkms.viewer", reason="refresh key rings, keys and their IAM (no encrypt/decrypt)"),
    CiRole(role="roles/cloudsql.viewer", reason="refresh the Cloud SQL instance, its databases and users (no data access)"),
    CiRole(role="roles/compute.viewer", reason="refresh VPC, subnets, router, NAT, firewall, addresses, load balancers"),
    CiRole(
        role="roles/container.viewer",
        reason="refresh cluster and pools; read in-cluster objects incl. Helm release Secrets (see docs/security.md)",
    ),
    CiRole(role="roles/dns.reader", reason="refresh managed zones, record sets and the DNS policy"),
    CiRole(role="roles/gkebackup.viewer", reason="refresh backup and restore plans"),
    CiRole(role="roles/iam.roleViewer", reason="refresh the project's custom roles"),
    CiRole(role="roles/iam.securityReviewer", reason="read IAM policies of the project and every resource (refresh of *_iam_*)"),
    CiRole(role="roles/iam.serviceAccountViewer", reason="refresh the platform's service accounts"),
    CiRole(role="roles/logging.viewer", reason="refresh log sinks, buckets and exclusions"),
    CiRole(role="roles/monitoring.viewer", reason="refresh alert policies, channels, dashboards and uptime checks"),
    CiRole(role="roles/secretmanager.viewer", reason="refresh secret metadata; no version payload access"),
    CiRole(role="roles/serviceusage.serviceUsageViewer", reason="refresh the enabled APIs"),
    CiRole(role="roles/storage.bucketViewer", reason="storage.buckets.get for the state and CDN buckets; no object read"),
)
# Apply administers exactly the services the platform manages, from protected branches only. No primitive
# role; project IAM and service-account admin are conditioned; no role reads secret payloads.
SERVICE_ACCOUNT_ADMIN = "roles/iam.serviceAccountAdmin"
PROJECT_IAM_ADMIN = "roles/resourcemanager.projectIamAdmin"
APPLY_ROLES = (
    CiRole(role="roles/artifactregistry.admin", reason="repositories (apps and mirrors), cleanup policies, repository IAM"),
    CiRole(role="roles/binaryauthorization.policyEditor", reason="the Binary Authorization policy"),
    CiRole(role="roles/certificatemanager.editor", reason="edge certificates, the certificate map and its entries"),
    CiRole(role="roles/cloudkms.admin", reason="key rings, keys and key IAM for the service agents; cannot encrypt or decrypt"),
    CiRole(
        role="roles/cloudsql.admin",
        reason="the Cloud SQL instance, databases and IAM users; no built-in user is managed (docs/data.md)",
    ),
    CiRole(role="roles/compute.loadBalancerAdmin", reason="the static CDN's backend bucket, URL map, proxy, forwarding rule"),
    CiRole(role="roles/compute.networkAdmin", reason="VPC, subnets, router, NAT, addresses, Private Service Access range"),
    CiRole(role="roles/compute.securityAdmin", reason="firewall rules, SSL policy and the Cloud Armor policy"),
    CiRole(role="roles/container.admin", reason="cluster, node pools and the in-cluster Helm releases and Kubernetes objects"),
    CiRole(role="roles/dns.admin", reason="public/private zones, Google API zones, records, DNS policy"),
    CiRole(role="roles/gkebackup.admin", reason="backup and restore plans"),
    CiRole(role="roles/iam.roleAdmin", reason="the platform's custom roles (metrics reader); residual risk in docs/security.md"),
    CiRole(role="roles/logging.configWriter", reason="log sinks, buckets and exclusions of the observability layer"),
    CiRole(role="roles/monitoring.editor", reason="alert policies, notification channels, dashboards, uptime checks"),
    CiRole(role="roles/servicenetworking.networksAdmin", reason="the Private Service Access connection"),
)


def apply_roles(env: EnvironmentConfig) -> tuple[CiRole, ...]:
    """APPLY_ROLES plus the conditioned and custom roles that depend on the environment."""
    grantable = sorted({role for roles in project_roles_of(env).values() for role in roles})
    # Service accounts the platform manages are `<prefix>-<component>`; the CI accounts (`<prefix>-ci-*`)
    # are managed by the person who applies this stack, never by apply itself.
    account = "resource.name.extract('serviceAccounts/{account}@')"
    rows = [
        *APPLY_ROLES,
        CiRole(
            role=PROJECT_IAM_ADMIN,
            reason="grant the project roles the security stack grants, and no other role",
            condition=IamCondition(
                title="platform-roles-only",
                description="Only the project roles stacks/security.py grants (computed from project_roles_of)",
                expression="api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly("
                + json.dumps(grantable)
                + ")",
            ),
        ),
        CiRole(
            role=SERVICE_ACCOUNT_ADMIN,
            reason="create the platform's accounts and bind Workload Identity/actAs on them; never the CI accounts",
            condition=IamCondition(
                title="platform-accounts-only",
                description=f"Accounts {env.prefix}-* except {env.prefix}-ci-*, and creating accounts in the project",
                expression=(
                    # Fail closed: creating accounts is checked on the project; any other resource must be a
                    # platform account by name, so an attribute GCP did not fill denies instead of allowing.
                    "resource.type == 'cloudresourcemanager.googleapis.com/Project' || "
                    f"({account}.startsWith('{env.prefix}-') && !{account}.startsWith('{env.prefix}-ci-'))"
                ),
            ),
        ),
        CiRole(role=f"projects/{env.project_id}/roles/{SECRET_ADMIN_ROLE_ID}", reason="secrets and their IAM, never their values"),
        CiRole(
            role=f"projects/{env.project_id}/roles/{BUCKET_ADMIN_ROLE_ID}",
            reason="the log archive bucket (and the static CDN bucket) and their IAM; no object access (state "
            "objects stay bucket-scoped)",
        ),
        CiRole(
            role=f"projects/{env.project_id}/roles/{DATASET_ADMIN_ROLE_ID}",
            reason="the log analytics dataset and its IAM; no table data",
        ),
    ]
    return tuple(rows)


# Secret Manager without secretmanager.versions.access: roles/secretmanager.admin would read every value.
SECRET_ADMIN_ROLE_ID = "platformSecretAdmin"
SECRET_ADMIN_PERMISSIONS = (
    "secretmanager.locations.get",
    "secretmanager.locations.list",
    "secretmanager.secrets.create",
    "secretmanager.secrets.delete",
    "secretmanager.secrets.get",
    "secretmanager.secrets.getIamPolicy",
    "secretmanager.secrets.list",
    "secretmanager.secrets.setIamPolicy",
    "secretmanager.secrets.update",
    "secretmanager.versions.list",
)
# Buckets without objects: roles/storage.admin would also read and write every object, state included.
BUCKET_ADMIN_ROLE_ID = "platformBucketAdmin"
BUCKET_ADMIN_PERMISSIONS = (
    "storage.buckets.create",
    "storage.buckets.delete",
    "storage.buckets.get",
    "storage.buckets.getIamPolicy",
    "storage.buckets.list",
    "storage.buckets.setIamPolicy",
    "storage.buckets.update",
)
# BigQuery datasets without their data: roles/bigquery.dataOwner would also read every table.
DATASET_ADMIN_ROLE_ID = "platformDatasetAdmin"
DATASET_ADMIN_PERMISSIONS = (
    "bigquery.datasets.create",
    "bigquery.datasets.delete",
    "bigquery.datasets.get",
    "bigquery.datasets.getIamPolicy",
    "bigquery.datasets.setIamPolicy",
    "bigquery.datasets.update",
)


def ci_custom_roles(env: EnvironmentConfig) -> tuple[tuple[str, str, str, str, tuple[str, ...]], ...]:
    """(construct id, role id, title, description, permissions) of the custom roles apply holds."""
    rows = [
        ("secret-admin", SECRET_ADMIN_ROLE_ID, "Platform secret admin",
         "CI apply: Secret Manager secrets and their IAM, without reading any value", SECRET_ADMIN_PERMISSIONS),
        ("bucket-admin", BUCKET_ADMIN_ROLE_ID, "Platform bucket admin",
         "CI apply: the log archive and static CDN buckets and their IAM, without object access", BUCKET_ADMIN_PERMISSIONS),
        ("dataset-admin", DATASET_ADMIN_ROLE_ID, "Platform dataset admin",
         "CI apply: the log analytics dataset and its IAM, without table data", DATASET_ADMIN_PERMISSIONS),
    ]
    return tuple(rows)


# Skaffold: reach the cluster (DNS endpoint, IAM-authorized); what it may do inside is Kubernetes RBAC in
# the applications namespace.
DEPLOY_ROLES = (
    CiRole(role="roles/container.clusterViewer", reason="get the cluster and connect to its DNS endpoint; RBAC decides the rest"),
)


def ci_identities(env: EnvironmentConfig) -> dict[str, CiIdentity]:
    """Duty → identity. Plan is read-only; for prod even plan is protected-only, since prod state must not be
    readable from merge-request pipelines (they plan dev and staging)."""
    return {
        "plan": CiIdentity(
            account_id=resource_name(env.prefix, "ci-plan"),
            display_name="CI plan (read-only)",
            trust="protected" if env.tier == "prod" else "project",
            roles=PLAN_ROLES,
        ),
        "apply": CiIdentity(
            account_id=resource_name(env.prefix, "ci-apply"),
            display_name="CI apply",
            trust="apply_refs",
            roles=apply_roles(env),
        ),
        # Pushes to the apps repository only (roles/artifactregistry.writer there, cluster stack).
        "push": CiIdentity(account_id=resource_name(env.prefix, "ci-push"), display_name="CI image push", trust="protected"),
        "deploy": CiIdentity(
            account_id=resource_name(env.prefix, "ci-deploy"), display_name="CI deploy (Skaffold)", trust="apply_refs", roles=DEPLOY_ROLES
        ),
    }


class BootstrapStack(LayerStack):
    layer = "bootstrap"

    def __init__(self, scope: App, env: EnvironmentConfig, *, local_state_dir: Path | None = None) -> None:
        super().__init__(scope, env, local_state_dir=local_state_dir)
        services = ProjectServices(
            self, "services", ProjectServicesProps(project_id=env.project_id, services=REQUIRED_SERVICES)
        )
        agents = ServiceIdentities(
            self, "service-agents", ServiceIdentitiesProps(project_id=env.project_id, services=SERVICE_IDENTITIES, default_labels=self.default_labels())
        )
        depend_on(agents, services)
        custom_roles = [
            CustomRole(
                self,
                construct_id,
                CustomRoleProps(project_id=env.project_id, role_id=role_id, title=title, description=description, permissions=permissions),
            )
            for construct_id, role_id, title, description, permissions in ci_custom_roles(env)
        ]
        federation = GitlabFederation(
            self,
            "gitlab",
            GitlabFederationProps(
                project_id=env.project_id,
                pool_id=self.resource_name("gitlab"),
                issuer_uri=env.ci.gitlab_url,
                gitlab_project_id=env.ci.project_id,
                gitlab_namespace_id=env.ci.namespace_id,
                apply_refs=env.ci.apply_refs,
                identities=ci_identities(env),
            ),
        )
        accounts = federation.accounts
        # Custom roles are named by their static full names (stable construct ids), so order them explicitly.
        for role in custom_roles:
            depend_on(accounts["apply"], role)
        # The state key lives here, not in the security stack: it must exist before the bucket, which must
        # exist before any other stack has state.
        storage_agent = google.data_google_storage_project_service_account.DataGoogleStorageProjectServiceAccount(
            self, "storage-agent", project=env.project_id
        )
        keys = KeyRing(
            self,
            "state-kms",
            KeyRingProps(
                project_id=env.project_id,
                name=self.resource_name("state-keyring"),
                location=env.region,
                rotation_days=env.security.kms_rotation_days,
                labels=self.labels_for("terraform-state"),
                keys=(KmsKeySpec(name=STATE_KEY, iam={ENCRYPTER_ROLE: (f"serviceAccount:{storage_agent.email_address}",)}),),
            ),
        )
        depend_on(keys, services)
        state = StateBucket(
            self,
            "state",
            StateBucketProps(
                name=env.state_bucket,
                location=env.region,
                labels=self.labels_for("terraform-state"),
                kms_key=keys.keys[STATE_KEY].id,
                iam={
                    "roles/storage.objectAdmin": (accounts["apply"].member,),
                    "roles/storage.objectViewer": (accounts["plan"].member,),
                },
            ),
        )
        # The APIs must be on before anything that calls them is created.
        depend_on(federation, services)
        depend_on(state, services)
        depend_on(state, keys)
        # Data-access logs for every service: state reads and writes, secret accesses, IAM reads. Bucket
        # access logs are legacy. The construct id stays `storage-audit` (it first covered storage only).
        google.project_iam_audit_config.ProjectIamAuditConfig(
            self,
            "storage-audit",
            project=env.project_id,
            service="allServices",
            audit_log_config=[
                google.project_iam_audit_config.ProjectIamAuditConfigAuditLogConfig(log_type=log_type)
                for log_type in AUDIT_LOG_TYPES
            ],
        )
        self.outputs = BootstrapOutputs(
            state_bucket=state.name,
            plan_service_account=accounts["plan"].email,
            apply_service_account=accounts["apply"].email,
            push_service_account=accounts["push"].email,
            deploy_service_account=accounts["deploy"].email,
            workload_identity_provider=federation.provider.name,
            service_agents=agents.emails,
        )
        # Read once after bootstrap into GitLab CI variables (docs/ci-cd.md).
        for name, value, description in (
            ("workload_identity_provider", federation.provider.name, "Full provider resource name for GitLab's id_tokens exchange"),
            ("workload_identity_audience", federation.audience, "The `aud` GitLab id_tokens must carry"),
            ("plan_service_account", accounts["plan"].email, "terraform plan (read-only)"),
            ("apply_service_account", accounts["apply"].email, "terraform apply (protected apply branches)"),
            ("push_service_account", accounts["push"].email, "image push (protected refs)"),
            ("deploy_service_account", accounts["deploy"].email, "Skaffold deploy (protected apply branches)"),
            ("state_bucket", state.name, "Terraform state bucket"),
        ):
            TerraformOutput(self, name, value=value, description=description)
