"""Generate the architecture diagram from the synthesized app: docs/architecture.md (Mermaid, rendered by
GitLab), docs/architecture.svg and docs/architecture.png (Graphviz through graphviz-pure).

`python scripts/architecture.py` rewrites all three; tests/docs/test_generated_docs.py fails when stale.
Every box is a resource found in the synthesized Terraform JSON of the environment drawn (or an object of
its rendered k8s/ overlay); every arrow between workloads is an egress a NetworkPolicy allows; the
Gateway's arrows are its HTTPRoutes. A part no layer builds yet has no box.
"""
from __future__ import annotations

import re
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.docgen.synthesized import NAME_ATTRIBUTES, ROOT, SynthesizedApp, synthesize  # noqa: E402

DOCS = ROOT / "docs"
TARGET = DOCS / "architecture.md"
SVG = DOCS / "architecture.svg"
PNG = DOCS / "architecture.png"
DRAWN_ENV = "prod"
DOT = Path(sys.executable).with_name("graphviz-pure")
# Fill colour per layer (and for what the k8s/ overlays deploy); the apply-order box is the legend.
LAYER_COLOURS = {
    "bootstrap": "#fde2e4", "network": "#e2ece9", "security": "#fff1c1", "cluster": "#dbe7f7",
    "data": "#e8dff5", "observability": "#fce1c8", "k8s": "#eeeeee",
}
COMPONENT_LABEL = "app.kubernetes.io/name"


@dataclass(frozen=True)
class Node:
    id: str
    label: str
    group: str
    layer: str


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    kind: str
    """`traffic` (requests), `ci` (pipelines acting through Workload Identity) or `uses`."""
    label: str = ""


@dataclass
class Graph:
    groups: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    """group id → (title, parent group id)."""
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)

    def group(self, group_id: str, title: str, parent: str | None = None) -> str:
        self.groups.setdefault(group_id, (title, parent))
        return group_id

    def node(self, node_id: str, label: str, group: str, layer: str) -> str:
        self.nodes.append(Node(node_id, label, group, layer))
        return node_id

    def edge(self, source: str, target: str, kind: str, label: str = "") -> None:
        ids = {node.id for node in self.nodes}
        if source in ids and target in ids and Edge(source, target, kind, label) not in self.edges:
            self.edges.append(Edge(source, target, kind, label))

    def has(self, node_id: str) -> bool:
        return any(node.id == node_id for node in self.nodes)

    def nesting(self) -> tuple[dict[str | None, list[str]], dict[str, list[Node]]]:
        """Subgroups by parent group (None: top level) and nodes by group, in insertion order."""
        children: dict[str | None, list[str]] = defaultdict(list)
        for group_id, (_, parent) in self.groups.items():
            children[parent].append(group_id)
        members: dict[str, list[Node]] = defaultdict(list)
        for node in self.nodes:
            members[node.group].append(node)
        return children, members


def names(app: SynthesizedApp, stack: str, type_: str) -> list[str]:
    """The short names (account ids, not emails) of one type's resources in `stack`."""
    if stack not in app.stacks:
        return []
    return [app.resolve(stack, str(next((body[key] for key in NAME_ATTRIBUTES if key in body), logical_id)))
            for _, logical_id, body in app.resources(stack, type_)]


def count(app: SynthesizedApp, stack: str, type_: str) -> int:
    return sum(1 for _ in app.resources(stack, type_)) if stack in app.stacks else 0


