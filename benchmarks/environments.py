"""Generated environment sets for the benchmark: N valid environments derived from the examples in config/."""
from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

# Each generated environment gets a /14 of 10.0.0.0/8 and a /28 of 172.16.0.0/16 for its control plane.
MAX_ENVIRONMENTS = 64


def network(index: int) -> dict:
    """Ranges of generated environment `index`, disjoint from every other one's (not required by validation,
    which checks one environment at a time, but what one organisation's environments would have)."""
    if not 0 <= index < MAX_ENVIRONMENTS:
        raise SystemExit(f"at most {MAX_ENVIRONMENTS} generated environments are supported")
    base = 4 * index
    return {
        "private": {"cidr": f"10.{base}.0.0/20", "pods_cidr": f"10.{base + 2}.0.0/15", "services_cidr": f"10.{base}.32.0/20"},
        "public": {"cidr": f"10.{base}.16.0/22"},
        "management": {"cidr": f"10.{base}.20.0/24"},
        "psa_cidr": f"10.{base + 1}.0.0/16",
        "control_plane_cidr": f"172.16.{index}.0/28",
    }


def app_config_module(app: Path):
    """The app's own `stacks.config` (from the snapshot): the generator derives from, and validates with, it."""
    if str(app) not in sys.path:
        sys.path.insert(0, str(app))
    import stacks.config

    return stacks.config


def replicate_environment_files(app: Path, template: str, name: str) -> list[Path]:
    """Per-environment data files of the snapshot (outside config/), e.g. `helm_values/keda/values-dev.yaml`,
    copied for a generated environment (`values-dev01.yaml`): a file qualifies when its name without
    extension is `<template>` or ends with `-<template>`/`_<template>`. Code (*.py) is never copied."""
    pattern = re.compile(rf"^(?:(.*[-_]))?{re.escape(template)}$")
    created = []
    for path in sorted(app.rglob("*")):
        relative = path.relative_to(app)
        if not path.is_file() or path.suffix == ".py" or relative.parts[0] in ("config", "tests", "docs", "benchmarks"):
            continue
        match = pattern.match(path.name[: -len("".join(path.suffixes))] if path.suffixes else path.name)
        if match:
            copy = path.with_name(f"{match.group(1) or ''}{name}{''.join(path.suffixes)}")
            if not copy.exists():
                shutil.copyfile(path, copy)
                created.append(copy)
    return created


def generate_environments(app: Path, config_dir: Path, count: int, target: Path) -> Path:
    """`count` valid environment files in `target`, derived from the environments in `config_dir`, cycling
    through them.

    Each copy gets its own name, prefix, project, state bucket, domains and network ranges; everything else
    is the example's. The files are validated with the app's loader before they are used.
    """
    import yaml

    config = app_config_module(app)
    templates = [env.model_dump(mode="json", exclude_unset=True) for env in config.load_configs(config_dir)]
    target.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        data = json.loads(json.dumps(templates[index % len(templates)]))  # deep copy
        suffix = f"{index + 1:02d}"
        base = data["name"]
        name = f"{base[:12]}{suffix}"
        project = f"bench-{base[:8]}-{suffix}"
        data.update(
            name=name,
            prefix=f"b{suffix}-{base[:4]}",
            project_id=project,
            state_bucket=f"{project}-tfstate",
            domain=f"{name}.example.com",
        )
        if isinstance(data.get("dns"), dict) and "private_domain" in data["dns"]:
            data["dns"]["private_domain"] = f"{name}.internal.example.com"
        for key, value in network(index).items():
            if isinstance(value, dict):
                data["network"].setdefault(key, {}).update(value)
            else:
                data["network"][key] = value
        (target / f"{name}.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        replicate_environment_files(app, base, name)
    try:
        generated = config.load_configs(target)
    except config.ConfigError as exc:
        raise SystemExit(f"generated environments in {target} do not validate:\n{exc}")
    if len(generated) != count:
        raise SystemExit(f"expected {count} generated environments in {target}, found {len(generated)}")
    return target
