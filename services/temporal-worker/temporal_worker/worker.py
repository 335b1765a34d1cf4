"""The polling loop: WORKER_CONCURRENCY threads, each polling the TaskSource and running one task at a
time. It knows nothing about Temporal; see tasks.TaskSource for the contract."""
from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any, Optional

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from platform_service.jsonlog import StructLogger

from .tasks import NonRetryableError, Task, TaskHandler, TaskSource

UNREGISTERED = "unregistered"  # metrics label for task types without a handler: bounded cardinality


class WorkerMetrics:
    def __init__(self, registry: CollectorRegistry):
        self.tasks = Counter("temporal_worker_tasks", "Tasks finished, by task type and outcome.",
                             ["task_type", "outcome"], registry=registry)
        self.duration = Histogram("temporal_worker_task_duration_seconds", "Handler time per task.",
                                  ["task_type"], registry=registry,
                                  buckets=(0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0))
        self.inflight = Gauge("temporal_worker_inflight_tasks", "Tasks currently being handled.",
                              registry=registry)
        self.poll_errors = Counter("temporal_worker_poll_errors", "Polls that raised an error.",
                                   registry=registry)
        self.connected = Gauge("temporal_worker_source_connected", "1 while the task source is connected.",
                               registry=registry)


class WorkerLoop:
    def __init__(self, source: TaskSource, handlers: Mapping[str, TaskHandler], *, concurrency: int,
                 metrics: WorkerMetrics, log: StructLogger, poll_timeout: float = 1.0,
                 initial_backoff: float = 0.5, max_backoff: float = 10.0):
        self.source = source
        self.handlers = dict(handlers)
        self.concurrency = concurrency
        self.metrics = metrics
        self.log = log
        self.poll_timeout = poll_timeout
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._starter: Optional[threading.Thread] = None
        self._lock = threading.Lock()
        self.processed = 0
        self.inflight = 0
        metrics.connected.set_function(lambda: 1.0 if source.connected else 0.0)

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def start(self) -> None:
        """Connect in the background (retrying with backoff) so the HTTP side port answers probes while
        the source is unreachable; readiness stays false until the pollers run."""
        self._starter = threading.Thread(target=self._connect_then_poll, name="worker-connect", daemon=True)
        self._starter.start()

    def _connect_then_poll(self) -> None:
        delay = self.initial_backoff
        while not self._stop.is_set():
            try:
                self.source.start()
                break
            except Exception as exc:  # any connection failure: log, back off, retry until shutdown
                self.log.warning("task source unavailable, retrying", source=self.source.kind,
                                 error=f"{type(exc).__name__}: {exc}", retry_in_seconds=delay)
                if self._stop.wait(delay):
                    return
                delay = min(delay * 2, self.max_backoff)
        if self._stop.is_set():
            return
        self.log.info("polling", source=self.source.kind, concurrency=self.concurrency)
        with self._lock:
            for index in range(self.concurrency):
                thread = threading.Thread(target=self._poll_loop, name=f"worker-{index}", daemon=True)
                self._threads.append(thread)
                thread.start()

    def _poll_loop(self) -> None:
        backoff = 0.0
        while True:
            if self._stop.is_set() and self.source.drained():
                return
            try:
                task = self.source.poll(self.poll_timeout)
            except Exception as exc:
                self.metrics.poll_errors.inc()
                backoff = min(max(backoff * 2, self.initial_backoff), self.max_backoff)
                self.log.warning("poll failed", error=f"{type(exc).__name__}: {exc}", retry_in_seconds=backoff)
                if self._stop.wait(backoff) and self.source.drained():
                    return
                continue
            backoff = 0.0
            if task is not None:
                self.run_task(task)

    def run_task(self, task: Task) -> None:
        handler = self.handlers.get(task.type)
        label = task.type if handler is not None else UNREGISTERED
        self.metrics.inflight.inc()
        with self._lock:
            self.inflight += 1
        started = time.perf_counter()
        outcome = "completed"
        try:
            if handler is None:
                outcome = "rejected"
                self._report(self.source.fail, task, f"no handler registered for task type {task.type!r}",
                             retryable=False)
                return
            try:
                result: Any = handler(task)
            except NonRetryableError as exc:
                outcome = "failed"
                self._report(self.source.fail, task, str(exc), retryable=False)
            except Exception as exc:
                outcome = "failed_retryable"
                self.log.exception("task failed", task_id=task.id, task_type=task.type, attempt=task.attempt)
                self._report(self.source.fail, task, f"{type(exc).__name__}: {exc}", retryable=True)
            else:
                self._report(self.source.complete, task, result)
        finally:
            elapsed = time.perf_counter() - started
            self.metrics.inflight.dec()
            self.metrics.tasks.labels(label, outcome).inc()
            self.metrics.duration.labels(label).observe(elapsed)
            with self._lock:
                self.processed += 1
                self.inflight -= 1
            self.log.info("task finished", task_id=task.id, task_type=task.type, outcome=outcome,
                          attempt=task.attempt, duration_ms=round(elapsed * 1000, 2))

    def _report(self, method, task: Task, *args: Any, **kwargs: Any) -> None:
        try:
            method(task, *args, **kwargs)
        except Exception:  # the server will time the task out and retry it; nothing better to do here
            self.log.exception("could not report task outcome", task_id=task.id)

    def begin_shutdown(self) -> None:
        """Stop taking new tasks; pollers finish their current task (and any already fetched)."""
        if not self._stop.is_set():
            self._stop.set()
            self.source.begin_shutdown()
            self.log.info("worker draining", in_flight=self.inflight)

    def wait(self, timeout: float) -> bool:
        """Wait for pollers and then the source to finish. False if `timeout` ran out first."""
        deadline = time.monotonic() + timeout
        self.begin_shutdown()
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        finished = not any(t.is_alive() for t in threads)
        closed = self.source.wait_closed(max(0.0, deadline - time.monotonic()))
        if not finished:
            self.log.warning("grace period over with tasks still running",
                             running=sum(t.is_alive() for t in threads))
        return finished and closed
