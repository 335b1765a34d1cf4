"""Generate the derived sections of docs/security-review.md:

- `checkov-terraform`, `checkov-kubernetes`: checks passed and failed per stack / rendered overlay, from a
  real checkov run (policies/checkov_runner.py, the runs the policy tests gate on; those tests compare their
  own results with the committed tables, so the suite runs checkov no extra time);
- `exceptions`: every accepted checkov exception with its reason (policies/checkov-exceptions-*.yaml);
- `cis`: CIS GKE and CIS Google Cloud Foundations items, each evaluated on the synthesized stacks of every
  environment (where it is set), or the reason it is not.

`python scripts/security_review.py` rewrites them (about a minute: two checkov runs).
"""
from __future__ import annotations

import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.docgen.synthesized import ROOT, SynthesizedApp, environment_order, replace_between  # noqa: E402

TARGET = ROOT / "docs" / "security-review.md"
EXCEPTION_FILES = {"terraform_json": ROOT / "policies" / "checkov-exceptions-terraform.yaml",
                   "kubernetes": ROOT / "policies" / "checkov-exceptions-kubernetes.yaml"}


# --- checkov ---------------------------------------------------------------------------------------------

def terraform_counts(reports: list[dict]) -> dict[str, Counter]:
    """Stack → passed/failed checks, from checkov's terraform_json reports."""
    counts: dict[str, Counter] = {}
    for report in reports:
        for outcome in ("passed_checks", "failed_checks"):
            for check in report["results"][outcome]:
                counts.setdefault(Path(check["file_path"]).parent.name, Counter())[outcome] += 1
    return counts


def counts_table(counts: dict[str, Counter], what: str, note: str) -> str:
    lines = [f"| {what} | passed | failed (all accepted exceptions) |", "|---|---|---|"]
    for name in sorted(counts):
        lines.append(f"| `{name}` | {counts[name]['passed_checks']} | {counts[name]['failed_checks']} |")
    total = sum((counts[name] for name in counts), Counter())
    lines += [f"| **total** | **{total['passed_checks']}** | **{total['failed_checks']}** |", "", note]
    return "\n".join(lines)


def terraform_section(reports: list[dict]) -> str:
    return counts_table(terraform_counts(reports), "stack",
                        "Stacks without a row hold no resource type checkov has checks for (Helm releases, monitoring).")


def kubernetes_section(per_group: dict[str, Counter]) -> str:
    return counts_table(per_group, "rendered overlay",
                        "`verify-job` is the Skaffold verify Job after skaffold.yaml's overrides.")


def exceptions_section() -> str:
    lines = ["| framework | check | where | reason |", "|---|---|---|---|"]
    for framework, path in EXCEPTION_FILES.items():
        for entry in yaml.safe_load(path.read_text(encoding="utf-8"))["exceptions"]:
            check = entry.get("check") or entry["check_id"]
            where = f"`{entry['stacks']}` `{entry['resource']}`" if "stacks" in entry else \
                f"`{entry['resource']}` in {', '.join(entry['overlays'])}"
            lines.append(f"| {framework} | {check} | {where} | {' '.join(entry['reason'].split())} |")
    return "\n".join(lines)


# --- CIS -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Facts:
    """One environment's synthesized stacks, for the CIS predicates."""

    app: SynthesizedApp
    env: str

    def all(self, layer: str, type_: str) -> list[dict]:
        stack = f"{self.env}-{layer}"
        return [body for _, _, body in self.app.resources(stack, type_)] if stack in self.app.stacks else []

    @property
    def cluster(self) -> dict:
        return self.all("cluster", "google_container_cluster")[0]

    @property
    def pools(self) -> list[dict]:
        return self.all("cluster", "google_container_node_pool")

    def every_stack(self, type_: str) -> list[dict]:
        return [body for layer in self.app.layers(self.env) for body in self.all(layer, type_)]

    def members(self) -> list[str]:
        return [member for layer in self.app.layers(self.env) for type_, _, body in self.app.resources(f"{self.env}-{layer}")
                if "_iam_" in type_ for member in body.get("members", [body.get("member", "")])]


