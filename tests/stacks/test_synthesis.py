"""The output directory is replaced only by a complete synth."""
from pathlib import Path

import pytest

from stacks.synthesis import atomic_directory


def test_successful_run_replaces_the_previous_output(tmp_path):
    target = tmp_path / "cdktf.out"
    (target / "stacks" / "old").mkdir(parents=True)
    with atomic_directory(target) as staging:
        (staging / "stacks" / "new").mkdir(parents=True)
    assert [p.name for p in (target / "stacks").iterdir()] == ["new"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cdktf.out"]


def test_failed_run_keeps_the_previous_output_and_cleans_up(tmp_path):
    target = tmp_path / "cdktf.out"
    (target / "stacks" / "old").mkdir(parents=True)
    with pytest.raises(RuntimeError):
        with atomic_directory(target) as staging:
            (staging / "half-written").write_text("{")
            raise RuntimeError("synth failed")
    assert [p.name for p in (target / "stacks").iterdir()] == ["old"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cdktf.out"]


def test_first_run_creates_the_directory(tmp_path):
    target = tmp_path / "nested" / "cdktf.out"
    with atomic_directory(target) as staging:
        (staging / "manifest.json").write_text("{}")
    assert (target / "manifest.json").read_text() == "{}"
