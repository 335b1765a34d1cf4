"""api-server over real loopback HTTP."""
from __future__ import annotations

import pytest
from svc_testlib import POLL_INTERVAL

from api_server.app import create_service, load_config
from platform_service import ConfigError


@pytest.fixture
def api(run_service, base_env):
    def _start(**env):
        return run_service(create_service(load_config({**base_env, **env}), poll_interval=POLL_INTERVAL))
    return _start


def test_info_reports_service_version_and_pool(api):
    client = api(NODE_POOL="general", SERVICE_VERSION="1.2.3", POD_NAME="api-server-abc")
    assert client.get("/v1/info").json == {"service": "api-server", "version": "1.2.3", "pool": "general",
                                           "instance": "api-server-abc"}


def test_create_list_and_get_items(api):
    client = api()
    assert client.get("/v1/items").json == {"items": [], "total": 0, "offset": 0, "limit": 100}
    created = client.post("/v1/items", {"name": " widget ", "tags": ["a"]})
    assert created.status == 201
    item = created.json
    assert item["id"] == 1 and item["name"] == "widget" and item["tags"] == ["a"]
    assert created.headers["location"] == "/v1/items/1"
    client.post("/v1/items", {"name": "gadget"})
    listing = client.get("/v1/items?limit=1&offset=1").json
    assert listing["total"] == 2 and [i["name"] for i in listing["items"]] == ["gadget"]
    assert client.get("/v1/items/1").json == item
    assert client.get("/v1/items/99").status == 404
    assert client.get("/v1/items/abc").status == 404


@pytest.mark.parametrize("body, fragment", [
    ({}, "name must be"),
    ({"name": ""}, "name must be"),
    ({"name": "x" * 201}, "name must be"),
    ({"name": "ok", "tags": "a"}, "tags must be"),
    ({"name": "ok", "extra": 1}, "unknown fields: extra"),
    (["name"], "JSON object"),
])
def test_invalid_items_are_rejected(api, body, fragment):
    reply = api().post("/v1/items", body)
    assert reply.status == 400 and fragment in reply.json["error"]


def test_bad_query_parameters(api):
    client = api()
    assert client.get("/v1/items?limit=0").status == 400
    assert client.get("/v1/items?limit=ten").status == 400


def test_store_is_bounded(api):
    client = api(MAX_ITEMS="1")
    assert client.post("/v1/items", {"name": "one"}).status == 201
    full = client.post("/v1/items", {"name": "two"})
    assert full.status == 507 and "store is full" in full.json["error"]


def test_metrics_count_requests_and_items(api):
    client = api()
    for name in ("a", "b"):
        client.post("/v1/items", {"name": name})
    client.get("/v1/items")
    assert client.metric("api_server_items") == 2
    assert client.metric("api_server_items_created_total") == 2
    assert client.metric("http_requests_total", code="201", method="POST", route="/v1/items") == 2
    assert client.metric("http_requests_total", code="200", method="GET", route="/v1/items") == 1


def test_invalid_environment_is_a_clear_error():
    with pytest.raises(ConfigError, match=r"MAX_ITEMS='lots' is not an integer"):
        load_config({"MAX_ITEMS": "lots"})
