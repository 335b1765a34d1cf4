"""Shared runtime for the reference services: HTTP skeleton with /healthz, /readyz and /metrics, JSON
logging, env-var configuration and graceful shutdown. Each service adds its routes and metrics."""
from .config import ConfigError, EnvReader, ServiceConfig, StartupError
from .jsonlog import configure_logging, get_logger
from .runtime import EXIT_CONFIG, EXIT_OK, EXIT_START_FAILED, main, run_main, serve
from .server import HttpError, Request, Response, Route, Service

__all__ = [
    "ConfigError", "EnvReader", "ServiceConfig", "StartupError", "configure_logging", "get_logger", "EXIT_CONFIG", "EXIT_OK",
    "EXIT_START_FAILED", "main", "run_main", "serve", "HttpError", "Request", "Response", "Route", "Service",
]
