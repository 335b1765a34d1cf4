"""Security-layer constructs: bad props are refused early with the bad value and the fix; a few shapes the
environments do not exercise (CDN, user-managed replication, rate-based ban) are synthesized here."""
from __future__ import annotations

import json

import pytest

from constructs_lib.armor import ArmorPolicy, ArmorPolicyProps, RateLimit
from constructs_lib.cdk import App, TerraformStack, google
from constructs_lib.custom_role import CustomRole, CustomRoleProps
from constructs_lib.edge import Edge, EdgeProps
from constructs_lib.kms import KeyRing, KeyRingProps, KmsKeySpec
from constructs_lib.secret import Secret, SecretProps
from constructs_lib.static_site import StaticSite, StaticSiteProps

SA = "serviceAccount:owner@p.iam.gserviceaccount.com"


@pytest.fixture
def app(tmp_path):
    return App(outdir=str(tmp_path))


@pytest.fixture
def stack(app):
    stack = TerraformStack(app, "test")
    google.provider.GoogleProvider(stack, "google", project="p")
    return stack


def synth(app, tmp_path) -> dict:
    app.synth()
    return json.loads((tmp_path / "stacks" / "test" / "cdk.tf.json").read_text())


def resources_of(document, type_):
    return list(document["resource"][type_].values())


# --- Secret -------------------------------------------------------------------------------------------


def secret_props(**overrides):
    return SecretProps(**{"project_id": "p", "secret_id": "acme-dev-db-password", "iam": {"roles/secretmanager.secretAccessor": (SA,)}, **overrides})


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"secret_id": "db password"}, r"secret_id 'db password' must be 1-255 letters, digits, '-' or '_'"),
        ({"iam": {}}, r"iam has no roles/secretmanager.secretAccessor members; name the one service account that owns"),
        ({"iam": {"roles/secretmanager.secretAccessor": ("allUsers",)}}, r"granted to 'allUsers'; public grants are not allowed"),
        ({"iam": {"roles/secretmanager.secretAccessor": ("owner@p.iam.gserviceaccount.com",)}}, r"member 'owner@p.iam.gserviceaccount.com' .* is not an IAM principal"),
        ({"replica_locations": ("europe-west4", "europe-west4")}, r"lists a region twice"),
    ],
)
def test_secret_refuses_bad_props(stack, overrides, message):
    with pytest.raises(ValueError, match=message):
        Secret(stack, "s", secret_props(**overrides))


def test_secret_with_user_managed_replication_and_no_version(app, stack, tmp_path):
    Secret(stack, "s", secret_props(replica_locations=("europe-west4", "europe-west1")))
    document = synth(app, tmp_path)
    (secret,) = resources_of(document, "google_secret_manager_secret")
    assert secret["replication"] == {"user_managed": {"replicas": [{"location": "europe-west4"}, {"location": "europe-west1"}]}}
    (binding,) = resources_of(document, "google_secret_manager_secret_iam_binding")
    assert (binding["role"], binding["members"]) == ("roles/secretmanager.secretAccessor", [SA])
    assert "google_secret_manager_secret_version" not in document["resource"]


# --- KeyRing ------------------------------------------------------------------------------------------


def ring_props(**overrides):
    key = KmsKeySpec(name="gke-secrets", iam={"roles/cloudkms.cryptoKeyEncrypterDecrypter": (SA,)})
    return KeyRingProps(**{"project_id": "p", "name": "ring", "location": "europe-west4", "keys": (key,), **overrides})


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"rotation_days": 0}, r"rotation_days 0 must be within 1-90"),
        ({"rotation_days": 365}, r"rotation_days 365 must be within 1-90 \(CIS: at most 90\)"),
        ({"keys": ()}, r"no keys; list the keys the ring holds"),
        ({"keys": (KmsKeySpec(name="a", iam={"roles/cloudkms.cryptoKeyEncrypterDecrypter": (SA,)}), KmsKeySpec(name="a", iam={"roles/cloudkms.cryptoKeyEncrypterDecrypter": (SA,)}))}, r"key names must be unique"),
        ({"keys": (KmsKeySpec(name="a key", iam={"roles/cloudkms.cryptoKeyEncrypterDecrypter": (SA,)}),)}, r"key name 'a key' must be 1-63 letters"),
        ({"keys": (KmsKeySpec(name="a", iam={"roles/cloudkms.cryptoKeyEncrypterDecrypter": ()}),)}, r"key 'a' has no users; name the service agent"),
        ({"keys": (KmsKeySpec(name="a", iam={"roles/cloudkms.cryptoKeyEncrypterDecrypter": ("allAuthenticatedUsers",)}),)}, r"public grants are not allowed"),
    ],
)
def test_key_ring_refuses_bad_props(stack, overrides, message):
    with pytest.raises(ValueError, match=message):
        KeyRing(stack, "kms", ring_props(**overrides))


# --- ArmorPolicy --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"rule_sets": ()}, r"rule_sets is empty; a WAF policy without WAF rules protects nothing"),
        ({"rule_sets": ("sqli-v33-canary",)}, r"unknown rule set\(s\) \['sqli-v33-canary'\]; expected CRS 3.3 sets"),
        ({"rule_sets": ("sqli-v33-stable", "sqli-v33-stable")}, r"lists a rule set twice"),
    ],
)
def test_armor_policy_refuses_bad_props(stack, overrides, message):
    with pytest.raises(ValueError, match=message):
        ArmorPolicy(stack, "armor", ArmorPolicyProps(**{"project_id": "p", "name": "edge-armor", **overrides}))


