"""Each custom checkov check in policies/checkov passes one small Terraform JSON and fails another.

All cases run through checkov's own CLI in one subprocess (what CI runs, `--external-checks-dir`), so the
checks are tested as checkov loads them and its global check registry never leaks into this process."""
from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from constructs_lib.armor import CRS_33_RULE_SETS
from tests.conftest import REPO_ROOT

CHECKS_DIR = REPO_ROOT / "policies" / "checkov"
CHECK_IDS = ("CKV_PLATFORM_1", "CKV_PLATFORM_2", "CKV_PLATFORM_3", "CKV_PLATFORM_4", "CKV_PLATFORM_5")
NODE_SA = "gke-node@p.iam.gserviceaccount.com"


def node_pool(**node_config):
    return "google_container_node_pool", {"name": "general", "cluster": "c", "node_config": node_config}


def gke(**body):
    return "google_container_cluster", {"name": "gke", "location": "europe-west4", **body}


def waf_rule(rule_set, *, priority, preview=False, sensitivity=1, action="deny(403)"):
    expression = f"evaluatePreconfiguredWaf('{rule_set}', {{'sensitivity': {sensitivity}}})"
    return {"action": action, "priority": priority, "preview": preview, "match": {"expr": {"expression": expression}}}


def armor(rules=None, adaptive=None):
    body = {"name": "edge-armor", "rule": rules if rules is not None else [waf_rule(r, priority=1000 + i) for i, r in enumerate(CRS_33_RULE_SETS)]}
    if adaptive is not None:
        body["adaptive_protection_config"] = {"layer_7_ddos_defense_config": {"enable": adaptive}}
    return "google_compute_security_policy", body


ENCRYPTION = {"state": "ENCRYPTED", "key_name": "projects/p/locations/europe-west4/keyRings/r/cryptoKeys/gke-secrets"}

