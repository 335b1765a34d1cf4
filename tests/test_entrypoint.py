"""`python main.py` and `cdktf synth` are the same program."""
from __future__ import annotations

import json
import shlex

import main
from tests.conftest import REPO_ROOT


def test_cdktf_json_runs_main_through_the_project_environment():
    settings = json.loads((REPO_ROOT / "cdktf.json").read_text())
    command = shlex.split(settings["app"])
    assert command == [".venv/bin/python", "main.py"]
    assert settings["language"] == "python" and settings["output"] == "cdktf.out"
    # Prebuilt bindings pin required_providers; listing providers would make `cdktf get` generate bindings.
    assert settings.get("terraformProviders", []) == [] and settings.get("terraformModules", []) == []


def test_app_context_matches_cdktf_json():
    from stacks.app import APP_CONTEXT

    assert json.loads((REPO_ROOT / "cdktf.json").read_text())["context"] == APP_CONTEXT


def test_cdktf_outdir_is_honoured_and_a_stack_subset_synthesizes_with_its_dependencies(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CDKTF_OUTDIR", str(tmp_path / "from-cli"))
    assert main.main(["--stack", "staging-network"]) == 0
    stacks = sorted(p.name for p in (tmp_path / "from-cli" / "stacks").iterdir())
    assert stacks == ["staging-bootstrap", "staging-network"]
    assert (tmp_path / "from-cli" / "manifest.json").is_file()
    out = capsys.readouterr().out
    assert "staging-network" in out and "2 stacks" in out
