"""Incremental synthesis: an environment is rebuilt exactly when one of its inputs changed, a cached one is
byte-identical to a fresh one, and a damaged cache entry is rebuilt, never merged.

The cache key's source root is a temporary copy of the generator (`app`), which the tests edit. Most tests
replace the jsii synth with `fake_synth` (its output follows the config and the options): what they check
is which environments are rebuilt. `test_a_full_hit_...` runs the real synth.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import main
from constructs_lib import provider_loader
from stacks import synth_cache, synthesis
from tests.conftest import REPO_ROOT
from tests.test_entrypoint import fake_synth, tree

ENVIRONMENTS = {"dev", "prod", "staging"}
GENERATOR = ("main.py", "stacks", "constructs_lib", "helm_values", "monitoring", "config", "Pipfile.lock", "cdktf.json")
SUMMARY = re.compile(r"^\d+ stacks, \d+ resources in [0-9.]+s(?: \((?P<notes>[^)]*)\))?$", re.M)


def copy_generator(destination: Path) -> Path:
    destination.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in GENERATOR:
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, destination / name, ignore=ignore)
        elif source.is_file():
            shutil.copy2(source, destination / name)
    return destination


@pytest.fixture
def app(tmp_path, monkeypatch):
    """A copy of the generator as the cache key's source root, with its own cache; stand-in synth."""
    root = copy_generator(tmp_path / "app")
    monkeypatch.setattr(main, "ROOT", root)
    monkeypatch.setattr(main, "CACHE_DIR", root / ".synth-cache")
    monkeypatch.setattr(synthesis, "_synth_here", fake_synth)
    monkeypatch.delenv(synth_cache.CACHE_ENV, raising=False)
    return root


def synth(app: Path, outdir: str, *args: str, capsys) -> dict[str, set[str]]:
    """Run main.main(); the environments it reused and built, from its summary line."""
    code = main.main(["--config-dir", str(app / "config"), "--outdir", str(app / outdir), *args])
    out, err = capsys.readouterr()
    assert code == 0, err
    notes = SUMMARY.search(out).group("notes") or ""
    found = {"reused": set(), "built": set()}
    for note in notes.split("; "):
        what, _, names = note.partition(": ")
        if what in found:
            found[what] = set(names.split(", "))
    return found


def fresh_tree(app: Path, *args: str, capsys) -> dict[str, bytes]:
    assert synth(app, "fresh.out", "--no-cache", *args, capsys=capsys) == {"reused": set(), "built": set()}
    return tree(app / "fresh.out")


def warm(app: Path, *args: str, capsys) -> None:
    assert synth(app, "cdktf.out", *args, capsys=capsys) == {"reused": set(), "built": ENVIRONMENTS}
    assert synth(app, "cdktf.out", *args, capsys=capsys) == {"reused": ENVIRONMENTS, "built": set()}


def test_unchanged_inputs_reuse_every_environment_and_write_what_a_fresh_synth_writes(app, capsys):
    warm(app, capsys=capsys)
    assert tree(app / "cdktf.out") == fresh_tree(app, capsys=capsys)


def _append(relative: str, text: str = "\n# edited\n"):
    def edit(app: Path) -> None:
        with (app / relative).open("a", encoding="utf-8") as file:
            file.write(text)

    return edit


