"""Every rendered object validates against a schema:
- built-in kinds: kubernetes-validate, strict (unknown fields are errors), for the environment's
  `cluster.kubernetes_version`;
- Gateway API, KEDA and prometheus-operator kinds: the pinned upstream CRDs in the third-party data
  (PLATFORM_THIRD_PARTY_DIR), made strict the way the API server prunes (an unknown field is an error here
  instead of being dropped silently in the cluster);
- GKE's own policy CRDs, which are not published as files: the narrow exception list below, each kind with a
  reason and a hand-written minimal structure check. Any other kind fails.
"""
from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import kubernetes_validate.utils as kv_utils
import pytest
import yaml

from k8s import render as k8s_render
from stacks.namespaces import namespace_names

CRD_DIRS = ("crds/gateway-api-v1.6.1", "crds/keda-2.20.2", "crds/prometheus-operator-kps-88.5.3")

# (group, kind) -> reason. GKE installs these CRDs in the cluster itself; no versioned copy is published to
# pin in third_party. They are checked by `GKE_STRUCTURE` below instead of a schema.
GKE_KINDS_WITHOUT_SCHEMA = {
    ("networking.gke.io", "GCPBackendPolicy"): "GKE-managed CRD (Cloud Armor, timeouts, logging per Service)",
    ("networking.gke.io", "GCPGatewayPolicy"): "GKE-managed CRD (SSL policy of the Gateway)",
    ("networking.gke.io", "HealthCheckPolicy"): "GKE-managed CRD (load balancer health check per Service)",
}

# Minimal structure of the GKE policies, from the GKE Gateway API reference: known keys only, required keys.
_TARGET_REF = {"type": "object", "required": ["group", "kind", "name"], "additionalProperties": False,
               "properties": {"group": {"type": "string"}, "kind": {"type": "string"},
                              "name": {"type": "string", "minLength": 1}, "namespace": {"type": "string"}}}
GKE_STRUCTURE = {
    "GCPBackendPolicy": {
        "type": "object", "required": ["default", "targetRef"], "additionalProperties": False,
        "properties": {
            "targetRef": {**_TARGET_REF, "properties": {**_TARGET_REF["properties"],
                                                        "kind": {"enum": ["Service", "ServiceImport"]}}},
            "default": {"type": "object", "additionalProperties": False, "required": ["securityPolicy"],
                        "properties": {
                            "securityPolicy": {"type": "string", "pattern": "^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$"},
                            "timeoutSec": {"type": "integer", "minimum": 1, "maximum": 2147483647},
                            "connectionDraining": {"type": "object", "additionalProperties": False,
                                                   "properties": {"drainingTimeoutSec": {
                                                       "type": "integer", "minimum": 0, "maximum": 3600}}},
                            "logging": {"type": "object", "additionalProperties": False,
                                        "properties": {"enabled": {"type": "boolean"},
                                                       "sampleRate": {"type": "integer", "minimum": 0,
                                                                      "maximum": 1000000}}}}}}},
    "GCPGatewayPolicy": {
        "type": "object", "required": ["default", "targetRef"], "additionalProperties": False,
        "properties": {
            "targetRef": {**_TARGET_REF, "properties": {**_TARGET_REF["properties"], "kind": {"const": "Gateway"}}},
            "default": {"type": "object", "additionalProperties": False, "required": ["sslPolicy"],
                        "properties": {"sslPolicy": {"type": "string",
                                                     "pattern": "^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$"}}}}},
    "HealthCheckPolicy": {
        "type": "object", "required": ["default", "targetRef"], "additionalProperties": False,
        "properties": {
            "targetRef": {**_TARGET_REF, "properties": {**_TARGET_REF["properties"],
                                                        "kind": {"enum": ["Service", "ServiceImport"]}}},
            "default": {"type": "object", "additionalProperties": False, "required": ["config"],
                        "properties": {
                            "checkIntervalSec": {"type": "integer", "minimum": 1, "maximum": 300},
                            "timeoutSec": {"type": "integer", "minimum": 1, "maximum": 300},
                            "healthyThreshold": {"type": "integer", "minimum": 1, "maximum": 10},
                            "unhealthyThreshold": {"type": "integer", "minimum": 1, "maximum": 10},
                            "config": {"type": "object", "additionalProperties": False, "required": ["type"],
                                       "properties": {
                                           "type": {"enum": ["HTTP", "HTTPS", "HTTP2", "TCP", "GRPC"]},
                                           "httpHealthCheck": {
                                               "type": "object", "additionalProperties": False,
                                               "properties": {
                                                   "portSpecification": {"enum": ["USE_FIXED_PORT",
                                                                                  "USE_NAMED_PORT",
                                                                                  "USE_SERVING_PORT"]},
                                                   "port": {"type": "integer"},
                                                   "portName": {"type": "string"},
                                                   "host": {"type": "string"},
                                                   "requestPath": {"type": "string", "pattern": "^/"},
                                                   "response": {"type": "string"},
                                                   "proxyHeader": {"enum": ["NONE", "PROXY_V1"]}}}}}}}}},
}


