"""Helpers for the service tests: a tiny loopback HTTP client, metrics parsing and bounded waiting."""
from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Optional

from prometheus_client.parser import text_string_to_metric_families

SERVICES_DIR = Path(__file__).resolve().parents[2] / "services"
# PORT=0: the OS picks a free port; loopback only.
BASE_ENV = {"PORT": "0", "BIND_ADDRESS": "127.0.0.1", "SHUTDOWN_GRACE_SECONDS": "2"}
POLL_INTERVAL = 0.02  # the accept loop's shutdown poll; keeps each test's teardown fast


class Reply:
    def __init__(self, status: int, headers: dict[str, str], raw: bytes):
        self.status = status
        self.headers = headers
        self.raw = raw

    @property
    def json(self) -> Any:
        return json.loads(self.raw)

    @property
    def text(self) -> str:
        return self.raw.decode()


class Client:
    def __init__(self, host: str, port: int):
        assert host == "127.0.0.1", "tests only talk to loopback"
        self.host, self.port = host, port

    def request(self, method: str, path: str, body: Any = None, *, headers: Optional[dict[str, str]] = None,
                raw: Optional[bytes] = None, timeout: float = 5.0) -> Reply:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            send_headers = dict(headers or {})
            data = raw
            if body is not None:
                data = json.dumps(body).encode()
                send_headers.setdefault("Content-Type", "application/json")
            conn.request(method, path, body=data, headers=send_headers)
            response = conn.getresponse()
            return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
        finally:
            conn.close()

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Reply:
        return self.request("POST", path, body, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs: Any) -> Reply:
        return self.request("PUT", path, body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Reply:
        return self.request("DELETE", path, **kwargs)

    def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        """Scrape /metrics and parse it with prometheus_client's own parser: {(sample, labels): value}."""
        reply = self.get("/metrics")
        assert reply.status == 200
        assert reply.headers["content-type"].startswith("text/plain")
        samples = {}
        for family in text_string_to_metric_families(reply.text):
            for sample in family.samples:
                samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        return samples

    def metric(self, name: str, **labels: str) -> Optional[float]:
        return self.metrics().get((name, tuple(sorted(labels.items()))))


def started(service) -> Client:
    host, port = service.start()
    return Client(host, port)


def wait_until(predicate: Callable[[], bool], timeout: float = 2.0, interval: float = 0.01) -> bool:
    """Bounded polling: True as soon as `predicate()` holds, False after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
