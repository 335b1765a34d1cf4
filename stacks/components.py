"""The component table: every workload that runs in the cluster under its own Google service account.

One row per component. Everything that used to list components derives from here:
* the Google service accounts and their roles (security stack),
* the Workload Identity bindings, KSA → GSA (cluster stack; `workloads:` in config may rename a KSA),
* secret ownership: who alone may read each Secret Manager secret (security stack),
* the namespaces Backup for GKE covers by default (config model),
* the names the Kubernetes overlays receive (`<COMPONENT>_GSA` in platform-names.env, and the replacement
  that writes it into the component's ServiceAccount annotation),
* the Cloud SQL users: every component that uses a database signs in as its service account (IAM
  database authentication) and holds the Cloud SQL connect/login roles (data and security stacks),
* the tables the tests iterate over.

Adding a component: add a row, then its own files (manifests under k8s/base/<name>/ for an application, a
Helm release for a platform service). docs/terraform.md ("The component table") has a worked example.
CDK-free, so the config model and the delivery generators can read it without starting the framework.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from stacks.databases import APP_DATABASE, DATABASES, TEMPORAL_DATABASE, TEMPORAL_VISIBILITY_DATABASE

APP_NAMESPACE = "apps"


@dataclass(frozen=True, kw_only=True)
class Component:
    name: str
    """Stable id: the service account is `<prefix>-<name>` (construct id `sa-<name>`), the default KSA name,
    and the application's directory under k8s/base/. Renaming one moves Terraform state."""
    title: str
    """Display name of the service account."""
    purpose: str
    """What it does and which Google APIs it calls: the service account's description."""
    namespace: str
    """Kubernetes namespace its pods (and KSA) live in."""
    delivery: Literal["app", "platform"]
    """`app`: deployed by the k8s/ overlays (Skaffold), which receive its GSA email as a generated name;
    `platform`: installed by a Terraform layer (Helm)."""
    reads_metrics: bool = False
    """Holds the platform's custom metrics-reader role (project-wide: metrics have no narrower resource)."""
    secrets: tuple[str, ...] = ()
    """Credentials it owns: one Secret Manager secret `<prefix>-<credential>` each, readable by it alone."""
    notification_secrets: bool = False
    """Also owns one secret per configured Slack channel and PagerDuty service (their webhook/routing key)."""
    backed_up: bool = True
    """Its namespace is in Backup for GKE's default scope (config `cluster.backup.namespaces`)."""
    databases: tuple[str, ...] = ()
    """Cloud SQL databases (stacks/databases.py) it uses: it gets an IAM database user, the Cloud SQL
    client and instance-user roles, one connection pool per database in the connection arithmetic, and
    the one-time grants on these databases. Default: none."""

    @property
    def kubernetes_service_account(self) -> str:
        """Default KSA name; an environment may override it under `workloads:`."""
        return self.name

    @property
    def env_key(self) -> str:
        """`API_SERVER_GSA`: the generated platform-names key holding its Google service account email."""
        return self.name.upper().replace("-", "_") + "_GSA"


COMPONENTS: tuple[Component, ...] = (
    Component(
        name="api-server", title="API server", purpose="Public API; signs in to Cloud SQL with IAM",
        namespace=APP_NAMESPACE, delivery="app", databases=(APP_DATABASE,),
    ),
    Component(
        name="ai-server", title="AI server", purpose="Inference on GPU nodes; calls no Google API",
        namespace=APP_NAMESPACE, delivery="app",
    ),
    Component(
        name="backend", title="Backend", purpose="Stateful key-value backend; signs in to Cloud SQL with IAM",
        namespace=APP_NAMESPACE, delivery="app", databases=(APP_DATABASE,),
    ),
    Component(
        name="temporal-worker", title="Temporal worker", purpose="Runs Temporal activities; calls no Google API",
        namespace=APP_NAMESPACE, delivery="app",
    ),
    Component(
        name="temporal-server", title="Temporal server",
        purpose="Temporal frontend/history/matching; signs in to Cloud SQL with IAM (no password)",
        namespace="temporal", delivery="platform", databases=(TEMPORAL_DATABASE, TEMPORAL_VISIBILITY_DATABASE),
    ),
    Component(
        name="influxdb", title="InfluxDB", purpose="Time-series store; reads its admin token",
        namespace="influxdb", delivery="platform", secrets=("influxdb-admin-token",),
    ),
    Component(
        name="grafana", title="Grafana", purpose="Dashboards; queries Cloud Monitoring metrics",
        namespace="monitoring", delivery="platform", reads_metrics=True,
        # Grafana reads InfluxDB with its own read-only token, never the admin one.
        secrets=("influxdb-grafana-token", "grafana-admin-password"),
    ),
    Component(
        name="prometheus", title="Prometheus", purpose="In-cluster scraping; calls no Google API",
        namespace="monitoring", delivery="platform",
    ),
    Component(
        name="alertmanager", title="Alertmanager", purpose="Alert routing; reads the Slack and PagerDuty credentials",
        namespace="monitoring", delivery="platform", notification_secrets=True,
    ),
)


def _unique(values: list[str], what: str) -> None:
    for index, value in enumerate(values):
        if value in values[:index]:
            raise ValueError(f"stacks/components.py: {what} {value!r} appears twice; every row needs its own")


def check_table(components: tuple[Component, ...]) -> None:
    """The table's own consistency: names and owned secrets are unique, databases exist."""
    _unique([c.name for c in components], "component name")
    _unique([secret for c in components for secret in c.secrets], "secret")
    for component in components:
        _unique(list(component.databases), f"database of {component.name}")
        for database in component.databases:
            if database not in DATABASES:
                raise ValueError(
                    f"stacks/components.py: {component.name} uses database {database!r}; expected one of {', '.join(DATABASES)}"
                )


check_table(COMPONENTS)


def by_name(components: tuple[Component, ...] = COMPONENTS) -> dict[str, Component]:
    return {component.name: component for component in components}


def app_components(components: tuple[Component, ...] = COMPONENTS) -> tuple[Component, ...]:
    return tuple(component for component in components if component.delivery == "app")


def database_components(components: tuple[Component, ...] = COMPONENTS) -> tuple[Component, ...]:
    """Components that sign in to Cloud SQL, in table order."""
    return tuple(component for component in components if component.databases)


def backup_namespaces(components: tuple[Component, ...] = COMPONENTS) -> tuple[str, ...]:
    """Namespaces of backed-up components, in table order, each once."""
    return tuple(dict.fromkeys(component.namespace for component in components if component.backed_up))
