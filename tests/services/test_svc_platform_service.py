"""The shared runtime: env parsing, JSON logs, routing, probes, metrics, limits and graceful shutdown."""
from __future__ import annotations

import io
import json
import logging
import threading

import pytest
from svc_testlib import BASE_ENV, POLL_INTERVAL, wait_until

from platform_service import ConfigError, EnvReader, HttpError, Response, Service, ServiceConfig, serve
from platform_service.jsonlog import JsonFormatter, StructLogger


def make_config(**overrides) -> ServiceConfig:
    env = EnvReader({**BASE_ENV, **overrides})
    config = ServiceConfig.from_env("test-service", env)
    env.finish()
    return config


def make_service(routes=(), **overrides) -> Service:
    service = Service(make_config(**overrides), poll_interval=POLL_INTERVAL)
    for method, template, handler in routes:
        service.add_route(method, template, handler)
    return service


# ----- configuration -------------------------------------------------------------------------------------
def test_config_defaults_match_the_documented_contract():
    config = ServiceConfig.from_env("svc", EnvReader({}))
    assert (config.port, config.host, config.shutdown_grace_seconds, config.log_level) == (8080, "0.0.0.0", 20.0, "INFO")


def test_every_bad_variable_is_reported_at_once_with_its_name():
    env = EnvReader({"PORT": "eighty", "SHUTDOWN_GRACE_SECONDS": "-1", "LOG_LEVEL": "LOUD", "MAX_BODY_BYTES": "0"})
    ServiceConfig.from_env("svc", env)
    with pytest.raises(ConfigError) as caught:
        env.finish()
    message = str(caught.value)
    for expected in ("PORT='eighty' is not an integer", "SHUTDOWN_GRACE_SECONDS=-1.0 is below the minimum 0.0",
                     "LOG_LEVEL='LOUD' must be one of", "MAX_BODY_BYTES=0 is below the minimum 1"):
        assert expected in message
    assert len(caught.value.problems) == 4


@pytest.mark.parametrize("raw, expected", [("true", True), ("ON", True), ("0", False), ("no", False)])
def test_booleans(raw, expected):
    env = EnvReader({"FLAG": raw})
    assert env.bool("FLAG", not expected) is expected
    env.finish()


def test_required_and_out_of_range_values():
    env = EnvReader({"PORT": "70000", "GRACE": "nan"})
    env.str("NEEDED", required=True)
    env.int("PORT", 8080, minimum=0, maximum=65535)
    env.float("GRACE", 1.0)
    with pytest.raises(ConfigError) as caught:
        env.finish()
    assert caught.value.problems == ["NEEDED is required but not set", "PORT=70000 is above the maximum 65535",
                                     "GRACE='nan' must be a finite number"]


# ----- JSON logging --------------------------------------------------------------------------------------
def test_log_lines_are_single_json_objects_with_cloud_logging_keys():
    stream = io.StringIO()
    logger = logging.getLogger("svc-test-json")
    logger.propagate = False
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        log = StructLogger(logger)
        log.info("item created", item_id=3, message="clash")
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("failed", op="put")
        log.debug("hidden")
    finally:
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["severity"] == "INFO" and first["message"] == "item created" and first["item_id"] == 3
    assert first["field_message"] == "clash"  # a field never overwrites a reserved key
    assert first["time"].endswith("+00:00")
    assert second["severity"] == "ERROR" and "ValueError: boom" in second["exception"]


# ----- routing and built-in endpoints --------------------------------------------------------------------
def test_probes_routes_and_errors(run_service):
    def boom(_request):
        raise RuntimeError("handler bug")

    def echo(request):
        return Response(200, {"key": request.params["key"], "got": request.json()})

    client = run_service(make_service([("GET", "/boom", boom), ("POST", "/echo/{key}", echo)]))
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status == 200 and ready.json["ready"] is True
    assert client.get("/nope").status == 404
    assert client.delete("/healthz").status == 405
    reply = client.get("/boom")
    assert reply.status == 500 and reply.json == {"error": "internal error"}
    reply = client.post("/echo/a%20b", {"x": 1}, headers={"X-Request-Id": "req-123"})
    assert reply.status == 200 and reply.json == {"key": "a b", "got": {"x": 1}}
    assert reply.headers["x-request-id"] == "req-123"
    assert client.request("POST", "/echo/k", raw=b"{not json", headers={"Content-Type": "application/json"}).status == 400
    assert client.request("POST", "/echo/k", raw=b"{}", headers={"Content-Type": "text/plain"}).status == 415
    head = client.request("HEAD", "/healthz")
    assert head.status == 200 and head.raw == b""


