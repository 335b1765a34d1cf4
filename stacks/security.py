"""`<env>-security`: identities, keys, secrets and the public edge's protection.

* One Google service account per component, holding only what that component needs (most hold no
  project role at all: they exist so Workload Identity gives every pod an attributable identity).
  Workload Identity bindings are made in the cluster stack, because the identity pool they name only exists
  once the cluster does.
* Secret Manager secrets (containers only, never values) readable by their owning account alone.
* Cloud KMS keys (CMEK) for GKE application-layer secrets, the Artifact Registry repository, node boot
  disks, Backup for GKE and Cloud SQL, each usable by its one service agent.
* The edge: static IP, managed certificate + map, SSL policy, DNS records, Cloud Armor policy, and the
  optional CDN for static assets.
"""
from __future__ import annotations

from constructs_lib.armor import ArmorPolicy, ArmorPolicyProps, RateLimit
from constructs_lib.cdk import App, TerraformOutput, google
from constructs_lib.custom_role import CustomRole, CustomRoleProps
from constructs_lib.dependencies import depend_on
from constructs_lib.edge import Edge, EdgeProps
from constructs_lib.iam import IamCondition, bind_iam, service_account_member, validate_iam
from constructs_lib.kms import ENCRYPTER_ROLE, KeyRing, KeyRingProps, KmsKeySpec
from constructs_lib.secret import ACCESSOR_ROLE, Secret, SecretProps
from constructs_lib.service_account import ServiceAccount, ServiceAccountProps
from constructs_lib.static_site import OBJECT_VIEWER, StaticSite, StaticSiteProps
from stacks.base import LayerStack
from stacks.components import COMPONENTS
from stacks.config import EnvironmentConfig
from stacks.contracts import BootstrapOutputs, NetworkOutputs, SecurityOutputs
from stacks.naming import DeliveryNames

NODE_ACCOUNT = "gke-node"
# Google's minimum for a node service account. Pulling images is granted on the platform's repository in
# the cluster stack (roles/artifactregistry.reader there), not project-wide: nodes can read that one
# repository, not every repository the project may ever hold.
NODE_ROLES = (
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
    "roles/monitoring.viewer",
    "roles/stackdriver.resourceMetadata.writer",
)
# Grafana's Cloud Monitoring / Managed Prometheus data source only queries metrics. roles/monitoring.viewer
# would also expose dashboards, alert policies, notification channels and uptime checks.
METRICS_READER_ROLE_ID = "platformMetricsReader"
METRICS_READER_PERMISSIONS = (
    "monitoring.metricDescriptors.get",
    "monitoring.metricDescriptors.list",
    "monitoring.monitoredResourceDescriptors.get",
    "monitoring.monitoredResourceDescriptors.list",
    "monitoring.timeSeries.list",
    "monitoring.services.get",
    "monitoring.services.list",
    "monitoring.slos.get",
    "monitoring.slos.list",
)
ACT_AS_ROLE = "roles/iam.serviceAccountUser"
GKE_SECRETS_KEY = "gke-secrets"
REGISTRY_KEY = "registry"
BOOT_DISK_KEY = "gke-boot-disks"
BACKUP_KEY = "gke-backup"
CLOUD_SQL_KEY = "cloud-sql"
# What a workload that uses a database needs, each on the platform's instance only (IAM condition):
CLOUD_SQL_ROLES = {
    # cloudsql.instances.connect/get: the Auth Proxy fetches the instance's address and an ephemeral certificate.
    "roles/cloudsql.client": "connect through the Cloud SQL Auth Proxy",
    # cloudsql.instances.login: sign in as its IAM database user with an OAuth token instead of a password.
    "roles/cloudsql.instanceUser": "IAM database authentication (no password)",
}
LOGS_KEY = "logs"


def metrics_reader_role(project_id: str) -> str:
    return f"projects/{project_id}/roles/{METRICS_READER_ROLE_ID}"


def project_roles_of(env: EnvironmentConfig) -> dict[str, tuple[str, ...]]:
    """Account (`gke-node` or a component) → the project roles the security stack grants it. The one
    source of both the grants and the roles the CI apply identity may grant (stacks/bootstrap.py)."""
    reader = metrics_reader_role(env.project_id)
    return {
        NODE_ACCOUNT: NODE_ROLES,
        **{
            c.name: ((reader,) if c.reads_metrics else ()) + (tuple(CLOUD_SQL_ROLES) if c.databases else ())
            for c in COMPONENTS
        },
    }


def cloud_sql_condition(env: EnvironmentConfig) -> IamCondition:
    """Narrows the Cloud SQL roles to the platform's instance (Cloud SQL has no instance-level IAM policy)."""
    instance = DeliveryNames.of(env).sql_instance_name
    return IamCondition(
        title="platform-sql-instance",
        description=f"Cloud SQL instance {instance} only",
        expression=(
            "resource.type == 'sqladmin.googleapis.com/Instance' && "
            f"resource.name == 'projects/{env.project_id}/instances/{instance}'"
        ),
    )


