"""The platform namespaces and the traffic between them, as data.

The data layer creates every namespace the platform runs in (constructs_lib/platform_namespaces.py turns
this table into typed Kubernetes resources): Pod Security Standards labels, a ResourceQuota, a LimitRange,
a default-deny NetworkPolicy (ingress and egress) and one NetworkPolicy per side of every flow in `FLOWS`.
Nothing talks to anything unless a row here says so, with its reason.

The namespaces come from the component table (stacks/components.py): a component in a new namespace gets
a restricted row with the default quota; COMPONENT_NAMESPACE_SETTINGS sizes the known ones, and
EXTRA_NAMESPACES adds KEDA and node-exporter, which run no Google service account and so are not components.

Each flow is enforced on both sides: an egress policy in the source namespace and an ingress policy in the
destination namespace, whenever that namespace is one of these. One exception: the egress of the
applications' own pods in `apps` is written per workload by delivery (k8s/base/<app>/networkpolicy.yaml);
for those flows (`source_policy="overlays"`) the data layer writes the ingress side only, and
tests/k8s/test_terraform_contract.py checks that the overlays open the same port.

Ports are the ports the pods listen on: tests/helm/test_namespace_flows.py checks every in-cluster
destination port against the containers of the rendered Helm releases and overlays.

CDK-free, so the config model, the delivery tests and the generators read it without starting the framework.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal, Mapping

from stacks.components import APP_NAMESPACE, COMPONENTS

PodSecurityLevel = Literal["restricted", "baseline", "privileged"]

# Contract with the application manifests (k8s/base/<app>/): pods opt in to these baseline flows by label.
GOOGLE_APIS_LABEL = "platform.example.com/google-apis"
METRICS_LABEL = "platform.example.com/metrics"
# The Gateway's HTTPS listener accepts HTTPRoutes only from namespaces with this label (k8s/base/gateway).
GATEWAY_ACCESS_LABEL = "platform.example.com/gateway-access"
NAME_LABEL = "kubernetes.io/metadata.name"


@dataclass(frozen=True, kw_only=True)
class Quota:
    """Hard limits of one namespace's ResourceQuota. Quantities in Kubernetes notation."""

    requests_cpu: str
    requests_memory: str
    limits_memory: str
    pods: int
    load_balancers: int = 0
    """`services.loadbalancers`. Default: 0, so no workload can expose itself through a load balancer the
    platform did not plan."""


@dataclass(frozen=True, kw_only=True)
class PlatformNamespace:
    name: str
    purpose: str
    quota: Quota
    """Sized for prod; config `namespaces.quotas.<name>` overrides it per environment."""
    pod_security: PodSecurityLevel = "restricted"
    """Enforced Pod Security Standard. Default: restricted."""
    pod_security_reason: str = ""
    """Why a level below `restricted` is needed; required then."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Extra namespace labels other objects select on. Default: none."""


DEFAULT_QUOTA = Quota(requests_cpu="4", requests_memory="8Gi", limits_memory="16Gi", pods=20)

# Namespaces of the component table, where a default row does not fit (purpose, size, labels).
COMPONENT_NAMESPACE_SETTINGS: Mapping[str, PlatformNamespace] = {
    namespace.name: namespace for namespace in (
        PlatformNamespace(
            name="temporal", purpose="Temporal server: frontend, history, matching, worker services and web UI",
            # The frontend is exposed through one internal passthrough load balancer.
            quota=Quota(requests_cpu="8", requests_memory="16Gi", limits_memory="32Gi", pods=40, load_balancers=1),
        ),
        PlatformNamespace(
            name="influxdb", purpose="InfluxDB time-series store and its backups", quota=DEFAULT_QUOTA,
        ),
        PlatformNamespace(
            name=APP_NAMESPACE, purpose="The applications deployed by Skaffold (k8s/overlays)",
            quota=Quota(requests_cpu="64", requests_memory="256Gi", limits_memory="512Gi", pods=300),
            labels={GATEWAY_ACCESS_LABEL: "true"},
        ),
        PlatformNamespace(
            name="monitoring", purpose="Prometheus, Alertmanager, Grafana, kube-state-metrics, prometheus-operator",
            quota=Quota(requests_cpu="8", requests_memory="32Gi", limits_memory="64Gi", pods=40),
        ),
    )
}

