"""The contract between the worker loop and wherever tasks come from."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Protocol


@dataclass
class Task:
    id: str
    type: str
    payload: Any = None
    attempt: int = 1
    handle: Any = field(default=None, repr=False, compare=False)  # source-specific reply channel


class NonRetryableError(Exception):
    """Raise from a handler when retrying cannot help (bad input). Other exceptions are retried."""


TaskHandler = Callable[[Task], Any]


class TaskSource(Protocol):
    """Where the worker gets tasks and reports outcomes. Implementations must be thread-safe: the loop
    calls poll/complete/fail from WORKER_CONCURRENCY threads at once."""

    kind: str

    @property
    def connected(self) -> bool:
        """True once start() succeeded and the source can deliver tasks."""

    def start(self) -> None:
        """Connect. Raises on failure; the caller retries with backoff."""

    def poll(self, timeout: float) -> Optional[Task]:
        """Next task, or None if none arrived within `timeout` seconds."""

    def complete(self, task: Task, result: Any) -> None: ...

    def fail(self, task: Task, message: str, *, retryable: bool) -> None: ...

    def begin_shutdown(self) -> None:
        """Stop fetching new tasks. Tasks already fetched stay available to poll()."""

    def drained(self) -> bool:
        """True once begin_shutdown() was called and poll() can deliver nothing more."""

    def wait_closed(self, timeout: float) -> bool:
        """Wait until the source has released its resources; False if `timeout` ran out."""
