"""HTTP service skeleton shared by every reference service.

A `Service` owns a `ThreadingHTTPServer`, a route table, a private Prometheus registry and the lifecycle:

    starting --start()--> serving (ready once every readiness check passes)
    serving --request_shutdown()--> draining: /readyz answers 503, responses carry `Connection: close`
    draining --shutdown()--> after SHUTDOWN_DELAY_SECONDS stop accepting, wait up to
                             SHUTDOWN_GRACE_SECONDS for in-flight requests, run shutdown hooks, close.

Built-in endpoints: GET /healthz (liveness: the process serves HTTP), GET /readyz (readiness), GET /metrics.
"""
from __future__ import annotations

import json
import re
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional, Union
from urllib.parse import parse_qs, unquote, urlsplit

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    generate_latest,
)
from prometheus_client import gc_collector, platform_collector, process_collector

from .config import ServiceConfig
from .jsonlog import StructLogger, get_logger

JsonBody = Union[dict, list, str, int, float, bool, None]
_PROBE_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
_PARAM = re.compile(r"\{([a-z_]+)\}")
_PARAM_SPLIT = re.compile(r"(\{[a-z_]+\})")
# Bounded label values: a client-chosen method must not create a new time series.
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class HttpError(Exception):
    """Raise from a handler to answer with a JSON error body: {"error": message}."""

    def __init__(self, status: int, message: str, headers: Optional[dict[str, str]] = None):
        super().__init__(message)
        self.status = int(status)
        self.message = message
        self.headers = headers or {}


