"""Environment drift is reviewable: every field whose value differs between dev, staging and prod must be
listed, with its reason, in config/_differences.yaml — and every listed field must really differ."""
from __future__ import annotations

import yaml

from tests.conftest import REPO_ROOT

DIFFERENCES_FILE = REPO_ROOT / "config" / "_differences.yaml"
# Fields that identify an environment; they differ by definition.
IDENTITY_FIELDS = {"name", "prefix", "project_id", "domain", "state_bucket", "dns.private_domain"}


def flatten(value, path=""):
    if isinstance(value, dict):
        items = {}
        for key, item in value.items():
            items.update(flatten(item, f"{path}.{key}" if path else str(key)))
        return items
    return {path: value}


def differing_fields(configs) -> set[str]:
    flat = [flatten(config.model_dump(mode="json")) for config in configs.values()]
    keys = set().union(*flat)
    return {key for key in keys if len({repr(f.get(key)) for f in flat}) > 1}


def allow_list() -> dict[str, str]:
    return yaml.safe_load(DIFFERENCES_FILE.read_text(encoding="utf-8"))["differences"]


def test_every_difference_between_environments_is_reviewed(configs):
    unreviewed = differing_fields(configs) - set(allow_list()) - IDENTITY_FIELDS
    assert not unreviewed, f"add these to config/_differences.yaml with a reason: {sorted(unreviewed)}"


def test_every_reviewed_difference_still_exists(configs):
    stale = set(allow_list()) - differing_fields(configs)
    assert not stale, f"no longer differ, remove from config/_differences.yaml: {sorted(stale)}"


def test_every_reviewed_difference_has_a_reason():
    for field, reason in allow_list().items():
        assert isinstance(reason, str) and len(reason.split()) >= 5, f"{field}: give a reason"
