import importlib.util

from tests.conftest import REPO_ROOT

spec = importlib.util.spec_from_file_location("config_reference", REPO_ROOT / "scripts" / "config_reference.py")
config_reference = importlib.util.module_from_spec(spec)
spec.loader.exec_module(config_reference)


def test_configuration_reference_is_up_to_date():
    committed = (REPO_ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert committed == config_reference.render(), "run `.venv/bin/python scripts/config_reference.py`"


def test_every_field_is_documented():
    undocumented = [line.split("|")[1].strip() for line in config_reference.rows(config_reference.EnvironmentConfig) if line.rstrip().endswith("|  |")]
    assert not undocumented, f"give these fields a description in stacks/config.py: {undocumented}"
