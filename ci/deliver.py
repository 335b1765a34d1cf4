"""Skaffold delivery jobs (docs/skaffold.md): build + push with the push identity, deploy/verify/promote
with the deploy identity. Each job uses one identity: the credential file is written by ci.identity."""
from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import requests

from ci import identity, tools

ROOT = Path(__file__).resolve().parent.parent
# step -> (Skaffold profile, overlay whose platform-names.env gives the registry, identity, tools)
STEPS = {
    "build-staging": ("staging", "staging", "push", ("skaffold", "docker", "docker-buildx")),
    "deploy-staging": ("staging", "staging", "deploy", ("skaffold", "kubectl", "gke-gcloud-auth-plugin")),
    "build-review": ("staging-preview", "staging-preview", "push", ("skaffold", "docker", "docker-buildx")),
    "deploy-review": ("staging-preview", "staging-preview", "deploy", ("skaffold", "kubectl", "gke-gcloud-auth-plugin")),
    "stop-review": ("staging-preview", "staging-preview", "deploy", ("kubectl", "gke-gcloud-auth-plugin")),
    "build-prod": ("prod", "prod", "push", ("skaffold", "docker", "docker-buildx")),
    "canary-prod": ("prod", "prod", "deploy", ("skaffold", "kubectl", "gke-gcloud-auth-plugin")),
    "verify-prod": ("prod", "prod", "deploy", ("skaffold", "kubectl", "gke-gcloud-auth-plugin")),
    "promote-prod": ("prod-promote", "prod", "deploy", ("skaffold", "kubectl", "gke-gcloud-auth-plugin")),
}
BUILD_FILE = "build.json"
GKE_CLUSTER_URL = "https://container.googleapis.com/v1/projects/{project_id}/locations/{location}/clusters/{name}"


REVIEW_ENV_FILE = "review.env"


def platform_name(overlay: str, key: str, root: Path = ROOT) -> str:
    """A generated name (k8s/overlays/<overlay>/platform-names.env), e.g. REGISTRY_URL."""
    names = root / "k8s" / "overlays" / overlay / "platform-names.env"
    for line in names.read_text(encoding="utf-8").splitlines():
        if line.startswith(f"{key}="):
            return line.partition("=")[2]
    raise ValueError(f"{names}: no {key}= line; regenerate with python -m k8s.generate_platform_names")


def docker_config(directory: Path, buildx: Path) -> Path:
    """A Docker client configuration directory with the pinned buildx as its CLI plugin: skaffold.yaml builds
    with BuildKit (`useBuildkit: true`), for which Docker's CLI needs buildx, and the static CLI has none."""
    plugins = directory / "cli-plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    plugin = plugins / "docker-buildx"
    if not plugin.exists():
        plugin.symlink_to(buildx)
    return directory


@dataclass(frozen=True, kw_only=True)
class Cluster:
    """The environment's GKE cluster, named as the cluster stack names it (a contract test checks it
    against the synthesized google_container_cluster)."""

    project_id: str
    location: str
    name: str

    @classmethod
    def of(cls, env_name: str, config_dir: Path = ROOT / "config") -> "Cluster":
        from stacks.config import load_configs
        from stacks.naming import resource_name

        [env] = load_configs(config_dir, only=(env_name,))
        return cls(project_id=env.project_id, location=env.region, name=resource_name(env.prefix, "gke"))


def cluster_endpoint(cluster: Cluster, token: str, session: requests.Session | None = None) -> str:
    """The cluster's DNS-based control-plane endpoint, read from the GKE API with the job's own identity
    (the deploy identity's roles/container.clusterViewer), so no endpoint is copied into CI variables."""
    http = session or requests.Session()
    response = http.get(GKE_CLUSTER_URL.format(**vars(cluster)), timeout=30, headers={"Authorization": f"Bearer {token}"})
    response.raise_for_status()
    endpoint = response.json().get("controlPlaneEndpointsConfig", {}).get("dnsEndpointConfig", {}).get("endpoint")
    if not endpoint:
        raise identity.IdentityError(
            f"cluster {cluster.name} ({cluster.project_id}, {cluster.location}) has no DNS-based control-plane "
            "endpoint; apply the cluster stack of this version first")
    return endpoint


