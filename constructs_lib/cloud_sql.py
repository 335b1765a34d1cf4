"""Cloud SQL for PostgreSQL: one instance with its databases and IAM database users.

What callers cannot turn off, because every caller needs it:
* private IP only, on the VPC through the existing Private Service Access range (no public IPv4, no
  authorized networks), TLS with a trusted client certificate (`ssl_mode`) and every connection through
  a Cloud SQL connector such as the Auth Proxy (`connector_enforcement`), which authenticates with IAM;
* IAM database authentication (`cloudsql.iam_authentication`); users are `CLOUD_IAM_SERVICE_ACCOUNT`, so
  no password exists in Terraform state, Helm values or git (the one-time grants: docs/data.md);
* CMEK, automated backups with point-in-time recovery (off by default for instances created through the
  API), Query Insights, and the CIS GCP v4.0 PostgreSQL logging flags (`CIS_FLAGS`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Mapping

from constructs_lib.cdk import Construct, TerraformResourceLifecycle, google

# CIS Google Cloud Platform Foundation Benchmark v4.0, section 6.2 (PostgreSQL), plus what the benchmark's
# pgAudit recommendation needs to record anything: DDL and role changes (the statements an attacker uses
# to widen access), without the volume of read/write auditing.
CIS_FLAGS: Mapping[str, str] = {
    "log_error_verbosity": "default",
    "log_connections": "on",
    "log_disconnections": "on",
    "log_statement": "ddl",
    "log_min_messages": "warning",
    "log_min_error_statement": "error",
    "log_min_duration_statement": "-1",
    "cloudsql.enable_pgaudit": "on",
    "pgaudit.log": "ddl,role",
    # Beyond v4.0's list, cheap and what checkov's PostgreSQL checks ask for: slow checkpoints and lock
    # waits longer than deadlock_timeout are what an on-call engineer looks for first.
    "log_checkpoints": "on",
    "log_lock_waits": "on",
}
IAM_AUTHENTICATION_FLAG = "cloudsql.iam_authentication"
QUERY_STRING_LENGTH = 1024
# PostgreSQL truncates role names to 63 bytes; Cloud SQL derives a service account's user from its email.
MAX_USER_NAME = 63


@dataclass(frozen=True, kw_only=True)
class SqlBackups:
    start_time: str = "02:00"
    """Start of the daily 4-hour backup window, HH:MM UTC. Default: 02:00."""
    retained_backups: int = 14
    """Daily backups kept. Default: 14."""
    transaction_log_retention_days: int = 7
    """Point-in-time recovery window in days. Default: 7."""
    location: str | None = None
    """Region backups are stored in (the DR copy). Default: none, Cloud SQL's multi-region nearest the instance."""


@dataclass(frozen=True, kw_only=True)
class SqlMaintenance:
    day: int = 7
    """1 = Monday … 7 = Sunday (UTC). Default: 7."""
    hour: int = 4
    """Start hour, UTC. Default: 4."""
    update_track: Literal["canary", "stable", "week5"] = "stable"
    """Default: stable."""


@dataclass(frozen=True, kw_only=True)
class CloudSqlInstanceProps:
    project_id: str
    name: str
    region: str
    network: str
    """VPC self link or id the private IP is allocated on."""
    private_service_access_range: str
    """Name of the Private Service Access range the address comes from; the range's peering connection must
    exist first (the network stack, applied before this one)."""
    encryption_key: str
    """Cloud KMS key id (same region) the Cloud SQL service agent may use: CMEK, required."""
    max_connections: int
    """From the connection arithmetic (stacks/databases.py), never Cloud SQL's memory-based default."""
    databases: tuple[str, ...]
    iam_users: Mapping[str, str]
    """Construct id (the component) → IAM database user name of its service account: the email without
    `.gserviceaccount.com` (stacks/databases.py `iam_user_name`). Each becomes a `CLOUD_IAM_SERVICE_ACCOUNT` user."""
    database_version: str = "POSTGRES_17"
    """POSTGRES_16 or newer. Default: POSTGRES_17."""
    edition: Literal["ENTERPRISE", "ENTERPRISE_PLUS"] = "ENTERPRISE"
    """Default: ENTERPRISE."""
    tier: str = "db-custom-2-7680"
    """Default: db-custom-2-7680."""
    disk_size_gb: int = 20
    """Initial size; it grows automatically. Default: 20."""
    availability: Literal["REGIONAL", "ZONAL"] = "REGIONAL"
    """Default: REGIONAL (a standby in another zone with automatic failover)."""
    backups: SqlBackups = SqlBackups()
    maintenance: SqlMaintenance = SqlMaintenance()
    deletion_protection: bool = True
    """API-level protection, the provider's `deletion_protection` and Terraform's `prevent_destroy`. Default: on."""
    labels: Mapping[str, str] = field(default_factory=dict)


SUPPORTED_VERSIONS = ("POSTGRES_16", "POSTGRES_17")