def _replace(relative: str, old: str, new: str):
    def edit(app: Path) -> None:
        path = app / relative
        path.write_text(path.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")

    return edit


@pytest.mark.parametrize(
    "edit, rebuilt",
    [
        pytest.param(_replace("config/dev.yaml", "prefix: acme-dev\n", "prefix: acme-dev2\n"), {"dev"}, id="environment config"),
        pytest.param(_append("config/prod.yaml"), {"prod"}, id="environment config, comment only"),
        pytest.param(_append("constructs_lib/vpc.py"), ENVIRONMENTS, id="construct module"),
        pytest.param(_append("stacks/network.py"), ENVIRONMENTS, id="stack module"),
        # Which environment reads which values file is the stack's choice, so every values file is shared.
        pytest.param(_append("helm_values/keda/values-dev.yaml"), ENVIRONMENTS, id="helm values file"),
        pytest.param(_append("Pipfile.lock", " "), ENVIRONMENTS, id="lock file"),
        pytest.param(_append("stacks/app_context.py"), ENVIRONMENTS, id="app context module"),
        pytest.param(_append("main.py"), ENVIRONMENTS, id="entry point"),
    ],
)
def test_an_edited_input_rebuilds_exactly_the_environments_it_affects(app, capsys, edit, rebuilt):
    warm(app, capsys=capsys)
    edit(app)
    assert synth(app, "cdktf.out", capsys=capsys) == {"reused": ENVIRONMENTS - rebuilt, "built": rebuilt}
    assert tree(app / "cdktf.out") == fresh_tree(app, capsys=capsys)  # never the stale output
    assert synth(app, "cdktf.out", capsys=capsys) == {"reused": ENVIRONMENTS, "built": set()}


def test_the_app_context_and_the_package_versions_are_part_of_the_key(app, capsys, monkeypatch):
    warm(app, capsys=capsys)
    monkeypatch.setattr(synth_cache, "APP_CONTEXT", {**synth_cache.APP_CONTEXT, "excludeStackIdFromLogicalIds": "false"})
    assert synth(app, "cdktf.out", capsys=capsys)["built"] == ENVIRONMENTS
    real_version = synth_cache._version
    monkeypatch.setattr(synth_cache, "_version", lambda package: "0.0.1" if package == "cdktf" else real_version(package))
    assert synth(app, "cdktf.out", capsys=capsys)["built"] == ENVIRONMENTS


@pytest.mark.parametrize(
    "args, environ, rebuilt",
    [
        pytest.param(["--bootstrap-local-state"], {}, ENVIRONMENTS, id="--bootstrap-local-state"),
        pytest.param(["--stack", "dev-network"], {}, {"dev"}, id="--stack"),
        pytest.param([], {"PLATFORM_EAGER_PROVIDER_IMPORT": "1"}, ENVIRONMENTS, id="eager provider import"),
    ],
)
def test_an_option_that_changes_output_is_part_of_the_key(app, capsys, monkeypatch, args, environ, rebuilt):
    warm(app, capsys=capsys)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert synth(app, "cdktf.out", *args, capsys=capsys) == {"reused": set(), "built": rebuilt}
    assert tree(app / "cdktf.out") == fresh_tree(app, *args, capsys=capsys)
    assert synth(app, "cdktf.out", *args, capsys=capsys) == {"reused": rebuilt, "built": set()}


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda monkeypatch: monkeypatch.setattr(sys, "version", sys.version + " (another build)"), id="python version"),
        pytest.param(
            lambda monkeypatch: monkeypatch.setattr(synth_cache, "_node_identity", lambda: ["/opt/node-22/bin/node", 1, 2]),
            id="node binary",
        ),
        pytest.param(lambda monkeypatch: monkeypatch.setenv("NODE_OPTIONS", "--max-semi-space-size=64"), id="NODE_OPTIONS"),
        pytest.param(lambda monkeypatch: monkeypatch.setenv("JSII_RUNTIME", "/opt/jsii-runtime.js"), id="JSII_RUNTIME"),
        pytest.param(lambda monkeypatch: monkeypatch.setenv("CDKTF_LOG_LEVEL", "debug"), id="a CDKTF_ variable"),
    ],
)
def test_the_interpreter_node_and_the_variables_read_by_jsii_and_cdktf_are_part_of_the_key(app, capsys, monkeypatch, change):
    warm(app, capsys=capsys)
    change(monkeypatch)
    assert synth(app, "cdktf.out", capsys=capsys) == {"reused": set(), "built": ENVIRONMENTS}
    assert synth(app, "cdktf.out", capsys=capsys) == {"reused": ENVIRONMENTS, "built": set()}


def test_where_the_output_goes_is_not_part_of_the_key(app, capsys, monkeypatch):
    warm(app, capsys=capsys)
    monkeypatch.setenv("CDKTF_OUTDIR", str(app / "elsewhere"))
    assert synth(app, "other.out", capsys=capsys) == {"reused": ENVIRONMENTS, "built": set()}


