"""Structured JSON logging: one JSON object per line on stdout.

Keys follow Google Cloud Logging's structured-logging conventions (`severity`, `message`, `time`), so
GKE's logging agent turns each line into a structured entry without extra parsing configuration.

    log = get_logger("api-server")
    log.info("item created", item_id=3)
    -> {"time": "...", "severity": "INFO", "message": "item created", "logger": "api-server", "item_id": 3}
"""
from __future__ import annotations

import json
import logging
import sys
import threading
import traceback
from datetime import datetime, timezone
from typing import IO, Any, Optional

_RESERVED = frozenset({"time", "severity", "message", "logger"})
_static_fields: dict[str, Any] = {}
_lock = threading.Lock()


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="milliseconds"),
            "severity": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
        }
        entry.update(_static_fields)
        fields = getattr(record, "fields", None)
        if fields:
            for key, value in fields.items():
                entry[f"field_{key}" if key in _RESERVED else key] = value
        if record.exc_info:
            entry["exception"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return json.dumps(entry, default=str, separators=(",", ":"))


class StructLogger:
    """Thin wrapper so call sites pass fields as keyword arguments."""

    def __init__(self, logger: logging.Logger):
        self._logger = logger

    def _log(self, level: int, message: str, exc_info: bool, fields: dict[str, Any]) -> None:
        if self._logger.isEnabledFor(level):
            self._logger.log(level, message, exc_info=exc_info, extra={"fields": fields})

    def debug(self, message: str, /, **fields: Any) -> None:
        self._log(logging.DEBUG, message, False, fields)

    def info(self, message: str, /, **fields: Any) -> None:
        self._log(logging.INFO, message, False, fields)

    def warning(self, message: str, /, **fields: Any) -> None:
        self._log(logging.WARNING, message, False, fields)

    def error(self, message: str, /, **fields: Any) -> None:
        self._log(logging.ERROR, message, False, fields)

    def exception(self, message: str, /, **fields: Any) -> None:
        """Log at ERROR with the current exception's traceback in the "exception" key."""
        self._log(logging.ERROR, message, True, fields)

    def is_debug(self) -> bool:
        return self._logger.isEnabledFor(logging.DEBUG)


def configure_logging(level: str = "INFO", stream: Optional[IO[str]] = None, **static_fields: Any) -> None:
    """Route all stdlib logging through one JSON handler. `static_fields` (service, version, instance)
    are added to every line. Safe to call more than once; the last call wins."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    with _lock:
        for old in list(root.handlers):
            root.removeHandler(old)
        root.addHandler(handler)
        root.setLevel(level)
        _static_fields.clear()
        _static_fields.update({k: v for k, v in static_fields.items() if k not in _RESERVED})


def get_logger(name: str) -> StructLogger:
    return StructLogger(logging.getLogger(name))
