"""api-server: a stateless REST API.

Endpoints: GET /v1/info, GET /v1/items, POST /v1/items, GET /v1/items/{item_id}.
"Stateless" means no state survives the pod: the item store is per-replica memory, bounded by
MAX_ITEMS, which is what a reference service needs to exercise routing, autoscaling and rollouts.
"""
from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Optional

from prometheus_client import Counter, Gauge

from platform_service import EnvReader, HttpError, Request, Response, Service, ServiceConfig

from . import SERVICE_NAME

MAX_NAME_LENGTH = 200
MAX_TAGS = 16


@dataclass(frozen=True)
class ApiConfig:
    base: ServiceConfig
    max_items: int = 10_000


def load_config(environ: Optional[Mapping[str, str]] = None) -> ApiConfig:
    env = EnvReader(environ)
    base = ServiceConfig.from_env(SERVICE_NAME, env)
    max_items = env.int("MAX_ITEMS", 10_000, minimum=1, maximum=1_000_000)
    env.finish()
    return ApiConfig(base=base, max_items=max_items)


class ItemStore:
    """Thread-safe, bounded, insertion-ordered in-memory store."""

    def __init__(self, max_items: int):
        self._max = max_items
        self._items: dict[int, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def add(self, name: str, tags: list[str]) -> Optional[dict[str, Any]]:
        with self._lock:
            if len(self._items) >= self._max:
                return None
            item_id = next(self._ids)
            item = {"id": item_id, "name": name, "tags": tags, "created_at": time.time()}
            self._items[item_id] = item
            return dict(item)

    def get(self, item_id: int) -> Optional[dict[str, Any]]:
        with self._lock:
            item = self._items.get(item_id)
            return dict(item) if item else None

    def page(self, offset: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        with self._lock:
            items = list(self._items.values())
        return [dict(i) for i in items[offset:offset + limit]], len(items)


def _parse_item(payload: Any) -> tuple[str, list[str]]:
    if not isinstance(payload, dict):
        raise HttpError(HTTPStatus.BAD_REQUEST, "body must be a JSON object")
    unknown = set(payload) - {"name", "tags"}
    if unknown:
        raise HttpError(HTTPStatus.BAD_REQUEST, f"unknown fields: {', '.join(sorted(unknown))}")
    name = payload.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_LENGTH:
        raise HttpError(HTTPStatus.BAD_REQUEST, f"name must be a non-empty string of at most {MAX_NAME_LENGTH} characters")
    tags = payload.get("tags", [])
    if (not isinstance(tags, list) or len(tags) > MAX_TAGS
            or not all(isinstance(t, str) and 0 < len(t) <= 64 for t in tags)):
        raise HttpError(HTTPStatus.BAD_REQUEST, f"tags must be a list of at most {MAX_TAGS} strings (1-64 characters)")
    return name.strip(), tags


def create_service(config: ApiConfig, **service_kwargs: Any) -> Service:
    service = Service(config.base, **service_kwargs)
    store = ItemStore(config.max_items)
    created = Counter("api_server_items_created", "Items created through POST /v1/items.",
                      registry=service.registry)
    Gauge("api_server_items", "Items currently held in this replica's store.",
          registry=service.registry).set_function(lambda: len(store))

    def info(_: Request) -> Response:
        base = config.base
        return Response(200, {"service": base.service_name, "version": base.version, "pool": base.pool,
                              "instance": base.instance})

    def list_items(request: Request) -> Response:
        limit = request.query_int("limit", 100, 1, 1000)
        offset = request.query_int("offset", 0, 0, 10_000_000)
        items, total = store.page(offset, limit)
        return Response(200, {"items": items, "total": total, "offset": offset, "limit": limit})

    def create_item(request: Request) -> Response:
        name, tags = _parse_item(request.json())
        item = store.add(name, tags)
        if item is None:
            raise HttpError(HTTPStatus.INSUFFICIENT_STORAGE, f"store is full ({config.max_items} items)")
        created.inc()
        return Response(201, item, headers={"Location": f"/v1/items/{item['id']}"})

    def get_item(request: Request) -> Response:
        raw = request.params["item_id"]
        if not raw.isdigit():
            raise HttpError(HTTPStatus.NOT_FOUND, f"item {raw} not found")
        item = store.get(int(raw))
        if item is None:
            raise HttpError(HTTPStatus.NOT_FOUND, f"item {raw} not found")
        return Response(200, item)

    service.add_route("GET", "/v1/info", info)
    service.add_route("GET", "/v1/items", list_items)
    service.add_route("POST", "/v1/items", create_item)
    service.add_route("GET", "/v1/items/{item_id}", get_item)
    return service


def build_service(environ: Optional[Mapping[str, str]] = None) -> Service:
    return create_service(load_config(environ))
