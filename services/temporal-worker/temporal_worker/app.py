"""temporal-worker: polls the Temporal task queue of one worker pool.

The HTTP side port serves /healthz, /readyz (ready once the task source is connected and pollers run;
503 while connecting or draining), /metrics and GET /v1/info. In TASK_SOURCE=memory mode (local runs
without a Temporal server) it also serves POST /v1/tasks and GET /v1/tasks/{task_id}.
"""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Optional

from prometheus_client import Info

from platform_service import EnvReader, HttpError, Request, Response, Service, ServiceConfig

from . import SERVICE_NAME
from .handlers import DEFAULT_HANDLERS
from .memory_source import InMemoryTaskSource
from .tasks import TaskHandler, TaskSource
from .worker import WorkerLoop, WorkerMetrics

DEFAULT_TEMPORAL_ADDRESS = "temporal-frontend.temporal.svc.cluster.local:7233"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
_ADDRESS = re.compile(r"^[A-Za-z0-9.\-\[\]:]+:\d{1,5}$")


@dataclass(frozen=True)
class WorkerConfig:
    base: ServiceConfig
    pool: str
    task_queue: str
    temporal_address: str = DEFAULT_TEMPORAL_ADDRESS
    temporal_namespace: str = "default"
    temporal_tls: bool = False
    concurrency: int = 4
    task_source: str = "temporal"


def load_config(environ: Optional[Mapping[str, str]] = None) -> WorkerConfig:
    env = EnvReader(environ)
    base = ServiceConfig.from_env(SERVICE_NAME, env)
    pool = env.str("WORKER_POOL", required=True)
    if pool:
        env.require(bool(_NAME.match(pool)),
                    f"WORKER_POOL={pool!r} must be 1-63 letters, digits, '.', '_' or '-', starting alphanumeric")
    task_queue = env.str("TEMPORAL_TASK_QUEUE", pool)
    address = env.str("TEMPORAL_ADDRESS", DEFAULT_TEMPORAL_ADDRESS)
    env.require(bool(_ADDRESS.match(address)), f"TEMPORAL_ADDRESS={address!r} must be host:port")
    config = WorkerConfig(
        base=dataclasses.replace(base, pool=pool),  # the worker pool is this service's pool
        pool=pool,
        task_queue=task_queue,
        temporal_address=address,
        temporal_namespace=env.str("TEMPORAL_NAMESPACE", "default"),
        temporal_tls=env.bool("TEMPORAL_TLS", False),
        concurrency=env.int("WORKER_CONCURRENCY", 4, minimum=1, maximum=256),
        task_source=env.str("TASK_SOURCE", "temporal", choices=("temporal", "memory")),
    )
    env.finish()
    return config


def _make_source(config: WorkerConfig, service: Service) -> TaskSource:
    if config.task_source == "memory":
        return InMemoryTaskSource()
    from .temporal_source import TemporalTaskSource  # the SDK is only needed in this mode

    def on_fatal(exc: BaseException) -> None:
        service.log.error("temporal worker stopped unexpectedly; shutting down so the pod restarts",
                          error=f"{type(exc).__name__}: {exc}")
        service.request_shutdown("temporal worker failed")

    return TemporalTaskSource(
        address=config.temporal_address, namespace=config.temporal_namespace, task_queue=config.task_queue,
        identity=f"{config.base.instance}@{config.pool}", max_concurrent=config.concurrency,
        graceful_shutdown_seconds=config.base.shutdown_grace_seconds, tls=config.temporal_tls,
        on_fatal=on_fatal)


def create_service(config: WorkerConfig, *, source: Optional[TaskSource] = None,
                   handlers: Optional[Mapping[str, TaskHandler]] = None, poll_timeout: float = 1.0,
                   connect_backoff: float = 0.5, **service_kwargs: Any) -> Service:
    service = Service(config.base, **service_kwargs)
    source = source if source is not None else _make_source(config, service)
    loop = WorkerLoop(source, handlers if handlers is not None else DEFAULT_HANDLERS,
                      concurrency=config.concurrency, metrics=WorkerMetrics(service.registry),
                      log=service.log, poll_timeout=poll_timeout, initial_backoff=connect_backoff)
    Info("temporal_worker", "Task queue this worker polls.", registry=service.registry).info({
        "pool": config.pool, "task_queue": config.task_queue, "namespace": config.temporal_namespace,
        "source": source.kind})
    service.add_start_hook("start_worker", loop.start)
    service.add_ready_check("task_source_connected", lambda: source.connected)
    service.add_ready_check("pollers_running", lambda: loop.running)
    service.add_drain_hook("stop_polling", loop.begin_shutdown)
    service.add_shutdown_hook("wait_for_tasks", lambda remaining: loop.wait(remaining))

    def info(_: Request) -> Response:
        base = config.base
        return Response(200, {
            "service": base.service_name, "version": base.version, "pool": config.pool,
            "instance": base.instance, "task_queue": config.task_queue,
            "temporal": {"address": config.temporal_address, "namespace": config.temporal_namespace,
                         "tls": config.temporal_tls},
            "source": source.kind, "connected": source.connected, "concurrency": config.concurrency,
            "handlers": sorted(loop.handlers), "processed": loop.processed, "in_flight": loop.inflight})

    service.add_route("GET", "/v1/info", info)

    if isinstance(source, InMemoryTaskSource):
        memory = source

        def submit(request: Request) -> Response:
            if loop.stopping:
                raise HttpError(HTTPStatus.SERVICE_UNAVAILABLE, "worker is draining")
            body = request.json()
            if not isinstance(body, dict) or not isinstance(body.get("type"), str):
                raise HttpError(HTTPStatus.BAD_REQUEST, 'body must be {"type": <task type>, "payload": <any JSON>}')
            task_id = memory.submit(body["type"], body.get("payload"))
            return Response(202, {"id": task_id}, headers={"Location": f"/v1/tasks/{task_id}"})

        def status(request: Request) -> Response:
            task_id = request.params["task_id"]
            if task_id in memory.results:
                return Response(200, {"id": task_id, "status": "completed", "result": memory.results[task_id]})
            if task_id in memory.failures:
                message, retryable = memory.failures[task_id]
                return Response(200, {"id": task_id, "status": "failed", "error": message, "retryable": retryable})
            raise HttpError(HTTPStatus.NOT_FOUND, f"no finished task {task_id}")

        service.add_route("POST", "/v1/tasks", submit)
        service.add_route("GET", "/v1/tasks/{task_id}", status)
    return service


def build_service(environ: Optional[Mapping[str, str]] = None) -> Service:
    return create_service(load_config(environ))
