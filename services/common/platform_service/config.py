"""Configuration from environment variables only, validated once at start-up.

`EnvReader` collects every problem instead of stopping at the first one, so a misconfigured pod
logs one clear message naming all bad variables; `EnvReader.finish()` raises `ConfigError`.
"""
from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Optional

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class ConfigError(ValueError):
    """Raised when environment variables are missing or invalid. `problems` lists each one."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("invalid configuration: " + "; ".join(self.problems))


class StartupError(RuntimeError):
    """Raised when the environment is valid but the service cannot start (e.g. its data is unreadable)."""


class EnvReader:
    """Typed accessors over an environment mapping. Bad values are recorded and the default is returned,
    so all problems surface together when `finish()` is called."""

    def __init__(self, environ: Optional[Mapping[str, str]] = None):
        self._env = os.environ if environ is None else environ
        self.problems: list[str] = []

    def _raw(self, name: str) -> Optional[str]:
        value = self._env.get(name)
        if value is None:
            return None
        value = value.strip()
        return value if value != "" else None

    def str(self, name: str, default: Optional[str] = None, *, required: bool = False,
            choices: Optional[tuple[str, ...]] = None) -> str:
        value = self._raw(name)
        if value is None:
            if required:
                self.problems.append(f"{name} is required but not set")
                return ""
            return default if default is not None else ""
        if choices is not None and value not in choices:
            self.problems.append(f"{name}={value!r} must be one of {', '.join(choices)}")
            return default if default is not None else ""
        return value

    def int(self, name: str, default: int, *, minimum: Optional[int] = None,
            maximum: Optional[int] = None) -> int:
        value = self._raw(name)
        if value is None:
            return default
        try:
            number = int(value, 10)
        except ValueError:
            self.problems.append(f"{name}={value!r} is not an integer")
            return default
        return self._bounded(name, number, default, minimum, maximum)

    def float(self, name: str, default: float, *, minimum: Optional[float] = None,
              maximum: Optional[float] = None) -> float:
        value = self._raw(name)
        if value is None:
            return default
        try:
            number = float(value)
        except ValueError:
            self.problems.append(f"{name}={value!r} is not a number")
            return default
        if number != number or number in (float("inf"), float("-inf")):
            self.problems.append(f"{name}={value!r} must be a finite number")
            return default
        return self._bounded(name, number, default, minimum, maximum)

    def bool(self, name: str, default: bool) -> bool:
        value = self._raw(name)
        if value is None:
            return default
        lowered = value.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        self.problems.append(f"{name}={value!r} is not a boolean (use true/false)")
        return default

    def _bounded(self, name, number, default, minimum, maximum):
        if minimum is not None and number < minimum:
            self.problems.append(f"{name}={number} is below the minimum {minimum}")
            return default
        if maximum is not None and number > maximum:
            self.problems.append(f"{name}={number} is above the maximum {maximum}")
            return default
        return number

    def require(self, condition: bool, problem: str) -> None:
        """Record a cross-field problem (e.g. one setting must be smaller than another)."""
        if not condition:
            self.problems.append(problem)

    def finish(self) -> None:
        if self.problems:
            raise ConfigError(self.problems)


@dataclass(frozen=True)
class ServiceConfig:
    """Settings every service shares. Service-specific settings live in the service's own config."""

    service_name: str
    version: str = "0.0.0-dev"
    host: str = "0.0.0.0"
    port: int = 8080
    pool: str = "unknown"
    instance: str = "local"
    log_level: str = "INFO"
    shutdown_grace_seconds: float = 20.0
    shutdown_delay_seconds: float = 0.0
    max_body_bytes: int = 1 << 20
    max_concurrent_requests: int = 64
    keepalive_timeout_seconds: float = 75.0

    @classmethod
    def from_env(cls, service_name: str, env: EnvReader) -> "ServiceConfig":
        """Read the shared settings. Call `env.finish()` after reading the service's own settings too."""
        grace = env.float("SHUTDOWN_GRACE_SECONDS", 20.0, minimum=0.0, maximum=3600.0)
        delay = env.float("SHUTDOWN_DELAY_SECONDS", 0.0, minimum=0.0, maximum=600.0)
        return cls(
            service_name=service_name,
            version=env.str("SERVICE_VERSION", "0.0.0-dev"),
            host=env.str("BIND_ADDRESS", "0.0.0.0"),
            # 0 asks the OS for a free port (used by tests); Kubernetes always sets a real one.
            port=env.int("PORT", 8080, minimum=0, maximum=65535),
            pool=env.str("NODE_POOL", "unknown"),
            instance=env.str("POD_NAME", socket.gethostname() or "local"),
            log_level=env.str("LOG_LEVEL", "INFO", choices=_LOG_LEVELS),
            shutdown_grace_seconds=grace,
            shutdown_delay_seconds=delay,
            max_body_bytes=env.int("MAX_BODY_BYTES", 1 << 20, minimum=1, maximum=64 << 20),
            max_concurrent_requests=env.int("MAX_CONCURRENT_REQUESTS", 64, minimum=1, maximum=10_000),
            keepalive_timeout_seconds=env.float("KEEPALIVE_TIMEOUT_SECONDS", 75.0, minimum=1.0, maximum=3600.0),
        )
