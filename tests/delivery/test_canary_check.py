"""The prod verify step's check (k8s/components/api-canary/canary-check.sh), run for real against a fake
canary and a fake Prometheus on 127.0.0.1: it must block promotion on an unhealthy canary, on too many 5xx
and on too little traffic to judge."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "k8s" / "components" / "api-canary" / "canary-check.sh"


class FakeCluster:
    healthy = True
    total: str | None = "1000"
    errors: str | None = "0"
    queries: list[str] = []


def _handler(state: FakeCluster):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep test output quiet
            pass

        def do_POST(self):
            self._serve(self.rfile.read(int(self.headers.get("Content-Length", 0))).decode())

        def do_GET(self):
            self._serve("")

        def _serve(self, body: str):
            url = urlparse(self.path)
            if url.path == "/healthz":
                self.send_response(200 if state.healthy else 503)
                self.end_headers()
                return
            if url.path == "/api/v1/query":
                query = parse_qs(body or url.query)["query"][0]
                state.queries.append(query)
                value = state.errors if 'code=~"5.."' in query else state.total
                result = [] if value is None else [{"metric": {}, "value": [1700000000.5, value]}]
                answer = json.dumps({"status": "success", "data": {"resultType": "vector", "result": result}})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(answer.encode())
                return
            self.send_response(404)
            self.end_headers()
    return Handler


@pytest.fixture
def cluster():
    if not shutil.which("wget"):
        pytest.fail("wget (busybox or GNU) is needed to run the canary check, as in its busybox image",
                    pytrace=False)
    state = FakeCluster()
    state.queries = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


def run_check(cluster) -> subprocess.CompletedProcess:
    env = {**os.environ, "CANARY_URL": cluster.url, "PROMETHEUS_URL": cluster.url, "BAKE_SECONDS": "0",
           "HEALTHZ_RETRIES": "0", "MIN_REQUESTS": "50", "MAX_ERROR_RATIO": "0.01"}
    return subprocess.run(["sh", str(SCRIPT)], capture_output=True, text=True, env=env, timeout=60, check=False)


def test_healthy_canary_passes(cluster):
    cluster.total, cluster.errors = "1000", "3"
    proc = run_check(cluster)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "OK" in proc.stdout
    assert all('service="api-server-canary"' in q for q in cluster.queries) and len(cluster.queries) == 2


def test_no_errors_reported_as_empty_result_passes(cluster):
    cluster.total, cluster.errors = "1000", None
    assert run_check(cluster).returncode == 0


def test_high_error_ratio_blocks_promotion(cluster):
    cluster.total, cluster.errors = "1000", "50"
    proc = run_check(cluster)
    assert proc.returncode == 1 and "error ratio too high" in proc.stdout


def test_too_little_traffic_blocks_promotion(cluster):
    cluster.total, cluster.errors = "10", "0"
    proc = run_check(cluster)
    assert proc.returncode == 1 and "only 10 canary requests" in proc.stdout


def test_no_traffic_at_all_blocks_promotion(cluster):
    cluster.total, cluster.errors = None, None
    assert run_check(cluster).returncode == 1


def test_unhealthy_canary_blocks_promotion(cluster):
    cluster.healthy = False
    proc = run_check(cluster)
    assert proc.returncode == 1 and "healthz did not answer 200" in proc.stdout
    assert not cluster.queries
