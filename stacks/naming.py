"""Every GCP and Kubernetes name the platform shares between Terraform and delivery, derived from the
validated environment prefix. One place, so the stacks and the Kubernetes overlays cannot drift apart."""
from __future__ import annotations

from dataclasses import dataclass

from stacks.components import app_components

# Public registries the platform's third-party images come from → the slug of their Artifact Registry
# remote repository (`<prefix>-mirror-<slug>`).
UPSTREAM_REGISTRIES = {"docker.io": "docker-hub", "ghcr.io": "ghcr", "quay.io": "quay", "registry.k8s.io": "k8s"}


def resource_name(prefix: str, role: str) -> str:
    """`<prefix>-<role>`, the shape of every GCP resource name."""
    return f"{prefix}-{role}"


def service_account_email(prefix: str, component: str, project_id: str) -> str:
    return f"{resource_name(prefix, component)}@{project_id}.iam.gserviceaccount.com"


@dataclass(frozen=True, kw_only=True)
class DeliveryNames:
    """Names the Kubernetes manifests and Skaffold need from Terraform-managed resources."""

    prefix: str
    project_id: str
    region: str
    domain: str

    @classmethod
    def of(cls, env) -> "DeliveryNames":
        """The names of an `EnvironmentConfig` (any object with prefix, project_id, region, domain)."""
        return cls(prefix=env.prefix, project_id=env.project_id, region=env.region, domain=env.domain)

    @property
    def registry_url(self) -> str:
        return f"{self.region}-docker.pkg.dev/{self.project_id}/{resource_name(self.prefix, 'apps')}"

    def mirror_repository_id(self, upstream: str) -> str:
        """Artifact Registry remote repository (pull-through cache) for a public registry, e.g. docker.io.
        Third-party images are pulled through these, so nodes need no internet egress and Binary
        Authorization allowlists Artifact Registry paths only."""
        if upstream not in UPSTREAM_REGISTRIES:
            raise ValueError(f"unknown upstream registry {upstream!r}; expected one of {', '.join(UPSTREAM_REGISTRIES)}")
        return resource_name(self.prefix, f"mirror-{UPSTREAM_REGISTRIES[upstream]}")

    def mirror_url(self, upstream: str) -> str:
        """`<region>-docker.pkg.dev/<project>/<prefix>-mirror-<slug>`: replaces `upstream` in image names
        (`docker.io/temporalio/server` → `<mirror_url('docker.io')>/temporalio/server`)."""
        return f"{self.region}-docker.pkg.dev/{self.project_id}/{self.mirror_repository_id(upstream)}"

    @property
    def sql_instance_name(self) -> str:
        """The Cloud SQL for PostgreSQL instance (data stack); IAM conditions and the Auth Proxy name it."""
        return resource_name(self.prefix, "postgres")

    @property
    def sql_connection_name(self) -> str:
        """`project:region:instance`, what the Cloud SQL Auth Proxy connects to."""
        return f"{self.project_id}:{self.region}:{self.sql_instance_name}"

    @property
    def edge_ip_name(self) -> str:
        return resource_name(self.prefix, "edge-ip")

    @property
    def certificate_map_name(self) -> str:
        return resource_name(self.prefix, "edge-certmap")

    @property
    def ssl_policy_name(self) -> str:
        return resource_name(self.prefix, "edge-tls")

    @property
    def armor_policy_name(self) -> str:
        return resource_name(self.prefix, "edge-armor")

    @property
    def api_hostname(self) -> str:
        return f"api.{self.domain}"

    @property
    def ai_hostname(self) -> str:
        return f"ai.{self.domain}"

    @property
    def preview_domain(self) -> str:
        """Per-branch previews are served at `<slug>.<preview_domain>`."""
        return f"preview.{self.domain}"

    def service_account_email(self, component: str) -> str:
        return service_account_email(self.prefix, component, self.project_id)

    def as_env(self) -> dict[str, str]:
        """Flat KEY=value pairs, the form kustomize's configMapGenerator / replacements consume."""
        values = {
            "PROJECT_ID": self.project_id,
            "REGION": self.region,
            "REGISTRY_URL": self.registry_url,
            "EDGE_IP_NAME": self.edge_ip_name,
            "CERTIFICATE_MAP_NAME": self.certificate_map_name,
            "SSL_POLICY_NAME": self.ssl_policy_name,
            "ARMOR_POLICY_NAME": self.armor_policy_name,
            "API_HOSTNAME": self.api_hostname,
            "AI_HOSTNAME": self.ai_hostname,
        }
        for component in app_components():
            values[component.env_key] = self.service_account_email(component.name)
        return values
