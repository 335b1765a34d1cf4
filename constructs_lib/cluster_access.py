"""Helm and Kubernetes providers for a GKE cluster, reached through its DNS-based control-plane endpoint
and authenticated by the `gke-gcloud-auth-plugin` exec credential plugin.

Why exec and not `google_client_config.access_token`: Terraform stores data-source results in state, so a
token read by a data source lands in the stack's state, readable by whoever can read state. The plugin
runs at plan/apply time, hands the token to the provider in memory, and nothing is stored. It uses the
caller's Application Default Credentials (in CI: the Workload Identity Federation credential of the job).

Why the DNS endpoint: it is IAM-authorized (`container.clusters.connect`) and reachable without a public
IP endpoint or authorized networks, and it serves a publicly trusted certificate, so no cluster CA is
passed. No kubeconfig file, no client certificate, no static token.
"""
from __future__ import annotations

from dataclasses import dataclass

from constructs_lib.cdk import Construct, helm, kubernetes

AUTH_PLUGIN = "gke-gcloud-auth-plugin"
EXEC_API_VERSION = "client.authentication.k8s.io/v1beta1"
AUTH_PLUGIN_ARGS = ("--use_application_default_credentials",)


@dataclass(frozen=True, kw_only=True)
class ClusterAccessProps:
    endpoint: str
    """DNS-based control-plane endpoint without scheme (ClusterOutputs.endpoint)."""


class ClusterAccess(Construct):
    def __init__(self, scope: Construct, id: str, props: ClusterAccessProps) -> None:
        super().__init__(scope, id)
        if not props.endpoint:
            raise ValueError(f"ClusterAccess {id}: endpoint is required (ClusterOutputs.endpoint)")
        if props.endpoint.startswith(("http://", "https://")):
            raise ValueError(f"ClusterAccess {id}: endpoint {props.endpoint!r} must be the bare address, without scheme")
        host = f"https://{props.endpoint}"
        self.helm = helm.provider.HelmProvider(
            self,
            "helm",
            kubernetes=helm.provider.HelmProviderKubernetes(
                host=host,
                exec=helm.provider.HelmProviderKubernetesExec(
                    api_version=EXEC_API_VERSION, command=AUTH_PLUGIN, args=list(AUTH_PLUGIN_ARGS)
                ),
            ),
        )
        self.kubernetes = kubernetes.provider.KubernetesProvider(
            self,
            "kubernetes",
            host=host,
            exec=[kubernetes.provider.KubernetesProviderExec(api_version=EXEC_API_VERSION, command=AUTH_PLUGIN, args=list(AUTH_PLUGIN_ARGS))],
        )
