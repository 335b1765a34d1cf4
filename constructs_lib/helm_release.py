"""A pinned Helm chart release whose values come from files in the repository (`helm_values/<chart>/`)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from constructs_lib.cdk import Construct, helm

_RELEASE_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,51}[a-z0-9])?$")
_EXACT_VERSION = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+$")


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
            atomic=props.atomic,
            cleanup_on_fail=True,
            wait=True,
            timeout=props.timeout_seconds,
            max_history=props.max_history,
        )