class CloudSqlInstance(Construct):
    def __init__(self, scope: Construct, id: str, props: CloudSqlInstanceProps) -> None:
        super().__init__(scope, id)
        where = f"CloudSqlInstance {props.name}"
        if props.database_version not in SUPPORTED_VERSIONS:
            raise ValueError(f"{where}: database_version {props.database_version!r}; expected one of {', '.join(SUPPORTED_VERSIONS)}")
        if not props.encryption_key:
            raise ValueError(f"{where}: encryption_key is empty; pass the Cloud SQL CMEK key id")
        if not props.databases:
            raise ValueError(f"{where}: no databases; list the databases the instance holds")
        if props.backups.location == props.region:
            raise ValueError(f"{where}: backups.location {props.region!r} is the instance's region; expected another region or None")
        for component, user in props.iam_users.items():
            if user.endswith(".gserviceaccount.com") or "@" not in user:
                raise ValueError(
                    f"{where}: IAM user {user!r} of {component}; expected the service account email without "
                    "'.gserviceaccount.com'"
                )
            if len(user) > MAX_USER_NAME:
                raise ValueError(f"{where}: IAM user {user!r} of {component} is longer than {MAX_USER_NAME} characters")
        backup = props.backups
        self.instance = google.sql_database_instance.SqlDatabaseInstance(
            self,
            "instance",
            project=props.project_id,
            name=props.name,
            region=props.region,
            database_version=props.database_version,
            encryption_key_name=props.encryption_key,
            deletion_protection=props.deletion_protection,
            settings=google.sql_database_instance.SqlDatabaseInstanceSettings(
                tier=props.tier,
                edition=props.edition,
                availability_type=props.availability,
                disk_type="PD_SSD",
                disk_size=props.disk_size_gb,
                disk_autoresize=True,
                deletion_protection_enabled=props.deletion_protection,
                user_labels=dict(props.labels),
                ip_configuration=google.sql_database_instance.SqlDatabaseInstanceSettingsIpConfiguration(
                    ipv4_enabled=False,
                    private_network=props.network,
                    allocated_ip_range=props.private_service_access_range,
                    # Stricter than ENCRYPTED_ONLY: the Auth Proxy presents the ephemeral client certificate
                    # the Cloud SQL Admin API issued to the IAM-authenticated caller.
                    ssl_mode="TRUSTED_CLIENT_CERTIFICATE_REQUIRED",
                ),
                connector_enforcement="REQUIRED",
                backup_configuration=google.sql_database_instance.SqlDatabaseInstanceSettingsBackupConfiguration(
                    enabled=True,
                    point_in_time_recovery_enabled=True,
                    start_time=backup.start_time,
                    transaction_log_retention_days=backup.transaction_log_retention_days,
                    location=backup.location,
                    backup_retention_settings=google.sql_database_instance.SqlDatabaseInstanceSettingsBackupConfigurationBackupRetentionSettings(
                        retained_backups=backup.retained_backups, retention_unit="COUNT"
                    ),
                ),
                maintenance_window=google.sql_database_instance.SqlDatabaseInstanceSettingsMaintenanceWindow(
                    day=props.maintenance.day, hour=props.maintenance.hour, update_track=props.maintenance.update_track
                ),
                insights_config=google.sql_database_instance.SqlDatabaseInstanceSettingsInsightsConfig(
                    query_insights_enabled=True,
                    query_string_length=QUERY_STRING_LENGTH,
                    record_application_tags=True,
                    # Client addresses are pod IPs: useful to find a noisy workload, and not personal data.
                    record_client_address=True,
                ),
                database_flags=[
                    google.sql_database_instance.SqlDatabaseInstanceSettingsDatabaseFlags(name=name, value=value)
                    for name, value in sorted(
                        {**CIS_FLAGS, IAM_AUTHENTICATION_FLAG: "on", "max_connections": str(props.max_connections)}.items()
                    )
                ],
            ),
            lifecycle=TerraformResourceLifecycle(prevent_destroy=props.deletion_protection),
        )
        self.databases = {
            database: google.sql_database.SqlDatabase(
                self,
                f"database-{database}",
                project=props.project_id,
                instance=self.instance.name,
                name=database,
                # ABANDON: Cloud SQL refuses to drop a database with open connections; the instance's own
                # deletion protection and backups decide whether data may go.
                deletion_policy="ABANDON",
            )
            for database in props.databases
        }
        self.users = {
            component: google.sql_user.SqlUser(
                self,
                f"user-{component}",
                project=props.project_id,
                instance=self.instance.name,
                name=name,
                type="CLOUD_IAM_SERVICE_ACCOUNT",
            )
            for component, name in props.iam_users.items()
        }

    @property
    def connection_name(self) -> str:
        return self.instance.connection_name

    @property
    def private_ip(self) -> str:
        return self.instance.private_ip_address
