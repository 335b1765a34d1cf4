"""Container HEALTHCHECK probe: `python -m platform_service.healthcheck` exits 0 if /healthz answers 200.

Docker and Compose use it; Kubernetes ignores HEALTHCHECK and uses the pod's own probes. The slim base
image has no curl, so the probe is a few lines of standard library instead of another package.
"""
from __future__ import annotations

import os
import sys
import urllib.request


def check(port: int, path: str = "/healthz", timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as response:
            return response.status == 200
    except OSError:
        return False


def main() -> int:
    try:
        port = int(os.environ.get("PORT", "8080"))
    except ValueError:
        return 1
    return 0 if check(port) else 1


if __name__ == "__main__":
    sys.exit(main())
