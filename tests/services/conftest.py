"""Make the reference services importable (they are not installed packages: each image puts its code on
PYTHONPATH=/app) and provide fixtures that run a service on 127.0.0.1 with an ephemeral port."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

SERVICES_DIR = Path(__file__).resolve().parents[2] / "services"
SERVICE_DIRS = ("api-server", "ai-server", "backend", "temporal-worker")

for _path in (Path(__file__).resolve().parent, SERVICES_DIR / "common",
              *(SERVICES_DIR / name for name in SERVICE_DIRS)):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from svc_testlib import BASE_ENV, started  # noqa: E402


@pytest.fixture
def run_service():
    """run_service(service) -> Client. Starts the service; stops whatever is still running at teardown."""
    services = []

    def _run(service):
        services.append(service)
        return started(service)

    yield _run
    for service in services:
        service.shutdown(grace_seconds=1.0)


@pytest.fixture
def base_env():
    return dict(BASE_ENV)

