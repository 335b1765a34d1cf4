"""Names and steps several drills share, all derived from the environment's config."""
from __future__ import annotations

from stacks.config import EnvironmentConfig
from stacks.naming import resource_name

from scripts.dr.drill import Ref, Step


def cluster_name(env: EnvironmentConfig) -> str:
    return resource_name(env.prefix, "gke")


def cluster_ref(env: EnvironmentConfig) -> Ref:
    return Ref("cluster", "google_container_cluster", "name", cluster_name(env))


def credentials(env: EnvironmentConfig) -> Step:
    """kubectl credentials through the IAM-authorized DNS endpoint (works from outside the VPC)."""
    return Step(
        title="kubectl credentials for the cluster (DNS endpoint)",
        argv=("gcloud", "container", "clusters", "get-credentials", cluster_name(env), "--location", env.region,
              "--project", env.project_id, "--dns-endpoint"),
        refs=(cluster_ref(env),),
    )


def service_account_email(env: EnvironmentConfig, role: str) -> str:
    return f"{resource_name(env.prefix, role)}@{env.project_id}.iam.gserviceaccount.com"
