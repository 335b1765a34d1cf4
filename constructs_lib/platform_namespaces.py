"""One platform namespace with its guard rails, as typed Kubernetes provider resources: the Namespace (Pod
Security Standards labels), its ResourceQuota and LimitRange, the default-deny NetworkPolicy and the allows
of stacks/namespaces.py.

The objects come from stacks/namespaces.py as Kubernetes manifests (the form tests validate against the
Kubernetes schemas); this module only maps each manifest onto its Terraform resource. Every namespaced
resource names the namespace through the Namespace resource's attribute, so Terraform creates the
namespace first and deletes it last.
"""
from __future__ import annotations

from dataclasses import dataclass

from constructs_lib.cdk import Construct, kubernetes


@dataclass(frozen=True, kw_only=True)
class PlatformNamespaceProps:
    manifests: tuple[dict, ...]
    """The Namespace first, then the objects in it (stacks/namespaces.manifests)."""


def _selector(struct, selector: dict):
    return struct(match_labels=dict(selector["matchLabels"])) if selector.get("matchLabels") else struct()


def _peer(peer: dict, direction: str):
    """One `from`/`to` entry; the provider has a struct per direction with the same fields."""
    np = kubernetes.network_policy_v1
    prefix = "NetworkPolicyV1SpecIngressFrom" if direction == "ingress" else "NetworkPolicyV1SpecEgressTo"
    fields = {}
    if "ipBlock" in peer:
        fields["ip_block"] = getattr(np, f"{prefix}IpBlock")(cidr=peer["ipBlock"]["cidr"])
    if "namespaceSelector" in peer:
        fields["namespace_selector"] = _selector(getattr(np, f"{prefix}NamespaceSelector"), peer["namespaceSelector"])
    if "podSelector" in peer:
        fields["pod_selector"] = _selector(getattr(np, f"{prefix}PodSelector"), peer["podSelector"])
    return getattr(np, prefix)(**fields)


def _network_policy_spec(spec: dict):
    np = kubernetes.network_policy_v1
    rules = {}
    if "ingress" in spec:
        rules["ingress"] = [np.NetworkPolicyV1SpecIngress(
            from_=[_peer(peer, "ingress") for peer in rule["from"]],
            ports=[np.NetworkPolicyV1SpecIngressPorts(port=str(port["port"]), protocol=port["protocol"]) for port in rule["ports"]],
        ) for rule in spec["ingress"]]
    if "egress" in spec:
        rules["egress"] = [np.NetworkPolicyV1SpecEgress(
            to=[_peer(peer, "egress") for peer in rule["to"]],
            ports=[np.NetworkPolicyV1SpecEgressPorts(port=str(port["port"]), protocol=port["protocol"]) for port in rule["ports"]],
        ) for rule in spec["egress"]]
    return np.NetworkPolicyV1Spec(
        pod_selector=_selector(np.NetworkPolicyV1SpecPodSelector, spec["podSelector"]),
        policy_types=list(spec["policyTypes"]), **rules,
    )


class PlatformNamespace(Construct):
    def __init__(self, scope: Construct, id: str, props: PlatformNamespaceProps) -> None:
        super().__init__(scope, id)
        namespace, *objects = props.manifests
        if namespace["kind"] != "Namespace":
            raise ValueError(f"PlatformNamespace {id}: the first manifest must be the Namespace, got {namespace['kind']}")
        name = namespace["metadata"]["name"]
        self.namespace = kubernetes.namespace_v1.NamespaceV1(
            self, "namespace", metadata={"name": name, "labels": dict(namespace["metadata"]["labels"])}
        )
        self.name = name
        ref = self.namespace.metadata.name
        for obj in objects:
            if obj["metadata"]["namespace"] != name:
                raise ValueError(f"PlatformNamespace {id}: {obj['kind']} {obj['metadata']['name']} belongs to "
                                 f"namespace {obj['metadata']['namespace']!r}, not {name!r}")
            metadata = {"name": obj["metadata"]["name"], "namespace": ref}
            construct_id = f"{obj['kind'].lower()}-{obj['metadata']['name']}"
            if obj["kind"] == "ResourceQuota":
                kubernetes.resource_quota_v1.ResourceQuotaV1(
                    self, construct_id, metadata=metadata, spec={"hard": dict(obj["spec"]["hard"])})
            elif obj["kind"] == "LimitRange":
                lr = kubernetes.limit_range_v1
                limits = [lr.LimitRangeV1SpecLimit(type=limit["type"], default=dict(limit["default"]),
                                                   default_request=dict(limit["defaultRequest"]))
                          for limit in obj["spec"]["limits"]]
                lr.LimitRangeV1(self, construct_id, metadata=metadata, spec=lr.LimitRangeV1Spec(limit=limits))
            elif obj["kind"] == "NetworkPolicy":
                kubernetes.network_policy_v1.NetworkPolicyV1(
                    self, construct_id, metadata=metadata, spec=_network_policy_spec(obj["spec"]))
            else:
                raise ValueError(f"PlatformNamespace {id}: no Terraform resource for kind {obj['kind']}")
