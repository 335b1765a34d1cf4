"""Download the pinned upstream files the tests validate against (schemas, chart defaults, CRDs).

Reads `third_party.lock.tsv` (local path, repository, git ref, upstream path, sha256), fetches each file
from the repository's raw view at that ref, applies the one recorded transformation (Helm template lines
removed from chart-embedded CRDs), checks the sha256 and writes it under `--dest`. Then point
PLATFORM_THIRD_PARTY_DIR at `--dest` (the Makefile does). Nothing is written for a file whose checksum
does not match.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import shutil
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "third_party.lock.tsv"
DEFAULT_BASE_URL = "https://raw.githubusercontent.com"
TEMPLATE_LINES_REMOVED = " (Helm template lines removed)"


def strip_template_lines(data: bytes) -> bytes:
    """The chart ships its CRDs as Helm templates; the pinned copies keep every line without `{{`."""
    return b"".join(line for line in data.splitlines(keepends=True) if b"{{" not in line)


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 - https or a test's file://
        return response.read()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, required=True)
    parser.add_argument("--base-url", default=DEFAULT_BASE_URL, help="raw file host; <base>/<repo>/<ref>/<path>")
    parser.add_argument("--lock", type=Path, default=LOCK)
    args = parser.parse_args(argv)
    with args.lock.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    staging = args.dest.with_name(args.dest.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    failures = []
    for row in rows:
        upstream = row["upstream_path"]
        transform = upstream.endswith(TEMPLATE_LINES_REMOVED)
        upstream = upstream.removesuffix(TEMPLATE_LINES_REMOVED)
        url = f"{args.base_url}/{row['repository']}/{row['ref']}/{upstream}"
        try:
            data = fetch(url)
        except OSError as exc:
            failures.append(f"{row['local_path']}: cannot download {url}: {exc}")
            continue
        if transform:
            data = strip_template_lines(data)
        digest = hashlib.sha256(data).hexdigest()
        if digest != row["sha256"]:
            failures.append(f"{row['local_path']}: sha256 {digest} from {url}, expected {row['sha256']}")
            continue
        target = staging / row["local_path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    if failures:
        shutil.rmtree(staging, ignore_errors=True)
        print("third-party download failed, nothing written:\n" + "\n".join(failures), file=sys.stderr)
        return 1
    shutil.copy(args.lock, staging / "MANIFEST.tsv")
    shutil.rmtree(args.dest, ignore_errors=True)
    staging.rename(args.dest)
    print(f"{len(rows)} pinned files verified into {args.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
