"""An in-process TaskSource: used by the tests, and by `TASK_SOURCE=memory` to run the worker locally
without a Temporal server (POST /v1/tasks on the side port enqueues a task in that mode)."""
from __future__ import annotations

import itertools
import threading
from collections import deque
from typing import Any, Optional

from .tasks import Task


class InMemoryTaskSource:
    kind = "memory"

    def __init__(self) -> None:
        self._pending: deque[Task] = deque()
        self._cond = threading.Condition()
        self._closing = False
        self._connected = False
        self._ids = itertools.count(1)
        self.results: dict[str, Any] = {}
        self.failures: dict[str, tuple[str, bool]] = {}  # task id -> (message, retryable)

    @property
    def connected(self) -> bool:
        return self._connected

    def submit(self, task_type: str, payload: Any = None, task_id: Optional[str] = None) -> str:
        with self._cond:
            task = Task(id=task_id or f"mem-{next(self._ids)}", type=task_type, payload=payload)
            self._pending.append(task)
            self._cond.notify()
            return task.id

    def pending(self) -> int:
        with self._cond:
            return len(self._pending)

    def start(self) -> None:
        self._connected = True

    def poll(self, timeout: float) -> Optional[Task]:
        with self._cond:
            if not self._cond.wait_for(lambda: self._closing or self._pending, timeout):
                return None
            if self._closing:
                return None  # undelivered tasks stay queued, as on a real server, for another worker
            return self._pending.popleft()

    def complete(self, task: Task, result: Any) -> None:
        with self._cond:
            self.results[task.id] = result
            self._cond.notify_all()

    def fail(self, task: Task, message: str, *, retryable: bool) -> None:
        with self._cond:
            self.failures[task.id] = (message, retryable)
            self._cond.notify_all()

    def wait_for_outcomes(self, count: int, timeout: float) -> bool:
        """Test helper: wait until `count` tasks have completed or failed."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self.results) + len(self.failures) >= count, timeout)

    def begin_shutdown(self) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify_all()

    def drained(self) -> bool:
        return self._closing

    def wait_closed(self, timeout: float) -> bool:
        self._connected = False
        return True
