"""The component table is the one place a component is declared: the worked example in docs/terraform.md,
added to a copy of the table, yields its service account, secret, Workload Identity binding and backup
coverage with no other edit."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from stacks.components import COMPONENTS, Component, backup_namespaces, check_table
from tests.conftest import REPO_ROOT

DOC = REPO_ROOT / "docs" / "terraform.md"
SOURCES = ("main.py", "cdktf.json", "stacks", "constructs_lib", "helm_values", "monitoring", "config")


def documented_row() -> str:
    text = DOC.read_text(encoding="utf-8")
    match = re.search(r"<!-- component-example:.*?-->\n```python\n(.*?)```", text, re.S)
    assert match, "docs/terraform.md lost its component example"
    return match.group(1)


@pytest.fixture(scope="module")
def extended(tmp_path_factory):
    """dev synthesized up to the cluster layer from a copy of the repository whose table has the documented row."""
    root = tmp_path_factory.mktemp("extended")
    for name in SOURCES:
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, root / name)
    table = root / "stacks" / "components.py"
    text = table.read_text(encoding="utf-8")
    closing = text.index("\n)\n", text.index("COMPONENTS: tuple[Component, ...] = ("))
    table.write_text(text[:closing] + "\n" + documented_row().rstrip() + text[closing:], encoding="utf-8")
    outdir = root / "out"
    env = {k: v for k, v in os.environ.items() if k != "NODE_OPTIONS"}
    result = subprocess.run(
        [sys.executable, "main.py", "--stack", "dev-cluster", "--outdir", str(outdir), "--jobs", "1"],
        cwd=root, capture_output=True, text=True, timeout=300, env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return {path.parent.name: json.loads(path.read_text()) for path in outdir.glob("stacks/*/cdk.tf.json")}


def test_the_documented_row_is_not_in_the_shipped_table():
    assert "name=\"cache\"" in documented_row()
    assert "cache" not in {component.name for component in COMPONENTS}


def test_a_new_row_gets_its_service_account(extended):
    accounts = {body["account_id"] for body in extended["dev-security"]["resource"]["google_service_account"].values()}
    assert "acme-dev-cache" in accounts


def test_a_new_row_owns_its_secret_alone(extended):
    secrets = extended["dev-security"]["resource"]["google_secret_manager_secret"]
    (logical_id,) = [k for k, body in secrets.items() if body["secret_id"] == "acme-dev-cache-password"]
    (binding,) = [
        body for body in extended["dev-security"]["resource"]["google_secret_manager_secret_iam_binding"].values()
        if logical_id in body["secret_id"]
    ]
    assert len(binding["members"]) == 1 and "sa-cache" in binding["members"][0]


def test_a_new_row_gets_its_workload_identity_binding(extended):
    members = [body["member"] for body in extended["dev-cluster"]["resource"]["google_service_account_iam_member"].values()]
    assert "serviceAccount:example-platform-dev.svc.id.goog[cache/cache]" in members


def test_a_new_row_is_backed_up(extended):
    (plan,) = extended["dev-cluster"]["resource"]["google_gke_backup_backup_plan"].values()
    assert "cache" in plan["backup_config"]["selected_namespaces"]["namespaces"]


def test_backup_scope_follows_the_table():
    rows = (
        Component(name="a", title="A", purpose="x", namespace="one", delivery="app"),
        Component(name="b", title="B", purpose="x", namespace="two", delivery="platform", backed_up=False),
        Component(name="c", title="C", purpose="x", namespace="one", delivery="platform"),
    )
    assert backup_namespaces(rows) == ("one",)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ((Component(name="a", title="A", purpose="x", namespace="n", delivery="app"),) * 2, "component name 'a' appears twice"),
        (
            (
                Component(name="a", title="A", purpose="x", namespace="n", delivery="app", secrets=("s",)),
                Component(name="b", title="B", purpose="x", namespace="n", delivery="app", secrets=("s",)),
            ),
            "secret 's' appears twice",
        ),
    ],
)
def test_the_table_refuses_duplicates(rows, message):
    with pytest.raises(ValueError, match=message):
        check_table(rows)
