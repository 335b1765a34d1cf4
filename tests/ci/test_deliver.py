"""Skaffold delivery steps: the profile and registry each step uses, the kubeconfig for the DNS endpoint,
and the one-time resource group calls."""
from __future__ import annotations

import pytest

from ci import deliver
from ci.__main__ import main


@pytest.mark.parametrize("step, profile, identity", [
    ("build-staging", "staging", "push"), ("deploy-staging", "staging", "deploy"),
    ("build-review", "staging-preview", "push"), ("deploy-review", "staging-preview", "deploy"),
    ("stop-review", "staging-preview", "deploy"), ("build-prod", "prod", "push"),
    ("canary-prod", "prod", "deploy"), ("verify-prod", "prod", "deploy"), ("promote-prod", "prod-promote", "deploy"),
])
def test_each_step_uses_its_profile_and_one_identity(step, profile, identity):
    assert deliver.STEPS[step][0] == profile and deliver.STEPS[step][2] == identity
    needed = deliver.STEPS[step][3]
    assert ("docker" in needed) == (identity == "push")  # only image builds get a Docker client


def test_builds_record_digests_that_deploys_reuse():
    registry = deliver.platform_name("prod", "REGISTRY_URL")
    assert registry.endswith("/acme-prod-apps")
    [build] = deliver.commands("build-prod", registry)
    assert build[:4] == ["skaffold", "build", "-p", "prod"] and f"--file-output={deliver.BUILD_FILE}" in build
    for step in ("canary-prod", "promote-prod"):
        [deploy] = deliver.commands(step, registry)
        assert deploy[:2] == ["skaffold", "deploy"] and f"--build-artifacts={deliver.BUILD_FILE}" in deploy
    assert deliver.commands("verify-prod", registry) == [["skaffold", "verify", "-p", "prod", "--build-artifacts=build.json"]]
    assert deliver.commands("stop-review", registry, "feat-x")[0][:4] == ["kubectl", "delete", "namespace", "preview-feat-x"]


def test_review_apps_deploy_to_staging_and_get_the_preview_domain():
    assert deliver.platform_name("staging-preview", "REGISTRY_URL") == deliver.platform_name("staging", "REGISTRY_URL")
    assert deliver.platform_name("staging-preview", "PREVIEW_DOMAIN").startswith("preview.")
    with pytest.raises(ValueError, match="no NOPE= line"):
        deliver.platform_name("staging", "NOPE")


def test_kubeconfig_authenticates_with_the_plugin_and_no_static_credentials(tmp_path):
    config = deliver.kubeconfig("gke-abc.europe-west4.gke.goog", tmp_path / "gke-gcloud-auth-plugin")
    assert config["clusters"][0]["cluster"] == {"server": "https://gke-abc.europe-west4.gke.goog"}
    user = config["users"][0]["user"]
    assert set(user) == {"exec"} and user["exec"]["args"] == ["--use_application_default_credentials"]


def test_resource_groups_prints_one_oldest_first_call_per_stack(synthesized, capsys):
    assert main(["resource-groups", "--outdir", str(synthesized.outdir)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(synthesized.stacks)
    assert all("process_mode=oldest_first" in line and "--request PUT" in line for line in lines)
    assert any(line.split('"')[3].endswith("/resource_groups/prod-data") for line in lines)


def test_image_builds_get_buildx_as_the_docker_cli_plugin(tmp_path):
    """skaffold.yaml builds with BuildKit; Docker's static CLI needs the buildx plugin for that."""
    assert deliver.STEPS["build-prod"][3] == ("skaffold", "docker", "docker-buildx")
    buildx = tmp_path / "tools" / "docker-buildx"
    buildx.parent.mkdir()
    buildx.write_text("#!/bin/sh\n")
    config = deliver.docker_config(tmp_path / "docker", buildx)
    assert (config / "cli-plugins" / "docker-buildx").resolve() == buildx
    assert deliver.docker_config(tmp_path / "docker", buildx) == config  # a second build step reuses it


def test_deploys_read_the_clusters_dns_endpoint_from_the_gke_api_with_their_own_token():
    class Response:
        def __init__(self, body): self.body = body
        def raise_for_status(self): pass
        def json(self): return self.body

    class Session:
        def __init__(self, body): self.body, self.calls = body, []
        def get(self, url, **kwargs):
            self.calls.append((url, kwargs))
            return Response(self.body)

    cluster = deliver.Cluster.of("prod")
    session = Session({"controlPlaneEndpointsConfig": {"dnsEndpointConfig": {"endpoint": "gke-1.europe-west4.gke.goog"}}})
    assert deliver.cluster_endpoint(cluster, "token", session) == "gke-1.europe-west4.gke.goog"
    [(url, kwargs)] = session.calls
    assert url == f"https://container.googleapis.com/v1/projects/{cluster.project_id}/locations/{cluster.location}/clusters/{cluster.name}"
    assert kwargs["headers"] == {"Authorization": "Bearer token"}
    with pytest.raises(deliver.identity.IdentityError, match=f"cluster {cluster.name} .* has no DNS-based control-plane endpoint"):
        deliver.cluster_endpoint(cluster, "token", Session({"name": cluster.name}))


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_the_cluster_deploys_look_up_is_the_one_the_cluster_stack_creates(synthesized, env):
    """Contract: the name, project and location deliver derives are the synthesized cluster's."""
    [cluster] = synthesized.resources(env, "cluster", "google_container_cluster").values()
    expected = deliver.Cluster.of(env)
    assert (cluster["name"], cluster["project"], cluster["location"]) == (expected.name, expected.project_id, expected.location)
