"""Cluster- and data-layer constructs refuse bad props early, naming the bad value and the fix."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from constructs_lib.artifact_registry import DockerRepository, DockerRepositoryProps
from constructs_lib.binary_authorization import BinaryAuthorization, BinaryAuthorizationProps
from constructs_lib.cdk import App, TerraformStack, google
from constructs_lib.cluster_access import ClusterAccess, ClusterAccessProps
from constructs_lib.dependencies import depend_on
from constructs_lib.gke_backup import GkeBackup, GkeBackupProps
from constructs_lib.gke_cluster import GkeCluster, GkeClusterProps
from constructs_lib.helm_release import HelmRelease, HelmReleaseProps
from constructs_lib.node_pool import NodePool, NodePoolProps, Taint
from constructs_lib.workload_identity import WorkloadBinding, WorkloadIdentity, WorkloadIdentityProps

NODE_SA = "gke-node@p.iam.gserviceaccount.com"


@pytest.fixture
def stack(tmp_path):
    return TerraformStack(App(outdir=str(tmp_path)), "test")


def cluster_props(**overrides):
    return GkeClusterProps(
        **{
            "project_id": "p",
            "name": "acme-dev-gke",
            "region": "europe-west4",
            "node_locations": ("europe-west4-a",),
            "network": "net",
            "subnetwork": "subnet",
            "pods_range_name": "pods",
            "services_range_name": "services",
            "master_ipv4_cidr": "172.16.0.0/28",
            "node_service_account": NODE_SA,
            "boot_disk_kms_key": "k",
            "node_tag": "gke-node",
            "database_encryption_key": "projects/p/locations/europe-west4/keyRings/r/cryptoKeys/k",
            **overrides,
        }
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"authorized_networks": {"anyone": "0.0.0.0/0"}}, r"authorized network 'anyone' is 0.0.0.0/0, broader than /16"),
        ({"node_locations": ()}, r"node_locations is empty"),
        ({"database_encryption_key": ""}, r"database_encryption_key is empty; Kubernetes Secrets must be encrypted"),
        ({"node_service_account": "123-compute@developer.gserviceaccount.com"}, r"is empty or the Compute Engine default account"),
        ({"name": "Acme"}, r"name must be 1-40 lower-case letters"),
    ],
)
def test_gke_cluster_refuses_bad_props(stack, overrides, message):
    with pytest.raises(ValueError, match=message):
        GkeCluster(stack, "gke", cluster_props(**overrides))


def pool_props(**overrides):
    return NodePoolProps(
        **{
            "project_id": "p",
            "cluster": "c",
            "location": "europe-west4",
            "name": "general",
            "node_locations": ("europe-west4-a",),
            "boot_disk_kms_key": "k",
            "machine_type": "e2-standard-4",
            "min_nodes": 0,
            "max_nodes": 2,
            "service_account": NODE_SA,
            "network_tags": ("gke-node",),
            **overrides,
        }
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"service_account": "default"}, r"service_account 'default' is the Compute Engine default account"),
        ({"service_account": "42-compute@developer.gserviceaccount.com"}, r"is the Compute Engine default account"),
        ({"network_tags": ()}, r"network_tags is empty; every pool carries the node tag the firewall targets"),
        ({"boot_disk_kms_key": ""}, r"boot_disk_kms_key is empty; node boot disks are encrypted with a customer-managed key"),
        ({"taints": (Taint(key="dedicated", value="x", effect="NO_SCHEDULE"),)}, r"effect 'NO_SCHEDULE' must be one of NoSchedule"),
        ({"taints": (Taint(key="bad key", value="x"),)}, r"taint bad key=x has an invalid key or value"),
        ({"name": "General"}, r"name 'General' must be 1-40 lower-case letters"),
        ({"node_locations": ()}, r"node_locations is empty"),
    ],
)
def test_node_pool_refuses_bad_props(stack, overrides, message):
    with pytest.raises(ValueError, match=message):
        NodePool(stack, "pool", pool_props(**overrides))


def repository_props(**overrides):
    return DockerRepositoryProps(**{"project_id": "p", "location": "europe-west4", "repository_id": "acme-dev-apps", "kms_key": "k", **overrides})


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"repository_id": "Apps"}, r"repository_id must be 1-63 lower-case letters"),
        ({"kms_key": ""}, r"kms_key is empty; images are encrypted with a customer-managed key"),
        ({"upstream": "ghcr.io"}, r"upstream 'ghcr.io' must be docker.io or an https:// registry URL"),
        ({"delete_untagged_after_days": 100}, r"delete_untagged_after_days 100 must be within 1 and delete_tagged_after_days \(90\)"),
        ({"iam": {"roles/artifactregistry.reader": ("allUsers",)}}, r"granted to 'allUsers'"),
        ({"iam": {"roles/artifactregistry.writer": ("ci@p.iam.gserviceaccount.com",)}}, r"is not an IAM principal"),
    ],
)
def test_docker_repository_refuses_bad_props(stack, overrides, message):
    with pytest.raises(ValueError, match=message):
        DockerRepository(stack, "registry", repository_props(**overrides))


def backup_props(**overrides):
    return GkeBackupProps(
        **{"project_id": "p", "location": "europe-west4", "cluster": "c", "plan_name": "b", "restore_plan_name": "r", "namespaces": ("apps",), "encryption_key": "k", **overrides}
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"namespaces": ()}, r"namespaces is empty; list the namespaces whose state must survive"),
        ({"encryption_key": ""}, r"encryption_key is empty; backups hold Secrets"),
        ({"namespaces": ("Apps",)}, r"namespace 'Apps' is not a Kubernetes name"),
        ({"plan_name": "Backup"}, r"plan name 'Backup' must be 1-63 lower-case letters"),
    ],
)
def test_gke_backup_refuses_bad_props(stack, overrides, message):
    with pytest.raises(ValueError, match=message):
        GkeBackup(stack, "backup", backup_props(**overrides))


@pytest.mark.parametrize(
    ("patterns", "message"),
    [
        ((), r"allowed_images is empty; at least the platform's own registry must be allowed"),
        (("*.io/anything",), r"image pattern '\*.io/anything' must be <registry>/<path>"),
        (("nginx",), r"image pattern 'nginx' must be <registry>/<path>"),
        (("ghcr.io/kedacore/*", "ghcr.io/kedacore/*"), r"allowed_images lists a pattern twice"),
    ],
)
def test_binary_authorization_refuses_bad_allowlists(stack, patterns, message):
    with pytest.raises(ValueError, match=message):
        BinaryAuthorization(stack, "binauthz", BinaryAuthorizationProps(project_id="p", allowed_images=patterns))


@pytest.mark.parametrize(
    ("bindings", "message"),
    [
        ({"api": WorkloadBinding(google_service_account="sa", namespace="Apps", kubernetes_service_account="api")}, r"namespace 'Apps' is not a Kubernetes name"),
        (
            {
                "api": WorkloadBinding(google_service_account="a", namespace="apps", kubernetes_service_account="shared"),
                "ai": WorkloadBinding(google_service_account="b", namespace="apps", kubernetes_service_account="shared"),
            },
            r"ai and api both use KSA apps/shared; a KSA acts as exactly one Google service account",
        ),
        ({"api": WorkloadBinding(google_service_account="", namespace="apps", kubernetes_service_account="api")}, r"api: google_service_account is empty"),
    ],
)
def test_workload_identity_refuses_bad_bindings(stack, bindings, message):
    with pytest.raises(ValueError, match=message):
        WorkloadIdentity(stack, "wi", WorkloadIdentityProps(project_id="p", bindings=bindings))


def helm_props(tmp_path, **overrides):
    values = tmp_path / "values.yaml"
    values.write_text("operator:\n  replicaCount: 1\n")
    return HelmReleaseProps(
        **{"name": "keda", "chart": "keda", "repository": "https://kedacore.github.io/charts", "version": "2.20.2", "namespace": "keda", "values_files": (values,), **overrides}
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"version": "^2.20"}, r"version '\^2.20' must be an exact chart version such as 2.20.2"),
        ({"version": "2.20.x"}, r"version '2.20.x' must be an exact chart version"),
        ({"repository": "http://kedacore.github.io/charts"}, r"repository 'http://kedacore.github.io/charts' must be an https URL"),
        ({"values_files": ()}, r"values_files is empty"),
        ({"values_files": (Path("/nonexistent/values-qa.yaml"),)}, r"cannot read values file /nonexistent/values-qa.yaml"),
        ({"name": "KEDA"}, r"name must be 1-53 lower-case letters"),
    ],
)
def test_helm_release_refuses_bad_props(stack, tmp_path, overrides, message):
    with pytest.raises(ValueError, match=message):
        HelmRelease(stack, "keda", helm_props(tmp_path, **overrides))


def test_helm_release_refuses_a_values_file_that_is_not_a_mapping(stack, tmp_path):
    bad = tmp_path / "list.yaml"
    bad.write_text("- a\n- b\n")
    with pytest.raises(ValueError, match=r"values file .*list.yaml must hold a mapping, got list"):
        HelmRelease(stack, "keda", helm_props(tmp_path, values_files=(bad,)))


def test_cluster_access_wants_the_bare_endpoint(stack):
    with pytest.raises(ValueError, match=r"endpoint 'https://10.0.0.2' must be the bare address, without scheme"):
        ClusterAccess(stack, "access", ClusterAccessProps(endpoint="https://10.0.0.2"))


def test_depend_on_writes_plain_terraform_references(tmp_path):
    app = App(outdir=str(tmp_path))
    stack = TerraformStack(app, "test")
    google.provider.GoogleProvider(stack, "google", project="p")
    first = google.project_service.ProjectService(stack, "first", service="a.googleapis.com")
    second = google.project_service.ProjectService(stack, "second", service="b.googleapis.com")
    depend_on(second, first)
    app.synth()
    document = json.loads((tmp_path / "stacks" / "test" / "cdk.tf.json").read_text())
    assert document["resource"]["google_project_service"]["second"]["depends_on"] == ["google_project_service.first"]


def test_depend_on_refuses_targets_without_resources(stack):
    empty = TerraformStack(App(), "empty")
    with pytest.raises(ValueError, match=r"contain no Terraform resources"):
        depend_on(stack, empty)
