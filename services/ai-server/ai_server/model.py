"""A stand-in model: deterministic, dependency-free "predictions".

The label and score are derived from a SHA-256 of the canonical JSON of each input, so the same input
always yields the same prediction on every replica, CPU or GPU. A team replaces `FakeModel` with a real
model object exposing the same `predict(inputs) -> list[dict]` method.
"""
from __future__ import annotations

import hashlib
import json
import time
from typing import Any, Protocol, Sequence

LABELS = ("negative", "neutral", "positive")


class Model(Protocol):
    name: str
    version: str

    def predict(self, inputs: Sequence[Any]) -> list[dict[str, Any]]: ...


class FakeModel:
    def __init__(self, name: str = "reference-classifier", version: str = "1", latency_seconds: float = 0.0):
        self.name = name
        self.version = version
        self.latency_seconds = latency_seconds

    def predict(self, inputs: Sequence[Any]) -> list[dict[str, Any]]:
        if self.latency_seconds:
            time.sleep(self.latency_seconds)  # simulated compute, so load tests move the in-flight gauge
        return [self._one(item) for item in inputs]

    def _one(self, item: Any) -> dict[str, Any]:
        digest = hashlib.sha256(json.dumps(item, sort_keys=True, separators=(",", ":")).encode()).digest()
        label = LABELS[digest[0] % len(LABELS)]
        score = round(0.5 + (int.from_bytes(digest[1:3], "big") / 0xFFFF) * 0.5, 4)
        return {"label": label, "score": score}
