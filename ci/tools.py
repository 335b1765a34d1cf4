"""Pinned tool downloads: `ci/tools.lock` names each tool's version, URL and sha256. A download whose
checksum differs is deleted and the job fails; nothing unverified is ever executed. Installed tools live in
$PLATFORM_TOOLS_DIR (default .cache/tools, the jobs' cache)."""
from __future__ import annotations

import csv
import hashlib
import io
import os
import stat
import tarfile
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

LOCK = Path(__file__).with_name("tools.lock")


class ToolError(ValueError):
    """A lock row that cannot be used (unset checksum variable, unknown tool, checksum mismatch)."""


@dataclass(frozen=True, kw_only=True)
class Tool:
    name: str
    version: str
    url: str
    sha256: str
    member: str
    """Path of the binary inside the archive; "-" when the download is the binary itself."""


def _checksum(value: str, name: str, environ: Mapping[str, str]) -> str:
    if not value.startswith("$"):
        return value
    resolved = environ.get(value[1:], "")
    if not resolved:
        raise ToolError(
            f"{LOCK.name}: {name} sha256 comes from CI variable {value[1:]}, which is not set. Set it to the "
            f"sha256 of the reviewed download (docs/ci-cd.md, 'Pinned images and tools')."
        )
    return resolved


def load(lock: Path = LOCK) -> dict[str, dict[str, str]]:
    """Every row as written; a checksum variable is resolved by `tool()`, one tool at a time (so a job that
    needs only terraform does not need the Docker checksum)."""
    lines = [line for line in lock.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
    return {row["name"]: row for row in csv.DictReader(io.StringIO("\n".join(lines)), delimiter="\t")}


def tool(name: str, environ: Mapping[str, str] = os.environ, lock: Path = LOCK) -> Tool:
    rows = load(lock)
    if name not in rows:
        raise ToolError(f"{lock.name}: no tool {name!r}; expected one of {', '.join(rows)}")
    row = rows[name]
    version = row["version"]
    sha256 = _checksum(row["sha256"], name, environ).lower()
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ToolError(f"{lock.name}: {name} sha256 {sha256!r} is not 64 hex digits")
    return Tool(name=name, version=version, url=row["url"].format(version=version), sha256=sha256, member=row["member"])


def extract(tool: Tool, payload: bytes) -> bytes:
    """The binary out of a verified download."""
    digest = hashlib.sha256(payload).hexdigest()
    if digest != tool.sha256:
        raise ToolError(f"{tool.name} {tool.version}: {tool.url} has sha256 {digest}, the lock expects {tool.sha256}")
    if tool.member == "-":
        return payload
    if tool.url.endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(payload)) as archive:
            return archive.read(tool.member)
    with tarfile.open(fileobj=io.BytesIO(payload)) as archive:
        member = archive.extractfile(tool.member)
        if member is None:
            raise ToolError(f"{tool.name}: {tool.member} is not a file in {tool.url}")
        return member.read()


def install(name: str, environ: Mapping[str, str] = os.environ) -> Path:
    """The path of the verified binary, downloaded on first use."""
    spec = tool(name, environ)
    root = Path(environ.get("PLATFORM_TOOLS_DIR") or ".cache/tools").resolve()
    target = root / f"{spec.name}-{spec.version}-{spec.sha256[:12]}" / spec.name
    if not target.exists():
        with urllib.request.urlopen(spec.url, timeout=300) as response:  # noqa: S310 - https URL from the lock
            binary = extract(spec, response.read())
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial")
        partial.write_bytes(binary)
        partial.chmod(partial.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP)
        os.replace(partial, target)
    return target


def bin_dir(names: tuple[str, ...], environ: Mapping[str, str] = os.environ) -> str:
    """Install `names`; the PATH entries that put them first."""
    return os.pathsep.join(sorted({str(install(name, environ).parent) for name in names}))
