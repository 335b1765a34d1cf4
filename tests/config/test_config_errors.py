"""Every bad input gets one clear message (file, field, bad value, expectation), a non-zero exit, and
leaves the previous cdktf.out exactly as it was."""
from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import pytest
import yaml

import main
from tests.conftest import REPO_ROOT


def tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def workspace(tmp_path):
    """A copy of the example configs and a previous cdktf.out that must survive every failure."""
    config_dir = tmp_path / "config"
    shutil.copytree(REPO_ROOT / "config", config_dir, ignore=shutil.ignore_patterns("_*"))
    outdir = tmp_path / "cdktf.out"
    (outdir / "stacks" / "dev-network").mkdir(parents=True)
    (outdir / "stacks" / "dev-network" / "cdk.tf.json").write_text('{"previous": true}')
    (outdir / "manifest.json").write_text("{}")
    return config_dir, outdir


def edit(config_dir: Path, env: str, change) -> Path:
    path = config_dir / f"{env}.yaml"
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def run_failing(workspace, capsys, *extra: str) -> str:
    config_dir, outdir = workspace
    before = tree_digest(outdir)
    code = main.main(["--config-dir", str(config_dir), "--outdir", str(outdir), *extra])
    err = capsys.readouterr().err
    assert code != 0, err
    assert tree_digest(outdir) == before, "a failed run changed cdktf.out"
    assert not [p for p in outdir.parent.iterdir() if p.name.startswith(".cdktf.out")], "staging directory left behind"
    return err


def parent_of(data: dict, path: str) -> tuple[dict | list, str]:
    """The container holding the last element of a dotted path, and that element's key."""
    *parents, last = path.split(".")
    node = data
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node, last


def set_path(path: str, value):
    def change(data):
        node, key = parent_of(data, path)
        node[key] = value
    return change


def delete_path(path: str):
    def change(data):
        node, key = parent_of(data, path)
        del node[key]
    return change


def rename_key(path: str, new: str):
    def change(data):
        node, key = parent_of(data, path)
        node[new] = node.pop(key)
    return change