@dataclass(frozen=True)
class CisItem:
    benchmark: str
    id: str
    title: str
    where: str
    """What sets it (code, config field), or why it is not set."""
    check: Callable[[Facts], bool] | None = None
    """Evaluated per environment on the synthesized stacks; None: not verifiable in Terraform (see `where`)."""


def _pools(predicate: Callable[[dict], bool]) -> Callable[[Facts], bool]:
    return lambda facts: bool(facts.pools) and all(predicate(pool) for pool in facts.pools)


GKE = "CIS GKE 1.6"
GCP = "CIS GCP 3.0"
CIS_ITEMS = (
    CisItem(GKE, "5.1.1", "Image vulnerability scanning", "bootstrap: `containerscanning.googleapis.com` enabled",
            lambda f: any(s["service"] == "containerscanning.googleapis.com" for s in f.all("bootstrap", "google_project_service"))),
    CisItem(GKE, "5.1.2", "Minimize user access to image repositories", "cluster: repository-level IAM only (push: CI push; read: nodes)",
            lambda f: not any(b["role"].startswith("roles/artifactregistry.") and b.get("member", "").startswith("user:")
                              for b in f.every_stack("google_project_iam_member"))),
    CisItem(GKE, "5.1.3", "Cluster access to repositories read-only", "cluster: the node account holds `artifactregistry.reader` per repository",
            lambda f: all(b["role"] == "roles/artifactregistry.reader" for b in f.all("cluster", "google_artifact_registry_repository_iam_binding")
                          if any("gke-node" in f.app.resolve(f"{f.env}-cluster", m) for m in b["members"]))),
    CisItem(GKE, "5.1.4", "Only approved registries", "cluster: Binary Authorization admits `<prefix>-apps` and the mirrors (`cluster.binary_authorization`)",
            lambda f: bool(f.all("cluster", "google_binary_authorization_policy"))),
    CisItem(GKE, "5.2.1", "Nodes do not use the Compute Engine default account", "security: `<prefix>-gke-node`; cluster: every pool",
            _pools(lambda p: "gke-node" in p["node_config"]["service_account"])),
    CisItem(GKE, "5.2.2", "Dedicated service accounts and Workload Identity", "cluster: `workload_identity_config`; one GSA per component (stacks/components.py)",
            lambda f: bool(f.cluster.get("workload_identity_config", {}).get("workload_pool"))),
    CisItem(GKE, "5.3.1", "Kubernetes Secrets encrypted with Cloud KMS", "cluster: `database_encryption` with the `gke-secrets` key",
            lambda f: f.cluster["database_encryption"]["state"] == "ENCRYPTED"),
    CisItem(GKE, "5.4.1", "Legacy metadata APIs disabled", "GKE ≥ 1.12 disables them; pools use the GKE metadata server (5.4.2)",
            _pools(lambda p: p["node_config"]["workload_metadata_config"]["mode"] == "GKE_METADATA")),
    CisItem(GKE, "5.4.2", "GKE Metadata Server enabled", "cluster: every pool `workload_metadata_config.mode = GKE_METADATA`",
            _pools(lambda p: p["node_config"]["workload_metadata_config"]["mode"] == "GKE_METADATA")),
    CisItem(GKE, "5.5.1", "Container-Optimized OS", "cluster: every pool `COS_CONTAINERD`",
            _pools(lambda p: p["node_config"]["image_type"] == "COS_CONTAINERD")),
    CisItem(GKE, "5.5.2", "Node auto-repair", "cluster: every pool", _pools(lambda p: p["management"]["auto_repair"])),
    CisItem(GKE, "5.5.3", "Node auto-upgrade", "cluster: every pool", _pools(lambda p: p["management"]["auto_upgrade"])),
    CisItem(GKE, "5.5.4", "Release channel", "config `cluster.release_channel`",
            lambda f: f.cluster.get("release_channel", {}).get("channel") not in (None, "UNSPECIFIED")),
    CisItem(GKE, "5.5.5", "Shielded GKE nodes", "cluster: `enable_shielded_nodes`", lambda f: f.cluster["enable_shielded_nodes"]),
    CisItem(GKE, "5.5.6", "Integrity monitoring", "cluster: every pool",
            _pools(lambda p: p["node_config"]["shielded_instance_config"]["enable_integrity_monitoring"])),
    CisItem(GKE, "5.5.7", "Secure boot", "cluster: every pool", _pools(lambda p: p["node_config"]["shielded_instance_config"]["enable_secure_boot"])),
    CisItem(GKE, "5.6.1", "VPC flow logs and intranode visibility", "network: every subnet `log_config` (`network.flow_logs_sampling`); cluster: intranode visibility",
            lambda f: f.cluster["enable_intranode_visibility"] and all("log_config" in s for s in f.all("network", "google_compute_subnetwork"))),
    CisItem(GKE, "5.6.2", "VPC-native cluster", "cluster: `networking_mode = VPC_NATIVE` on the network layer's secondary ranges",
            lambda f: f.cluster["networking_mode"] == "VPC_NATIVE"),
    CisItem(GKE, "5.6.3", "Control plane authorized networks", "cluster: `master_authorized_networks_config` (`cluster.master_authorized_networks`), no Google-wide access",
            lambda f: "master_authorized_networks_config" in f.cluster and not f.cluster["master_authorized_networks_config"].get("gcp_public_cidrs_access_enabled")),
    CisItem(GKE, "5.6.4", "Private endpoint, public access disabled", "config `cluster.private_endpoint` (required outside dev; dev keeps its IP endpoint for the office VPN, docs/security.md §5)",
            lambda f: f.cluster["private_cluster_config"]["enable_private_endpoint"]),
    CisItem(GKE, "5.6.5", "Private nodes", "cluster: `enable_private_nodes`", lambda f: f.cluster["private_cluster_config"]["enable_private_nodes"]),
    CisItem(GKE, "5.6.6", "Firewall the worker nodes", "network: deny-all ingress (and egress outside dev) plus stated allows on the node tag",
            lambda f: any(r["name"].endswith("deny-all-ingress") for r in f.all("network", "google_compute_firewall"))),
    CisItem(GKE, "5.6.7", "Google-managed TLS certificates", "security: Certificate Manager certificate with DNS authorization",
            lambda f: all("managed" in c for c in f.all("security", "google_certificate_manager_certificate"))),
    CisItem(GKE, "5.7.1", "Logging and monitoring enabled", "cluster: system, workload and API-server logs; Managed Service for Prometheus",
            lambda f: "WORKLOADS" in f.cluster["logging_config"]["enable_components"] and f.cluster["monitoring_config"]["managed_prometheus"]["enabled"]),
    CisItem(GKE, "5.8.1", "Client certificate authentication disabled", "cluster: `issue_client_certificate = false`",
            lambda f: not f.cluster["master_auth"]["client_certificate_config"]["issue_client_certificate"]),
    CisItem(GKE, "5.8.2", "RBAC with Google Groups", "config `cluster.rbac_security_group`",
            lambda f: bool(f.cluster.get("authenticator_groups_config", {}).get("security_group"))),
    CisItem(GKE, "5.8.3", "Legacy ABAC disabled", "cluster: `enable_legacy_abac = false`", lambda f: f.cluster["enable_legacy_abac"] is False),
    CisItem(GKE, "5.9.1", "CMEK for persistent disks", "boot disks: the `gke-boot-disks` key (cluster, every pool). Not yet for PersistentVolumes: "
            "volumes use GKE's default StorageClasses (Google-managed keys); a CMEK StorageClass is not built", None),
    CisItem(GKE, "5.10.1", "Kubernetes dashboard disabled", "not offered by GKE since 1.15; nothing to set", None),
    CisItem(GKE, "5.10.2", "No alpha clusters", "cluster: `enable_kubernetes_alpha` never set", lambda f: not f.cluster.get("enable_kubernetes_alpha")),
    CisItem(GKE, "5.10.3", "GKE Sandbox for untrusted workloads", "not used: the platform runs only its own images (Binary Authorization), and gVisor does not support the GPU pool", None),
    CisItem(GKE, "5.10.4", "Binary Authorization", "cluster: project policy; ENFORCE in prod, DRYRUN (audit) in dev and staging (`cluster.binary_authorization`)",
            lambda f: f.cluster["binary_authorization"]["evaluation_mode"] == "PROJECT_SINGLETON_POLICY_ENFORCE"),
    CisItem(GKE, "5.10.5", "Security posture", "cluster: `security_posture_config` (`cluster.security_posture`, `cluster.vulnerability_scanning`)",
            lambda f: f.cluster["security_posture_config"]["mode"] != "DISABLED"),
    CisItem(GCP, "1.4", "Only Google-managed service-account keys", "no `google_service_account_key` in any stack; CI uses Workload Identity Federation",
            lambda f: not f.every_stack("google_service_account_key")),
    CisItem(GCP, "1.5", "Service accounts without admin privileges", "partly: the CI apply account holds admin roles, each conditioned or scoped; accepted as residual risk (below)",
            None),
    CisItem(GCP, "1.6", "No project-level Service Account User / Token Creator", "serviceAccountUser only on `<prefix>-gke-node` (security), never project-wide",
            lambda f: not any(b["role"] in ("roles/iam.serviceAccountUser", "roles/iam.serviceAccountTokenCreator")
                              for b in f.every_stack("google_project_iam_member"))),
    CisItem(GCP, "1.9", "KMS keys not publicly accessible", "every key binding names service agents only",
            lambda f: not any(m in ("allUsers", "allAuthenticatedUsers") for m in f.members())),
    CisItem(GCP, "1.10", "KMS keys rotated within 90 days", "security: `security.kms_rotation_days` (at most 90); bootstrap: the state key",
            lambda f: all(int(k["rotation_period"].rstrip("s")) <= 90 * 86400 for layer in ("bootstrap", "security") for k in f.all(layer, "google_kms_crypto_key"))),
    CisItem(GCP, "2.1", "Audit logging for all services", "bootstrap: `allServices` audit config with ADMIN_READ, DATA_READ, DATA_WRITE",
            lambda f: any(c["service"] == "allServices" and len(c["audit_log_config"]) == 3 for c in f.all("bootstrap", "google_project_iam_audit_config"))),
    CisItem(GCP, "2.2", "Log sinks for all log entries", "not yet: no layer creates a log sink", lambda f: bool(f.every_stack("google_logging_project_sink"))),
    CisItem(GCP, "2.12", "Cloud DNS logging for every VPC", "network: DNS policy with `enable_logging`",
            lambda f: all(p["enable_logging"] for p in f.all("network", "google_dns_policy")) and bool(f.all("network", "google_dns_policy"))),
    CisItem(GCP, "3.1", "No default network", "not managed here: the project's default network predates Terraform; delete it once per project "
            "or set the organization policy `compute.skipDefaultNetworkCreation`", None),
    CisItem(GCP, "3.3", "DNSSEC for Cloud DNS", "network: public zone DNSSEC on",
            lambda f: all(z["dnssec_config"]["state"] == "on" for z in f.all("network", "google_dns_managed_zone") if z.get("visibility", "public") == "public")),
    CisItem(GCP, "3.4", "No RSASHA1 for DNSSEC keys", "network: ECDSA P-256 for key and zone signing",
            lambda f: all(spec["algorithm"] != "rsasha1" for z in f.all("network", "google_dns_managed_zone")
                          for spec in z.get("dnssec_config", {}).get("default_key_specs", []))),
    CisItem(GCP, "3.6", "No SSH from the internet", "network: SSH only from the IAP range to the management subnet",
            lambda f: not any("0.0.0.0/0" in r.get("source_ranges", []) and any("22" in a.get("ports", []) for a in r.get("allow", []))
                              for r in f.all("network", "google_compute_firewall"))),
    CisItem(GCP, "3.7", "No RDP from the internet", "network: no rule opens 3389",
            lambda f: not any("3389" in a.get("ports", []) for r in f.all("network", "google_compute_firewall") for a in r.get("allow", []))),
    CisItem(GCP, "3.8", "VPC flow logs on every subnet", "network: `log_config` on every subnet", lambda f: all("log_config" in s for s in f.all("network", "google_compute_subnetwork"))),
    CisItem(GCP, "3.9", "No weak TLS at the load balancer", "security: SSL policy MODERN or RESTRICTED, minimum TLS 1.2 (`security.edge.ssl_profile`)",
            lambda f: all(p["min_tls_version"] in ("TLS_1_2", "TLS_1_3") and p["profile"] in ("MODERN", "RESTRICTED") for p in f.all("security", "google_compute_ssl_policy"))),
    CisItem(GCP, "4.9", "No public IPs on VMs", "cluster: private nodes; no VM resource has an access config",
            lambda f: f.cluster["private_cluster_config"]["enable_private_nodes"] and not f.every_stack("google_compute_instance")),
    CisItem(GCP, "5.1", "Buckets not publicly accessible", "bootstrap: public access prevention enforced on the state bucket",
            lambda f: all(b.get("public_access_prevention") == "enforced" for b in f.every_stack("google_storage_bucket"))),
    CisItem(GCP, "5.2", "Uniform bucket-level access", "every bucket", lambda f: all(b.get("uniform_bucket_level_access") for b in f.every_stack("google_storage_bucket"))),
    CisItem(GCP, "6.x", "Cloud SQL", "data layer: instance `<prefix>-postgres`; its checkov results are in the `*-data` rows and exceptions above; items not evaluated here yet", None),
)