# (check, case, resource, expected result)
CASES = [
    ("CKV_PLATFORM_1", "pool-dedicated-sa", node_pool(service_account=NODE_SA), "PASSED"),
    ("CKV_PLATFORM_1", "pool-no-sa", node_pool(machine_type="e2-standard-4"), "FAILED"),
    ("CKV_PLATFORM_1", "pool-default-sa", node_pool(service_account="default"), "FAILED"),
    ("CKV_PLATFORM_1", "cluster-dedicated-sa", gke(node_config={"service_account": NODE_SA}), "PASSED"),
    ("CKV_PLATFORM_1", "cluster-compute-default-sa", gke(node_config={"service_account": "12-compute@developer.gserviceaccount.com"}), "FAILED"),
    ("CKV_PLATFORM_2", "pool-readonly-off", node_pool(kubelet_config={"insecure_kubelet_readonly_port_enabled": "FALSE"}), "PASSED"),
    ("CKV_PLATFORM_2", "pool-readonly-on", node_pool(kubelet_config={"insecure_kubelet_readonly_port_enabled": "TRUE"}), "FAILED"),
    ("CKV_PLATFORM_2", "pool-readonly-unset", node_pool(service_account=NODE_SA), "FAILED"),
    ("CKV_PLATFORM_2", "cluster-default-off", gke(node_pool_defaults={"node_config_defaults": {"insecure_kubelet_readonly_port_enabled": "FALSE"}}), "PASSED"),
    ("CKV_PLATFORM_2", "cluster-default-unset", gke(), "FAILED"),
    ("CKV_PLATFORM_3", "cluster-encrypted", gke(database_encryption=ENCRYPTION), "PASSED"),
    ("CKV_PLATFORM_3", "cluster-decrypted", gke(database_encryption={"state": "DECRYPTED"}), "FAILED"),
    ("CKV_PLATFORM_3", "cluster-no-encryption", gke(), "FAILED"),
    ("CKV_PLATFORM_4", "waf-complete", armor(), "PASSED"),
    ("CKV_PLATFORM_4", "waf-missing-sqli", armor([waf_rule(r, priority=1000 + i) for i, r in enumerate(CRS_33_RULE_SETS[1:])]), "FAILED"),
    ("CKV_PLATFORM_4", "waf-preview", armor([waf_rule(r, priority=1000 + i, preview=True) for i, r in enumerate(CRS_33_RULE_SETS)]), "FAILED"),
    ("CKV_PLATFORM_4", "waf-sensitivity-zero", armor([waf_rule(r, priority=1000 + i, sensitivity=0) for i, r in enumerate(CRS_33_RULE_SETS)]), "FAILED"),
    ("CKV_PLATFORM_4", "waf-allow-action", armor([waf_rule(r, priority=1000 + i, action="allow") for i, r in enumerate(CRS_33_RULE_SETS)]), "FAILED"),
    ("CKV_PLATFORM_5", "adaptive-on", armor(adaptive=True), "PASSED"),
    ("CKV_PLATFORM_5", "adaptive-off", armor(adaptive=False), "FAILED"),
    ("CKV_PLATFORM_5", "adaptive-unset", armor(), "FAILED"),
]


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict[tuple[str, str], str]:
    """(case, check id) → PASSED/FAILED from one checkov run over every case."""
    root = tmp_path_factory.mktemp("custom-checks")
    for _, case, (type_, body), _ in CASES:
        (root / case).mkdir(exist_ok=True)
        (root / case / "main.tf.json").write_text(json.dumps({"resource": {type_: {"subject": body}}}))
    command = [
        str(Path(sys.executable).with_name("checkov")),
        "--directory", str(root),
        "--framework", "terraform_json",
        "--external-checks-dir", str(CHECKS_DIR),
        "--check", ",".join(CHECK_IDS),
        "--output", "json",
        "--compact",
        "--skip-download",
    ]
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "LOG_LEVEL": "WARNING"}
    completed = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert completed.returncode in (0, 1), completed.stderr[-4000:]
    assert "Traceback" not in completed.stderr and "Failed to run check" not in completed.stderr, completed.stderr[-4000:]
    reports = json.loads(completed.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    found = {}
    for report in reports:
        for outcome, key in (("PASSED", "passed_checks"), ("FAILED", "failed_checks")):
            for check in report["results"][key]:
                found[(Path(check["file_path"]).parent.name, check["check_id"])] = outcome
    return found


@pytest.mark.parametrize(("check_id", "case", "resource", "expected"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_custom_check_outcome(results, check_id, case, resource, expected):
    assert results.get((case, check_id)) == expected, f"{check_id} on {case}"


def test_every_custom_check_has_a_passing_and_a_failing_case():
    for check_id in CHECK_IDS:
        outcomes = {expected for c, _, _, expected in CASES if c == check_id}
        assert outcomes == {"PASSED", "FAILED"}, check_id


def _check_modules() -> list[Path]:
    return sorted(path for path in CHECKS_DIR.glob("*.py") if path.name != "__init__.py")


def test_checks_directory_is_loadable_and_holds_one_check_per_module():
    assert (CHECKS_DIR / "__init__.py").is_file(), "checkov skips a directory without __init__.py"
    ids = []
    for path in _check_modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        classes = [node for node in tree.body if isinstance(node, ast.ClassDef)]
        assigns = [node for node in tree.body if isinstance(node, ast.Assign) and [t.id for t in node.targets if isinstance(t, ast.Name)] == ["check"]]
        assert len(classes) == 1 and len(assigns) == 1, f"{path.name}: one check class and one `check = ...` per module"
        ids += [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("CKV_PLATFORM_")]
        assert "from stacks" not in path.read_text() and "from constructs_lib" not in path.read_text(), path.name
    assert sorted(ids) == sorted(CHECK_IDS)


def test_the_waf_check_knows_the_same_rule_sets_as_the_armor_construct():
    tree = ast.parse((CHECKS_DIR / "cloud_armor_crs_rules.py").read_text(encoding="utf-8"))
    (assign,) = [n for n in tree.body if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "CRS_33_RULE_SETS"]
    assert ast.literal_eval(assign.value) == CRS_33_RULE_SETS
