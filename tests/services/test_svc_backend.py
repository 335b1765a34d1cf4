"""backend: durable state under DATA_DIR, atomic snapshot writes, optimistic concurrency."""
from __future__ import annotations

import json
import os

import pytest
from svc_testlib import POLL_INTERVAL

from backend_server import store as store_module
from backend_server.app import create_service, load_config
from platform_service import ConfigError, StartupError


@pytest.fixture
def backend(run_service, base_env, tmp_path):
    def _start(data_dir=None, **env):
        # fsync is off unless a test asks for it (durability tests do): it only costs time here.
        config = load_config({**base_env, "DATA_DIR": str(data_dir or tmp_path / "data"), "FSYNC": "false", **env})
        service = create_service(config, poll_interval=POLL_INTERVAL)
        return service, run_service(service)
    return _start


def test_put_get_update_delete(backend):
    _, client = backend()
    created = client.put("/v1/state/leader", {"value": {"node": "a"}})
    assert created.status == 201 and created.json["version"] == 1 and created.headers["etag"] == '"1"'
    updated = client.put("/v1/state/leader", {"value": {"node": "b"}})
    assert updated.status == 200 and updated.json["version"] == 2
    got = client.get("/v1/state/leader")
    assert got.json["value"] == {"node": "b"} and got.headers["etag"] == '"2"'
    assert client.get("/v1/state").json == {"keys": ["leader"], "revision": 2}
    assert client.delete("/v1/state/leader").status == 204
    assert client.get("/v1/state/leader").status == 404
    assert client.delete("/v1/state/leader").status == 404


def test_if_match_gives_optimistic_concurrency(backend):
    _, client = backend()
    assert client.put("/v1/state/lock", {"value": 1}, headers={"If-Match": '"0"'}).status == 201  # create-only
    assert client.put("/v1/state/lock", {"value": 2}, headers={"If-Match": '"0"'}).status == 412
    assert client.put("/v1/state/lock", {"value": 2}, headers={"If-Match": '"1"'}).status == 200
    conflict = client.delete("/v1/state/lock", headers={"If-Match": "1"})
    assert conflict.status == 412 and "current version is 2" in conflict.json["error"]
    assert client.put("/v1/state/lock", {"value": 3}, headers={"If-Match": "abc"}).status == 400


@pytest.mark.parametrize("path, body", [
    ("/v1/state/.hidden", {"value": 1}), ("/v1/state/" + "k" * 129, {"value": 1}),
    ("/v1/state/ok", {"val": 1}), ("/v1/state/ok", 5), ("/v1/state/ok", {"value": 1, "x": 2})])
def test_invalid_keys_and_bodies(backend, path, body):
    _, client = backend()
    assert client.put(path, body).status == 400


def test_state_survives_a_restart(backend, tmp_path):
    data_dir = tmp_path / "state"
    service, client = backend(data_dir, FSYNC="true")
    client.put("/v1/state/a", {"value": [1, 2, 3]})
    client.put("/v1/state/a", {"value": "final"})
    client.put("/v1/state/b", {"value": None})
    client.put("/v1/state/c", {"value": True})
    client.delete("/v1/state/c")
    assert service.shutdown(grace_seconds=1) is True

    snapshot = json.loads((data_dir / "state.json").read_text())
    assert snapshot["revision"] == 5 and sorted(snapshot["entries"]) == ["a", "b"]
    journal = [json.loads(line) for line in (data_dir / "changes.jsonl").read_text().splitlines()]
    assert [(r["op"], r["key"], r["revision"]) for r in journal] == [
        ("put", "a", 1), ("put", "a", 2), ("put", "b", 3), ("put", "c", 4), ("delete", "c", 5)]
    assert not [p for p in os.listdir(data_dir) if p.endswith(".tmp")]

    _, restarted = backend(data_dir)
    got = restarted.get("/v1/state/a").json
    assert got["value"] == "final" and got["version"] == 2
    assert restarted.get("/v1/state/b").json["value"] is None
    assert restarted.get("/v1/state/c").status == 404
    assert restarted.put("/v1/state/b", {"value": 1}).json["version"] == 2
    assert restarted.get("/v1/info").json["revision"] == 6


def test_a_failed_rename_leaves_the_previous_snapshot_intact(backend, tmp_path, monkeypatch):
    data_dir = tmp_path / "atomic"
    _, client = backend(data_dir, FSYNC="true")
    client.put("/v1/state/k", {"value": "old"})
    before = (data_dir / "state.json").read_bytes()

    def failing_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store_module.os, "replace", failing_replace)
    reply = client.put("/v1/state/k", {"value": "new"})
    assert reply.status == 503 and reply.headers["retry-after"] == "5"
    monkeypatch.undo()
    assert (data_dir / "state.json").read_bytes() == before
    assert not [p for p in os.listdir(data_dir) if p.endswith(".tmp")]
    assert client.get("/v1/state/k").json["value"] == "old"  # memory matches disk
    assert client.metric("backend_state_write_errors_total", op="put") == 1


def test_leftover_temp_files_are_cleaned_at_start(backend, tmp_path):
    data_dir = tmp_path / "crashed"
    service, client = backend(data_dir)
    client.put("/v1/state/k", {"value": 1})
    service.shutdown(grace_seconds=1)
    (data_dir / ".state.json.abc123.tmp").write_text('{"torn')
    _, client = backend(data_dir)
    assert client.get("/v1/state/k").json["value"] == 1
    assert not (data_dir / ".state.json.abc123.tmp").exists()


def test_unreadable_state_refuses_to_start(tmp_path, base_env):
    (tmp_path / "state.json").write_text("{not json")
    with pytest.raises(StartupError, match="move it aside"):
        create_service(load_config({**base_env, "DATA_DIR": str(tmp_path)}))


def test_data_dir_that_cannot_be_created_is_a_clear_error(tmp_path, base_env):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(StartupError, match=r"DATA_DIR=.*a-file/sub is not a writable directory"):
        create_service(load_config({**base_env, "DATA_DIR": str(blocker / "sub")}))


def test_key_limit_and_metrics(backend):
    _, client = backend(MAX_KEYS="2")
    client.put("/v1/state/a", {"value": 1})
    client.put("/v1/state/b", {"value": 2})
    assert client.put("/v1/state/c", {"value": 3}).status == 507
    assert client.put("/v1/state/a", {"value": 9}).status == 200  # updates still work when full
    assert client.metric("backend_state_keys") == 2
    assert client.metric("backend_state_writes_total", op="put") == 3
    assert client.metric("backend_state_write_duration_seconds_count") == 3
    assert client.get("/readyz").json["checks"]["state_loaded"] is True


def test_journal_rotates(backend, tmp_path):
    data_dir = tmp_path / "rotate"
    _, client = backend(data_dir, JOURNAL_MAX_BYTES="4096")
    for i in range(40):
        client.put("/v1/state/k", {"value": "x" * 100 + str(i)})
    assert (data_dir / "changes.jsonl.1").exists()
    assert (data_dir / "changes.jsonl").stat().st_size <= 4096


def test_invalid_environment_is_a_clear_error():
    with pytest.raises(ConfigError) as caught:
        load_config({"DATA_DIR": "relative/dir", "FSYNC": "sometimes"})
    assert "DATA_DIR='relative/dir' must be an absolute" in str(caught.value)
    assert "FSYNC='sometimes' is not a boolean" in str(caught.value)