def cis_section(app: SynthesizedApp, configs: dict) -> str:
    envs = environment_order(configs)
    lines = [f"| benchmark | item | title | {' | '.join(envs)} | where set, or why not |", "|---|---|---|" + "---|" * len(envs) + "---|"]
    for item in CIS_ITEMS:
        if item.check is None:
            cells = ["–"] * len(envs)
        else:
            cells = ["yes" if item.check(Facts(app, env)) else "**no**" for env in envs]
        lines.append(f"| {item.benchmark} | {item.id} | {item.title} | {' | '.join(cells)} | {item.where} |")
    lines += ["", "yes/**no**: evaluated on each environment's synthesized stacks; –: not a Terraform setting (see the last column)."]
    return "\n".join(lines)


def render(app: SynthesizedApp, configs: dict, *, terraform: str | None = None, kubernetes: str | None = None) -> str:
    """The document with every derived section; the checkov tables are kept as committed unless given."""
    text = TARGET.read_text(encoding="utf-8")
    text = replace_between(text, "cis", cis_section(app, configs))
    text = replace_between(text, "exceptions", exceptions_section())
    if terraform is not None:
        text = replace_between(text, "checkov-terraform", terraform)
    if kubernetes is not None:
        text = replace_between(text, "checkov-kubernetes", kubernetes)
    return text


