"""Each image's real entry point (`python -m <package>`) in a child process: JSON log lines on stdout,
SIGTERM (sent to the child only) drains and exits 0, invalid configuration exits 2 with a clear message."""
from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time

from svc_testlib import SERVICES_DIR, Client

ENTRYPOINTS = {
    "api-server": ("api_server", {}),
    "ai-server": ("ai_server", {}),
    "backend": ("backend_server", {}),  # DATA_DIR added per test
    "temporal-worker": ("temporal_worker", {"WORKER_POOL": "pool-a", "TASK_SOURCE": "memory"}),
}


def _env(service: str, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SYSTEMROOT")}
    env.update({
        "PYTHONPATH": os.pathsep.join([str(SERVICES_DIR / "common"), str(SERVICES_DIR / service)]),
        "PYTHONDONTWRITEBYTECODE": "1", "PORT": "0", "BIND_ADDRESS": "127.0.0.1",
        "SHUTDOWN_GRACE_SECONDS": "3", **extra})
    return env


class JsonLines:
    """Reads a child's stdout without blocking past a deadline. Reading the raw fd (not a buffered file
    object) matters: a buffered readline can swallow several lines while select() sees an empty pipe."""

    def __init__(self, proc: subprocess.Popen):
        self.fd = proc.stdout.fileno()
        self.buffer = b""
        self.seen: list[dict] = []

    def until(self, predicate, timeout: float) -> list[dict]:
        deadline = time.monotonic() + timeout
        start = len(self.seen)
        with selectors.DefaultSelector() as selector:
            selector.register(self.fd, selectors.EVENT_READ)
            while True:
                while b"\n" in self.buffer:
                    raw, self.buffer = self.buffer.split(b"\n", 1)
                    entry = json.loads(raw)  # every stdout line must be one JSON object
                    self.seen.append(entry)
                    if predicate(entry):
                        return self.seen[start:]
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(timeout=remaining):
                    break
                chunk = os.read(self.fd, 65536)
                if not chunk:
                    break
                self.buffer += chunk
        raise AssertionError(f"expected log line not seen within {timeout}s; got {self.seen[start:]}")


def test_every_service_starts_serves_and_exits_0_on_sigterm(tmp_path):
    """All four children are started at once (the slow part is interpreter start-up), then checked."""
    procs = {}
    try:
        for service, (module, extra) in sorted(ENTRYPOINTS.items()):
            env = _env(service, {**extra, "DATA_DIR": str(tmp_path / "data"), "NODE_POOL": "general"})
            procs[service] = subprocess.Popen([sys.executable, "-m", module], env=env, stdout=subprocess.PIPE,
                                              stderr=subprocess.PIPE, cwd=tmp_path)
        readers = {service: JsonLines(proc) for service, proc in procs.items()}
        clients = {}
        for service, reader in readers.items():
            listening = reader.until(lambda e: e["message"] == "listening", timeout=15)[-1]
            assert listening["service"] == service and listening["severity"] == "INFO", service
            clients[service] = client = Client("127.0.0.1", int(listening["port"]))
            info = client.get("/v1/info").json
            assert info["service"] == service
            assert info["pool"] == ("pool-a" if service == "temporal-worker" else "general"), service
        for service, client in clients.items():
            deadline = time.monotonic() + 5
            while client.get("/readyz").status != 200 and time.monotonic() < deadline:
                time.sleep(0.02)
            assert client.get("/readyz").status == 200, service
        for proc in procs.values():
            proc.send_signal(signal.SIGTERM)
        for service, proc in procs.items():
            lines = readers[service].until(lambda e: e["message"] == "shutdown complete", timeout=15)
            assert any(e["message"] == "signal received" and e["signal"] == "SIGTERM" for e in lines), service
            assert lines[-1]["clean"] is True, service
            assert proc.wait(timeout=10) == 0, service
            assert proc.stderr.read() == b"", service
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
            proc.stdout.close()
            proc.stderr.close()


def test_invalid_configuration_exits_2_with_every_problem_named(tmp_path):
    env = _env("api-server", {"PORT": "http", "SHUTDOWN_GRACE_SECONDS": "soon"})
    result = subprocess.run([sys.executable, "-m", "api_server"], env=env, capture_output=True, text=True,
                            timeout=20, cwd=tmp_path)
    assert result.returncode == 2 and result.stderr == ""
    entry = json.loads(result.stdout.strip().splitlines()[-1])
    assert entry["severity"] == "ERROR" and entry["message"].startswith("invalid configuration: ")
    assert entry["problems"] == ["SHUTDOWN_GRACE_SECONDS='soon' is not a number", "PORT='http' is not an integer"]