@dataclass
class Request:
    method: str
    path: str
    route: str
    params: dict[str, str]
    query: dict[str, list[str]]
    headers: Any  # email.message.Message: case-insensitive .get()
    body: bytes
    request_id: str

    def json(self) -> Any:
        if not self.body:
            raise HttpError(HTTPStatus.BAD_REQUEST, "request body must be JSON")
        content_type = (self.headers.get("Content-Type") or "application/json").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise HttpError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "Content-Type must be application/json")
        try:
            return json.loads(self.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise HttpError(HTTPStatus.BAD_REQUEST, f"invalid JSON: {exc}") from None

    def query_int(self, name: str, default: int, minimum: int, maximum: int) -> int:
        values = self.query.get(name)
        if not values:
            return default
        try:
            value = int(values[-1], 10)
        except ValueError:
            raise HttpError(HTTPStatus.BAD_REQUEST, f"query parameter {name} must be an integer") from None
        if not minimum <= value <= maximum:
            raise HttpError(HTTPStatus.BAD_REQUEST, f"query parameter {name} must be in [{minimum}, {maximum}]")
        return value


@dataclass
class Response:
    status: int = 200
    body: JsonBody = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: Optional[bytes] = None  # pre-encoded body (e.g. /metrics); `content_type` applies
    content_type: str = "application/json"

    def encode(self) -> bytes:
        if self.raw is not None:
            return self.raw
        if self.body is None:
            return b""
        return json.dumps(self.body, separators=(",", ":")).encode() + b"\n"


Handler = Callable[[Request], Response]


@dataclass(frozen=True)
class Route:
    method: str
    template: str  # e.g. "/v1/state/{key}"; the template is the metrics label, never the raw path
    handler: Handler
    pattern: re.Pattern = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parts = []
        for piece in _PARAM_SPLIT.split(self.template):
            param = _PARAM.fullmatch(piece)
            parts.append(f"(?P<{param.group(1)}>[^/]+)" if param else re.escape(piece))
        object.__setattr__(self, "pattern", re.compile("^" + "".join(parts) + "$"))


class _Metrics:
    def __init__(self, registry: CollectorRegistry, config: ServiceConfig):
        self.requests = Counter(
            "http_requests", "HTTP requests handled, by method, route template and status code.",
            ["method", "route", "code"], registry=registry)
        self.duration = Histogram(
            "http_request_duration_seconds", "Time spent handling HTTP requests.", ["method", "route"],
            registry=registry, buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
        self.in_flight = Gauge("http_requests_in_flight", "HTTP requests currently being handled.",
                               registry=registry)
        self.rejected = Counter("http_requests_rejected",
                                "Requests answered 503 because MAX_CONCURRENT_REQUESTS was reached.",
                                registry=registry)
        self.ready = Gauge("service_ready", "1 while /readyz answers 200, else 0.", registry=registry)
        self.draining = Gauge("service_draining", "1 once graceful shutdown has begun.", registry=registry)
        info = Info("service_build", "Static facts about this service instance.", registry=registry)
        info.info({"service": config.service_name, "version": config.version, "pool": config.pool})


class Service:
    """An HTTP service with health, readiness, metrics and graceful shutdown.

    `routes` are the service's own endpoints. Hooks, in lifecycle order:
      start hooks     run once the port is bound (e.g. connect to a queue in the background);
      ready checks    return True when the service can take traffic (e.g. "state loaded");
      drain hooks     run as soon as shutdown begins (e.g. stop pulling new work);
      shutdown hooks  run after in-flight requests finished (or the grace period ran out), with the
                      remaining grace in seconds as their argument (e.g. wait for tasks, close files).
    """

    def __init__(self, config: ServiceConfig, routes: Iterable[Route] = (), *,
                 registry: Optional[CollectorRegistry] = None,
                 logger: Optional[StructLogger] = None,
                 poll_interval: float = 0.1):
        self.config = config
        self.log = logger or get_logger(config.service_name)
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        self.metrics = _Metrics(self.registry, config)
        for collector in (process_collector.ProcessCollector, platform_collector.PlatformCollector,
                          gc_collector.GCCollector):
            collector(registry=self.registry)
        self._routes: list[Route] = [
            Route("GET", "/healthz", self._healthz),
            Route("GET", "/readyz", self._readyz),
            Route("GET", "/metrics", self._metrics_endpoint),
        ]
        self._routes.extend(routes)
        self._ready_checks: list[tuple[str, Callable[[], bool]]] = []
        self._shutdown_hooks: list[tuple[str, Callable[[float], None]]] = []
        self._start_hooks: list[tuple[str, Callable[[], None]]] = []
        self._drain_hooks: list[tuple[str, Callable[[], None]]] = []
        self._poll_interval = poll_interval
        self._server: Optional[ThreadingHTTPServer] = None
        self._serve_thread: Optional[threading.Thread] = None
        self._lock = threading.Condition()
        self._in_flight = 0  # every request being handled, probes included: shutdown waits for these
        self._active = 0  # non-probe requests: bounded by MAX_CONCURRENT_REQUESTS, exported as a gauge
        self._started = False
        self._draining = False
        self._stopped = False
        self._shutdown_requested = threading.Event()
        self._shutdown_reason = ""
        self.metrics.ready.set_function(lambda: 1.0 if self.is_ready() else 0.0)

    # ----- extension points -------------------------------------------------------------------------
    def add_route(self, method: str, template: str, handler: Handler) -> None:
        self._routes.append(Route(method, template, handler))

    def add_ready_check(self, name: str, check: Callable[[], bool]) -> None:
        self._ready_checks.append((name, check))

    def add_shutdown_hook(self, name: str, hook: Callable[[float], None]) -> None:
        self._shutdown_hooks.append((name, hook))

    def add_start_hook(self, name: str, hook: Callable[[], None]) -> None:
        self._start_hooks.append((name, hook))

    def add_drain_hook(self, name: str, hook: Callable[[], None]) -> None:
        self._drain_hooks.append((name, hook))

    # ----- state -------------------------------------------------------------------------------------
    @property
    def address(self) -> tuple[str, int]:
        if self._server is None:
            raise RuntimeError("service not started")
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def draining(self) -> bool:
        return self._draining

    @property
    def in_flight(self) -> int:
        with self._lock:
            return self._in_flight

    def readiness(self) -> dict[str, bool]:
        checks = {"started": self._started and not self._stopped, "not_draining": not self._draining}
        for name, check in self._ready_checks:
            try:
                checks[name] = bool(check())
            except Exception:  # a failing check means "not ready", never a crashed probe
                self.log.exception("readiness check raised", check=name)
                checks[name] = False
        return checks

    def is_ready(self) -> bool:
        return all(self.readiness().values())

    # ----- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> tuple[str, int]:
        """Bind and serve in a background thread. Returns the bound (host, port)."""
        if self._server is not None:
            raise RuntimeError("service already started")
        handler_cls = type("BoundHandler", (_RequestHandler,), {
            "service": self, "timeout": self.config.keepalive_timeout_seconds})
        server_cls = _Server6 if ":" in self.config.host else _Server  # BIND_ADDRESS=:: for IPv6/dual-stack
        self._server = server_cls((self.config.host, self.config.port), handler_cls)
        self._server.log = self.log
        self._serve_thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": self._poll_interval},
            name=f"{self.config.service_name}-http", daemon=True)
        self._serve_thread.start()
        self._started = True
        host, port = self.address
        self.log.info("listening", host=host, port=port, pool=self.config.pool)
        for name, hook in self._start_hooks:
            hook()  # a failing start hook is a failed start: let it propagate
        return host, port

    def request_shutdown(self, reason: str = "requested") -> None:
        """Thread-safe: mark the service as draining and wake whoever waits in `wait_for_shutdown_request`."""
        if not self._draining:
            self._shutdown_reason = reason
            self._draining = True
            self.metrics.draining.set(1)
        self._shutdown_requested.set()

    def wait_for_shutdown_request(self, timeout: Optional[float] = None) -> bool:
        return self._shutdown_requested.wait(timeout)

    def shutdown(self, grace_seconds: Optional[float] = None) -> bool:
        """Drain and stop. Returns True if every in-flight request finished within the grace period."""
        if self._stopped:
            return True
        self.request_shutdown(self._shutdown_reason or "shutdown")
        grace = self.config.shutdown_grace_seconds if grace_seconds is None else grace_seconds
        self.log.info("draining", reason=self._shutdown_reason, grace_seconds=grace,
                      delay_seconds=self.config.shutdown_delay_seconds, in_flight=self.in_flight)
        for name, drain_hook in self._drain_hooks:
            try:
                drain_hook()
            except Exception:
                self.log.exception("drain hook failed", hook=name)
        if self.config.shutdown_delay_seconds > 0:
            # Keep serving while endpoints controllers and load balancers notice the failing readiness.
            time.sleep(self.config.shutdown_delay_seconds)
        deadline = time.monotonic() + grace
        if self._server is not None:
            self._server.shutdown()  # stop accepting; returns once the accept loop has exited
        with self._lock:
            drained = self._lock.wait_for(lambda: self._in_flight == 0,
                                          timeout=max(0.0, deadline - time.monotonic()))
        if not drained:
            self.log.warning("grace period over with requests still in flight", in_flight=self.in_flight)
        for name, hook in self._shutdown_hooks:
            try:
                hook(max(0.0, deadline - time.monotonic()))
            except Exception:
                drained = False
                self.log.exception("shutdown hook failed", hook=name)
        if self._server is not None:
            self._server.server_close()
        self._stopped = True
        self.log.info("shutdown complete", clean=drained)
        return drained

    # ----- request path ------------------------------------------------------------------------------
    def _match(self, method: str, path: str) -> tuple[Optional[Route], dict[str, str], bool]:
        path_matched = False
        for route in self._routes:
            match = route.pattern.match(path)
            if match is None:
                continue
            path_matched = True
            if route.method == method or (method == "HEAD" and route.method == "GET"):
                return route, {k: unquote(v) for k, v in match.groupdict().items()}, True
        return None, {}, path_matched

    def _enter(self, probe: bool) -> bool:
        """Probes and scrapes bypass the concurrency limit and stay out of the in-flight gauge (a scrape
        would otherwise always count itself); they are still waited for on shutdown."""
        with self._lock:
            if not probe:
                if self._active >= self.config.max_concurrent_requests:
                    return False
                self._active += 1
                self.metrics.in_flight.inc()
            self._in_flight += 1
            return True

    def _leave(self, probe: bool) -> None:
        with self._lock:
            self._in_flight -= 1
            if not probe:
                self._active -= 1
                self.metrics.in_flight.dec()
            self._lock.notify_all()

    def handle(self, method: str, raw_path: str, headers: Any, body: bytes) -> tuple[Response, str]:
        """Route one request. Returns the response and the route label used for metrics."""
        split = urlsplit(raw_path)
        path = split.path or "/"
        route, params, path_matched = self._match(method, path)
        label = route.template if route else "unmatched"
        request_id = (headers.get("X-Request-Id") or "").strip()[:128] or uuid.uuid4().hex
        if route is None:
            if path_matched:
                return _error(HTTPStatus.METHOD_NOT_ALLOWED, f"method {method} not allowed"), label
            return _error(HTTPStatus.NOT_FOUND, f"no route for {path}"), label
        request = Request(method=method, path=path, route=label, params=params,
                          query=parse_qs(split.query), headers=headers, body=body, request_id=request_id)
        try:
            response = route.handler(request)
        except HttpError as exc:
            response = _error(exc.status, exc.message)
            response.headers.update(exc.headers)
        except Exception:
            self.log.exception("unhandled error", route=label, method=method, request_id=request_id)
            response = _error(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error")
        response.headers.setdefault("X-Request-Id", request_id)
        return response, label

    # ----- built-in endpoints ------------------------------------------------------------------------
    def _healthz(self, request: Request) -> Response:
        return Response(200, {"status": "ok"})

    def _readyz(self, request: Request) -> Response:
        checks = self.readiness()
        ready = all(checks.values())
        return Response(200 if ready else 503, {"ready": ready, "checks": checks})

    def _metrics_endpoint(self, request: Request) -> Response:
        return Response(200, raw=generate_latest(self.registry), content_type=CONTENT_TYPE_LATEST)


def _error(status: int, message: str) -> Response:
    return Response(int(status), {"error": message})


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # idle keep-alive connections must not block process exit
    allow_reuse_address = True
    request_queue_size = 128
    log: StructLogger

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Connection-level failures (client went away, socket timeout): one JSON line, no traceback spam."""
        exc = sys.exc_info()[1]
        self.log.debug("connection error", error=type(exc).__name__, detail=str(exc))


class _Server6(_Server):
    address_family = socket.AF_INET6


class _RequestHandler(BaseHTTPRequestHandler):
    service: Service  # set on the per-service subclass
    protocol_version = "HTTP/1.1"
    server_version = "platform-service"
    sys_version = ""

    def _dispatch(self) -> None:
        service = self.service
        method = self.command
        path_only = self.path.split("?", 1)[0]
        probe = path_only in _PROBE_PATHS
        started = time.perf_counter()
        if not service._enter(probe):
            service.metrics.rejected.inc()
            response, label = _error(HTTPStatus.SERVICE_UNAVAILABLE, "too many concurrent requests"), "rejected"
            response.headers["Retry-After"] = "1"
            self.close_connection = True
            self._send(response)
            service.metrics.requests.labels(_method_label(method), label, str(response.status)).inc()
            return
        try:
            content_length, problem = self._content_length()
            if problem is None and content_length and content_length > service.config.max_body_bytes:
                problem = _error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                                 f"body exceeds {service.config.max_body_bytes} bytes")
            if problem is not None:
                response, label = problem, "unmatched"
                self.close_connection = True  # an unread body would corrupt the next request
            else:
                body = self.rfile.read(content_length) if content_length else b""
                response, label = service.handle(method, self.path, self.headers, body)
            if service.draining:
                self.close_connection = True
            self._send(response)
        finally:
            service._leave(probe)
        elapsed = time.perf_counter() - started
        method_label = _method_label(method)
        service.metrics.requests.labels(method_label, label, str(response.status)).inc()
        service.metrics.duration.labels(method_label, label).observe(elapsed)
        fields = dict(method=method, path=path_only, route=label, status=response.status,
                      duration_ms=round(elapsed * 1000, 2), request_id=response.headers.get("X-Request-Id"))
        if probe:
            service.log.debug("request", **fields)
        elif response.status >= 500:
            service.log.warning("request", **fields)
        else:
            service.log.info("request", **fields)

    def _content_length(self) -> tuple[Optional[int], Optional[Response]]:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return None, _error(HTTPStatus.LENGTH_REQUIRED, "chunked bodies are not supported; send Content-Length")
        raw = self.headers.get("Content-Length")
        if raw is None:
            return None, None
        try:
            length = int(raw)
        except ValueError:
            return None, _error(HTTPStatus.BAD_REQUEST, "invalid Content-Length")
        if length < 0:
            return None, _error(HTTPStatus.BAD_REQUEST, "invalid Content-Length")
        return length, None

    def _send(self, response: Response) -> None:
        payload = response.encode()
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-store")
        for name, value in response.headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _dispatch

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Silence the stdlib's plain-text access log; `_dispatch` logs JSON instead."""

    def log_error(self, format: str, *args: Any) -> None:  # noqa: A002
        self.service.log.warning("http protocol error", detail=format % args if args else format)


def _method_label(method: str) -> str:
    return method if method in _KNOWN_METHODS else "OTHER"