def kubernetes_per_group() -> dict[str, Counter]:
    from k8s import render as k8s_render
    from k8s.verify_job import merged_verify_job
    from policies.checkov_runner import kubernetes_report

    skaffold = yaml.safe_load((ROOT / "skaffold.yaml").read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory(prefix="security-review-k8s-") as scan:
        scan_dir = Path(scan).resolve()
        for overlay in k8s_render.ALL_OVERLAYS:
            (scan_dir / overlay).mkdir()
            (scan_dir / overlay / "rendered.yaml").write_text(k8s_render.render(overlay).text, encoding="utf-8")
        (scan_dir / "verify-job").mkdir()
        (scan_dir / "verify-job" / "job.yaml").write_text(yaml.safe_dump(merged_verify_job(skaffold)), encoding="utf-8")
        report = kubernetes_report(scan_dir)
        per_group: dict[str, Counter] = {}
        for outcome in ("passed_checks", "failed_checks"):
            for result in report["results"].get(outcome, []):
                path = Path(result.get("file_abs_path") or scan_dir / result["file_path"].lstrip("/")).resolve()
                per_group.setdefault(path.relative_to(scan_dir).parts[0], Counter())[outcome] += 1
        return per_group


def main() -> None:
    from constructs_lib import provider_loader
    from policies.checkov_runner import terraform_reports
    from stacks.app import build_app
    from stacks.config import load_configs

    provider_loader.configure(eager=False)
    configs = {config.name: config for config in load_configs(ROOT / "config")}
    with tempfile.TemporaryDirectory(prefix="security-review-") as outdir:
        build_app(configs.values(), outdir=Path(outdir)).synth()
        app = SynthesizedApp.read(Path(outdir))
        terraform = terraform_section(terraform_reports(Path(outdir) / "stacks"))
    TARGET.write_text(render(app, configs, terraform=terraform, kubernetes=kubernetes_section(kubernetes_per_group())), encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
