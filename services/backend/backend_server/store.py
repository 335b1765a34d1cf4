"""Durable key/value state for the backend.

Layout under DATA_DIR:
  state.json        the snapshot: the source of truth, replaced atomically on every change
                    (write a temp file in the same directory, fsync it, rename over, fsync the directory)
  changes.jsonl     append-only audit journal, one JSON line per change; rotated to changes.jsonl.1 when it
                    exceeds JOURNAL_MAX_BYTES
A crash at any point leaves either the old or the new snapshot, never a torn one; leftover temp files are
removed at start. Rewriting the whole snapshot per change is deliberate: the state is small (bounded by
MAX_KEYS and the request body limit) and the format stays one readable JSON document.
"""
from __future__ import annotations

import copy
import json
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Optional

from platform_service import StartupError

SNAPSHOT = "state.json"
JOURNAL = "changes.jsonl"
FORMAT_VERSION = 1
_TMP_PREFIX = f".{SNAPSHOT}."
_TMP_SUFFIX = ".tmp"


class VersionConflict(Exception):
    def __init__(self, key: str, expected: int, actual: int):
        super().__init__(f"{key}: expected version {expected}, current version is {actual}")
        self.expected = expected
        self.actual = actual


class StoreFull(Exception):
    pass


class StateStore:
    def __init__(self, data_dir: Path, *, max_keys: int = 10_000, fsync: bool = True,
                 journal_max_bytes: int = 16 << 20):
        self.data_dir = Path(data_dir)
        self.max_keys = max_keys
        self.fsync = fsync
        self.journal_max_bytes = journal_max_bytes
        self._entries: dict[str, dict[str, Any]] = {}
        self._revision = 0
        self._lock = threading.Lock()
        self._journal = None
        self.snapshot_bytes = 0
        self.journal_errors = 0

    # ----- lifecycle ---------------------------------------------------------------------------------
    def open(self) -> None:
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            probe = tempfile.NamedTemporaryFile(dir=self.data_dir, prefix=".probe.", delete=True)
            probe.close()
        except OSError as exc:
            raise StartupError(f"DATA_DIR={self.data_dir} is not a writable directory: {exc.strerror or exc}") from exc
        for leftover in self.data_dir.glob(f"{_TMP_PREFIX}*{_TMP_SUFFIX}"):
            leftover.unlink(missing_ok=True)  # from a write interrupted by a crash; the snapshot is intact
        path = self.data_dir / SNAPSHOT
        if path.exists():
            try:
                raw = path.read_bytes()
                document = json.loads(raw)
                if document.get("format") != FORMAT_VERSION or not isinstance(document.get("entries"), dict):
                    raise ValueError(f"unsupported format {document.get('format')!r}")
            except (OSError, ValueError, AttributeError) as exc:
                # Refuse to start rather than serve (and later overwrite) an empty state.
                raise StartupError(f"cannot read {path}: {exc}; move it aside to start with empty state") from exc
            self._entries = document["entries"]
            self._revision = int(document.get("revision", 0))
            self.snapshot_bytes = len(raw)
        self._journal = open(self.data_dir / JOURNAL, "a", encoding="utf-8")

    def close(self) -> None:
        with self._lock:
            if self._journal is not None:
                self._journal.close()
                self._journal = None

    @property
    def is_open(self) -> bool:
        return self._journal is not None

    # ----- reads -------------------------------------------------------------------------------------
    @property
    def revision(self) -> int:
        return self._revision

    def __len__(self) -> int:
        return len(self._entries)

    def keys(self) -> list[str]:
        with self._lock:
            return sorted(self._entries)

    def get(self, key: str) -> Optional[dict[str, Any]]:
        with self._lock:
            entry = self._entries.get(key)
            return copy.deepcopy(entry) if entry is not None else None

    # ----- writes ------------------------------------------------------------------------------------
    def put(self, key: str, value: Any, expected_version: Optional[int] = None) -> tuple[dict[str, Any], bool]:
        """Set `key`. Returns (entry, created). Raises VersionConflict, StoreFull or OSError."""
        with self._lock:
            self._require_open()
            current = self._entries.get(key)
            self._check_version(key, current, expected_version)
            if current is None and len(self._entries) >= self.max_keys:
                raise StoreFull(f"the store holds the maximum of {self.max_keys} keys")
            entry = {"value": copy.deepcopy(value), "version": (current["version"] + 1) if current else 1,
                     "updated_at": time.time()}
            entries = dict(self._entries)
            entries[key] = entry
            self._commit(entries, {"op": "put", "key": key, "version": entry["version"], "value": value})
            return copy.deepcopy(entry), current is None

    def delete(self, key: str, expected_version: Optional[int] = None) -> bool:
        with self._lock:
            self._require_open()
            current = self._entries.get(key)
            if current is None:
                return False
            self._check_version(key, current, expected_version)
            entries = dict(self._entries)
            del entries[key]
            self._commit(entries, {"op": "delete", "key": key, "version": current["version"]})
            return True

    def _require_open(self) -> None:
        if self._journal is None:
            raise OSError("state store is closed")

    @staticmethod
    def _check_version(key: str, current: Optional[dict], expected: Optional[int]) -> None:
        if expected is None:
            return
        actual = current["version"] if current else 0
        if actual != expected:
            raise VersionConflict(key, expected, actual)

    def _commit(self, entries: dict[str, dict[str, Any]], change: dict[str, Any]) -> None:
        revision = self._revision + 1
        self._write_snapshot({"format": FORMAT_VERSION, "revision": revision, "entries": entries})
        self._entries = entries  # only after the snapshot is durable
        self._revision = revision
        self._append_journal({"revision": revision, "time": time.time(), **change})

    def _write_snapshot(self, document: dict[str, Any]) -> None:
        data = json.dumps(document, separators=(",", ":"), sort_keys=True).encode()
        fd, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX, suffix=_TMP_SUFFIX, dir=self.data_dir)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                if self.fsync:
                    os.fsync(handle.fileno())
            os.replace(tmp, self.data_dir / SNAPSHOT)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        if self.fsync:
            dir_fd = os.open(self.data_dir, os.O_RDONLY)
            try:
                os.fsync(dir_fd)  # make the rename itself durable
            finally:
                os.close(dir_fd)
        self.snapshot_bytes = len(data)

    def _append_journal(self, record: dict[str, Any]) -> None:
        """The journal is an audit trail: a failure here is counted and logged by the caller's metrics,
        never turned into a failed write, because the snapshot is already committed."""
        try:
            assert self._journal is not None
            self._journal.write(json.dumps(record, separators=(",", ":")) + "\n")
            self._journal.flush()
            if self.fsync:
                os.fsync(self._journal.fileno())
            if self._journal.tell() > self.journal_max_bytes:
                self._journal.close()
                os.replace(self.data_dir / JOURNAL, self.data_dir / f"{JOURNAL}.1")
                self._journal = open(self.data_dir / JOURNAL, "a", encoding="utf-8")
        except OSError:
            self.journal_errors += 1
