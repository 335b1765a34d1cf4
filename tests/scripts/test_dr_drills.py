"""DR drills (scripts/dr/): every drill's dry run works for every environment and names only resources the
synthesized stacks contain; the real mode runs steps in order, substitutes captured values, always cleans
up, and compares the time taken with the RTO."""
from __future__ import annotations

import io
import subprocess

import pytest

from scripts.docgen.synthesized import SynthesizedApp
from scripts.dr import DRILLS
from scripts.dr import __main__ as cli
from scripts.dr.drill import Drill, Step, execute, listing
from scripts.dr.objectives import longest_gap_minutes, objectives
from tests.conftest import ENVIRONMENTS

CASES = [(drill, env) for drill in DRILLS for env in ENVIRONMENTS]


@pytest.fixture(scope="session")
def app(synthesized) -> SynthesizedApp:
    return SynthesizedApp.read(synthesized.outdir)


@pytest.mark.parametrize(("drill", "env"), CASES, ids=[f"{d}-{e}" for d, e in CASES])
def test_every_resource_a_drill_names_exists_in_the_synthesized_stacks(app, configs, drill, env):
    built = DRILLS[drill].build(configs[env])
    assert built.refs, f"{drill} names no Terraform resource it could be checked against"
    missing = [ref for ref in built.refs if not app.has(f"{env}-{ref.layer}", ref.type_, ref.attribute, ref.value)]
    assert not missing, f"{drill} ({env}) names resources the synthesized stacks do not have: {missing}"


@pytest.mark.parametrize(("drill", "env"), CASES, ids=[f"{d}-{e}" for d, e in CASES])
def test_dry_run_prints_the_commands_for_the_environment(configs, capsys, drill, env):
    assert cli.main([drill, "--env", env]) == 0
    out = capsys.readouterr().out
    built = DRILLS[drill].build(configs[env])
    assert out == listing(built, objectives(configs[env])[built.scenario].rto_minutes)
    assert configs[env].project_id in out or configs[env].state_bucket in out
    assert out.count("\n# ") >= len(built.steps)


def test_a_renamed_resource_is_not_found(app, configs):
    built = DRILLS["gke-restore"].build(configs[ENVIRONMENTS[0]])
    ref = built.refs[1]
    assert not app.has(f"{ENVIRONMENTS[0]}-{ref.layer}", ref.type_, ref.attribute, ref.value + "-renamed")


def test_bad_option_is_one_clear_message(capsys):
    assert cli.main(["zone-loss", "--env", ENVIRONMENTS[0], "--zone", "mars-1a"]) == 2
    err = capsys.readouterr().err
    assert "--zone 'mars-1a'" in err and "zones" in err


def test_unknown_environment_is_refused(capsys):
    assert cli.main(["zone-loss", "--env", "nowhere"]) == 2
    assert "no config/nowhere.yaml" in capsys.readouterr().err


def test_execute_refuses_without_the_typed_environment(monkeypatch, capsys):
    monkeypatch.setattr("builtins.input", lambda prompt: "no")
    assert cli.main(["zone-loss", "--env", ENVIRONMENTS[0], "--execute"]) == 2
    assert "nothing was run" in capsys.readouterr().err


class FakeRunner:
    def __init__(self, failing: str | None = None, output: str = "value-1"):
        self.calls: list[list[str]] = []
        self.failing, self.output = failing, output

    def __call__(self, argv, **kwargs):
        self.calls.append(argv)
        code = 1 if self.failing and self.failing in " ".join(argv) else 0
        return subprocess.CompletedProcess(argv, code, stdout=self.output)


DRILL = Drill(
    name="sample", title="sample", env="dev", scenario="zone-loss", files={"f.txt": "x"},
    steps=(
        Step(title="capture", argv=("first",), capture="VALUE"),
        Step(title="use", argv=("second", "{VALUE}", "{FILE_F_TXT}")),
        Step(title="clean", argv=("cleanup",), cleanup=True),
        Step(title="third", script="third {VALUE} | cat"),
    ),
)


def test_execute_substitutes_captured_values_and_files_and_runs_cleanup_last():
    runner = FakeRunner()
    assert execute(DRILL, 10, out=io.StringIO(), run=runner) == 0
    assert [call[0] for call in runner.calls] == ["first", "second", "bash", "cleanup"]
    assert runner.calls[1][1] == "value-1" and runner.calls[1][2].endswith("f.txt")
    assert runner.calls[2] == ["bash", "-c", "third value-1 | cat"]


def test_a_failed_step_stops_the_drill_but_not_its_cleanup():
    runner = FakeRunner(failing="second")
    out = io.StringIO()
    assert execute(DRILL, 10, out=out, run=runner) == 1
    assert [call[0] for call in runner.calls] == ["first", "second", "cleanup"]
    assert "FAILED" in out.getvalue()


def test_exceeding_the_rto_is_reported(monkeypatch):
    clock = iter(range(0, 10_000, 400))
    monkeypatch.setattr("scripts.dr.drill.time.monotonic", lambda: next(clock))
    out = io.StringIO()
    assert execute(DRILL, 10, out=out, run=FakeRunner()) == 3
    assert "EXCEEDED" in out.getvalue()


def test_listing_shows_captures_as_shell_variables():
    text = listing(DRILL, 10)
    assert 'VALUE="$(first)"' in text and 'second "${VALUE}" "${FILE_F_TXT}"' in text and "RTO 10 min" in text


@pytest.mark.parametrize(("cron", "minutes"), [("0 3 * * *", 1440), ("0 */6 * * *", 360), ("30 2 * * 0", 10080), ("*/15 * * * *", 15)])
def test_backup_interval_from_cron(cron, minutes):
    assert longest_gap_minutes(cron) == minutes


def test_every_drill_scenario_has_an_objective(configs):
    for env in configs.values():
        for module in DRILLS.values():
            assert module.build(env).scenario in objectives(env)