# Namespaces of platform services that run no Google service account, so are not components.
EXTRA_NAMESPACES: tuple[PlatformNamespace, ...] = (
    PlatformNamespace(
        name="keda", purpose="KEDA: autoscaling of the workers and the AI server",
        quota=Quota(requests_cpu="2", requests_memory="2Gi", limits_memory="4Gi", pods=20),
    ),
    PlatformNamespace(
        name="node-exporter", purpose="prometheus-node-exporter DaemonSet (one pod per node)",
        quota=Quota(requests_cpu="4", requests_memory="4Gi", limits_memory="8Gi", pods=200),
        pod_security="privileged",
        pod_security_reason="node-exporter reads the node's own metrics: it needs hostNetwork, hostPID and "
        "read-only hostPath mounts of / , /proc and /sys, which even the baseline profile forbids; it is "
        "alone in this namespace so nothing else inherits the exemption",
    ),
)


def _derived_namespaces() -> tuple[PlatformNamespace, ...]:
    """Every component's namespace (a new one gets a restricted default row), then the extra ones."""
    component_namespaces = dict.fromkeys(component.namespace for component in COMPONENTS)
    derived = tuple(
        COMPONENT_NAMESPACE_SETTINGS.get(name)
        or PlatformNamespace(name=name, purpose=f"components {', '.join(c.name for c in COMPONENTS if c.namespace == name)}",
                             quota=DEFAULT_QUOTA)
        for name in component_namespaces
    )
    return derived + EXTRA_NAMESPACES


NAMESPACES: tuple[PlatformNamespace, ...] = _derived_namespaces()

# Containers without their own requests/limits get these (ResourceQuota on requests.* rejects pods that
# declare none); the render tests check that every platform chart declares its own anyway.
DEFAULT_CONTAINER_REQUESTS = {"cpu": "100m", "memory": "128Mi"}
DEFAULT_CONTAINER_LIMITS = {"memory": "512Mi"}


@dataclass(frozen=True, kw_only=True)
class Pods:
    """Pods in one namespace (`namespace`), or in every namespace with `namespace_labels`."""

    namespace: str = ""
    namespace_labels: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    """Pod labels; empty selects every pod of the namespace."""


@dataclass(frozen=True, kw_only=True)
class Cidrs:
    """Addresses outside the pod network: fixed ones (`cidrs`) or ranges of the environment's network
    config (`config`: `control_plane`, `psa`, `nodes`)."""

    cidrs: tuple[str, ...] = ()
    config: tuple[Literal["control_plane", "psa", "nodes"], ...] = ()


Peer = Pods | Cidrs


@dataclass(frozen=True, kw_only=True)
class Port:
    number: int
    protocol: Literal["TCP", "UDP"] = "TCP"


@dataclass(frozen=True, kw_only=True)
class Flow:
    name: str
    """Policy names: `egress-<name>` in the source namespace, `ingress-<name>` in the destination one."""
    sources: tuple[Peer, ...]
    destinations: tuple[Peer, ...]
    ports: tuple[Port, ...]
    reason: str
    source_policy: Literal["data", "overlays"] = "data"
    """Who writes the egress side in `apps`: the data layer (default) or the workload's own policy in
    k8s/base/<app>/networkpolicy.yaml (checked to match by a contract test)."""


def _every_namespace() -> tuple[Pods, ...]:
    return tuple(Pods(namespace=namespace.name) for namespace in NAMESPACES)


