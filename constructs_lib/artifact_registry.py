"""Artifact Registry Docker repository: CMEK-encrypted, cleaned up automatically, with repository-level
(not project-wide) read and write grants."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping

from constructs_lib.cdk import Construct, TerraformResourceLifecycle, google
from constructs_lib.iam import IamAdditive, IamBindings, bind_iam, validate_iam

_REPOSITORY_ID = re.compile(r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")
SECONDS_PER_DAY = 86400


def docker_registry_url(location: str, project_id: str, repository_id: str) -> str:
    return f"{location}-docker.pkg.dev/{project_id}/{repository_id}"


@dataclass(frozen=True, kw_only=True)
class DockerRepositoryProps:
    project_id: str
    location: str
    repository_id: str
    kms_key: str
    """Cloud KMS key id in the same location; the Artifact Registry service agent must hold
    encrypter/decrypter on it before the repository is created."""
    iam: IamBindings = field(default_factory=dict)
    """Roles on this repository, authoritative per role, e.g. `roles/artifactregistry.reader` for the
    nodes and `roles/artifactregistry.writer` for the push identity. Default: none."""
    iam_additive: IamAdditive = field(default_factory=dict)
    """Additive grants on this repository, keyed by what they are for. Default: none."""
    keep_recent: int = 20
    """Newest versions per image that cleanup never deletes. Default: 20."""
    delete_untagged_after_days: int = 14
    """Untagged versions older than this are deleted. Default: 14."""
    delete_tagged_after_days: int = 90
    """Tagged versions older than this are deleted too, except the keep_recent newest (a KEEP rule alone
    deletes nothing: it only protects versions from DELETE rules). Default: 90."""
    upstream: str | None = None
    """Public registry this repository caches (a remote repository, pull-through): `docker.io` or an
    https URL such as `https://ghcr.io`. Default: none, a standard repository CI pushes to."""
    description: str = "Application images built by CI"
    immutable_tags: bool = True
    """A tag, once pushed, always names the same image. Default: on."""
    prevent_destroy: bool = True
    """Terraform refuses to delete the repository (and every image in it). Default: on."""
    labels: Mapping[str, str] = field(default_factory=dict)


class DockerRepository(Construct):
    def __init__(self, scope: Construct, id: str, props: DockerRepositoryProps) -> None:
        super().__init__(scope, id)
        where = f"DockerRepository {props.repository_id}"
        if not _REPOSITORY_ID.match(props.repository_id):
            raise ValueError(f"{where}: repository_id must be 1-63 lower-case letters, digits or '-', starting with a letter")
        if not props.kms_key:
            raise ValueError(f"{where}: kms_key is empty; images are encrypted with a customer-managed key")
        validate_iam(where, iam=props.iam, iam_additive=props.iam_additive)
        if not 1 <= props.delete_untagged_after_days <= props.delete_tagged_after_days:
            raise ValueError(
                f"{where}: delete_untagged_after_days {props.delete_untagged_after_days} must be within 1 and "
                f"delete_tagged_after_days ({props.delete_tagged_after_days})"
            )
        if props.upstream not in (None, "docker.io") and not props.upstream.startswith("https://"):
            raise ValueError(f"{where}: upstream {props.upstream!r} must be docker.io or an https:// registry URL")
        m = google.artifact_registry_repository
        remote = None
        if props.upstream == "docker.io":
            remote = {"description": "Docker Hub", "docker_repository": {"public_repository": "DOCKER_HUB"}}
        elif props.upstream:
            remote = {"description": props.upstream, "docker_repository": {"custom_repository": {"uri": props.upstream}}}
        self.repository = m.ArtifactRegistryRepository(
            self,
            "repository",
            project=props.project_id,
            location=props.location,
            repository_id=props.repository_id,
            format="DOCKER",
            description=props.description,
            kms_key_name=props.kms_key,
            mode="REMOTE_REPOSITORY" if remote else None,
            remote_repository_config=remote,
            # Tags of a cache follow the upstream; immutability applies to what CI pushes.
            docker_config=None if remote else m.ArtifactRegistryRepositoryDockerConfig(immutable_tags=props.immutable_tags),
            cleanup_policy_dry_run=False,
            # KEEP wins over DELETE: the newest versions survive even when untagged and old.
            cleanup_policies=[
                m.ArtifactRegistryRepositoryCleanupPolicies(
                    id="keep-recent",
                    action="KEEP",
                    most_recent_versions=m.ArtifactRegistryRepositoryCleanupPoliciesMostRecentVersions(
                        keep_count=props.keep_recent
                    ),
                ),
                m.ArtifactRegistryRepositoryCleanupPolicies(
                    id="delete-untagged",
                    action="DELETE",
                    condition=m.ArtifactRegistryRepositoryCleanupPoliciesCondition(
                        tag_state="UNTAGGED", older_than=f"{props.delete_untagged_after_days * SECONDS_PER_DAY}s"
                    ),
                ),
                m.ArtifactRegistryRepositoryCleanupPolicies(
                    id="delete-tagged",
                    action="DELETE",
                    condition=m.ArtifactRegistryRepositoryCleanupPoliciesCondition(
                        tag_state="TAGGED", older_than=f"{props.delete_tagged_after_days * SECONDS_PER_DAY}s"
                    ),
                ),
            ],
            labels=dict(props.labels),
            lifecycle=TerraformResourceLifecycle(prevent_destroy=props.prevent_destroy),
        )
        bind_iam(
            self,
            iam=props.iam,
            iam_additive=props.iam_additive,
            binding=google.artifact_registry_repository_iam_binding.ArtifactRegistryRepositoryIamBinding,
            member=google.artifact_registry_repository_iam_member.ArtifactRegistryRepositoryIamMember,
            target={"project": props.project_id, "location": props.location, "repository": self.repository.name},
            # `reader`, `writer`: the ids these bindings have always had (renaming them would move state).
            binding_id=lambda role: role.rsplit(".", 1)[-1],
        )
        self.url = docker_registry_url(props.location, props.project_id, props.repository_id)
