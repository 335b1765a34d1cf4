"""Enable the Google APIs a layer depends on."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from constructs_lib.cdk import Construct, TerraformProvider, TerraformProviderGeneratorMetadata, TerraformResource, google

# google_project_service_identity exists in the google-beta provider only; it is the one resource the
# platform takes from there, at the same version as the google provider.
BETA_PROVIDER_SOURCE = "hashicorp/google-beta"
BETA_PROVIDER_VERSION = "6.50.0"


@dataclass(frozen=True, kw_only=True)
class ProjectServicesProps:
    project_id: str
    services: tuple[str, ...]
    """API names such as `container.googleapis.com`."""


class ProjectServices(Construct):
    """One `google_project_service` per API. Destroying the stack never disables an API: other stacks and
    people may depend on it, and disabling can delete data (e.g. Secret Manager)."""

    def __init__(self, scope: Construct, id: str, props: ProjectServicesProps) -> None:
        super().__init__(scope, id)
        duplicates = sorted({s for s in props.services if props.services.count(s) > 1})
        if duplicates:
            raise ValueError(f"ProjectServices {id}: services listed twice: {duplicates}")
        for service in props.services:
            if not service.endswith(".googleapis.com"):
                raise ValueError(f"ProjectServices {id}: {service!r} is not an API name (expected <name>.googleapis.com)")
            google.project_service.ProjectService(
                self,
                service.removesuffix(".googleapis.com"),
                project=props.project_id,
                service=service,
                disable_on_destroy=False,
                disable_dependent_services=False,
            )


@dataclass(frozen=True, kw_only=True)
class ServiceIdentitiesProps:
    project_id: str
    services: tuple[str, ...]
    """APIs whose service agent must exist before anything grants it a role (e.g. `sqladmin.googleapis.com`:
    Cloud SQL's agent is otherwise created with the first instance, after its CMEK key grant is needed)."""
    default_labels: Mapping[str, str] = field(default_factory=dict)
    """The stack's provider-level labels, so the beta provider labels like the google one. Default: none."""


class ServiceIdentities(Construct):
    """One `google_project_service_identity` per API, through a google-beta provider scoped to this construct."""

    def __init__(self, scope: Construct, id: str, props: ServiceIdentitiesProps) -> None:
        super().__init__(scope, id)
        if not props.services or len(set(props.services)) != len(props.services):
            raise ValueError(f"ServiceIdentities {id}: expected distinct API names, got {list(props.services)}")
        beta = TerraformProvider(
            self,
            "google-beta",
            terraform_resource_type="google-beta",
            terraform_provider_source=BETA_PROVIDER_SOURCE,
            terraform_generator_metadata=TerraformProviderGeneratorMetadata(
                provider_name="google-beta", provider_version_constraint=BETA_PROVIDER_VERSION
            ),
        )
        beta.add_override("project", props.project_id)
        beta.add_override("default_labels", dict(props.default_labels))
        beta.add_override("add_terraform_attribution_label", False)
        self.emails: dict[str, str] = {}
        for service in props.services:
            if not service.endswith(".googleapis.com"):
                raise ValueError(f"ServiceIdentities {id}: {service!r} is not an API name (expected <name>.googleapis.com)")
            identity = TerraformResource(
                self, service.removesuffix(".googleapis.com"), terraform_resource_type="google_project_service_identity", provider=beta
            )
            identity.add_override("project", props.project_id)
            identity.add_override("service", service)
            self.emails[service] = identity.get_string_attribute("email")