KUBE_DNS = Pods(namespace="kube-system", labels={"k8s-app": "kube-dns"})
KUBE_APISERVER = Cidrs(config=("control_plane",))
GKE_METADATA_SERVER = Cidrs(cidrs=("169.254.169.254/32",))
GKE_METADATA_SERVER_DPV2 = Cidrs(cidrs=("169.254.169.252/32",))
PRIVATE_GOOGLE_APIS = Cidrs(cidrs=("199.36.153.8/30", "199.36.153.4/30"))
KEDA_OPERATOR = Pods(namespace="keda", labels={"app": "keda-operator"})
KEDA_METRICS_APISERVER = Pods(namespace="keda", labels={"app": "keda-operator-metrics-apiserver"})
KEDA_WEBHOOKS = Pods(namespace="keda", labels={"app": "keda-admission-webhooks"})
GOOGLE_API_CLIENTS = (Pods(namespace=APP_NAMESPACE, labels={GOOGLE_APIS_LABEL: "true"}),)
METRICS_TARGETS = (Pods(namespace=APP_NAMESPACE, labels={METRICS_LABEL: "true"}),)

FLOWS: tuple[Flow, ...] = (
    Flow(
        name="dns", sources=_every_namespace(),
        # kube-dns, plus the link-local resolvers GKE may answer from instead (NodeLocal DNSCache, and Cloud
        # DNS for GKE through the metadata server).
        destinations=(KUBE_DNS, Cidrs(cidrs=("169.254.20.10/32", "169.254.169.254/32"))),
        ports=(Port(number=53, protocol="UDP"), Port(number=53)),
        reason="every pod resolves service and Google API names",
    ),
    Flow(
        name="gke-metadata", sources=GOOGLE_API_CLIENTS, destinations=(GKE_METADATA_SERVER,), ports=(Port(number=80),),
        reason="the GKE metadata server hands out the Workload Identity tokens",
    ),
    Flow(
        name="gke-metadata-dpv2", sources=GOOGLE_API_CLIENTS, destinations=(GKE_METADATA_SERVER_DPV2,),
        ports=(Port(number=988),),
        reason="with GKE Dataplane V2 the metadata server answers on 169.254.169.252:988",
    ),
    Flow(
        name="google-apis", sources=GOOGLE_API_CLIENTS, destinations=(PRIVATE_GOOGLE_APIS,), ports=(Port(number=443),),
        # Public Google API addresses cannot be enumerated for a NetworkPolicy and stay blocked; the network
        # layer's private DNS zone resolves *.googleapis.com to these VIPs.
        reason="Google APIs through the Private Google Access VIPs (private and restricted.googleapis.com) only",
    ),
    Flow(
        name="kube-apiserver", sources=(Pods(namespace="keda"),), destinations=(KUBE_APISERVER,),
        ports=(Port(number=443),),
        reason="the KEDA operator, metrics server and webhooks watch and update objects through the API server",
    ),
    Flow(
        name="keda-webhooks", sources=(KUBE_APISERVER,), destinations=(KEDA_WEBHOOKS,), ports=(Port(number=9443),),
        reason="the API server calls KEDA's validating admission webhooks for ScaledObjects and friends",
    ),
    Flow(
        name="keda-external-metrics", sources=(KUBE_APISERVER,), destinations=(KEDA_METRICS_APISERVER,),
        ports=(Port(number=6443),),
        reason="the API server proxies external.metrics.k8s.io (the HPA's KEDA metrics) to KEDA's metrics server",
    ),
    Flow(
        name="keda-metrics-service", sources=(KEDA_METRICS_APISERVER,), destinations=(KEDA_OPERATOR,),
        ports=(Port(number=9666),),
        reason="KEDA's metrics server reads the scaler metrics from the operator over gRPC",
    ),
    Flow(
        name="metrics-scrape", sources=(Pods(namespace="monitoring"),), destinations=METRICS_TARGETS,
        ports=(Port(number=8080),),
        reason="Prometheus scrapes /metrics on the app port of every application pod",
    ),
)


def namespace_names() -> tuple[str, ...]:
    return tuple(namespace.name for namespace in NAMESPACES)


def by_name() -> dict[str, PlatformNamespace]:
    return {namespace.name: namespace for namespace in NAMESPACES}


