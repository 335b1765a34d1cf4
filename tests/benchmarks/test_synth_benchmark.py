"""The benchmark keeps working: one tiny iteration of every part of `make bench` (benchmarks/synth.py), and
its pieces. Nothing here asserts a time: the figures come from `make bench` (docs/performance.md)."""
from __future__ import annotations

import ipaddress
import itertools
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import synth
from benchmarks.environments import MAX_ENVIRONMENTS, app_config_module, generate_environments, network
from benchmarks.snapshot import copy_checkout
from constructs_lib import provider_loader

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_one_tiny_iteration_of_every_part_runs_and_reports_every_figure(tmp_path):
    """One environment, one run of each case: probes, full synth, incremental (the examples and a generated
    set), scaling; the JSON report has every figure docs/performance.md quotes."""
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    shutil.copy(REPO_ROOT / "config" / "dev.yaml", config_dir)
    report_file = tmp_path / "report.json"
    env = {key: value for key, value in provider_loader.child_environment().items() if not key.startswith("PLATFORM_SYNTH")}
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "benchmarks" / "synth.py"), "--config-dir", str(config_dir),
         "--variants", "fast", "--runs", "1", "--warmup", "0", "--incremental-runs", "1",
         "--large", "2", "--large-runs", "1", "--envs", "2", "--scaling-runs", "1", "--json", str(report_file)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(report_file.read_text(encoding="utf-8"))

    probes = report["probes"]["probes"]
    assert set(probes) == {"fast", "fast, one environment"}
    assert probes["fast, one environment"]["environments"] == ["dev"]
    assert any(kernel["role"] == "kernel" and kernel["lazy_index_hook"] for kernel in probes["fast"]["kernels"])
    assert probes["fast"]["packages"]["cdktf_cdktf_provider_google"]["bare"]
    assert report["probes"]["bare_app_s"] > 0

    fast = report["variants"]["summary"]["fast"]
    assert fast["stacks"] == 6 and fast["resources"] > 0 and fast["median_tree_peak_bound"] > 0

    examples, generated = report["incremental"]["examples"], report["incremental"]["2 generated"]
    assert examples["environments"] == 1 and examples["changed_environment"] == "dev"
    assert generated["environments"] == 2 and generated["cases"]["cold cache"]["stacks"] == 12
    for found in (examples, generated):
        assert set(found["cases"]) == set(synth.INCREMENTAL_CASES)
        assert all(case["median_wall_s"] > 0 for case in found["cases"].values())

    for series in synth.SCALING_SERIES:
        assert set(report["scaling"][series]["median_wall_s"]) == {"2"}
    assert set(report["checks"]) >= {
        "examples: no-change synth <= 1.0 s", "examples: one changed environment <= 45% of a full synth",
        "2 generated: one changed <= 2 x one changed in examples", "per-environment cost <= 0.2 s",
    }
    for heading in ("Where the time goes", "Incremental synthesis, examples", "Incremental synthesis, 2 generated", "Scaling, as shipped"):
        assert heading in result.stdout


@pytest.mark.parametrize("argv, message", [
    (["--variants", "naive"], "--variants: expected fast or fast,naive"),
    (["--runs", "0"], "run counts must be at least 1"),
    (["--envs", "3,x"], "--envs: expected comma-separated numbers"),
])
def test_bad_options_are_refused_with_the_option_named(argv, message, capsys):
    with pytest.raises(SystemExit) as exited:
        synth.parse_args(argv)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_the_summary_line_is_read_with_its_notes():
    line = "30 stacks, 900 resources in 3.21s (2 processes; reused: dev, prod-eu; built: staging)"
    assert synth.parse_summary(f"dev-bootstrap  64 resources  x\n{line}\n") == (30, 900, 2, ["dev", "prod-eu"], ["staging"])
    assert synth.parse_summary("18 stacks, 539 resources in 2.60s\n") == (18, 539, 1, [], [])
    assert synth.parse_summary("error: invalid configuration\n") is None


def test_slope_is_the_least_squares_fit():
    assert synth.slope([(3, 2.0), (6, 3.5), (12, 6.5)]) == pytest.approx(0.5)


def test_the_large_set_validates_with_disjoint_ranges_and_its_own_values_files(tmp_path):
    app = copy_checkout(REPO_ROOT, tmp_path / "app")
    target = generate_environments(app, app / "config", 48, tmp_path / "envs")
    configs = app_config_module(app).load_configs(target)
    assert len({config.name for config in configs}) == 48
    ranges = [ipaddress.IPv4Network(cidr) for index in range(48) for cidr in _cidrs(network(index))]
    assert not [pair for pair in itertools.combinations(ranges, 2) if pair[0].overlaps(pair[1])]
    templates = {path.stem.removeprefix("values-") for path in (app / "helm_values").rglob("values-*.yaml")}
    assert {config.name for config in configs} <= templates, "each generated environment has its per-environment values"
    with pytest.raises(SystemExit, match=f"at most {MAX_ENVIRONMENTS}"):
        network(MAX_ENVIRONMENTS)


def _cidrs(ranges: dict) -> list[str]:
    return [value for item in ranges.values() for value in (item.values() if isinstance(item, dict) else [item])]


def test_the_snapshot_leaves_out_caches_and_earlier_output(tmp_path):
    source = tmp_path / "checkout"
    for relative in ("main.py", "stacks/app.py", ".synth-cache/entries/dev/x", "cdktf.out/manifest.json",
                     "stacks/__pycache__/app.cpython-311.pyc", ".git/HEAD", ".bootstrap-state/dev-bootstrap.tfstate"):
        (source / relative).parent.mkdir(parents=True, exist_ok=True)
        (source / relative).write_text("x", encoding="utf-8")
    copied = copy_checkout(source, tmp_path / "copy")
    assert sorted(path.relative_to(copied).as_posix() for path in copied.rglob("*") if path.is_file()) == [
        "main.py", "stacks/app.py",
    ]