def secrets_of(env: EnvironmentConfig) -> dict[str, str]:
    """Credential name → the component that owns (and alone may read) it, from the component table."""
    owners: dict[str, str] = {}
    for component in COMPONENTS:
        owners.update({credential: component.name for credential in component.secrets})
        if component.notification_secrets:
            for channel in env.notifications.slack_channels:
                owners[f"slack-webhook-{channel.removeprefix('#')}"] = component.name
            for service in env.notifications.pagerduty_services:
                owners[f"pagerduty-{service}"] = component.name
    return owners


class SecurityStack(LayerStack):
    layer = "security"

    def __init__(self, scope: App, env: EnvironmentConfig, *, bootstrap: BootstrapOutputs, network: NetworkOutputs) -> None:
        super().__init__(scope, env)
        names = DeliveryNames.of(env)
        project = google.data_google_project.DataGoogleProject(self, "project", project_id=env.project_id)
        service_agents = {
            agent: f"serviceAccount:service-{project.number}@{domain}"
            for agent, domain in (
                ("gke", "container-engine-robot.iam.gserviceaccount.com"),
                ("artifactregistry", "gcp-sa-artifactregistry.iam.gserviceaccount.com"),
                ("cdn", "cloud-cdn-fill.iam.gserviceaccount.com"),
                # Encrypts node boot disks (CMEK) on GKE's behalf.
                ("compute", "compute-system.iam.gserviceaccount.com"),
                ("gkebackup", "gcp-sa-gkebackup.iam.gserviceaccount.com"),
            )
        }
        # Created by the bootstrap stack: Cloud SQL would only create it with the first instance, which
        # needs this key grant first.
        service_agents["cloudsql"] = service_account_member(bootstrap.service_agents["sqladmin.googleapis.com"])
        # The observability layer's log archive bucket and log dataset are encrypted with the logs key.
        service_agents["storage"] = f"serviceAccount:service-{project.number}@gs-project-accounts.iam.gserviceaccount.com"
        bigquery_agent = google.data_google_bigquery_default_service_account.DataGoogleBigqueryDefaultServiceAccount(
            self, "bigquery-agent", project=env.project_id
        )
        service_agents["bigquery"] = f"serviceAccount:{bigquery_agent.email}"

        # --- identities -------------------------------------------------------------------------------
        project_roles = project_roles_of(env)
        sql_condition = cloud_sql_condition(env)
        metrics_reader = CustomRole(
            self,
            "metrics-reader",
            CustomRoleProps(
                project_id=env.project_id,
                role_id=METRICS_READER_ROLE_ID,
                title="Platform metrics reader",
                description="Query Cloud Monitoring / Managed Prometheus metrics only (Grafana data source)",
                permissions=METRICS_READER_PERMISSIONS,
            ),
        )
        nodes = ServiceAccount(
            self,
            f"sa-{NODE_ACCOUNT}",
            ServiceAccountProps(
                project_id=env.project_id,
                account_id=self.resource_name(NODE_ACCOUNT),
                display_name="GKE nodes",
                description="Node VMs of every pool: logs, metrics, image pulls from the platform repository",
                iam_project_roles=project_roles[NODE_ACCOUNT],
            ),
        )
        # Creating node pools that run as this account needs actAs on it: granted to the apply identity here,
        # on this one account, instead of iam.serviceAccountUser on the whole project. Made beside the
        # account, in the shared shape, so the binding keeps its address `gke-node-users` (a `moved` block
        # would do too, but checkov cannot parse one in Terraform JSON).
        node_users = {ACT_AS_ROLE: (service_account_member(bootstrap.apply_service_account),)}
        validate_iam(f"ServiceAccount {self.resource_name(NODE_ACCOUNT)}", iam=node_users)
        bind_iam(
            self,
            iam=node_users,
            binding=google.service_account_iam_binding.ServiceAccountIamBinding,
            target={"service_account_id": nodes.account.name},
            binding_id=lambda role: "gke-node-users",
        )
        accounts: dict[str, ServiceAccount] = {}
        for component in COMPONENTS:
            roles = project_roles[component.name]
            account = ServiceAccount(
                self,
                # Not the bare component name: "backend" is the stack's state backend.
                f"sa-{component.name}",
                ServiceAccountProps(
                    project_id=env.project_id,
                    account_id=self.resource_name(component.name),
                    display_name=component.title,
                    description=component.purpose,
                    iam_project_roles=roles,
                    iam_project_conditions={role: sql_condition for role in roles if role in CLOUD_SQL_ROLES},
                ),
            )
            if component.reads_metrics:
                # The role is named by its static full name (stable construct ids), so order it explicitly.
                depend_on(account, metrics_reader)
            accounts[component.name] = account

        # --- secrets ----------------------------------------------------------------------------------
        replicas = ()
        if env.security.secrets.replication == "user_managed":
            replicas = env.security.secrets.locations or (env.region,)
        secrets: dict[str, Secret] = {}
        for credential, owner in secrets_of(env).items():
            secrets[credential] = Secret(
                self,
                f"secret-{credential}",
                SecretProps(
                    project_id=env.project_id,
                    secret_id=self.resource_name(credential),
                    iam={ACCESSOR_ROLE: (accounts[owner].member,)},
                    replica_locations=replicas,
                    labels=self.labels_for(owner),
                    deletion_protection=env.protection.deletion_protection,
                ),
            )

        # --- keys -------------------------------------------------------------------------------------
        keys = KeyRing(
            self,
            "kms",
            KeyRingProps(
                project_id=env.project_id,
                name=self.resource_name("keyring"),
                location=env.region,
                rotation_days=env.security.kms_rotation_days,
                labels=self.labels_for("kms"),
                keys=(
                    KmsKeySpec(name=GKE_SECRETS_KEY, iam={ENCRYPTER_ROLE: (service_agents["gke"],)}),
                    KmsKeySpec(name=REGISTRY_KEY, iam={ENCRYPTER_ROLE: (service_agents["artifactregistry"],)}),
                    KmsKeySpec(name=BOOT_DISK_KEY, iam={ENCRYPTER_ROLE: (service_agents["compute"],)}),
                    KmsKeySpec(name=BACKUP_KEY, iam={ENCRYPTER_ROLE: (service_agents["gkebackup"],)}),
                    KmsKeySpec(name=CLOUD_SQL_KEY, iam={ENCRYPTER_ROLE: (service_agents["cloudsql"],)}),
                    KmsKeySpec(name=LOGS_KEY, iam={ENCRYPTER_ROLE: (service_agents["storage"], service_agents["bigquery"])}),
                ),
            ),
        )

        # --- edge -------------------------------------------------------------------------------------
        edge = Edge(
            self,
            "edge",
            EdgeProps(
                project_id=env.project_id,
                ip_name=names.edge_ip_name,
                certificate_map_name=names.certificate_map_name,
                certificate_name=self.resource_name("edge-cert"),
                ssl_policy_name=names.ssl_policy_name,
                hosts={
                    "api": names.api_hostname,
                    "ai": names.ai_hostname,
                    **({"preview": f"*.{names.preview_domain}"} if env.security.edge.preview_hostnames else {}),
                },
                dns_zone=network.public_zone_name,
                ssl_profile=env.security.edge.ssl_profile,
                labels=self.labels_for("edge"),
            ),
        )
        waf = env.security.waf
        armor = ArmorPolicy(
            self,
            "armor",
            ArmorPolicyProps(
                project_id=env.project_id,
                name=names.armor_policy_name,
                sensitivity=waf.sensitivity,
                preview=waf.preview,
                rate_limit=RateLimit(
                    action=waf.rate_limit.action,
                    requests=waf.rate_limit.requests,
                    interval_sec=waf.rate_limit.interval_sec,
                    ban_duration_sec=waf.rate_limit.ban_duration_sec,
                ),
            ),
        )
        if env.security.edge.static_cdn:
            StaticSite(
                self,
                "static",
                StaticSiteProps(
                    project_id=env.project_id,
                    name=self.resource_name("static"),
                    bucket_name=f"{env.project_id}-static",
                    location=env.region,
                    hostname=f"static.{env.domain}",
                    dns_zone=network.public_zone_name,
                    certificate_map_name=edge.certificate_map.name,
                    certificate_map_id=edge.certificate_map.id,
                    ssl_policy=edge.ssl_policy.id,
                    iam={OBJECT_VIEWER: (service_agents["cdn"],)},
                    labels=self.labels_for("static-cdn"),
                ),
            )

        self.outputs = SecurityOutputs(
            node_service_account=nodes.email,
            workload_service_accounts={component: account.account.name for component, account in accounts.items()},
            gke_secrets_key=keys.keys[GKE_SECRETS_KEY].id,
            registry_key=keys.keys[REGISTRY_KEY].id,
            boot_disk_key=keys.keys[BOOT_DISK_KEY].id,
            backup_key=keys.keys[BACKUP_KEY].id,
            cloud_sql_key=keys.keys[CLOUD_SQL_KEY].id,
            logs_key=keys.keys[LOGS_KEY].id,
            secret_ids={credential: secret.secret.secret_id for credential, secret in secrets.items()},
            armor_policy_name=armor.name,
            edge_ip_address=edge.address.address,
            certificate_map_name=edge.certificate_map.name,
            ssl_policy_name=edge.ssl_policy.name,
        )
        # For people and the delivery pipeline (`terraform output`); later stacks use self.outputs.
        TerraformOutput(self, "armor_policy_name", value=armor.name, description="Cloud Armor policy for GCPBackendPolicy")
        TerraformOutput(self, "edge_ip_address", value=edge.address.address, description="Public IP of the Gateway")
        TerraformOutput(
            self, "secret_ids", value=self.outputs.secret_ids, description="Credential → Secret Manager secret id"
        )