def check_tables(namespaces: tuple[PlatformNamespace, ...] = NAMESPACES, flows: tuple[Flow, ...] = FLOWS) -> None:
    """The tables' own consistency; every message names the row and the fix."""
    names = [namespace.name for namespace in namespaces]
    for index, name in enumerate(names):
        if name in names[:index]:
            raise ValueError(f"stacks/namespaces.py: namespace {name!r} appears twice; every row needs its own")
    component_namespaces = {component.namespace for component in COMPONENTS}
    for name in COMPONENT_NAMESPACE_SETTINGS:
        if name not in component_namespaces:
            raise ValueError(
                f"stacks/namespaces.py: COMPONENT_NAMESPACE_SETTINGS has namespace {name!r}, which no component runs "
                "in; remove it, or move it to EXTRA_NAMESPACES if a platform service without a component needs it"
            )
    for namespace in namespaces:
        if namespace.pod_security != "restricted" and len(namespace.pod_security_reason.split()) < 8:
            raise ValueError(
                f"stacks/namespaces.py: namespace {namespace.name!r} enforces {namespace.pod_security!r}; "
                "pod_security_reason must say why restricted is impossible"
            )
    for flow in flows:
        for side, peers in (("sources", flow.sources), ("destinations", flow.destinations)):
            spaces = [peer.namespace for peer in peers if isinstance(peer, Pods) and peer.namespace]
            if len(spaces) != len(set(spaces)):
                raise ValueError(
                    f"stacks/namespaces.py: flow {flow.name!r} lists two {side} in one namespace; merge their "
                    "labels or split the flow (one policy per side and namespace)"
                )
    flow_names = [flow.name for flow in flows]
    for index, flow in enumerate(flows):
        if flow.name in flow_names[:index]:
            raise ValueError(f"stacks/namespaces.py: flow {flow.name!r} appears twice; policy names would collide")
        for peer in (*flow.sources, *flow.destinations):
            if isinstance(peer, Pods) and bool(peer.namespace) == bool(peer.namespace_labels):
                raise ValueError(
                    f"stacks/namespaces.py: flow {flow.name!r}: a Pods peer needs exactly one of namespace and "
                    "namespace_labels"
                )
        if flow.source_policy == "overlays" and any(
            not isinstance(peer, Pods) or peer.namespace not in ("", APP_NAMESPACE) for peer in flow.sources
        ):
            raise ValueError(
                f"stacks/namespaces.py: flow {flow.name!r}: source_policy 'overlays' is for sources in "
                f"{APP_NAMESPACE!r} only"
            )


check_tables()


# --- Kubernetes objects ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class NetworkRanges:
    """The environment's ranges that flows name through `Cidrs.config`."""

    control_plane: str
    psa: str
    nodes: str

    @classmethod
    def of(cls, env) -> "NetworkRanges":
        """From an EnvironmentConfig."""
        return cls(control_plane=str(env.network.control_plane_cidr), psa=str(env.network.psa_cidr),
                   nodes=str(env.network.private.cidr))


def pod_security_labels(namespace: PlatformNamespace, kubernetes_version: str) -> dict[str, str]:
    """Enforce, audit and warn at the same level, pinned to the cluster's minor version: a GKE upgrade
    then never tightens admission of the replacement pods of a running workload by surprise."""
    version = f"v{kubernetes_version}"
    labels = {}
    for mode in ("enforce", "audit", "warn"):
        labels[f"pod-security.kubernetes.io/{mode}"] = namespace.pod_security
        labels[f"pod-security.kubernetes.io/{mode}-version"] = version
    return labels


def namespace_manifest(namespace: PlatformNamespace, kubernetes_version: str) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": namespace.name,
                         "labels": {**pod_security_labels(namespace, kubernetes_version), **namespace.labels}}}


def quota_manifest(namespace: str, quota: Quota) -> dict:
    return {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "platform-quota", "namespace": namespace},
            "spec": {"hard": {"requests.cpu": quota.requests_cpu, "requests.memory": quota.requests_memory,
                              "limits.memory": quota.limits_memory, "pods": str(quota.pods),
                              "services.loadbalancers": str(quota.load_balancers), "services.nodeports": "0"}}}


def limit_range_manifest(namespace: str) -> dict:
    return {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "container-defaults", "namespace": namespace},
            "spec": {"limits": [{"type": "Container", "defaultRequest": dict(DEFAULT_CONTAINER_REQUESTS),
                                 "default": dict(DEFAULT_CONTAINER_LIMITS)}]}}