def kubeconfig(endpoint: str, plugin: Path) -> dict:
    """A kubeconfig for the cluster's DNS-based control-plane endpoint (publicly trusted certificate, so no
    CA data), authenticated by gke-gcloud-auth-plugin from the job's external-account credentials."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "gke", "cluster": {"server": f"https://{endpoint}"}}],
        "users": [{"name": "ci", "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": str(plugin),
            "args": ["--use_application_default_credentials"],
            "provideClusterInfo": True,
            "interactiveMode": "Never",
        }}}],
        "contexts": [{"name": "gke", "context": {"cluster": "gke", "user": "ci"}}],
        "current-context": "gke",
    }


def commands(step: str, registry: str, slug: str = "") -> list[list[str]]:
    """The commands of `step` (tools by name; resolved to the pinned binaries by `run`)."""
    profile = STEPS[step][0]
    repo = f"--default-repo={registry}"
    if step.startswith("build-"):
        return [["skaffold", "build", "-p", profile, repo, f"--file-output={BUILD_FILE}"]]
    if step == "stop-review":
        return [["kubectl", "delete", "namespace", f"preview-{slug}", "--ignore-not-found", "--wait=false"]]
    if step == "verify-prod":
        return [["skaffold", "verify", "-p", profile, f"--build-artifacts={BUILD_FILE}"]]
    return [["skaffold", "deploy", "-p", profile, repo, f"--build-artifacts={BUILD_FILE}"]]


def run(step: str, environ: Mapping[str, str], workdir: Path) -> int:
    profile, overlay, who, needed = STEPS[step]
    env_name = "staging" if overlay.startswith("staging") else overlay
    job_env = identity.job_environment({**environ, "PLATFORM_ENV": env_name, "PLATFORM_IDENTITY": who}, workdir / "credentials")
    job_env["PATH"] = tools.bin_dir(needed, environ) + ":" + job_env.get("PATH", "")
    registry = platform_name(overlay, "REGISTRY_URL")
    credentials = json.loads(Path(job_env["GOOGLE_APPLICATION_CREDENTIALS"]).read_text(encoding="utf-8"))
    token = identity.access_token(credentials)
    if who == "push":
        job_env["DOCKER_CONFIG"] = str(docker_config(workdir / "docker", tools.install("docker-buildx", environ)))
        host = registry.split("/", 1)[0]
        subprocess.run(["docker", "login", "--username=oauth2accesstoken", "--password-stdin", f"https://{host}"],
                       input=token, text=True, env=job_env, check=True)
    else:
        config_path = workdir / "credentials" / "kubeconfig"
        endpoint = cluster_endpoint(Cluster.of(env_name), token)
        config_path.write_text(json.dumps(kubeconfig(endpoint, tools.install("gke-gcloud-auth-plugin", environ))))
        job_env["KUBECONFIG"] = str(config_path)
    slug = environ.get("CI_COMMIT_REF_SLUG", "")
    if step.endswith("-review"):
        job_env["PREVIEW_SLUG"] = slug
    if step == "deploy-review":
        # environment:url of the review app, read by GitLab from this dotenv report.
        url = f"https://{slug}.{platform_name(overlay, 'PREVIEW_DOMAIN')}"
        Path(REVIEW_ENV_FILE).write_text(f"REVIEW_URL={url}\n", encoding="utf-8")
    for command in commands(step, registry, slug):
        if step == "verify-prod":
            # Skaffold copies its whole environment into the verify Job: only what it needs to reach the cluster.
            keep = ("PATH", "HOME", "KUBECONFIG", "GOOGLE_APPLICATION_CREDENTIALS")
            code = subprocess.run(command, env={k: job_env[k] for k in keep if k in job_env}).returncode
        else:
            code = subprocess.run(command, env=job_env).returncode
        if code:
            return code
    return 0
