"""Incremental synthesis: a content-addressed cache of each environment's synthesized stacks.

Environments share nothing but the generator's code (no stack references another environment), so an
environment whose inputs did not change has nothing to rebuild. Its entry in `.synth-cache/` holds exactly
the files one synth writes for it (its `stacks/<env>-<layer>/` directories and its part of `manifest.json`):
a part, as the parallel synthesis writes them, which `stacks.synthesis.merge_parts` merges with the freshly
built ones.

The key (`Inputs.environment_key`) covers, miss on doubt:
- the environment's name and the bytes of its config file;
- every file below `SOURCE_DIRECTORIES` and every file in `SOURCE_FILES` of the source root (path and bytes);
- the Python version, the Node binary (`$JSII_NODE` or `node` on PATH: real path, size, mtime: no process
  is started to ask its version), the versions of `PACKAGES` (from their dist-info directory names, never imported);
- the app context (`stacks.app_context.APP_CONTEXT`), the environment variables in `ENVIRONMENT` and those
  starting with `CDKTF_` (except `CDKTF_OUTDIR`: the output's location is not part of its content);
- the options that change output: the last layer (`--stack`), the bootstrap local-state directory and the
  provider import mode.

This module imports neither the CDK nor the config model: a full hit synthesizes without starting jsii.
Validation is skipped on a full hit only if this exact set of environment files (every name and byte) was
validated by this exact generator before (`validated`): validation is a function of those bytes and of the
source files in the key, so it would pass again.

Entries are written to a temporary directory with `entry.json` (the sha256 of every file) and renamed into
place; a read checks every file against it, so an entry that is corrupted or partially written is deleted and
its environment rebuilt, never merged. At most `KEEP_PER_ENVIRONMENT` entries per environment are kept,
least recently used evicted (a hit touches its entry).
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

from stacks.app_context import APP_CONTEXT
from stacks.layers import LAYERS

# Bump when the entry layout or the key's composition changes.
FORMAT = "1"
SOURCE_FILES = ("main.py", "Pipfile.lock", "cdktf.json")
# Everything the generator imports or reads at synth: the code and the Helm values the data stack reads
# (monitoring/ holds alert and dashboard data read by the observability stack, when present). k8s/ and
# policies/ are not read at synth. Caches and bytecode are skipped.
SOURCE_DIRECTORIES = ("stacks", "constructs_lib", "helm_values", "monitoring")
_SKIPPED_DIRECTORIES = {"__pycache__"}
PACKAGES = (
    "cdktf", "constructs", "jsii", "cdktf-cdktf-provider-google", "cdktf-cdktf-provider-kubernetes",
    "cdktf-cdktf-provider-helm", "typeguard", "pydantic", "PyYAML",
)
ENVIRONMENT = ("JSII_NODE", "JSII_RUNTIME", "NODE_OPTIONS", "PLATFORM_EAGER_PROVIDER_IMPORT")
KEEP_PER_ENVIRONMENT = 8
KEEP_VALIDATED = 32
CACHE_ENV = "PLATFORM_SYNTH_CACHE"


def disabled_by_environment() -> bool:
    return os.environ.get(CACHE_ENV, "").lower() == "off"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def source_digest(source_root: Path) -> str:
    """The generator: its files, the interpreter, Node, the packages, the app context, the environment."""
    digest = hashlib.sha256(FORMAT.encode())
    files = [source_root / name for name in SOURCE_FILES]
    for directory in SOURCE_DIRECTORIES:
        for parent, subdirectories, names in os.walk(source_root / directory):
            subdirectories[:] = sorted(name for name in subdirectories if name not in _SKIPPED_DIRECTORIES)
            files.extend(Path(parent) / name for name in sorted(names) if not name.endswith(".pyc"))
    for path in files:
        relative = path.relative_to(source_root).as_posix()
        content = path.read_bytes() if path.is_file() else b"<missing>"
        digest.update(f"{relative}\0{len(content)}\0".encode() + content)
    versions = {package: _version(package) for package in PACKAGES}
    environment = {
        name: value
        for name, value in sorted(os.environ.items())
        if name in ENVIRONMENT or (name.startswith("CDKTF_") and name != "CDKTF_OUTDIR")
    }
    facts = {
        "python": sys.version,
        "implementation": sys.implementation.cache_tag,
        "node": _node_identity(),
        "packages": versions,
        "app_context": APP_CONTEXT,
        "environment": environment,
    }
    digest.update(json.dumps(facts, sort_keys=True).encode())
    return digest.hexdigest()


def _version(package: str) -> str | None:
    return _installed_versions().get(_normalized(package))


@functools.cache
def _installed_versions() -> dict[str, str]:
    """Distribution → version, from the `<name>-<version>.dist-info` directory names on sys.path: what
    importlib.metadata reads, without importing it (a third of the no-change synth's time)."""
    versions: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            if name.endswith(".dist-info") and "-" in name:
                distribution, _, version = name.removesuffix(".dist-info").partition("-")
                versions.setdefault(_normalized(distribution), version)
    return versions


def _normalized(distribution: str) -> str:
    return re.sub(r"[-_.]+", "_", distribution).lower()


def _node_identity() -> list | None:
    node = os.environ.get("JSII_NODE") or shutil.which("node")
    if node is None:
        return None
    real = os.path.realpath(node)
    stat = os.stat(real)
    return [real, stat.st_size, stat.st_mtime_ns]


@dataclass(frozen=True)
class Options:
    """The options that change what is synthesized."""

    up_to: str
    bootstrap_state_dir: str | None
    eager_provider_import: bool


class SynthCache:
    """`.synth-cache/`: `entries/<env>/<key>/` (a part: manifest.json, stacks/, entry.json) and
    `validated/<digest>` (environment files that passed validation: file → environment name)."""

    def __init__(self, root: Path, source_root: Path) -> None:
        self.root = root
        self.source = source_digest(source_root)

    # ------------------------------------------------------------------ validation records
    def _files_digest(self, files: Mapping[Path, bytes]) -> str:
        digest = hashlib.sha256(self.source.encode())
        for path in sorted(files):
            digest.update(f"{path.name}\0{len(files[path])}\0".encode() + files[path])
        return digest.hexdigest()

    def validated(self, files: Mapping[Path, bytes]) -> dict[Path, str] | None:
        """file → environment name, if exactly these files passed validation with this generator."""
        record = self.root / "validated" / self._files_digest(files)
        try:
            names = json.loads(record.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        by_name = {path.name: path for path in files}
        if not isinstance(names, dict) or set(names) != set(by_name):
            return None
        _touch(record)
        return {by_name[file]: name for file, name in names.items()}

    def record_validated(self, files: Mapping[Path, bytes], names: Mapping[Path, str]) -> None:
        directory = self.root / "validated"
        text = json.dumps({path.name: name for path, name in sorted(names.items())}, sort_keys=True)
        _write_atomically(directory, self._files_digest(files), lambda staging: staging.write_text(text, encoding="utf-8"))
        _evict(directory, KEEP_VALIDATED)

    # ------------------------------------------------------------------ entries
    def environment_key(self, name: str, config: bytes, options: Options) -> str:
        facts = {"source": self.source, "name": name, "config": _sha256(config), "options": vars(options)}
        return _sha256(json.dumps(facts, sort_keys=True).encode())

    def load(self, name: str, key: str) -> dict[str, bytes] | None:
        """The entry's files (relative path → bytes), verified; None (and the entry removed) if it is
        missing, incomplete or corrupted."""
        entry = self.root / "entries" / name / key
        if not entry.is_dir():
            return None
        try:
            index = json.loads((entry / "entry.json").read_text(encoding="utf-8"))
            found = {path.relative_to(entry).as_posix() for path in entry.rglob("*") if path.is_file()} - {"entry.json"}
            if index.get("key") != key or set(index.get("files", {})) != found:
                raise ValueError("entry does not list exactly its files")
            files = {relative: (entry / relative).read_bytes() for relative in sorted(found)}
            if any(_sha256(files[relative]) != index["files"][relative] for relative in files):
                raise ValueError("a file does not match its sha256")
        except (OSError, ValueError, AttributeError, TypeError):
            shutil.rmtree(entry, ignore_errors=True)
            return None
        _touch(entry)
        return files

    def store(self, name: str, key: str, part: Path) -> None:
        """Keep environment `name`'s stacks from `part` (a directory cdktf synthesized into)."""
        manifest = json.loads((part / "manifest.json").read_text(encoding="utf-8"))
        stacks = environment_stacks(name, manifest["stacks"])
        own = {"stacks": {stack: manifest["stacks"][stack] for stack in stacks}, "version": manifest["version"]}

        def write(staging: Path) -> None:
            from stacks.synthesis import stable_json

            staging.mkdir()
            (staging / "stacks").mkdir()
            for stack in stacks:
                shutil.copytree(part / "stacks" / stack, staging / "stacks" / stack)
            (staging / "manifest.json").write_text(stable_json(own), encoding="utf-8")
            files = {
                path.relative_to(staging).as_posix(): _sha256(path.read_bytes())
                for path in sorted(staging.rglob("*"))
                if path.is_file()
            }
            (staging / "entry.json").write_text(json.dumps({"key": key, "files": files}, indent=1), encoding="utf-8")

        directory = self.root / "entries" / name
        _write_atomically(directory, key, write)
        _evict(directory, KEEP_PER_ENVIRONMENT)


def environment_stacks(name: str, stacks: Iterable[str]) -> list[str]:
    """The stacks of environment `name` among `stacks` (names are `<env>-<layer>`; env names may hold '-')."""
    own = {f"{name}-{layer}" for layer in LAYERS}
    return sorted(stack for stack in stacks if stack in own)


def _write_atomically(directory: Path, name: str, write) -> None:
    """`write(path)` creates `path` inside a temporary directory, which is then renamed to `directory/name`."""
    directory.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{name[:16]}.tmp-", dir=directory))
    try:
        write(scratch / name)
        try:
            os.rename(scratch / name, directory / name)
        except OSError:
            if not (directory / name).exists():  # else: another synth stored the same content first
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _touch(path: Path) -> None:
    try:
        os.utime(path)
    except OSError:
        pass


def _evict(directory: Path, keep: int) -> None:
    """Keep the `keep` most recently used entries; also drop temporary directories of killed runs."""
    entries, hour_ago = [], time.time() - 3600
    for path in directory.iterdir():
        try:
            modified = path.stat().st_mtime
        except FileNotFoundError:
            continue
        if path.name.startswith("."):
            if modified < hour_ago:
                shutil.rmtree(path, ignore_errors=True)
        else:
            entries.append((modified, path))
    for _, path in sorted(entries, reverse=True)[keep:]:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
