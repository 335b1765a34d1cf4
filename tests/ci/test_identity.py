"""Keyless credentials (external-account file from the job's OIDC token), the GitLab variables printed from
the bootstrap outputs, and pinned tool downloads."""
from __future__ import annotations

import hashlib
import io
import json
import stat
import zipfile

import pytest

from ci import identity, tools
from ci.__main__ import main

AUDIENCE = "//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/gitlab/providers/gitlab"
OUTPUTS = {
    "workload_identity_provider": {"value": AUDIENCE.removeprefix("//iam.googleapis.com/"), "sensitive": False},
    "workload_identity_audience": {"value": AUDIENCE},
    **{f"{who}_service_account": {"value": f"acme-dev-ci-{who}@p.iam.gserviceaccount.com"} for who in identity.IDENTITIES},
    "state_bucket": {"value": "example-platform-dev-tfstate"},
}


def test_the_credential_file_impersonates_the_jobs_identity_with_the_oidc_token(tmp_path):
    environ = {"PLATFORM_ENV": "dev", "PLATFORM_IDENTITY": "apply", "GITLAB_OIDC_TOKEN": "header.payload.sig",
               **identity.gitlab_variables("dev", OUTPUTS)}
    env = identity.write_credentials(environ, tmp_path / "creds")
    config = json.loads((tmp_path / "creds" / "google-credentials.json").read_text())
    assert config["type"] == "external_account" and config["audience"] == AUDIENCE
    assert config["service_account_impersonation_url"].endswith("/acme-dev-ci-apply@p.iam.gserviceaccount.com:generateAccessToken")
    assert (tmp_path / "creds" / "gitlab-oidc-token").read_text() == "header.payload.sig"
    assert config["credential_source"] == {"file": str(tmp_path / "creds" / "gitlab-oidc-token")}
    assert "private_key" not in json.dumps(config)
    for path in (tmp_path / "creds").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert env["GOOGLE_APPLICATION_CREDENTIALS"] == env["CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE"]


def test_a_missing_variable_names_it_and_where_it_comes_from(tmp_path):
    environ = {"PLATFORM_ENV": "prod", "PLATFORM_IDENTITY": "plan", "GITLAB_OIDC_TOKEN": "t"}
    with pytest.raises(identity.IdentityError, match=r"PLATFORM_PROD_WORKLOAD_IDENTITY_AUDIENCE is not set; .*python -m ci gitlab-variables prod"):
        identity.write_credentials(environ, tmp_path)
    with pytest.raises(identity.IdentityError, match="PLATFORM_IDENTITY='owner': expected one of plan, apply, push, deploy"):
        identity.write_credentials({**environ, "PLATFORM_IDENTITY": "owner"}, tmp_path)


def test_access_token_exchanges_the_oidc_token_then_impersonates(tmp_path):
    class Response:
        def __init__(self, body): self.body = body
        def raise_for_status(self): pass
        def json(self): return self.body

    class Session:
        calls = []
        def post(self, url, **kwargs):
            self.calls.append((url, kwargs))
            return Response({"access_token": "federated"} if "sts" in url else {"accessToken": "final"})

    session = Session()
    token = tmp_path / "t"
    token.write_text("oidc\n")
    config = identity.credential_config(AUDIENCE, "sa@p.iam.gserviceaccount.com", token)
    assert identity.access_token(config, session) == "final"
    (sts_url, sts), (iam_url, iam) = session.calls
    assert sts_url == identity.STS_URL and sts["data"]["subject_token"] == "oidc" and sts["data"]["audience"] == AUDIENCE
    assert iam_url == config["service_account_impersonation_url"] and iam["headers"]["Authorization"] == "Bearer federated"


def test_gitlab_variables_prints_every_bootstrap_output_of_the_environment(tmp_path, capsys):
    saved = tmp_path / "outputs.json"
    saved.write_text(json.dumps(OUTPUTS))
    assert main(["gitlab-variables", "dev", "--outputs-json", str(saved)]) == 0
    lines = dict(line.split("=", 1) for line in capsys.readouterr().out.splitlines())
    assert lines["PLATFORM_DEV_WORKLOAD_IDENTITY_AUDIENCE"] == AUDIENCE
    assert lines["PLATFORM_DEV_PUSH_SERVICE_ACCOUNT"] == "acme-dev-ci-push@p.iam.gserviceaccount.com"
    assert len(lines) == len(identity.BOOTSTRAP_OUTPUTS)


def test_gitlab_variables_fails_on_an_older_bootstrap(tmp_path, capsys):
    saved = tmp_path / "outputs.json"
    saved.write_text(json.dumps({"state_bucket": {"value": "b"}}))
    assert main(["gitlab-variables", "dev", "--outputs-json", str(saved)]) == 2
    assert "dev-bootstrap has no output 'workload_identity_provider'" in capsys.readouterr().err


def _lock(tmp_path, sha256: str, member: str = "tool", url: str = "https://example.invalid/t-{version}.zip"):
    lock = tmp_path / "tools.lock"
    lock.write_text(f"# comment\nname\tversion\turl\tsha256\tmember\ntool\t1.2.3\t{url}\t{sha256}\t{member}\n")
    return lock


def test_every_pinned_tool_has_a_version_and_a_literal_checksum_except_dockers_unpublished_one():
    rows = tools.load()
    assert {"terraform", "kubectl", "skaffold", "gke-gcloud-auth-plugin", "docker", "docker-buildx"} <= set(rows)
    assert rows["terraform"]["version"].startswith("1.11.")
    variables = set()
    for name, row in rows.items():
        assert row["version"] and not row["version"].startswith("$"), name
        if row["sha256"].startswith("$"):
            variables.add(name)
        else:
            assert len(row["sha256"]) == 64 and int(row["sha256"], 16) >= 0, name
    # Docker publishes no checksum for its static CLI archives (docs/ci-cd.md); everything else is literal.
    assert variables == {"docker"}


def test_kubectl_is_within_the_supported_skew_of_every_environments_cluster(configs):
    kubectl_minor = int(tools.load()["kubectl"]["version"].split(".")[1])
    for name, config in configs.items():
        cluster_minor = int(config.cluster.kubernetes_version.split(".")[1])
        assert abs(kubectl_minor - cluster_minor) <= 1, f"{name}: kubectl 1.{kubectl_minor} vs cluster 1.{cluster_minor}"


def test_an_unset_checksum_variable_fails_with_its_name(tmp_path):
    lock = _lock(tmp_path, "$PLATFORM_SHA256_TOOL")
    with pytest.raises(tools.ToolError, match="tool sha256 comes from CI variable PLATFORM_SHA256_TOOL, which is not set"):
        tools.tool("tool", {}, lock)
    assert tools.tool("tool", {"PLATFORM_SHA256_TOOL": "A" * 64}, lock).sha256 == "a" * 64


def test_a_download_is_used_only_when_its_checksum_matches(tmp_path):
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("tool", b"#!/bin/sh\n")
    payload = archive.getvalue()
    spec = tools.tool("tool", {}, _lock(tmp_path, hashlib.sha256(payload).hexdigest()))
    assert spec.url == "https://example.invalid/t-1.2.3.zip"
    assert tools.extract(spec, payload) == b"#!/bin/sh\n"
    with pytest.raises(tools.ToolError, match="has sha256 .*, the lock expects"):
        tools.extract(spec, payload + b"tampered")