@pytest.fixture(scope="module", autouse=True)
def _cached_kubernetes_schemas():
    """kubernetes-validate re-reads its large schema files on every call; they never change during a run."""
    original = kv_utils.schema_contents
    kv_utils.schema_contents = functools.lru_cache(maxsize=None)(original)
    yield
    kv_utils.schema_contents = original


def _strict(schema: Any, constraint_only: bool = False) -> Any:
    """Copy of a CRD schema where objects with listed properties reject unknown ones, like API-server pruning.

    Branches of oneOf/anyOf/allOf/not only constrain the structural schema (Kubernetes forbids them to declare
    fields of their own), so they are left open."""
    if isinstance(schema, list):
        return [_strict(item, constraint_only) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: _strict(value, constraint_only or key in ("oneOf", "anyOf", "allOf", "not"))
           for key, value in schema.items()}
    if ("properties" in out and "additionalProperties" not in out and not constraint_only
            and not out.get("x-kubernetes-preserve-unknown-fields")):
        out["additionalProperties"] = False
    if out.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    return out


@pytest.fixture(scope="session")
def crd_validators(third_party_dir: Path) -> dict[tuple[str, str, str], jsonschema.Draft7Validator]:
    """(group, version, kind) -> validator of the whole object, from the pinned CRDs."""
    validators = {}
    for folder in CRD_DIRS:
        files = sorted((third_party_dir / folder).glob("*.yaml"))
        if not files:
            pytest.fail(f"no CRD files in {third_party_dir / folder}; run `make third-party`", pytrace=False)
        for path in files:
            for crd in yaml.safe_load_all(path.read_text(encoding="utf-8")):
                if not crd or crd.get("kind") != "CustomResourceDefinition":
                    continue
                group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
                for version in crd["spec"]["versions"]:
                    schema = _strict(copy.deepcopy(version["schema"]["openAPIV3Schema"]))
                    # metadata is validated by the API server's ObjectMeta rules, not by the CRD
                    schema.setdefault("properties", {})["metadata"] = {"type": "object"}
                    validators[(group, version["name"], kind)] = jsonschema.Draft7Validator(schema)
    return validators


def _group_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


def kubernetes_version(env_configs, overlay: str) -> str:
    env = k8s_render.environment_of(overlay)
    version = str(env_configs[env]["cluster"]["kubernetes_version"])
    assert version.count(".") >= 1, f"config/{env}.yaml cluster.kubernetes_version={version!r} is not X.Y"
    return version


