"""temporal-worker: the polling loop against the in-memory TaskSource, config, readiness and draining.
The Temporal-backed source (temporal_source.py) needs the SDK and a server; here it is only compiled."""
from __future__ import annotations

import threading

import pytest
from svc_testlib import POLL_INTERVAL, SERVICES_DIR, wait_until

from platform_service import ConfigError
from temporal_worker.app import DEFAULT_TEMPORAL_ADDRESS, create_service, load_config
from temporal_worker.handlers import DEFAULT_HANDLERS
from temporal_worker.memory_source import InMemoryTaskSource
from temporal_worker.tasks import NonRetryableError

FAST = {"poll_timeout": 0.02, "connect_backoff": 0.01, "poll_interval": POLL_INTERVAL}


@pytest.fixture
def worker(run_service, base_env):
    def _start(source=None, handlers=None, **env):
        config = load_config({**base_env, "WORKER_POOL": "pool-a", "TASK_SOURCE": "memory", **env})
        source = source if source is not None else InMemoryTaskSource()
        service = create_service(config, source=source, handlers=handlers, **FAST)
        return source, run_service(service), service
    return _start


def test_config_defaults_and_overrides():
    config = load_config({"WORKER_POOL": "batch"})
    assert (config.pool, config.task_queue, config.temporal_address, config.temporal_namespace) == (
        "batch", "batch", DEFAULT_TEMPORAL_ADDRESS, "default")
    assert DEFAULT_TEMPORAL_ADDRESS == "temporal-frontend.temporal.svc.cluster.local:7233"
    assert config.base.pool == "batch" and config.task_source == "temporal"
    custom = load_config({"WORKER_POOL": "batch", "TEMPORAL_TASK_QUEUE": "batch-high",
                          "TEMPORAL_NAMESPACE": "prod", "TEMPORAL_ADDRESS": "10.0.0.5:7233"})
    assert (custom.task_queue, custom.temporal_namespace, custom.temporal_address) == (
        "batch-high", "prod", "10.0.0.5:7233")


def test_missing_and_invalid_settings_are_reported_together():
    with pytest.raises(ConfigError) as caught:
        load_config({"TEMPORAL_ADDRESS": "no-port", "TASK_SOURCE": "kafka", "WORKER_CONCURRENCY": "0"})
    problems = caught.value.problems
    assert "WORKER_POOL is required but not set" in problems
    assert any("TEMPORAL_ADDRESS='no-port' must be host:port" in p for p in problems)
    assert any("TASK_SOURCE='kafka' must be one of temporal, memory" in p for p in problems)
    assert any("WORKER_CONCURRENCY=0 is below the minimum 1" in p for p in problems)
    with pytest.raises(ConfigError, match="WORKER_POOL='bad pool!'"):
        load_config({"WORKER_POOL": "bad pool!"})


def test_processes_tasks_and_reports_outcomes(worker):
    def flaky(task):
        raise RuntimeError("downstream timeout")

    def invalid(task):
        raise NonRetryableError("payload missing 'id'")

    source, client, _ = worker(handlers={**DEFAULT_HANDLERS, "flaky": flaky, "invalid": invalid})
    ids = {
        "echo": source.submit("echo", {"hello": "world"}),
        "checksum": source.submit("checksum", {"a": 1}),
        "flaky": source.submit("flaky", 1),
        "invalid": source.submit("invalid", {}),
        "unknown": source.submit("no-such-activity", 1),
    }
    assert source.wait_for_outcomes(5, timeout=3)
    assert source.results[ids["echo"]] == {"hello": "world"}
    assert source.results[ids["checksum"]] == {
        "sha256": "015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862", "bytes": 7}
    assert source.failures[ids["flaky"]] == ("RuntimeError: downstream timeout", True)
    assert source.failures[ids["invalid"]] == ("payload missing 'id'", False)
    assert source.failures[ids["unknown"]] == ("no handler registered for task type 'no-such-activity'", False)

    assert wait_until(lambda: client.get("/v1/info").json["processed"] == 5)
    info = client.get("/v1/info").json
    assert info["pool"] == "pool-a" and info["task_queue"] == "pool-a" and info["source"] == "memory"
    assert info["connected"] is True and info["handlers"] == ["checksum", "echo", "flaky", "invalid"]
    samples = client.metrics()
    assert samples[("temporal_worker_tasks_total", (("outcome", "completed"), ("task_type", "echo")))] == 1
    assert samples[("temporal_worker_tasks_total", (("outcome", "failed_retryable"), ("task_type", "flaky")))] == 1
    assert samples[("temporal_worker_tasks_total", (("outcome", "failed"), ("task_type", "invalid")))] == 1
    assert samples[("temporal_worker_tasks_total", (("outcome", "rejected"), ("task_type", "unregistered")))] == 1
    assert samples[("temporal_worker_inflight_tasks", ())] == 0
    assert samples[("temporal_worker_source_connected", ())] == 1
    assert samples[("service_build_info", (("pool", "pool-a"), ("service", "temporal-worker"),
                                           ("version", "0.0.0-dev")))] == 1
    assert samples[("temporal_worker_info", (("namespace", "default"), ("pool", "pool-a"), ("source", "memory"),
                                             ("task_queue", "pool-a")))] == 1


