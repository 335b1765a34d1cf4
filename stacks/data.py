"""`<env>-data`: the platform namespaces (stacks/namespaces.py: Pod Security labels, quotas, default-deny
and the allowed flows), then the in-cluster data-plane services installed with Helm into them. Today: KEDA,
which scales the workers on Temporal task-queue depth and the AI server on its request backlog, and the
Cloud SQL for PostgreSQL instance with the application's and Temporal's databases (docs/data.md).

The Helm and Kubernetes providers reach the cluster's DNS endpoint and authenticate with the
gke-gcloud-auth-plugin exec plugin (ClusterAccess): no token in state, no kubeconfig read or written.
"""
from __future__ import annotations

from pathlib import Path

from constructs_lib.cdk import App, TerraformOutput
from constructs_lib.cloud_sql import CloudSqlInstance, CloudSqlInstanceProps, SqlBackups, SqlMaintenance
from constructs_lib.cluster_access import ClusterAccess, ClusterAccessProps
from constructs_lib.dependencies import depend_on
from constructs_lib.helm_release import HelmRelease, HelmReleaseProps
from constructs_lib.platform_namespaces import PlatformNamespace, PlatformNamespaceProps
from stacks import namespaces as platform_namespaces
from stacks.base import LayerStack
from stacks.components import database_components
from stacks.config import EnvironmentConfig
from stacks.contracts import ClusterOutputs, DataOutputs, NetworkOutputs, SecurityOutputs
from stacks.databases import DATABASES, iam_user_name
from stacks.naming import DeliveryNames, service_account_email

HELM_VALUES_DIR = Path(__file__).resolve().parent.parent / "helm_values"
KEDA_CHART = "keda"
KEDA_VERSION = "2.20.2"
KEDA_REPOSITORY = "https://kedacore.github.io/charts"
KEDA_NAMESPACE = "keda"


def keda_values_files(env_name: str) -> tuple[Path, Path]:
    """Base values, then the environment's differences (the file must exist, even if it changes nothing)."""
    directory = HELM_VALUES_DIR / KEDA_CHART
    return directory / "values.yaml", directory / f"values-{env_name}.yaml"


class DataStack(LayerStack):
    layer = "data"

    def __init__(
        self, scope: App, env: EnvironmentConfig, *, cluster: ClusterOutputs, network: NetworkOutputs, security: SecurityOutputs
    ) -> None:
        super().__init__(scope, env)
        ClusterAccess(
            self,
            "cluster-access",
            ClusterAccessProps(endpoint=cluster.endpoint),
        )
        self.namespaces = {
            name: PlatformNamespace(self, f"namespace-{name}", PlatformNamespaceProps(manifests=tuple(objects)))
            for name, objects in platform_namespaces.environment_manifests(env).items()
        }
        keda = HelmRelease(
            self,
            "keda",
            HelmReleaseProps(
                name="keda",
                chart=KEDA_CHART,
                repository=KEDA_REPOSITORY,
                version=KEDA_VERSION,
                namespace=KEDA_NAMESPACE,
                values_files=keda_values_files(env.name),
            ),
        )
        depend_on(keda, self.namespaces[KEDA_NAMESPACE])
        sql = cloud_sql(self, env, network=network, security=security)
        self.outputs = DataOutputs(
            sql_instance_name=sql.instance.name,
            sql_connection_name=sql.connection_name,
            sql_private_ip=sql.private_ip,
            sql_databases=DATABASES,
            sql_users=sql_users(env),
            sql_backup_location=env.cloud_sql.backups.location,
            sql_availability=env.cloud_sql.availability,
            sql_point_in_time_recovery_days=env.cloud_sql.backups.transaction_log_retention_days,
        )
        # For people and the one-time grant step (`terraform output`); later stacks use self.outputs.
        TerraformOutput(
            self, "sql_connection_name", value=sql.connection_name, description="Cloud SQL instance, project:region:instance"
        )


def sql_users(env: EnvironmentConfig) -> dict[str, str]:
    """Component → its IAM database user, for every component that uses a database."""
    return {
        component.name: iam_user_name(service_account_email(env.prefix, component.name, env.project_id))
        for component in database_components()
    }


def cloud_sql(stack: LayerStack, env: EnvironmentConfig, *, network: NetworkOutputs, security: SecurityOutputs) -> CloudSqlInstance:
    config = env.cloud_sql
    return CloudSqlInstance(
        stack,
        "postgres",
        CloudSqlInstanceProps(
            project_id=env.project_id,
            name=DeliveryNames.of(env).sql_instance_name,
            region=env.region,
            network=network.network_id,
            private_service_access_range=network.psa_range_name,
            encryption_key=security.cloud_sql_key,
            max_connections=config.max_connections,
            databases=DATABASES,
            iam_users=sql_users(env),
            database_version=config.database_version,
            edition=config.edition,
            tier=config.tier,
            disk_size_gb=config.disk_size_gb,
            availability=config.availability,
            backups=SqlBackups(
                start_time=config.backups.start_time,
                retained_backups=config.backups.retained_backups,
                transaction_log_retention_days=config.backups.transaction_log_retention_days,
                location=config.backups.location,
            ),
            maintenance=SqlMaintenance(
                day=config.maintenance.day, hour=config.maintenance.hour, update_track=config.maintenance.update_track
            ),
            deletion_protection=env.protection.deletion_protection,
            labels=stack.labels_for("cloud-sql"),
        ),
    )
