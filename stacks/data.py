"""`<env>-data`: the platform namespaces (stacks/namespaces.py: Pod Security labels, quotas, default-deny
and the allowed flows), then the in-cluster data-plane services installed with Helm into them. Today: KEDA,
which scales the workers on Temporal task-queue depth and the AI server on its request backlog.

The Helm and Kubernetes providers reach the cluster's DNS endpoint and authenticate with the
gke-gcloud-auth-plugin exec plugin (ClusterAccess): no token in state, no kubeconfig read or written.
"""
from __future__ import annotations

from pathlib import Path

from constructs_lib.cdk import App
from constructs_lib.cluster_access import ClusterAccess, ClusterAccessProps
from constructs_lib.dependencies import depend_on
from constructs_lib.helm_release import HelmRelease, HelmReleaseProps
from constructs_lib.platform_namespaces import PlatformNamespace, PlatformNamespaceProps
from stacks import namespaces as platform_namespaces
from stacks.base import LayerStack
from stacks.config import EnvironmentConfig
from stacks.contracts import ClusterOutputs

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

    def __init__(self, scope: App, env: EnvironmentConfig, *, cluster: ClusterOutputs) -> None:
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
