"""backend: the central coordinator, holding small shared state on disk.

GET /v1/state                 -> {"keys": [...], "revision": N}
GET /v1/state/{key}           -> {"key", "value", "version", "updated_at"} with ETag: "<version>"
PUT /v1/state/{key}           body {"value": <any JSON>}; optional If-Match: "<version>" (0 = must not exist)
                              -> 201 when created, 200 when replaced, 412 on a version mismatch
DELETE /v1/state/{key}        -> 204, 404 if absent; honours If-Match too
GET /v1/info                  -> service, version, pool, data_dir, keys, revision
Run one replica per data volume (a StatefulSet with a ReadWriteOnce volume): the store is not shared.
"""
from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any, Optional

from prometheus_client import Counter, Gauge, Histogram

from platform_service import EnvReader, HttpError, Request, Response, Service, ServiceConfig

from . import SERVICE_NAME
from .store import StateStore, StoreFull, VersionConflict

KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


@dataclass(frozen=True)
class BackendConfig:
    base: ServiceConfig
    data_dir: Path = Path("/var/lib/backend")
    max_keys: int = 10_000
    fsync: bool = True
    journal_max_bytes: int = 16 << 20


def load_config(environ: Optional[Mapping[str, str]] = None) -> BackendConfig:
    env = EnvReader(environ)
    base = ServiceConfig.from_env(SERVICE_NAME, env)
    data_dir = env.str("DATA_DIR", "/var/lib/backend")
    env.require(data_dir.startswith("/") or data_dir.startswith("."),
                f"DATA_DIR={data_dir!r} must be an absolute or ./relative path")
    config = BackendConfig(
        base=base,
        data_dir=Path(data_dir),
        max_keys=env.int("MAX_KEYS", 10_000, minimum=1, maximum=1_000_000),
        fsync=env.bool("FSYNC", True),
        journal_max_bytes=env.int("JOURNAL_MAX_BYTES", 16 << 20, minimum=4096, maximum=1 << 34),
    )
    env.finish()
    return config


def _expected_version(request: Request) -> Optional[int]:
    raw = request.headers.get("If-Match")
    if raw is None:
        return None
    text = raw.strip()
    if text.startswith("W/"):
        text = text[2:]
    text = text.strip('"')
    if not text.isdigit():
        raise HttpError(HTTPStatus.BAD_REQUEST, 'If-Match must be a version number, e.g. If-Match: "3"')
    return int(text)


def _key(request: Request) -> str:
    key = request.params["key"]
    if not KEY_PATTERN.match(key):
        raise HttpError(HTTPStatus.BAD_REQUEST,
                        "key must be 1-128 characters of letters, digits, '.', '_' or '-', starting alphanumeric")
    return key


def create_service(config: BackendConfig, **service_kwargs: Any) -> Service:
    """Opens (and validates) the data directory before the server binds: an unreadable state file or a
    read-only volume stops the process with a clear error instead of serving empty state."""
    store = StateStore(config.data_dir, max_keys=config.max_keys, fsync=config.fsync,
                       journal_max_bytes=config.journal_max_bytes)
    store.open()
    service = Service(config.base, **service_kwargs)
    registry = service.registry
    Gauge("backend_state_keys", "Keys in the state store.", registry=registry).set_function(lambda: len(store))
    Gauge("backend_state_revision", "Monotonic revision of the state snapshot.",
          registry=registry).set_function(lambda: store.revision)
    Gauge("backend_state_snapshot_bytes", "Size of the last written snapshot.",
          registry=registry).set_function(lambda: store.snapshot_bytes)
    Gauge("backend_journal_write_errors", "Journal appends that failed since start (state still committed).",
          registry=registry).set_function(lambda: store.journal_errors)
    writes = Counter("backend_state_writes", "Committed state changes, by operation.", ["op"], registry=registry)
    write_errors = Counter("backend_state_write_errors", "State changes that failed to persist.", ["op"],
                           registry=registry)
    write_seconds = Histogram("backend_state_write_duration_seconds", "Time to durably persist a change.",
                              registry=registry, buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                          0.1, 0.25, 0.5, 1.0))
    service.add_ready_check("state_loaded", lambda: store.is_open)
    service.add_shutdown_hook("close_state_store", lambda _remaining: store.close())

    def view(key: str, entry: dict[str, Any]) -> dict[str, Any]:
        return {"key": key, "value": entry["value"], "version": entry["version"], "updated_at": entry["updated_at"]}

    def info(_: Request) -> Response:
        base = config.base
        return Response(200, {"service": base.service_name, "version": base.version, "pool": base.pool,
                              "instance": base.instance, "data_dir": str(config.data_dir),
                              "keys": len(store), "revision": store.revision})

    def list_keys(_: Request) -> Response:
        return Response(200, {"keys": store.keys(), "revision": store.revision})

    def get_key(request: Request) -> Response:
        key = _key(request)
        entry = store.get(key)
        if entry is None:
            raise HttpError(HTTPStatus.NOT_FOUND, f"key {key} not found")
        return Response(200, view(key, entry), headers={"ETag": f'"{entry["version"]}"'})

    def mutate(op: str, action):
        started = time.perf_counter()
        try:
            result = action()
        except VersionConflict as exc:
            raise HttpError(HTTPStatus.PRECONDITION_FAILED, str(exc)) from None
        except StoreFull as exc:
            raise HttpError(HTTPStatus.INSUFFICIENT_STORAGE, str(exc)) from None
        except OSError as exc:
            write_errors.labels(op).inc()
            service.log.error("state write failed", op=op, error=str(exc))
            raise HttpError(HTTPStatus.SERVICE_UNAVAILABLE, "state could not be persisted",
                            headers={"Retry-After": "5"}) from None
        if result is not False:  # a delete of an absent key changed nothing
            write_seconds.observe(time.perf_counter() - started)
            writes.labels(op).inc()
        return result

    def put_key(request: Request) -> Response:
        key = _key(request)
        expected = _expected_version(request)
        payload = request.json()
        if not isinstance(payload, dict) or set(payload) != {"value"}:
            raise HttpError(HTTPStatus.BAD_REQUEST, 'body must be {"value": <any JSON>}')
        entry, created = mutate("put", lambda: store.put(key, payload["value"], expected))
        return Response(201 if created else 200, view(key, entry), headers={"ETag": f'"{entry["version"]}"'})

    def delete_key(request: Request) -> Response:
        key = _key(request)
        expected = _expected_version(request)
        if not mutate("delete", lambda: store.delete(key, expected)):
            raise HttpError(HTTPStatus.NOT_FOUND, f"key {key} not found")
        return Response(204)

    service.add_route("GET", "/v1/info", info)
    service.add_route("GET", "/v1/state", list_keys)
    service.add_route("GET", "/v1/state/{key}", get_key)
    service.add_route("PUT", "/v1/state/{key}", put_key)
    service.add_route("DELETE", "/v1/state/{key}", delete_key)
    return service


def build_service(environ: Optional[Mapping[str, str]] = None) -> Service:
    return create_service(load_config(environ))