CASES = {
    "unknown key (typo)": (
        "dev", rename_key("network.private", "privat"),
        ["dev.yaml", "network.privat", "unknown field", "did you mean 'private'"],
    ),
    "missing required key": ("dev", delete_path("domain"), ["dev.yaml", "domain", "required field is missing"]),
    "wrong type": (
        "staging", set_path("cluster.node_pools.general.min_nodes", "one"),
        ["staging.yaml", "cluster.node_pools.general.min_nodes", "'one'", "valid integer"],
    ),
    "invalid CIDR": (
        "dev", set_path("network.psa_cidr", "10.18.0.0/33"),
        ["dev.yaml", "network.psa_cidr", "'10.18.0.0/33'", "expected an IPv4 network in CIDR form"],
    ),
    "CIDR with host bits": (
        "dev", set_path("network.management.cidr", "10.10.20.1/24"),
        ["dev.yaml", "network.management.cidr", "'10.10.20.1/24'", "host bits zero"],
    ),
    "overlapping ranges": (
        "prod", set_path("network.public.cidr", "10.40.8.0/22"),
        ["prod.yaml", "network.public.cidr", "'10.40.8.0/22'", "overlaps network.private.cidr", "disjoint"],
    ),
    "pods range overlaps services range": (
        "dev", set_path("network.private.pods_cidr", "10.16.0.0/14"),
        ["dev.yaml", "network.private.services_cidr", "overlaps network.private.pods_cidr (10.16.0.0/14)"],
    ),
    "prefix too long": (
        "dev", set_path("prefix", "acme-development"),
        ["dev.yaml", "prefix", "'acme-development'", "3-14 lower-case"],
    ),
    "prefix upper case": ("dev", set_path("prefix", "Acme-dev"), ["dev.yaml", "prefix", "'Acme-dev'", "lower-case"]),
    "project id invalid": (
        "dev", set_path("project_id", "my_project"),
        ["dev.yaml", "project_id", "'my_project'", "GCP project id"],
    ),
    "zone outside region": (
        "staging", set_path("zones", ["europe-west4-a", "europe-west1-b"]),
        ["staging.yaml", "zones.1", "'europe-west1-b'", "not in region 'europe-west4'"],
    ),
    "control plane range not /28": (
        "dev", set_path("network.control_plane_cidr", "172.16.0.0/24"),
        ["dev.yaml", "network.control_plane_cidr", "'172.16.0.0/24'", "/28"],
    ),
    "PSA range too small": (
        "dev", set_path("network.psa_cidr", "10.18.0.0/26"),
        ["dev.yaml", "network.psa_cidr", "'10.18.0.0/26'", "/24 or larger"],
    ),
    "prod deletion protection off without reason": (
        "prod", set_path("protection", {"deletion_protection": False}),
        ["prod.yaml", "protection.deletion_protection", "needs protection.reason"],
    ),
    "node pool bounds inverted": (
        "dev", set_path("cluster.node_pools.workers.min_nodes", 9),
        ["dev.yaml", "cluster.node_pools.workers", "min_nodes (9) must not exceed max_nodes (2)"],
    ),
    "control plane open to the internet": (
        "dev", set_path("cluster.master_authorized_networks", [{"name": "all", "cidr": "0.0.0.0/0"}]),
        ["dev.yaml", "master_authorized_networks.0.cidr", "'0.0.0.0/0'", "too broad"],
    ),
    # Limits the constructs used to re-check; the config model is now their only check (constructs_lib/limits.py).
    "unknown release channel": (
        "dev", set_path("cluster.release_channel", "EXTENDED"),
        ["dev.yaml", "cluster.release_channel", "'EXTENDED'", "'RAPID', 'REGULAR' or 'STABLE'"],
    ),
    "unknown autoscaling profile": (
        "dev", set_path("cluster.autoscaling_profile", "FAST"),
        ["dev.yaml", "cluster.autoscaling_profile", "'FAST'", "'BALANCED' or 'OPTIMIZE_UTILIZATION'"],
    ),
    "unknown maintenance exclusion scope": (
        "prod", set_path("cluster.maintenance.exclusions.0.scope", "NEVER"),
        ["prod.yaml", "cluster.maintenance.exclusions.0.scope", "'NEVER'", "'NO_UPGRADES'"],
    ),
    "rate-limit interval Cloud Armor does not offer": (
        "dev", set_path("security.waf", {"rate_limit": {"interval_sec": 45}}),
        ["dev.yaml", "security.waf.rate_limit.interval_sec", "45", "60"],
    ),
    "WAF sensitivity out of range": (
        "staging", set_path("security.waf", {"sensitivity": 5}),
        ["staging.yaml", "security.waf.sensitivity", "5", "less than or equal to 4"],
    ),
    "unknown GPU driver version": (
        "dev", set_path("cluster.node_pools.gpu.gpu_driver_version", "NEWEST"),
        ["dev.yaml", "cluster.node_pools.gpu.gpu_driver_version", "'NEWEST'", "'DEFAULT' or 'LATEST'"],
    ),
    "too many GPUs per node": (
        "dev", set_path("cluster.node_pools.gpu.accelerator_count", 9),
        ["dev.yaml", "cluster.node_pools.gpu.accelerator_count", "9", "less than or equal to 8"],
    ),
    "surge settings that never upgrade": (
        "dev", set_path("cluster.node_upgrade", {"max_surge": 0, "max_unavailable": 0}),
        ["dev.yaml", "cluster.node_upgrade.max_surge", "would never upgrade"],
    ),
    "backup locked longer than kept": (
        "prod", set_path("cluster.backup.delete_lock_days", 31),
        ["prod.yaml", "cluster.backup.delete_lock_days", "exceeds retain_days (30)"],
    ),
    "KMS rotation beyond the CIS maximum": (
        "dev", set_path("security", {"kms_rotation_days": 91}),
        ["dev.yaml", "security.kms_rotation_days", "91", "less than or equal to 90"],
    ),
    "unknown TLS profile": (
        "dev", set_path("security", {"edge": {"ssl_profile": "COMPATIBLE"}}),
        ["dev.yaml", "security.edge.ssl_profile", "'COMPATIBLE'", "'MODERN' or 'RESTRICTED'"],
    ),
    "Cloud SQL zonal without a reason": (
        "dev", delete_path("cloud_sql.availability_reason"),
        ["dev.yaml", "cloud_sql", "availability: ZONAL needs availability_reason"],
    ),
    "Cloud SQL zonal outside dev": (
        "staging", lambda data: data["cloud_sql"].update(availability="ZONAL", availability_reason="saves cost in staging"),
        ["staging.yaml", "cloud_sql.availability", "'ZONAL'", "expected REGIONAL"],
    ),
    "prod Cloud SQL backups in one region only": (
        "prod", delete_path("cloud_sql.backups.location"),
        ["prod.yaml", "cloud_sql.backups.location", "second region", "other than europe-west4"],
    ),
    "Cloud SQL backup location is the instance's region": (
        "prod", set_path("cloud_sql.backups.location", "europe-west4"),
        ["prod.yaml", "cloud_sql.backups.location", "'europe-west4'", "another region"],
    ),
    "Cloud SQL pools larger than the tier allows": (
        "dev", set_path("cloud_sql.connection_pools.temporal-server.max_conns", 50),
        ["dev.yaml", "cloud_sql.connection_pools", "max_connections 538 (420 pool connections", "db-custom-1-3840 allows 100"],
    ),
    "Cloud SQL pool for a component without a database": (
        "dev", set_path("cloud_sql.connection_pools.ai-server", {"pods": 1, "max_conns": 1}),
        ["dev.yaml", "cloud_sql.connection_pools", "ai-server", "not a component that uses a database"],
    ),
    "Cloud SQL point-in-time recovery beyond the edition": (
        "staging", set_path("cloud_sql.backups", {"transaction_log_retention_days": 14}),
        ["staging.yaml", "cloud_sql", "transaction_log_retention_days: 14 exceeds 7"],
    ),
    "Cloud SQL tier of another edition": (
        "dev", set_path("cloud_sql.edition", "ENTERPRISE_PLUS"),
        ["dev.yaml", "cloud_sql", "'db-custom-1-3840' is not offered by edition ENTERPRISE_PLUS"],
    ),
    "Cloud SQL PostgreSQL older than 16": (
        "dev", set_path("cloud_sql.database_version", "POSTGRES_15"),
        ["dev.yaml", "cloud_sql.database_version", "'POSTGRES_15'", "'POSTGRES_16' or 'POSTGRES_17'"],
    ),
    "database user name longer than PostgreSQL allows": (
        "dev", lambda data: data.update(prefix="acme-dev-abcde", project_id="example-platform-dev-abcdefghi"),
        ["dev.yaml", "project_id", "65 characters long", "PostgreSQL allows 63"],
    ),
    "label key with dash": (
        "dev", set_path("labels", {"cost-center": "platform"}),
        ["dev.yaml", "labels", "'cost-center'", "label key"],
    ),
    # observability (monitoring/alerts.py holds the alerts; config only tunes them)
    "threshold for an unknown alert": (
        "dev", set_path("observability.thresholds", {"lb-5xx": 0.1}),
        ["dev.yaml", "observability.thresholds", "lb-5xx", "not an alert with a threshold", "lb-5xx-ratio"],
    ),
    "threshold for an alert that has none": (
        "dev", set_path("observability.thresholds", {"cloudsql-down": 1}),
        ["dev.yaml", "observability.thresholds", "cloudsql-down", "not an alert with a threshold"],
    ),
    "negative threshold": (
        "dev", set_path("observability.thresholds", {"lb-latency": -5}),
        ["dev.yaml", "observability.thresholds", "lb-latency", "-5", "negative"],
    ),
    "SLO objective whose fast burn alert cannot fire": (
        "staging", set_path("observability.slo", {"availability_objective": 0.92}),
        ["staging.yaml", "observability.slo", "availability_objective", "1h/5m", "cannot happen", "above 0.9306"],
    ),
    "SLO objective above Cloud Monitoring's limit": (
        "staging", set_path("observability.slo", {"latency_objective": 0.9995}),
        ["staging.yaml", "observability.slo.latency_objective", "0.9995", "less than or equal to 0.999"],
    ),
    "SLO window longer than Cloud Monitoring allows": (
        "dev", set_path("observability.slo", {"window_days": 31}),
        ["dev.yaml", "observability.slo.window_days", "31", "less than or equal to 30"],
    ),
    "prod audit archive not locked": (
        "prod", set_path("observability.log_archive.locked", False),
        ["prod.yaml", "observability.log_archive.locked", "locked archive", "expected true"],
    ),
    "log archive moving to ARCHIVE before NEARLINE": (
        "staging", set_path("observability.log_archive", {"nearline_after_days": 60, "archive_after_days": 30}),
        ["staging.yaml", "observability.log_archive.archive_after_days", "30", "not after nearline_after_days (60)"],
    ),
    "dev paging a human": (
        "dev", set_path("notifications.pagerduty_services", ["platform-dev"]),
        ["dev.yaml", "notifications.pagerduty_services", "platform-dev", "never pages a human"],
    ),
    "staging paging a human": (
        "staging", set_path("notifications.pagerduty_services", ["platform-staging"]),
        ["staging.yaml", "notifications.pagerduty_services", "'platform-staging'", "never pages a human"],
    ),
    "Prometheus retention beyond the in-cluster maximum": (
        "prod", set_path("monitoring_stack.prometheus.retention_days", 400),
        ["prod.yaml", "monitoring_stack.prometheus.retention_days", "400", "less than or equal to 90"],
    ),
    "Prometheus disk too small": (
        "dev", set_path("monitoring_stack.prometheus.storage_gib", 5),
        ["dev.yaml", "monitoring_stack.prometheus.storage_gib", "5", "greater than or equal to 10"],
    ),
    "unknown monitoring storage class": (
        "staging", set_path("monitoring_stack.storage_class", "standard"),
        ["staging.yaml", "monitoring_stack.storage_class", "'standard'", "'standard-rwo' or 'premium-rwo'"],
    ),
    "monitoring_stack typo": (
        "dev", rename_key("monitoring_stack.prometheus", "promethus"),
        ["dev.yaml", "monitoring_stack.promethus", "unknown field", "did you mean 'prometheus'"],
    ),
    "monitoring service account moved out of its namespace": (
        "staging", set_path("workloads", {"grafana": {"namespace": "apps", "service_account": "grafana"}}),
        ["staging.yaml", "workloads.grafana.namespace", "'apps'", "expected 'monitoring'"],
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_bad_config_is_rejected_with_one_clear_message(workspace, capsys, case):
    env, change, expected = CASES[case]
    edit(workspace[0], env, change)
    err = run_failing(workspace, capsys)
    problem_lines = [line for line in err.splitlines() if ".yaml" in line]
    assert len(problem_lines) == 1, err
    for fragment in expected:
        assert fragment in problem_lines[0], f"{fragment!r} missing from: {problem_lines[0]}"


def test_duplicate_environment_name_names_both_files(workspace, capsys):
    config_dir, _ = workspace
    shutil.copy(config_dir / "dev.yaml", config_dir / "dev2.yaml")
    edit(config_dir, "dev2", set_path("prefix", "acme-dev2"))
    err = run_failing(workspace, capsys)
    assert "dev2.yaml: name: 'dev' is already used by" in err and "dev.yaml" in err


def test_duplicate_state_bucket_is_rejected(workspace, capsys):
    edit(workspace[0], "staging", set_path("state_bucket", "example-platform-dev-tfstate"))
    err = run_failing(workspace, capsys)
    assert "staging.yaml: state_bucket: 'example-platform-dev-tfstate' is already used by" in err


def test_duplicate_yaml_key_is_rejected(workspace, capsys):
    path = workspace[0] / "dev.yaml"
    path.write_text(path.read_text() + "\nregion: europe-west1\n")
    err = run_failing(workspace, capsys)
    assert "dev.yaml" in err and "duplicate key 'region'" in err


def test_invalid_yaml_names_the_line(workspace, capsys):
    path = workspace[0] / "dev.yaml"
    path.write_text("name: dev\nzones: [europe-west4-a\n")
    err = run_failing(workspace, capsys)
    assert "dev.yaml: line" in err and "invalid YAML" in err


def test_document_that_is_not_a_mapping(workspace, capsys):
    (workspace[0] / "dev.yaml").write_text("- just\n- a list\n")
    err = run_failing(workspace, capsys)
    assert "dev.yaml: (top level): got list; expected a mapping" in err


def test_unknown_environment_on_the_command_line(workspace, capsys):
    err = run_failing(workspace, capsys, "--env", "qa")
    assert "environment 'qa' not found; expected one of: dev, prod, staging" in err


def test_unknown_layer_on_the_command_line(workspace, capsys):
    err = run_failing(workspace, capsys, "--stack", "dev-netwrok")
    assert "--stack 'dev-netwrok'" in err and "expected <env>-<layer>" in err


def test_empty_config_directory(tmp_path, capsys):
    (tmp_path / "config").mkdir()
    outdir = tmp_path / "cdktf.out"
    outdir.mkdir()
    code = main.main(["--config-dir", str(tmp_path / "config"), "--outdir", str(outdir)])
    assert code == 2 and "no environment files" in capsys.readouterr().err


def test_failure_while_building_stacks_leaves_cdktf_out_untouched(workspace, capsys, monkeypatch):
    from stacks import network

    def broken(*args, **kwargs):
        raise ValueError("Firewall acme-dev-vpc: rule broken: simulated construct validation failure")

    monkeypatch.setattr(network.NetworkStack, "__init__", broken)
    err = run_failing(workspace, capsys, "--env", "dev")
    assert "simulated construct validation failure" in err and "is unchanged" in err


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('kubernetes_version: "1.33"', "kubernetes_version: 1.30", r"cluster\.kubernetes_version: got 1\.3; .*YAML read the unquoted value as a number; quote it"),
        (
            'start: "2026-12-18T00:00:00Z"',
            "start: 2026-12-18T00:00:00Z",
            r"cluster\.maintenance\.exclusions\.0\.start: got datetime\..*YAML read the unquoted value as a timestamp; quote it",
        ),
    ],
)
def test_yaml_11_surprises_get_a_quote_it_hint(workspace, capsys, old, new, message):
    config_dir, _ = workspace
    path = config_dir / "prod.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    err = run_failing(workspace, capsys)
    assert re.search(message, err), err