def test_a_failed_rebuild_beside_reused_environments_leaves_the_output_and_the_cache_as_they_were(app, capsys, monkeypatch):
    """Atomic swap and error handling apply unchanged when part of the output comes from the cache."""
    warm(app, capsys=capsys)
    before, entries = tree(app / "cdktf.out"), tree(app / ".synth-cache" / "entries")
    _append("config/dev.yaml")(app)

    def failing(configs, outdir, *args):
        raise OSError(28, "No space left on device", str(outdir / "stacks" / "dev-bootstrap" / "cdk.tf.json"))

    monkeypatch.setattr(synthesis, "_synth_here", failing)
    assert main.main(["--config-dir", str(app / "config"), "--outdir", str(app / "cdktf.out")]) == 1
    err = capsys.readouterr().err
    assert "No space left on device" in err and err.endswith(f"{app / 'cdktf.out'} is unchanged\n")
    assert tree(app / "cdktf.out") == before
    assert tree(app / ".synth-cache" / "entries") == entries
    monkeypatch.setattr(synthesis, "_synth_here", fake_synth)
    assert synth(app, "cdktf.out", capsys=capsys) == {"reused": {"prod", "staging"}, "built": {"dev"}}


def _entry(app: Path, env: str) -> Path:
    (entry,) = (app / ".synth-cache" / "entries" / env).iterdir()
    return entry


def _stack_file(entry: Path) -> Path:
    return next(entry.glob("stacks/*/cdk.tf.json"))


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda entry: _stack_file(entry).write_text('{"tampered": true}'), id="changed stack file"),
        pytest.param(lambda entry: _stack_file(entry).write_bytes(_stack_file(entry).read_bytes()[:10]), id="truncated stack file"),
        pytest.param(lambda entry: _stack_file(entry).unlink(), id="missing stack file"),
        pytest.param(lambda entry: (entry / "stacks" / "extra.json").write_text("{}"), id="extra file"),
        pytest.param(lambda entry: (entry / "entry.json").unlink(), id="no index (partially written)"),
        pytest.param(lambda entry: (entry / "entry.json").write_text('{"files": '), id="truncated index"),
    ],
)
def test_a_damaged_entry_is_rebuilt_never_merged(app, capsys, damage):
    warm(app, capsys=capsys)
    damage(_entry(app, "staging"))
    assert synth(app, "cdktf.out", capsys=capsys) == {"reused": {"dev", "prod"}, "built": {"staging"}}
    assert tree(app / "cdktf.out") == fresh_tree(app, capsys=capsys)
    assert synth(app, "cdktf.out", capsys=capsys) == {"reused": ENVIRONMENTS, "built": set()}


@pytest.mark.parametrize("disable", [["--no-cache"], {"PLATFORM_SYNTH_CACHE": "off"}], ids=["--no-cache", "PLATFORM_SYNTH_CACHE=off"])
def test_the_cache_can_be_turned_off(app, capsys, monkeypatch, disable):
    args = disable if isinstance(disable, list) else []
    if isinstance(disable, dict):
        for name, value in disable.items():
            monkeypatch.setenv(name, value)
    assert synth(app, "cdktf.out", *args, capsys=capsys) == {"reused": set(), "built": set()}
    assert not (app / ".synth-cache").exists()


def test_old_entries_are_evicted_least_recently_used_first(app, capsys, monkeypatch):
    monkeypatch.setattr(synth_cache, "KEEP_PER_ENVIRONMENT", 2)
    dev = app / "config" / "dev.yaml"
    original = dev.read_text()
    for prefix in ("acme-dev", "acme-dev1", "acme-dev2"):
        dev.write_text(original.replace("prefix: acme-dev\n", f"prefix: {prefix}\n"))
        assert synth(app, "cdktf.out", "--env", "dev", capsys=capsys)["built"] == {"dev"}
    assert len(list((app / ".synth-cache" / "entries" / "dev").iterdir())) == 2
    dev.write_text(original.replace("prefix: acme-dev\n", "prefix: acme-dev1\n"))
    assert synth(app, "cdktf.out", "--env", "dev", capsys=capsys)["reused"] == {"dev"}
    dev.write_text(original)  # the least recently used one was evicted
    assert synth(app, "cdktf.out", "--env", "dev", capsys=capsys)["built"] == {"dev"}