def validate_object(obj: dict, k8s_version: str, crd_validators) -> list[str]:
    group, version = _group_version(obj["apiVersion"])
    where = k8s_render.object_key(obj)
    if (group, obj["kind"]) in GKE_KINDS_WITHOUT_SCHEMA:
        validator = jsonschema.Draft7Validator(GKE_STRUCTURE[obj["kind"]])
        return [f"{where}: spec.{'.'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(obj["spec"])]
    crd_validator = crd_validators.get((group, version, obj["kind"]))
    if crd_validator is not None:
        return [f"{where}: {'.'.join(map(str, e.path))}: {e.message}" for e in crd_validator.iter_errors(obj)]
    try:
        kubernetes_validate.validate(obj, k8s_version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return [f"{where}: {'.'.join(map(str, exc.path))}: {exc.message}"]
    except kubernetes_validate.utils.SchemaNotFoundError:
        return [f"{where}: no schema for {obj['apiVersion']} {obj['kind']} (neither built in, nor a pinned CRD, "
                f"nor a listed GKE exception)"]
    return []


@pytest.mark.parametrize("overlay", k8s_render.ALL_OVERLAYS)
def test_every_object_validates(overlay, rendered, env_configs, crd_validators):
    version = kubernetes_version(env_configs, overlay)
    errors = [err for obj in rendered[overlay].objects for err in validate_object(obj, version, crd_validators)]
    assert not errors, f"{overlay} (Kubernetes {version}):\n" + "\n".join(errors)


@pytest.mark.parametrize("overlay", k8s_render.ALL_OVERLAYS)
def test_no_local_only_object_reaches_the_cluster(overlay, rendered):
    leaked = [k8s_render.object_key(o) for o in rendered[overlay].objects
              if o["kind"] == "TemporalWorkerPool"
              or "config.kubernetes.io/local-config" in (o["metadata"].get("annotations") or {})
              or (o["kind"] == "ConfigMap" and o["metadata"]["name"] == "platform-names")]
    assert not leaked, f"{overlay}: kustomize-only objects in the output: {leaked}"


def test_strict_crd_validation_catches_a_typo(rendered, crd_validators, env_configs):
    """Guard for the validator itself: a misspelt KEDA field must fail, not be pruned silently."""
    scaled = copy.deepcopy(rendered["prod"].find("ScaledObject", "ai-server"))
    scaled["spec"]["minReplicas"] = 1  # the field is minReplicaCount
    assert validate_object(scaled, "1.33", crd_validators)
    scaled = copy.deepcopy(rendered["prod"].find("ScaledObject", "ai-server"))
    scaled["spec"]["triggers"][1]["metadata"]["threshold"] = 4  # KEDA trigger metadata values are strings
    assert validate_object(scaled, "1.33", crd_validators)


def test_gke_exception_list_is_narrow_and_used(rendered):
    used = {(_group_version(o["apiVersion"])[0], o["kind"]) for r in rendered.values() for o in r.objects}
    assert set(GKE_KINDS_WITHOUT_SCHEMA) <= used, "an exception for a kind no overlay renders is stale"
    assert all(group == "networking.gke.io" for group, _ in GKE_KINDS_WITHOUT_SCHEMA)
    assert set(GKE_STRUCTURE) == {kind for _, kind in GKE_KINDS_WITHOUT_SCHEMA}


@pytest.mark.parametrize("env", k8s_render.ENV_OVERLAYS)
def test_the_data_layers_namespace_objects_validate(env, platform_objects, env_configs, crd_validators):
    """The manifests stacks/namespaces.py hands to the typed Terraform resources (constructs_lib/
    platform_namespaces.py), checked strictly against the Kubernetes schemas like every overlay."""
    version = kubernetes_version(env_configs, env)
    errors = [err for obj in platform_objects[env] for err in validate_object(obj, version, crd_validators)]
    assert platform_objects[env] and not errors, "\n".join(errors)


@pytest.mark.parametrize("overlay", k8s_render.ALL_OVERLAYS)
def test_overlays_create_no_platform_namespace(overlay, rendered):
    """One owner per namespace: the data layer creates the platform namespaces, `apps` included."""
    created = [n["metadata"]["name"] for n in rendered[overlay].of_kind("Namespace")]
    assert not set(created) & set(namespace_names()), created
