"""The third-party download reproduces the pinned files exactly, or writes nothing."""
from __future__ import annotations

import csv
import hashlib
import importlib.util
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

spec = importlib.util.spec_from_file_location("fetch_third_party", REPO_ROOT / "scripts" / "fetch_third_party.py")
fetch_third_party = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fetch_third_party)


def lock_rows():
    with (REPO_ROOT / "third_party.lock.tsv").open(newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


@pytest.fixture
def upstream(tmp_path, third_party_dir):
    """A local stand-in for the raw file host, built from the pinned copies; the chart CRDs get back
    Helm template lines, as upstream has them."""
    root = tmp_path / "upstream"
    for row in lock_rows():
        data = (third_party_dir / row["local_path"]).read_bytes()
        path = row["upstream_path"]
        if path.endswith(fetch_third_party.TEMPLATE_LINES_REMOVED):
            path = path.removesuffix(fetch_third_party.TEMPLATE_LINES_REMOVED)
            data = b"{{- if .Values.crds.install }}\n" + data + b"  labels: {{ .Values.operator.name }}\n{{- end }}\n"
        target = root / row["repository"] / row["ref"] / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return root


def test_lock_matches_the_shared_manifest(third_party_dir):
    assert (REPO_ROOT / "third_party.lock.tsv").read_bytes() == (third_party_dir / "MANIFEST.tsv").read_bytes()


def test_download_reproduces_every_pinned_file(tmp_path, upstream, third_party_dir):
    dest = tmp_path / "third_party"
    assert fetch_third_party.main(["--dest", str(dest), "--base-url", upstream.as_uri()]) == 0
    for row in lock_rows():
        assert hashlib.sha256((dest / row["local_path"]).read_bytes()).hexdigest() == row["sha256"]
    assert (dest / "MANIFEST.tsv").is_file()


def test_a_tampered_file_fails_and_writes_nothing(tmp_path, upstream, capsys):
    victim = next(upstream.rglob("values.yaml"))
    victim.write_bytes(victim.read_bytes() + b"\nextra: true\n")
    dest = tmp_path / "third_party"
    assert fetch_third_party.main(["--dest", str(dest), "--base-url", upstream.as_uri()]) == 1
    assert not dest.exists() and not dest.with_name("third_party.partial").exists()
    assert "values.yaml: sha256" in capsys.readouterr().err