def test_not_ready_until_the_source_connects(worker):
    class SlowToConnect(InMemoryTaskSource):
        kind = "flaky"

        def __init__(self):
            super().__init__()
            self.attempts = 0
            self.allow = threading.Event()

        def start(self):
            self.attempts += 1
            if not self.allow.is_set():
                raise ConnectionError("connection refused")
            super().start()

    source = SlowToConnect()
    _, client, _ = worker(source=source)
    assert wait_until(lambda: source.attempts >= 2)
    reply = client.get("/readyz")
    assert reply.status == 503 and reply.json["checks"]["task_source_connected"] is False
    assert client.get("/healthz").status == 200  # alive while retrying: no crash loop
    source.allow.set()
    assert wait_until(lambda: client.get("/readyz").status == 200)


def test_drain_finishes_the_running_task_and_takes_no_new_ones(worker):
    release, entered = threading.Event(), threading.Event()

    def slow(task):
        entered.set()
        release.wait(5)
        return "done"

    source, client, service = worker(handlers={"slow": slow}, WORKER_CONCURRENCY="1")
    first = source.submit("slow")
    assert entered.wait(2)
    assert client.metric("temporal_worker_inflight_tasks") == 1
    assert client.get("/v1/info").json["in_flight"] == 1

    service.request_shutdown("SIGTERM")
    assert client.get("/readyz").status == 503
    outcome = []
    stopper = threading.Thread(target=lambda: outcome.append(service.shutdown(grace_seconds=5)))
    stopper.start()
    assert wait_until(source.drained)
    second = source.submit("slow")  # arrives during the drain: must stay queued for another worker
    assert stopper.is_alive(), "shutdown must wait for the running task"
    release.set()
    stopper.join(5)
    assert outcome == [True]
    assert source.results == {first: "done"}
    assert second not in source.results and source.pending() == 1


def test_memory_mode_accepts_tasks_over_http(run_service, base_env):
    # No source injected: TASK_SOURCE=memory alone selects the in-memory source and its HTTP routes.
    config = load_config({**base_env, "WORKER_POOL": "local", "TASK_SOURCE": "memory"})
    client = run_service(create_service(config, **FAST))
    accepted = client.post("/v1/tasks", {"type": "echo", "payload": [1, 2]})
    assert accepted.status == 202
    location = accepted.headers["location"]
    assert wait_until(lambda: client.get(location).status == 200, timeout=3)
    assert client.get(location).json == {"id": accepted.json["id"], "status": "completed", "result": [1, 2]}
    assert client.post("/v1/tasks", {"payload": 1}).status == 400


def test_temporal_source_module_compiles():
    path = SERVICES_DIR / "temporal-worker" / "temporal_worker" / "temporal_source.py"
    compile(path.read_text(), str(path), "exec")  # syntax only: importing it needs the temporalio SDK
