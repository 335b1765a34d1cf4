"""HelmRelease `set_values`: Terraform tokens and derived names written over the reviewed values files, the
way `helm --set-string` writes them, sorted, and refused when they would land somewhere the files do not say."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from constructs_lib.cdk import App, TerraformStack, google, helm
from constructs_lib.helm_release import HelmRelease, HelmReleaseProps, apply_set_values, merge_values, set_path


@pytest.fixture
def stack(tmp_path):
    stack = TerraformStack(App(outdir=str(tmp_path / "out")), "test")
    google.provider.GoogleProvider(stack, "google", project="p")
    helm.provider.HelmProvider(stack, "helm")
    return stack


@pytest.fixture
def values_file(tmp_path):
    path = tmp_path / "values.yaml"
    path.write_text("sidecars:\n  - name: proxy\n    args: [--port=5432, CONNECTION]\nservice:\n  type: ClusterIP\n")
    return path


def props(values_file, **overrides) -> HelmReleaseProps:
    return HelmReleaseProps(
        name="demo", chart="demo", repository="https://charts.example.com", version="1.0.0",
        namespace="demo", values_files=(values_file,), **overrides,
    )


def synthesized_release(stack) -> dict:
    stack.node.scope.synth()
    outdir = Path(stack.node.scope.outdir)
    document = json.loads((outdir / "stacks" / "test" / "cdk.tf.json").read_text())
    (release,) = document["resource"]["helm_release"].values()
    return release


def test_set_values_are_rendered_as_string_set_entries_sorted_by_key(stack, values_file):
    address = google.compute_address.ComputeAddress(stack, "ip", name="demo-ip", address_type="INTERNAL")
    HelmRelease(
        stack, "demo",
        props(values_file, set_values={
            "sidecars[0].args[1]": "project:region:instance",
            r"serviceAccount.annotations.iam\.gke\.io/gcp-service-account": "sa@p.iam.gserviceaccount.com",
            "service.loadBalancerIP": address.address,
        }),
    )
    release = synthesized_release(stack)
    assert release["set"] == [
        {"name": "service.loadBalancerIP", "type": "string", "value": "${google_compute_address.ip.address}"},
        {"name": r"serviceAccount.annotations.iam\.gke\.io/gcp-service-account", "type": "string", "value": "sa@p.iam.gserviceaccount.com"},
        {"name": "sidecars[0].args[1]", "type": "string", "value": "project:region:instance"},
    ]


def test_without_set_values_there_is_no_set_block(stack, values_file):
    HelmRelease(stack, "demo", props(values_file))
    assert "set" not in synthesized_release(stack)


def test_set_keys_parse_like_helm_escaped_dots_and_indices():
    assert set_path(r"a.b\.c/d[1][2].e") == ("a", "b.c/d", 1, 2, "e")
    assert set_path("server.additionalInitContainers[0].args[3]") == ("server", "additionalInitContainers", 0, "args", 3)


def test_set_values_write_into_the_merged_files_without_replacing_lists():
    merged = merge_values([{"list": [{"name": "proxy", "args": ["a", "b"]}], "keep": {"x": 1}}, {"keep": {"y": 2}}])
    result = apply_set_values(merged, {"list[0].args[1]": "token", r"new.key\.with\.dots": "v"})
    assert result == {"list": [{"name": "proxy", "args": ["a", "token"]}], "keep": {"x": 1, "y": 2}, "new": {"key.with.dots": "v"}}
    assert merged["list"][0]["args"] == ["a", "b"], "the input stays untouched"


@pytest.mark.parametrize(
    "set_values, message",
    [
        ({"sidecars[1].args[0]": "x"}, r"set key 'sidecars\[1\]\.args\[0\]': index \[1\] under sidecars needs an existing element; the values files hold a list of 1"),
        ({"service.type.inner": "x"}, r"set key 'service.type.inner': service.type is a str in the values files, not a mapping"),
        ({"a..b": "x"}, r"set key 'a..b': segment '' is not a key"),
        ({"a,b": "x"}, r"set key 'a,b': segment 'a,b' is not a key .*no ',' or '='"),
        ({"service.type": "a,b"}, r"set value of 'service.type' contains ','"),
    ],
)
def test_bad_set_values_are_refused_with_the_key_and_the_reason(stack, values_file, set_values, message):
    with pytest.raises(ValueError, match=r"HelmRelease demo: " + message):
        HelmRelease(stack, "demo", props(values_file, set_values=set_values))
