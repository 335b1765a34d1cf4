"""Process entry point shared by every service: logging set-up, config validation, signals, exit codes.

Exit codes: 0 after a graceful shutdown (SIGTERM/SIGINT), 2 for invalid configuration, 1 when the service
cannot start (e.g. the port is taken or the data directory is not writable).
"""
from __future__ import annotations

import os
import select
import signal
import sys
from collections.abc import Callable, Mapping
from typing import Optional

from .config import ConfigError, StartupError
from .jsonlog import configure_logging, get_logger
from .server import Service

EXIT_OK = 0
EXIT_START_FAILED = 1
EXIT_CONFIG = 2

ServiceFactory = Callable[[Mapping[str, str]], Service]


def serve(service: Service, *, install_signals: bool = True, wake_interval: float = 0.2) -> int:
    """Start `service`, block until SIGTERM/SIGINT (or `service.request_shutdown()`), drain, return 0.

    Signals are delivered through `signal.set_wakeup_fd`: the interpreter's C-level handler writes the
    signal number to a pipe that the main thread waits on, so a SIGTERM is noticed at once and no lock is
    ever taken inside a signal handler. A programmatic `request_shutdown()` (e.g. a fatal error in a
    worker thread) is noticed within `wake_interval` seconds.
    """
    log = service.log
    try:
        service.start()
    except OSError as exc:
        log.error("cannot start: failed to bind", host=service.config.host, port=service.config.port,
                  error=str(exc))
        return EXIT_START_FAILED
    except Exception:
        log.exception("cannot start: start hook failed")
        service.shutdown(grace_seconds=0)
        return EXIT_START_FAILED
    wake_r = wake_w = -1
    if install_signals:
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_r, False)
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda _signum, _frame: None)  # the wakeup fd does the work
    try:
        received = None
        while received is None and not service.wait_for_shutdown_request(0):
            if wake_r < 0:
                service.wait_for_shutdown_request(wake_interval)
                continue
            readable, _, _ = select.select([wake_r], [], [], wake_interval)
            if readable:
                data = os.read(wake_r, 64)
                received = signal.Signals(data[0]).name if data else None
        if received is not None:
            log.info("signal received", signal=received)
            service.request_shutdown(received)
        service.shutdown()
    finally:
        if wake_r >= 0:
            signal.set_wakeup_fd(-1)
            os.close(wake_r)
            os.close(wake_w)
    return EXIT_OK


def run_main(service_name: str, factory: ServiceFactory, environ: Optional[Mapping[str, str]] = None,
             *, install_signals: bool = True) -> int:
    """Configure JSON logging, build the service from the environment and serve it."""
    env = os.environ if environ is None else environ
    configure_logging("INFO", service=service_name)
    log = get_logger(service_name)
    try:
        service = factory(env)
    except ConfigError as exc:
        log.error(str(exc), problems=exc.problems)
        return EXIT_CONFIG
    except (StartupError, OSError) as exc:  # e.g. DATA_DIR not writable: a deployment problem
        log.error(f"cannot start: {exc}", error=type(exc).__name__)
        return EXIT_START_FAILED
    cfg = service.config
    configure_logging(cfg.log_level, service=cfg.service_name, version=cfg.version, instance=cfg.instance)
    log.info("starting", pool=cfg.pool, port=cfg.port)
    return serve(service, install_signals=install_signals)


def main(service_name: str, factory: ServiceFactory) -> None:
    sys.exit(run_main(service_name, factory))
