"""TaskSource backed by a Temporal server, through the official `temporalio` SDK.

Imported only when TASK_SOURCE=temporal (the default in the image); the tests never import it, so the
SDK is a dependency of the image (temporal-worker/requirements.txt), not of the repository.

The SDK owns the polling: a `temporalio.worker.Worker` runs an asyncio loop in a background thread and
executes activities. This adapter registers one *dynamic* activity, which accepts any activity type on
the task queue, hands it to the worker loop as a `Task` through a queue, and waits for the loop to
complete or fail it. So the worker loop stays SDK-agnostic and concurrency is bounded twice: the SDK
never hands out more than WORKER_CONCURRENCY activities and the loop runs that many pollers.

Only activities are served: workflows belong to the team that replaces this image, registered with
`workflows=[...]` on the same SDK Worker (they run inside the SDK's sandbox, not in the poller threads).
"""
from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, Callable, Optional

from temporalio import activity
from temporalio.client import Client
from temporalio.common import RawValue
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from .tasks import Task


class TemporalTaskSource:
    kind = "temporal"

    def __init__(self, *, address: str, namespace: str, task_queue: str, identity: str,
                 max_concurrent: int, graceful_shutdown_seconds: float, tls: bool = False,
                 connect_timeout_seconds: float = 10.0,
                 on_fatal: Optional[Callable[[BaseException], None]] = None):
        self.address = address
        self.namespace = namespace
        self.task_queue = task_queue
        self.identity = identity
        self.max_concurrent = max_concurrent
        self.graceful_shutdown_seconds = graceful_shutdown_seconds
        self.tls = tls
        self.connect_timeout_seconds = connect_timeout_seconds
        self.on_fatal = on_fatal
        self._tasks: "queue.Queue[Task]" = queue.Queue()
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._worker: Optional[Worker] = None
        self._thread: Optional[threading.Thread] = None
        self._shutdown_requested = False
        self._closed = threading.Event()
        self._connected = False

    @property
    def connected(self) -> bool:
        return self._connected and not self._closed.is_set()

    # ----- the dynamic activity (runs on the SDK's event loop) ---------------------------------------
    @activity.defn(dynamic=True)
    async def _dispatch(self, args: Sequence[RawValue]) -> Any:
        info = activity.info()
        converter = activity.payload_converter()
        values = [converter.from_payload(arg.payload) for arg in args]
        payload = values[0] if len(values) == 1 else (values or None)
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._tasks.put(Task(id=info.activity_id, type=info.activity_type, payload=payload,
                             attempt=info.attempt, handle=future))
        # If the activity is cancelled (timeout, shutdown), awaiting raises CancelledError and the
        # SDK reports the cancellation; a late complete()/fail() is then ignored.
        return await future

    # ----- TaskSource --------------------------------------------------------------------------------
    def start(self) -> None:
        """Connect and start the SDK worker on its own thread; raise if the connection fails."""
        started = threading.Event()
        errors: list[BaseException] = []

        async def main() -> None:
            try:
                client = await asyncio.wait_for(
                    Client.connect(self.address, namespace=self.namespace, tls=self.tls, identity=self.identity),
                    timeout=self.connect_timeout_seconds)
                self._worker = Worker(
                    client, task_queue=self.task_queue, activities=[self._dispatch],
                    max_concurrent_activities=self.max_concurrent, identity=self.identity,
                    graceful_shutdown_timeout=timedelta(seconds=self.graceful_shutdown_seconds))
            except BaseException as exc:
                errors.append(exc)
                started.set()
                return
            self._loop = asyncio.get_running_loop()
            self._connected = True
            started.set()
            try:
                await self._worker.run()
            except BaseException as exc:
                if not self._shutdown_requested and self.on_fatal is not None:
                    self.on_fatal(exc)
                raise
            finally:
                self._closed.set()

        def run() -> None:
            try:
                asyncio.run(main())
            except BaseException:
                pass  # reported through `errors` or `on_fatal`

        self._thread = threading.Thread(target=run, name="temporal-sdk", daemon=True)
        self._thread.start()
        started.wait()
        if errors:
            raise ConnectionError(f"cannot connect to Temporal at {self.address} "
                                  f"(namespace {self.namespace}): {errors[0]}") from errors[0]

    def poll(self, timeout: float) -> Optional[Task]:
        if self._shutdown_requested:
            timeout = min(timeout, 0.05)  # notice the SDK worker closing promptly
        try:
            return self._tasks.get(timeout=timeout)
        except queue.Empty:
            return None

    def complete(self, task: Task, result: Any) -> None:
        self._resolve(task, lambda future: future.set_result(result))

    def fail(self, task: Task, message: str, *, retryable: bool) -> None:
        error = ApplicationError(message, type="TaskFailed", non_retryable=not retryable)
        self._resolve(task, lambda future: future.set_exception(error))

    def _resolve(self, task: Task, action: Callable[[asyncio.Future], None]) -> None:
        future: asyncio.Future = task.handle

        def apply() -> None:
            if not future.done():
                action(future)

        future.get_loop().call_soon_threadsafe(apply)

    def begin_shutdown(self) -> None:
        """Ask the SDK to stop polling; activities already handed out still reach poll() and finish."""
        self._shutdown_requested = True
        if self._loop is not None and self._worker is not None and not self._closed.is_set():
            asyncio.run_coroutine_threadsafe(self._worker.shutdown(), self._loop)
        elif self._worker is None:
            self._closed.set()

    def drained(self) -> bool:
        return self._shutdown_requested and self._closed.is_set() and self._tasks.empty()

    def wait_closed(self, timeout: float) -> bool:
        return self._closed.wait(timeout)