def _peer(peer: Peer, ranges: NetworkRanges, from_namespace: str) -> list[dict]:
    """NetworkPolicy peers for `peer`, seen from a policy in `from_namespace`."""
    if isinstance(peer, Cidrs):
        return [{"ipBlock": {"cidr": cidr}} for cidr in (*peer.cidrs, *(getattr(ranges, name) for name in peer.config))]
    entry: dict = {}
    if peer.namespace_labels:
        entry["namespaceSelector"] = {"matchLabels": dict(peer.namespace_labels)}
    elif peer.namespace != from_namespace:
        entry["namespaceSelector"] = {"matchLabels": {NAME_LABEL: peer.namespace}}
    if peer.labels or not entry:
        entry["podSelector"] = {"matchLabels": dict(peer.labels)}
    return [entry]


def _ports(flow: Flow) -> list[dict]:
    return [{"protocol": port.protocol, "port": port.number} for port in flow.ports]


def _policy(namespace: str, name: str, pods: Mapping[str, str], direction: str, peers: list[dict], ports) -> dict:
    kind, key = ("Egress", "to") if direction == "egress" else ("Ingress", "from")
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": f"{direction}-{name}", "namespace": namespace},
            "spec": {"podSelector": {"matchLabels": dict(pods)} if pods else {}, "policyTypes": [kind],
                     direction: [{key: peers, "ports": ports}]}}


def default_deny_manifest(namespace: str) -> dict:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "default-deny-all", "namespace": namespace},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}}


def flow_policies(ranges: NetworkRanges, flows: tuple[Flow, ...] = FLOWS,
                  namespaces: tuple[str, ...] | None = None) -> list[dict]:
    """Both sides of every flow, as NetworkPolicy manifests, in the platform namespaces only."""
    ours = set(namespace_names() if namespaces is None else namespaces)
    policies = []
    for flow in flows:
        for source in flow.sources:
            if not isinstance(source, Pods) or source.namespace not in ours:
                continue
            if flow.source_policy == "overlays" and source.namespace == APP_NAMESPACE:
                continue
            peers = [entry for destination in flow.destinations for entry in _peer(destination, ranges, source.namespace)]
            policies.append(_policy(source.namespace, flow.name, source.labels, "egress", peers, _ports(flow)))
        for destination in flow.destinations:
            if not isinstance(destination, Pods) or destination.namespace not in ours:
                continue
            peers = [entry for source in flow.sources for entry in _peer(source, ranges, destination.namespace)]
            policies.append(_policy(destination.namespace, flow.name, destination.labels, "ingress", peers, _ports(flow)))
    return policies


def effective_quota(namespace: PlatformNamespace, override: Mapping[str, object] | None) -> Quota:
    """The table's quota with the environment's overrides (config `namespaces.quotas.<name>`) applied."""
    return replace(namespace.quota, **{key: value for key, value in (override or {}).items() if value is not None})


def manifests(namespace: PlatformNamespace, *, quota: Quota, kubernetes_version: str, ranges: NetworkRanges) -> list[dict]:
    """Every object the data layer creates for one namespace, in apply order (the Namespace first)."""
    policies = [p for p in flow_policies(ranges) if p["metadata"]["namespace"] == namespace.name]
    return [namespace_manifest(namespace, kubernetes_version), quota_manifest(namespace.name, quota),
            limit_range_manifest(namespace.name), default_deny_manifest(namespace.name), *policies]


def environment_manifests(env) -> dict[str, list[dict]]:
    """Namespace -> its objects (see `manifests`) for an EnvironmentConfig, as the data layer creates them."""
    ranges = NetworkRanges.of(env)
    objects = {}
    for namespace in NAMESPACES:
        override = env.namespaces.quotas.get(namespace.name)
        quota = effective_quota(namespace, override.model_dump() if override else None)
        objects[namespace.name] = manifests(
            namespace, quota=quota, kubernetes_version=env.cluster.kubernetes_version, ranges=ranges
        )
    return objects
