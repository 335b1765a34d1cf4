"""Helm and Kubernetes providers for a GKE cluster, authenticated with the caller's short-lived Google
access token (`google_client_config`). No kubeconfig file, no client certificate, no static token."""
from __future__ import annotations

from dataclasses import dataclass

from constructs_lib.cdk import Construct, Fn, google, helm, kubernetes


@dataclass(frozen=True, kw_only=True)
class ClusterAccessProps:
    endpoint: str
    """Control-plane address without scheme (ClusterOutputs.endpoint)."""
    ca_certificate: str
    """Base64-encoded cluster CA certificate (ClusterOutputs.ca_certificate)."""


class ClusterAccess(Construct):
    def __init__(self, scope: Construct, id: str, props: ClusterAccessProps) -> None:
        super().__init__(scope, id)
        if not props.endpoint or not props.ca_certificate:
            raise ValueError(f"ClusterAccess {id}: endpoint and ca_certificate are required (from ClusterOutputs)")
        if props.endpoint.startswith(("http://", "https://")):
            raise ValueError(f"ClusterAccess {id}: endpoint {props.endpoint!r} must be the bare address, without scheme")
        client = google.data_google_client_config.DataGoogleClientConfig(self, "client")
        host = f"https://{props.endpoint}"
        ca = Fn.base64decode(props.ca_certificate)
        self.helm = helm.provider.HelmProvider(
            self,
            "helm",
            kubernetes=helm.provider.HelmProviderKubernetes(
                host=host, token=client.access_token, cluster_ca_certificate=ca
            ),
        )
        self.kubernetes = kubernetes.provider.KubernetesProvider(
            self, "kubernetes", host=host, token=client.access_token, cluster_ca_certificate=ca
        )
