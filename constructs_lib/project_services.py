"""Enable the Google APIs a layer depends on."""
from __future__ import annotations

from dataclasses import dataclass

from constructs_lib.cdk import Construct, google


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
