"""Task handlers, keyed by task (Temporal activity) type. A team replaces or extends `DEFAULT_HANDLERS`."""
from __future__ import annotations

import hashlib
import json
from typing import Any

from .tasks import NonRetryableError, Task, TaskHandler


def echo(task: Task) -> Any:
    return task.payload


def checksum(task: Task) -> dict[str, Any]:
    try:
        canonical = json.dumps(task.payload, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise NonRetryableError(f"payload is not JSON-serialisable: {exc}") from None
    return {"sha256": hashlib.sha256(canonical.encode()).hexdigest(), "bytes": len(canonical)}


DEFAULT_HANDLERS: dict[str, TaskHandler] = {"echo": echo, "checksum": checksum}