def test_request_metrics_use_route_templates(run_service):
    client = run_service(make_service([("GET", "/v1/things/{id}", lambda r: Response(200, {"id": r.params["id"]}))]))
    for thing in ("a", "b", "c"):
        assert client.get(f"/v1/things/{thing}").status == 200
    client.get("/missing")
    samples = client.metrics()
    assert samples[("http_requests_total", (("code", "200"), ("method", "GET"), ("route", "/v1/things/{id}")))] == 3
    assert samples[("http_requests_total", (("code", "404"), ("method", "GET"), ("route", "unmatched")))] == 1
    assert samples[("http_request_duration_seconds_count", (("method", "GET"), ("route", "/v1/things/{id}")))] == 3
    assert samples[("service_build_info", (("pool", "unknown"), ("service", "test-service"), ("version", "0.0.0-dev")))] == 1
    assert samples[("service_ready", ())] == 1
    assert not any(name == "http_requests_total" and ("route", "/v1/things/a") in labels for name, labels in samples)


def test_oversized_body_is_rejected_before_reading(run_service):
    client = run_service(make_service([("POST", "/x", lambda r: Response(200, {}))], MAX_BODY_BYTES="16"))
    reply = client.post("/x", {"data": "x" * 100})
    assert reply.status == 413 and reply.headers.get("connection") == "close"
    assert client.post("/x", {"a": 1}).status == 200


def test_concurrency_limit_answers_503_but_probes_still_work(run_service):
    release = threading.Event()
    entered = threading.Event()

    def slow(_request):
        entered.set()
        release.wait(5)
        return Response(200, {"done": True})

    client = run_service(make_service([("GET", "/slow", slow)], MAX_CONCURRENT_REQUESTS="1"))
    results = []
    worker = threading.Thread(target=lambda: results.append(client.get("/slow").status))
    worker.start()
    try:
        assert entered.wait(2)
        busy = client.get("/slow")
        assert busy.status == 503 and busy.headers["retry-after"] == "1"
        assert client.get("/healthz").status == 200
        assert client.metric("http_requests_in_flight") == 1
    finally:
        release.set()
        worker.join(5)
    assert results == [200]
    assert client.metric("http_requests_rejected_total") == 1


# ----- readiness and graceful shutdown -------------------------------------------------------------------
def test_readiness_checks_gate_readyz(run_service):
    service = make_service()
    loaded = threading.Event()
    service.add_ready_check("loaded", loaded.is_set)
    client = run_service(service)
    reply = client.get("/readyz")
    assert reply.status == 503 and reply.json["checks"]["loaded"] is False
    loaded.set()
    assert client.get("/readyz").status == 200


def test_drain_flips_readiness_and_finishes_in_flight_requests(run_service):
    release, entered = threading.Event(), threading.Event()

    def slow(_request):
        entered.set()
        release.wait(5)
        return Response(200, {"finished": True})

    service = make_service([("GET", "/slow", slow)])
    hook_calls = []
    service.add_drain_hook("record", lambda: hook_calls.append("drain"))
    service.add_shutdown_hook("record", lambda remaining: hook_calls.append(("shutdown", remaining > 0)))
    client = run_service(service)
    results = []
    in_flight = threading.Thread(target=lambda: results.append(client.get("/slow")))
    in_flight.start()
    assert entered.wait(2)

    service.request_shutdown("SIGTERM")
    draining = client.get("/readyz")
    assert draining.status == 503 and draining.json["checks"]["not_draining"] is False
    assert draining.headers["connection"] == "close"
    assert client.get("/healthz").status == 200  # liveness stays green while draining
    assert client.metric("service_draining") == 1

    outcome = []
    stopper = threading.Thread(target=lambda: outcome.append(service.shutdown(grace_seconds=5)))
    stopper.start()
    assert wait_until(lambda: hook_calls == ["drain"])
    assert stopper.is_alive(), "shutdown must wait for the in-flight request"
    release.set()
    stopper.join(5)
    in_flight.join(5)
    assert outcome == [True]
    assert results[0].status == 200 and results[0].json == {"finished": True}
    assert hook_calls == ["drain", ("shutdown", True)]
    with pytest.raises(OSError):
        client.get("/healthz", timeout=1)  # no longer listening


def test_shutdown_gives_up_after_the_grace_period(run_service):
    release, entered = threading.Event(), threading.Event()

    def stuck(_request):
        entered.set()
        release.wait(5)
        return Response(200, {})

    service = make_service([("GET", "/stuck", stuck)])
    client = run_service(service)
    caller = threading.Thread(target=lambda: client.get("/stuck"))
    caller.start()
    try:
        assert entered.wait(2)
        assert service.shutdown(grace_seconds=0.1) is False
    finally:
        release.set()
        caller.join(5)


def test_serve_returns_exit_code_0_after_a_sigterm_style_request():
    service = make_service()
    codes = []
    runner = threading.Thread(target=lambda: codes.append(serve(service, install_signals=False, wake_interval=0.02)))
    runner.start()
    assert wait_until(lambda: service.is_ready())
    service.request_shutdown("SIGTERM")
    runner.join(5)
    assert not runner.is_alive() and codes == [0]


def test_http_error_carries_status_and_headers(run_service):
    def limited(_request):
        raise HttpError(429, "slow down", headers={"Retry-After": "7"})

    client = run_service(make_service([("GET", "/limited", limited)]))
    reply = client.get("/limited")
    assert reply.status == 429 and reply.json == {"error": "slow down"} and reply.headers["retry-after"] == "7"