def build(app: SynthesizedApp, env: str, rendered) -> Graph:
    """The graph of one environment: `rendered` is its k8s/ overlay (k8s.render.Rendered)."""
    graph = Graph()
    stack = {layer: f"{env}-{layer}" for layer in app.layers(env)}
    bootstrap, network, security, cluster = (stack.get(layer, "") for layer in ("bootstrap", "network", "security", "cluster"))
    project = next(body["project"] for _, _, body in app.resources(bootstrap, "google_service_account"))

    order = graph.group("order", f"Terraform stacks of {env}, in apply order")
    previous = None
    for layer, name in stack.items():
        resources = sum(1 for _ in app.resources(name))
        graph.node(f"layer_{layer}", f"{layer}\\n{resources} resources", order, layer)
        for dependency in app.dependencies[name]:
            graph.edges.append(Edge(f"layer_{dependency.rsplit('-', 1)[1]}", f"layer_{layer}", "uses"))
        previous = layer
    del previous

    outside = graph.group("outside", "Outside Google Cloud")
    graph.node("users", "Internet clients", outside, "k8s")
    graph.node("gitlab", "GitLab CI pipelines", outside, "k8s")
    gcp = graph.group("gcp", f"Google Cloud project {project}")

    edge = graph.group("edge", "Global edge", gcp)
    for address in names(app, security, "google_compute_global_address"):
        graph.node("edge_ip", f"global IP {address}\\nA records api/ai", edge, "security")
    for policy in names(app, security, "google_compute_security_policy"):
        graph.node("armor", f"Cloud Armor {policy}\\nOWASP CRS, rate limit", edge, "security")
    certificate_maps = names(app, security, "google_certificate_manager_certificate_map")
    ssl_policies = names(app, security, "google_compute_ssl_policy")
    if certificate_maps:
        graph.node("certs", f"certificate map {certificate_maps[0]}\\nSSL policy {', '.join(ssl_policies)}", edge, "security")
    for gateway in rendered.of_kind("Gateway"):
        graph.node("gateway", f"Gateway {gateway['metadata']['namespace']}/{gateway['metadata']['name']}\\n"
                              f"{gateway['spec']['gatewayClassName']}", edge, "k8s")

    identity = graph.group("identity", "Keyless CI identity", gcp)
    for pool in names(app, bootstrap, "google_iam_workload_identity_pool"):
        graph.node("wif", f"Workload Identity pool {pool}\\nGitLab OIDC provider", identity, "bootstrap")
    accounts = names(app, bootstrap, "google_service_account")
    if accounts:
        graph.node("ci_accounts", "CI accounts\\n" + "\\n".join(sorted(accounts)), identity, "bootstrap")

    vpc_names = names(app, network, "google_compute_network")
    vpc = graph.group("vpc", f"VPC {vpc_names[0]}" if vpc_names else "VPC", gcp)
    subnets = names(app, network, "google_compute_subnetwork")
    if subnets:
        graph.node("subnets", f"subnets {', '.join(sorted(subnets))}\\n{count(app, network, 'google_compute_firewall')} firewall rules, Cloud NAT",
                   vpc, "network")
    clusters = names(app, cluster, "google_container_cluster")
    gke = graph.group("gke", f"GKE {clusters[0]} (private nodes)" if clusters else "GKE", vpc)
    pools = names(app, cluster, "google_container_node_pool")
    if pools:
        graph.node("pools", f"node pools {', '.join(sorted(pools))}", gke, "cluster")

    # Workloads the k8s/ overlay deploys, one box per component, in their namespace.
    workloads: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for owner in rendered.pod_owners():
        component = owner["metadata"].get("labels", {}).get(COMPONENT_LABEL, owner["metadata"]["name"])
        workloads[(owner["metadata"]["namespace"], component)].append(owner)
    for (namespace, component), owners in sorted(workloads.items()):
        group = graph.group(f"ns_{namespace}", f"namespace {namespace}", gke)
        kinds = ", ".join(sorted({f"{o['kind']} {o['metadata']['name']}" for o in owners}))
        graph.node(f"wl_{namespace}_{component}", f"{component}\\n{kinds}", group, "k8s")

    # Helm releases of the data and observability layers.
    for layer in ("data", "observability"):
        for _, _, body in app.resources(stack.get(layer, ""), "helm_release") if layer in stack else ():
            namespace = body["namespace"]
            group = graph.group(f"ns_{namespace}", f"namespace {namespace}", gke)
            graph.node(f"rel_{namespace}_{body['name']}", f"{body['name']}\\nHelm chart {body['chart']} {body.get('version', '')}".rstrip(),
                       group, layer)

    # Cloud SQL sits behind Private Service Access, outside the VPC but reached on private IPs only.
    psa_ranges = names(app, network, "google_compute_global_address")
    sql_instances = [name for layer in ("data",) if layer in stack for name in names(app, stack[layer], "google_sql_database_instance")]
    if sql_instances:
        psa = graph.group("psa", f"Private Service Access {', '.join(psa_ranges)}", gcp)
        for instance in sql_instances:
            graph.node(f"sql_{instance}", f"Cloud SQL {instance}", psa, "data")

    managed = graph.group("managed", "Google-managed services (private access)", gcp)
    if security:
        graph.node("secrets", f"Secret Manager\\n{count(app, security, 'google_secret_manager_secret')} secrets, no versions in Terraform", managed, "security")
        graph.node("kms", f"Cloud KMS {', '.join(names(app, security, 'google_kms_key_ring'))}\\n"
                          f"{count(app, security, 'google_kms_crypto_key')} keys (CMEK)", managed, "security")
    repositories = names(app, cluster, "google_artifact_registry_repository")
    if repositories:
        graph.node("registry", f"Artifact Registry\\n{len(repositories)} repositories (apps + mirrors)", managed, "cluster")
    for plan in names(app, cluster, "google_gke_backup_backup_plan"):
        graph.node("backup", f"Backup for GKE {plan}", managed, "cluster")
    for bucket in names(app, bootstrap, "google_storage_bucket"):
        graph.node("state", f"Terraform state bucket {bucket}", managed, "bootstrap")
    if "observability" in stack:
        observed = stack["observability"]
        policies = count(app, observed, "google_monitoring_alert_policy")
        checks = count(app, observed, "google_monitoring_uptime_check_config")
        graph.node("monitoring", f"Cloud Monitoring\\n{policies} alert policies, {checks} uptime checks", managed, "observability")

    # Traffic: clients → edge → Gateway → the Services its HTTPRoutes name → what NetworkPolicies let them call.
    graph.edge("users", "edge_ip", "traffic", "HTTPS")
    graph.edge("edge_ip", "armor", "traffic")
    graph.edge("armor", "gateway", "traffic")
    graph.edge("certs", "gateway", "uses", "TLS")
    services = {(s["metadata"]["namespace"], s["metadata"]["name"]): s for s in rendered.of_kind("Service")}
    for route in rendered.of_kind("HTTPRoute"):
        for rule in route["spec"].get("rules", []):
            for backend in rule.get("backendRefs", []):
                namespace = backend.get("namespace", route["metadata"]["namespace"])
                service = services.get((namespace, backend["name"]))
                if service:
                    component = service["spec"]["selector"].get(COMPONENT_LABEL)
                    graph.edge("gateway", f"wl_{namespace}_{component}", "traffic", ", ".join(route["spec"].get("hostnames", [])))
    for policy in rendered.of_kind("NetworkPolicy"):
        namespace = policy["metadata"]["namespace"]
        source = policy["spec"].get("podSelector", {}).get("matchLabels", {}).get(COMPONENT_LABEL)
        if not source:
            continue
        for rule in policy["spec"].get("egress", []):
            ports = ", ".join(str(port["port"]) for port in rule.get("ports", []))
            for peer in rule.get("to", []):
                target_component = peer.get("podSelector", {}).get("matchLabels", {}).get(COMPONENT_LABEL)
                target_namespace = peer.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name", namespace)
                if target_component:
                    graph.edge(f"wl_{namespace}_{source}", f"wl_{target_namespace}_{target_component}", "traffic", ports)
                else:
                    for node in list(graph.nodes):
                        if node.group == f"ns_{target_namespace}" and node.id.startswith("rel_"):
                            graph.edge(f"wl_{namespace}_{source}", node.id, "traffic", ports)

    # CI: pipelines exchange their OIDC token for a CI account, which applies, pushes and deploys.
    graph.edge("gitlab", "wif", "ci", "OIDC id_token")
    graph.edge("wif", "ci_accounts", "ci", "impersonate")
    graph.edge("ci_accounts", "state", "ci", "plan/apply")
    graph.edge("ci_accounts", "registry", "ci", "push")
    graph.edge("ci_accounts", "pools", "ci", "deploy (DNS endpoint)")
    graph.edge("pools", "registry", "uses", "pull")
    graph.edge("backup", "kms", "uses")
    graph.edge("pools", "secrets", "uses", "Workload Identity")
    return graph