def test_a_hit_skips_validation_only_for_the_exact_set_of_files_validated_before(app, capsys):
    warm(app, capsys=capsys)
    clash = (app / "config" / "dev.yaml").read_text().replace("name: dev\n", "name: qa\n")
    (app / "config" / "qa.yaml").write_text(clash)  # same prefix and state bucket as dev
    before = tree(app / "cdktf.out")
    assert main.main(["--config-dir", str(app / "config"), "--outdir", str(app / "cdktf.out"), "--env", "dev"]) == 2
    assert "prefix: 'acme-dev' is already used by" in capsys.readouterr().err
    assert tree(app / "cdktf.out") == before


def test_a_cache_that_cannot_be_written_only_warns(app, capsys, monkeypatch):
    def full(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(synth_cache.SynthCache, "store", full)
    assert main.main(["--config-dir", str(app / "config"), "--outdir", str(app / "cdktf.out"), "--env", "dev"]) == 0
    err = capsys.readouterr().err
    assert "warning: synth cache" in err and "not updated: [Errno 28] No space left on device" in err
    assert (app / "cdktf.out" / "stacks").is_dir()


# ------------------------------------------------------------------------------ the real synth, in subprocesses
PROBE = """import runpy, sys
sys.argv = ["main.py", *sys.argv[1:]]
try:
    runpy.run_path("main.py", run_name="__main__")
except SystemExit as exited:
    code = exited.code
print("loaded:", " ".join(sorted({name.split(".")[0] for name in sys.modules})))
sys.exit(code)
"""


def test_a_full_hit_writes_the_same_bytes_as_a_fresh_synth_without_loading_jsii_or_the_cdk(tmp_path):
    app = copy_generator(tmp_path / "app")
    env = {key: value for key, value in provider_loader.child_environment().items() if key not in ("CDKTF_OUTDIR", synth_cache.CACHE_ENV)}
    env["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = "20"

    def run(outdir: str, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", PROBE, "--outdir", str(tmp_path / outdir), *args],
            cwd=app, env=env, capture_output=True, text=True, timeout=600,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    cold = run("cold")
    assert "(built: dev, prod, staging)" in cold or "; built: dev, prod, staging)" in cold
    hit = run("hit")
    assert "(reused: dev, prod, staging)" in hit
    loaded = set(hit.split("loaded: ")[1].split())
    assert not loaded & {"cdktf", "jsii", "constructs", "cdktf_cdktf_provider_google", "pydantic", "yaml", "constructs_lib"}
    run("fresh", "--no-cache")
    assert tree(tmp_path / "hit") == tree(tmp_path / "fresh") == tree(tmp_path / "cold")


_opened: list[str] | None = None


def _record_open(event: str, args: tuple) -> None:
    if _opened is not None and event == "open" and isinstance(args[0], (str, Path)):
        _opened.append(os.path.realpath(args[0]))


def test_every_repository_file_a_synth_reads_is_in_the_key(configs, tmp_path):
    """The key's declared inputs (SOURCE_FILES, SOURCE_DIRECTORIES) cover every file of the checkout that
    building and synthesizing an environment opens (modules imported earlier are in stacks/ or constructs_lib/)."""
    global _opened
    from stacks.app import build_app

    sys.addaudithook(_record_open)  # audit hooks cannot be removed: it records only while _opened is a list
    _opened = []
    try:
        build_app([configs["dev"]], outdir=tmp_path / "out").synth()
        opened = _opened
    finally:
        _opened = None
    root = str(REPO_ROOT.resolve()) + os.sep
    read = {path.removeprefix(root) for path in opened if path.startswith(root)}
    assert read, "the audit hook saw no file of the checkout (the helm values at least are read)"
    outside = sorted(
        path for path in read
        if path not in synth_cache.SOURCE_FILES and path.split(os.sep)[0] not in synth_cache.SOURCE_DIRECTORIES
    )
    assert outside == []


def test_an_input_edited_during_the_synth_is_not_cached_under_the_old_key(app, capsys, monkeypatch):
    def editing_synth(configs, outdir, *args):
        (app / "config" / "dev.yaml").write_text((app / "config" / "dev.yaml").read_text() + "\n# edited meanwhile\n")
        fake_synth(configs, outdir, *args)

    monkeypatch.setattr(synthesis, "_synth_here", editing_synth)
    assert main.main(["--config-dir", str(app / "config"), "--outdir", str(app / "cdktf.out"), "--env", "dev"]) == 0
    assert "changed during synth; nothing was cached" in capsys.readouterr().err
    assert not (app / ".synth-cache" / "entries").exists()
