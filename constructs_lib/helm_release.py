"""A pinned Helm chart release whose values come from files in the repository (`helm_values/<chart>/`)."""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import yaml

from constructs_lib.cdk import Construct, helm

_RELEASE_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,51}[a-z0-9])?$")
_EXACT_VERSION = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+$")
_SET_SEGMENT = re.compile(r"^((?:[^.\[\]\\]|\\.)+)((?:\[[0-9]+\])*)$")
_TOKEN = re.compile(r"\$\{[^}]*\}")


def load_values(path: Path, where: str) -> dict:
    """One values file as a mapping; an empty file is an empty mapping."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"{where}: cannot read values file {path} ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise ValueError(f"{where}: values file {path} is not valid YAML ({exc})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"{where}: values file {path} must hold a mapping, got {type(data).__name__}")
    return data


def set_path(name: str) -> tuple[str | int, ...]:
    """A Helm `--set` key as a path: `a.b\\.c[1].d` → ('a', 'b.c', 1, 'd'). Dots split keys unless escaped
    (annotation keys such as `iam.gke.io/gcp-service-account`); `[n]` indexes a list."""
    segments: list[str] = []
    current = ""
    escaped = False
    for char in name:
        if escaped:
            current += "\\" + char
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ".":
            segments.append(current)
            current = ""
        else:
            current += char
    if escaped:
        raise ValueError(f"set key {name!r} ends with a lone backslash")
    segments.append(current)
    path: list[str | int] = []
    for segment in segments:
        match = _SET_SEGMENT.match(segment)
        if not match or "," in segment or "=" in segment:
            raise ValueError(
                f"set key {name!r}: segment {segment!r} is not a key with optional [index] suffixes (no ',' or '=')"
            )
        path.append(re.sub(r"\\(.)", r"\1", match.group(1)))
        path.extend(int(index) for index in re.findall(r"\[([0-9]+)\]", match.group(2)))
    return tuple(path)


def merge_values(documents: list[dict]) -> dict:
    """Values files merged as Helm merges them: maps key by key, anything else replaced by the later file."""
    merged: dict = {}
    for document in documents:
        merged = _merge(merged, document)
    return merged


def _merge(base, override):
    if isinstance(base, dict) and isinstance(override, dict):
        result = dict(base)
        for key, value in override.items():
            result[key] = _merge(base[key], value) if key in base else copy.deepcopy(value)
        return result
    return copy.deepcopy(override)


def apply_set_values(values: dict, set_values: Mapping[str, str]) -> dict:
    """`values` with each `set` entry written in (as `helm --set-string` does, over the merged files). An
    index must name an element the files already hold: a reordered list then fails here instead of writing
    a value into the wrong container."""
    result = copy.deepcopy(values)
    for name, value in sorted(set_values.items()):
        path = set_path(name)
        node = result
        for depth, key in enumerate(path):
            last = depth == len(path) - 1
            where = ".".join(str(part) for part in path[:depth]) or "(top level)"
            if isinstance(key, int):
                if not isinstance(node, list) or key >= len(node):
                    size = f"a list of {len(node)}" if isinstance(node, list) else type(node).__name__
                    raise ValueError(f"set key {name!r}: index [{key}] under {where} needs an existing element; the values files hold {size}")
            elif not isinstance(node, dict):
                raise ValueError(f"set key {name!r}: {where} is a {type(node).__name__} in the values files, not a mapping")
            if last:
                node[key] = value
            else:
                if isinstance(node, dict) and node.get(key) is None:
                    node[key] = {}
                node = node[key]
    return result


@dataclass(frozen=True, kw_only=True)
class HelmReleaseProps:
    name: str
    chart: str
    repository: str
    """https URL of the chart repository."""
    version: str
    """Exact chart version (x.y.z): a range would let an apply pick up an unreviewed chart."""
    namespace: str
    values_files: tuple[Path, ...]
    """Applied in order, later files override earlier ones (base first, then the environment's)."""
    set_values: Mapping[str, str] = field(default_factory=dict)
    """Helm `set` entries (key → string value) written over the merged files: Terraform tokens (IPs,
    connection names) and names derived per environment (service-account emails, mirror paths), which a
    reviewed values file must not restate. Sorted by key in the output. Default: none."""
    create_namespace: bool = False
    """Default: off; the data layer creates every platform namespace with its guard rails
    (stacks/namespaces.py), and the release depends on it."""
    timeout_seconds: int = 600
    """How long Helm waits for the release to become ready. Default: 600."""
    atomic: bool = True
    """A failed install or upgrade is rolled back, never left half-applied. Default: on."""
    max_history: int = 10
    """Release revisions kept for `helm rollback`. Default: 10."""


class HelmRelease(Construct):
    def __init__(self, scope: Construct, id: str, props: HelmReleaseProps) -> None:
        super().__init__(scope, id)
        where = f"HelmRelease {props.name}"
        if not _RELEASE_NAME.match(props.name):
            raise ValueError(f"{where}: name must be 1-53 lower-case letters, digits or '-'")
        if not _EXACT_VERSION.match(props.version):
            raise ValueError(f"{where}: version {props.version!r} must be an exact chart version such as 2.20.2")
        if not props.repository.startswith("https://"):
            raise ValueError(f"{where}: repository {props.repository!r} must be an https URL")
        if not props.values_files:
            raise ValueError(f"{where}: values_files is empty; keep at least the reviewed base values file")
        # Parsed and re-dumped: comments stay in the repository, and a comment-only edit is no Helm upgrade.
        self.values = [load_values(path, where) for path in props.values_files]
        for name, value in props.set_values.items():
            if not isinstance(value, str):
                raise ValueError(f"{where}: set value of {name!r} must be a string, got {type(value).__name__}")
            if "," in _TOKEN.sub("", value):
                raise ValueError(f"{where}: set value of {name!r} contains ',', which Helm would split into two entries")
        try:
            apply_set_values(merge_values(self.values), props.set_values)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        self.release = helm.release.Release(
            self,
            "release",
            name=props.name,
            chart=props.chart,
            repository=props.repository,
            version=props.version,
            namespace=props.namespace,
            create_namespace=props.create_namespace,
            values=[yaml.safe_dump(values, sort_keys=True) for values in self.values],
            set=[
                helm.release.ReleaseSet(name=name, value=props.set_values[name], type="string")
                for name in sorted(props.set_values)
            ]
            or None,
            atomic=props.atomic,
            cleanup_on_fail=True,
            wait=True,
            timeout=props.timeout_seconds,
            max_history=props.max_history,
        )