def _id(node_id: str) -> str:
    """Graphviz and Mermaid ids: word characters only (component names carry dashes)."""
    return re.sub(r"\W", "_", node_id)


def _quote(text: str) -> str:
    return '"' + text.replace('"', '\\"') + '"'


EDGE_STYLES = {
    "traffic": 'color="#1f4e99", penwidth=2.2, fontcolor="#1f4e99"',
    "ci": 'color="#8a3b12", style=dashed, penwidth=1.6, fontcolor="#8a3b12"',
    "uses": 'color="#777777", fontcolor="#555555"',
}


def to_dot(graph: Graph, env: str) -> str:
    lines = [
        "digraph platform {",
        f'  graph [rankdir=LR, fontname="Helvetica", fontsize=16, nodesep=0.35, ranksep=0.55, newrank=true, '
        f'label={_quote(f"Reference platform, {env}: generated from the synthesized app (scripts/architecture.py)")}, labelloc=t];',
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11, margin="0.15,0.07"];',
        '  edge [fontname="Helvetica", fontsize=9, arrowsize=0.7];',
    ]
    children, members = graph.nesting()

    def emit(group_id: str, depth: int) -> None:
        title, _ = graph.groups[group_id]
        pad = "  " * depth
        lines.append(f"{pad}subgraph cluster_{group_id} {{")
        lines.append(f'{pad}  label={_quote(title)}; style="rounded"; color="#888888"; fontsize=13;')
        for node in members[group_id]:
            lines.append(f'{pad}  {_id(node.id)} [label={_quote(node.label)}, fillcolor="{LAYER_COLOURS[node.layer]}"];')
        for child in children[group_id]:
            emit(child, depth + 1)
        lines.append(f"{pad}}}")

    for top in children[None]:
        emit(top, 1)
    for edge in graph.edges:
        label = f", label={_quote(edge.label)}" if edge.label else ""
        lines.append(f"  {_id(edge.source)} -> {_id(edge.target)} [{EDGE_STYLES[edge.kind]}{label}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_mermaid(graph: Graph) -> str:
    lines = ["flowchart LR"]
    children, members = graph.nesting()

    def text(label: str) -> str:
        return label.replace("\\n", "<br/>").replace('"', "'")

    def emit(group_id: str, depth: int) -> None:
        pad = "  " * depth
        lines.append(f'{pad}subgraph {group_id}["{text(graph.groups[group_id][0])}"]')
        for node in members[group_id]:
            lines.append(f'{pad}  {_id(node.id)}["{text(node.label)}"]:::{node.layer}')
        for child in children[group_id]:
            emit(child, depth + 1)
        lines.append(f"{pad}end")

    for top in children[None]:
        emit(top, 1)
    arrows = {"traffic": "==>", "ci": "-.->", "uses": "-->"}
    for edge in graph.edges:
        arrow = arrows[edge.kind]
        label = text(edge.label)
        if label:
            lines.append(f'  {_id(edge.source)} {arrow}|"{label}"| {_id(edge.target)}')
        else:
            lines.append(f"  {_id(edge.source)} {arrow} {_id(edge.target)}")
    for layer, colour in LAYER_COLOURS.items():
        lines.append(f"  classDef {layer} fill:{colour},stroke:#666")
    return "\n".join(lines)


def render_image(dot: str, fmt: str) -> bytes:
    result = subprocess.run([str(DOT), f"-T{fmt}"], input=dot.encode(), capture_output=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"graphviz-pure -T{fmt} failed: {result.stderr.decode()[-2000:]}")
    return result.stdout


def render_markdown(app: SynthesizedApp, graph: Graph, env: str) -> str:
    counts = ["| stack | " + " | ".join(app.environments) + " |", "|---|" + "---|" * len(app.environments)]
    for layer in app.layers(env):
        row = [str(sum(1 for _ in app.resources(f"{other}-{layer}"))) if f"{other}-{layer}" in app.stacks else "none"
               for other in app.environments]
        counts.append(f"| `<env>-{layer}` | " + " | ".join(row) + " |")
    dependencies = [f"| `{env}-{layer}` | {', '.join(f'`{d}`' for d in sorted(app.dependencies[f'{env}-{layer}'])) or 'nothing'} |"
                    for layer in app.layers(env)]
    return "\n".join([
        "# Architecture",
        "",
        "<!-- Generated by scripts/architecture.py from the synthesized app; do not edit by hand. -->",
        "",
        f"The {env} environment as the synthesized app describes it ([SVG](architecture.svg), [PNG](architecture.png)).",
        "Every box is a resource in the environment's Terraform JSON or an object of its rendered k8s/ overlay;",
        "box colours are the layer that creates it (grey: outside Terraform or deployed by Skaffold). Arrows:",
        "**thick** = requests (the Gateway's HTTPRoutes, and every egress a NetworkPolicy allows between",
        "workloads), **dashed** = CI acting through Workload Identity Federation, thin = other use. A part",
        "no layer builds yet has no box. Environments differ only in configuration",
        "([environment-differences.md](environment-differences.md)).",
        "",
        "![architecture](architecture.png)",
        "",
        "```mermaid",
        to_mermaid(graph),
        "```",
        "",
        "## Stacks",
        "",
        "One Terraform root module per environment and layer ([layers.md](layers.md)); a stack reads only the",
        "outputs of the stacks it depends on (cdktf's `manifest.json`).",
        "",
        "| stack | depends on |",
        "|---|---|",
        *dependencies,
        "",
        "Resources per stack:",
        "",
        *counts,
        "",
    ])


def render(app: SynthesizedApp, rendered) -> dict[Path, bytes]:
    graph = build(app, DRAWN_ENV, rendered)
    dot = to_dot(graph, DRAWN_ENV)
    return {
        TARGET: render_markdown(app, graph, DRAWN_ENV).encode(),
        SVG: render_image(dot, "svg"),
        PNG: render_image(dot, "png"),
    }


def main() -> None:
    from k8s import render as k8s_render

    for path, content in render(synthesize(), k8s_render.render(DRAWN_ENV)).items():
        path.write_bytes(content)
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