@pytest.mark.parametrize(("action", "ban"), [("throttle", None), ("rate_based_ban", 900)])
def test_rate_limit_action_shapes(app, stack, tmp_path, action, ban):
    limit = RateLimit(action=action, requests=100, interval_sec=10, ban_duration_sec=900)
    ArmorPolicy(stack, "armor", ArmorPolicyProps(project_id="p", name="edge-armor", rate_limit=limit))
    (policy,) = resources_of(synth(app, tmp_path), "google_compute_security_policy")
    (rule,) = [r for r in policy["rule"] if "rate_limit_options" in r]
    assert rule["action"] == action
    assert rule["rate_limit_options"].get("ban_duration_sec") == ban
    assert rule["rate_limit_options"]["rate_limit_threshold"] == {"count": 100, "interval_sec": 10}


# --- Edge and StaticSite ------------------------------------------------------------------------------


def edge_props(**overrides):
    return EdgeProps(
        **{
            "project_id": "p",
            "ip_name": "edge-ip",
            "certificate_map_name": "edge-certmap",
            "certificate_name": "edge-cert",
            "ssl_policy_name": "edge-tls",
            "hosts": {"api": "api.example.com"},
            "dns_zone": "public",
            **overrides,
        }
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"hosts": {}}, r"hosts is empty; name at least one public hostname"),
        ({"hosts": {"api": "API.example.com"}}, r"hostname 'API.example.com' of 'api' must be a lower-case DNS name"),
        ({"hosts": {"api": "api.example.com."}}, r"must be a lower-case DNS name without trailing dot"),
        ({"hosts": {"api": "x.example.com", "ai": "x.example.com"}}, r"a hostname is listed twice"),
        ({"hosts": {"API": "api.example.com"}}, r"host key 'API' must be 1-20 lower-case letters"),
    ],
)
def test_edge_refuses_bad_props(stack, overrides, message):
    with pytest.raises(ValueError, match=message):
        Edge(stack, "edge", edge_props(**overrides))


def static_props(**overrides):
    return StaticSiteProps(
        **{
            "project_id": "p",
            "name": "acme-dev-static",
            "bucket_name": "p-static",
            "location": "europe-west4",
            "hostname": "static.example.com",
            "dns_zone": "public",
            "certificate_map_name": "edge-certmap",
            "certificate_map_id": "projects/p/locations/global/certificateMaps/edge-certmap",
            "ssl_policy": "projects/p/global/sslPolicies/edge-tls",
            "iam": {"roles/storage.objectViewer": ("serviceAccount:service-1@cloud-cdn-fill.iam.gserviceaccount.com",)},
            **overrides,
        }
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"bucket_name": "P_Static"}, r"bucket_name 'P_Static' is not a valid bucket name"),
        ({"iam": {}}, r"iam has no roles/storage.objectViewer members; name Cloud CDN's fill service agent"),
        ({"iam": {"roles/storage.objectViewer": ("allUsers",)}}, r"granted to 'allUsers'; public grants are not allowed"),
        ({"default_ttl": 0}, r"default_ttl 0 must be 1-31536000 seconds"),
    ],
)
def test_static_site_refuses_bad_props(stack, overrides, message):
    with pytest.raises(ValueError, match=message):
        StaticSite(stack, "static", static_props(**overrides))


def test_static_site_serves_a_private_bucket_through_cdn_over_https_only(app, stack, tmp_path):
    StaticSite(stack, "static", static_props())
    document = synth(app, tmp_path)
    (bucket,) = resources_of(document, "google_storage_bucket")
    assert bucket["public_access_prevention"] == "enforced" and bucket["uniform_bucket_level_access"] is True
    (readers,) = resources_of(document, "google_storage_bucket_iam_binding")
    assert readers["members"] == ["serviceAccount:service-1@cloud-cdn-fill.iam.gserviceaccount.com"]
    (backend,) = resources_of(document, "google_compute_backend_bucket")
    assert backend["enable_cdn"] is True and backend["cdn_policy"]["cache_mode"] == "CACHE_ALL_STATIC"
    (proxy,) = resources_of(document, "google_compute_target_https_proxy")
    assert proxy["certificate_map"] == "//certificatemanager.googleapis.com/projects/p/locations/global/certificateMaps/edge-certmap"
    assert proxy["ssl_policy"] == "projects/p/global/sslPolicies/edge-tls"
    (rule,) = resources_of(document, "google_compute_global_forwarding_rule")
    assert (rule["port_range"], rule["load_balancing_scheme"]) == ("443", "EXTERNAL_MANAGED")
    (entry,) = resources_of(document, "google_certificate_manager_certificate_map_entry")
    assert (entry["map"], entry["hostname"]) == ("edge-certmap", "static.example.com")
    records = {r["type"] if not r["type"].startswith("${") else "CNAME": r for r in resources_of(document, "google_dns_record_set")}
    assert records["A"]["name"] == "static.example.com."


# --- CustomRole ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"role_id": "metrics-reader"}, r"role_id 'metrics-reader' must be 3-64 letters, digits, '_' or '.' \(no '-'\)"),
        ({"permissions": ()}, r"permissions is empty"),
        ({"permissions": ("monitoring.read",)}, r"'monitoring.read' is not a permission \(expected <service>.<resource>.<verb>\)"),
        ({"permissions": ("monitoring.timeSeries.list", "monitoring.timeSeries.list")}, r"a permission is listed twice"),
    ],
)
def test_custom_role_refuses_bad_props(stack, overrides, message):
    props = {"project_id": "p", "role_id": "metricsReader", "title": "t", "description": "d", "permissions": ("monitoring.timeSeries.list",)}
    with pytest.raises(ValueError, match=message):
        CustomRole(stack, "role", CustomRoleProps(**{**props, **overrides}))
