"""Synth benchmark (`make bench`): the fast provider loader against a straightforward CDKTF Python app, the
incremental synthesis cache, and how both scale with the number of environments.

What is compared
----------------
* fast:  `python main.py` as it ships, from a cold cache (.synth-cache/ removed before every run, storing
         the entries included): constructs_lib/provider_loader.py loads only the provider modules the app
         uses, on the Python side and, through the Node hook, on the jsii kernel side.
* naive: the same command with PLATFORM_EAGER_PROVIDER_IMPORT=1, `--no-cache` and `--jobs 1`: provider
         packages are imported the ordinary way, exactly what `from cdktf_cdktf_provider_google.compute_network
         import ComputeNetwork` does in a CDKTF-docs-style app, in one process. A probe run per variant
         (benchmarks/probe.py) checks this by counting the provider modules in `sys.modules` and reading the
         jsii kernel's environment.
* incremental (stacks/synth_cache.py): cold cache, no change (warm cache), one environment's config file
         changed, and that environment synthesized alone without the cache; for config/ and for a generated
         set of 48 environments.
* scaling: N generated environments (benchmarks/environments.py) synthesized with `--no-cache`, as shipped
         (`--jobs auto`) and in one process (`--jobs 1`); the marginal cost per environment is the
         least-squares slope of the median wall time over N.

Every measured run is a fresh `python main.py --outdir <tmp>` subprocess (benchmarks/processes.py: wall
time around the child, peak memory of the whole process tree); runs are interleaved and medians reported.
The app is a snapshot of the working tree taken at the start (benchmarks/snapshot.py), and every run of one
environment set, whatever the variant or cache state, must write byte-identical output.
Output goes to a temporary directory only, never to the repository's cdktf.out.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

if __package__ in (None, ""):  # `python benchmarks/synth.py`: the checkout, not benchmarks/, on sys.path
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from benchmarks import probe as probe_module
from benchmarks.environments import generate_environments
from benchmarks.processes import Measurement, measure
from benchmarks.snapshot import copy_checkout

ROOT = Path(__file__).resolve().parent.parent
RATIO_LIMIT = 0.25
MEMORY_LIMIT_BYTES = 1_000_000_000  # 1.0 GB (10^9 bytes)
SLOPE_LIMIT_S = 0.2
NO_CHANGE_LIMIT_S = 1.0
ONE_CHANGED_LIMIT = 0.45  # of a full (cold cache) synth
LARGE_ONE_CHANGED_LIMIT = 2.0  # times one changed environment among the examples
VARIANTS = ("fast", "naive")
SHIPPED = "as shipped (--jobs auto)"
SCALING_SERIES = {SHIPPED: None, "one process (--jobs 1)": "1"}  # name → main.py --jobs
EXAMPLES = "examples"  # the environment set of --config-dir (default config/)
INCREMENTAL_CASES = ("cold cache", "no change", "one changed", "one alone, no cache")
SUMMARY_LINE = re.compile(r"^(\d+) stacks, (\d+) resources in ([0-9.]+)s(?: \((.*)\))?$", re.M)
BARE_APP = "import sys, cdktf; cdktf.App(outdir=sys.argv[1]).synth()"

Say = Callable[..., None]


# --------------------------------------------------------------------------------------------- measuring


@dataclass
class Run:
    label: str
    wall_s: float
    tree_peak_sampled: int
    tree_peak_bound: int
    largest_process_peak: int
    processes: int  # processes seen in the tree (python, node wrapper, node kernel; per synth process)
    synth_processes: int  # synth processes main.py used (--jobs), from its summary line
    stacks: int
    resources: int
    reused: list[str]
    built: list[str]
    digest: str


def child_env(variant: str) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("PLATFORM_EAGER_PROVIDER_IMPORT", "PLATFORM_JSII_LAZY_INDEX_PACKAGES", "PLATFORM_SYNTH_CACHE",
                 "PLATFORM_SYNTH_JOBS", "CDKTF_OUTDIR"):
        env.pop(name, None)
    env.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    if variant == "naive":
        env["PLATFORM_EAGER_PROVIDER_IMPORT"] = "1"
    elif variant != "fast":
        raise ValueError(variant)
    return env


def digest_tree(directory: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(directory)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def parse_summary(text: str) -> tuple[int, int, int, list[str], list[str]] | None:
    """main.py's summary line → (stacks, resources, synth processes, reused, built)."""
    found = SUMMARY_LINE.findall(text)
    if not found:
        return None
    stacks, resources, _, notes = found[-1]
    processes, reused, built = 1, [], []
    for note in filter(None, (item.strip() for item in notes.split(";"))):
        if note.endswith(" processes"):
            processes = int(note.split()[0])
        elif note.startswith(("reused: ", "built: ")):
            what, _, names = note.partition(": ")
            (reused if what == "reused" else built).extend(names.split(", "))
    return int(stacks), int(resources), processes, reused, built


class Bench:
    """Runs of the app snapshot `app`, with scratch space in `work`."""

    def __init__(self, app: Path, work: Path, say: Say) -> None:
        self.app, self.work, self.say = app, work, say

    def clear_cache(self) -> None:
        shutil.rmtree(self.app / ".synth-cache", ignore_errors=True)

    def synth(
        self, label: str, variant: str = "fast", *, config_dir: Path | None = None, jobs: str | None = None,
        cache: str = "off", env: str | None = None,
    ) -> Run:
        """One `main.py` run. `cache`: "off" (`--no-cache`), "cold" (cache removed first) or "warm" (as it is).
        `jobs`: main.py's --jobs (default: as shipped)."""
        if cache not in ("off", "cold", "warm"):
            raise ValueError(cache)
        outdir = Path(tempfile.mkdtemp(prefix="synth-", dir=self.work)) / "cdktf.out"
        cmd = [sys.executable, str(self.app / "main.py"), "--outdir", str(outdir)]
        cmd += ["--config-dir", str(config_dir)] if config_dir is not None else []
        cmd += ["--jobs", jobs] if jobs is not None else []
        cmd += ["--env", env] if env is not None else []
        cmd += ["--no-cache"] if cache == "off" else []
        if cache == "cold":
            self.clear_cache()
        log = outdir.parent / "log.txt"
        measured: Measurement = measure(cmd, child_env(variant), self.app, log)
        text = log.read_text(encoding="utf-8", errors="replace")
        summary = parse_summary(text)
        if measured.status != 0 or summary is None:
            raise SystemExit(f"{label}: synth failed (exit {measured.status}): {' '.join(cmd)}\n{text[-4000:]}")
        stacks, resources, processes, reused, built = summary
        run = Run(
            label=label, wall_s=measured.wall_s, tree_peak_sampled=measured.tree_peak_sampled,
            tree_peak_bound=measured.tree_peak_bound, largest_process_peak=measured.largest_process_peak,
            processes=measured.processes, synth_processes=processes, stacks=stacks, resources=resources,
            reused=reused, built=built, digest=digest_tree(outdir),
        )
        shutil.rmtree(outdir.parent, ignore_errors=True)
        return run

    def probe(self, variant: str, config_dir: Path, environments: list[str] = ()) -> dict:
        """benchmarks/probe.py in a fresh process: phases, imported modules, the jsii processes."""
        outdir = Path(tempfile.mkdtemp(prefix=f"probe-{variant}-", dir=self.work))
        cmd = [sys.executable, "-m", "benchmarks.probe", "--outdir", str(outdir / "cdktf.out"), "--config-dir", str(config_dir)]
        for name in environments:
            cmd += ["--env", name]
        log = outdir / "log.txt"
        measured = measure(cmd, child_env(variant), self.app, log)
        text = log.read_text(encoding="utf-8", errors="replace")
        result = probe_module.parse(text)
        if measured.status != 0 or result is None:
            raise SystemExit(f"probe of {variant} failed (exit {measured.status}):\n{text[-4000:]}")
        result["wall_s"] = measured.wall_s
        result["outside_s"] = measured.wall_s - result["in_process_s"]  # interpreter start-up + exit (kernel shutdown)
        result["tree_peak_bound"] = measured.tree_peak_bound
        shutil.rmtree(outdir, ignore_errors=True)
        return result

    def bare_app(self, runs: int) -> float:
        """A cdktf app with nothing in it: `import cdktf; App().synth()`, the floor of any synth."""
        walls = []
        for _ in range(runs):
            outdir = Path(tempfile.mkdtemp(prefix="bare-", dir=self.work))
            measured = measure([sys.executable, "-c", BARE_APP, str(outdir / "out")], child_env("fast"), self.work, outdir / "log.txt")
            if measured.status != 0:
                raise SystemExit(f"bare cdktf app failed:\n{(outdir / 'log.txt').read_text()[-2000:]}")
            shutil.rmtree(outdir, ignore_errors=True)
            walls.append(measured.wall_s)
        return statistics.median(walls)


def _summary(runs: list[Run]) -> dict:
    return {
        "runs": len(runs),
        "median_wall_s": statistics.median(run.wall_s for run in runs),
        "min_wall_s": min(run.wall_s for run in runs),
        "max_wall_s": max(run.wall_s for run in runs),
        "median_tree_peak_bound": statistics.median(run.tree_peak_bound for run in runs),
        "median_tree_peak_sampled": statistics.median(run.tree_peak_sampled for run in runs),
        "median_largest_process_peak": statistics.median(run.largest_process_peak for run in runs),
        "synth_processes": runs[0].synth_processes,
        "stacks": runs[0].stacks,
        "resources": runs[0].resources,
    }


def _same_output(runs: list[Run], what: str) -> None:
    if len({run.digest for run in runs}) != 1:
        labels = sorted({run.label for run in runs})
        raise SystemExit(f"{what}: synthesized output differs between runs ({', '.join(labels)}); see tests/test_fast_import.py")


def measure_probes(bench: Bench, variants: tuple[str, ...], config_dir: Path, first_env: str) -> dict:
    """Phases of one probe run per variant over every environment, and of the fast variant for one
    environment (what one changed environment pays), plus the bare cdktf app."""
    probes = {variant: bench.probe(variant, config_dir) for variant in variants}
    problems = verify_naive_is_ordinary(probes) if "naive" in probes else []
    if problems:
        raise SystemExit("the comparison is not what it claims to be:\n" + "\n".join(problems))
    probes["fast, one environment"] = bench.probe("fast", config_dir, [first_env])
    return {"probes": probes, "bare_app_s": bench.bare_app(3)}


def verify_naive_is_ordinary(probes: dict[str, dict]) -> list[str]:
    """The naive variant must import provider packages exactly the way an ordinary app does."""
    problems = []
    for package, naive in probes["naive"]["packages"].items():
        fast = probes["fast"]["packages"][package]
        if naive["imported"] and (naive["bare"] or not naive["complete_init"]):
            problems.append(f"naive: {package} was not imported through its package __init__")
        if fast["imported"] and naive["submodules"] <= fast["submodules"]:
            problems.append(f"naive: {package} has no more submodules loaded than fast ({naive['submodules']})")
    for variant in VARIANTS:
        if not any(kernel["role"] == "kernel" for kernel in probes[variant]["kernels"]):
            problems.append(f"{variant}: no jsii kernel process (node .../lib/program.js) found")
    for kernel in probes["naive"]["kernels"]:
        if kernel["lazy_index_hook"] or kernel["lazy_index_packages"]:
            problems.append("naive: the jsii kernel was started with the lazy-index hook")
    if not all(k["lazy_index_hook"] and k["lazy_index_packages"] for k in probes["fast"]["kernels"] if k["role"] == "kernel"):
        problems.append("fast: the jsii kernel was started without the lazy-index hook")
    return problems


def measure_variants(bench: Bench, variants: tuple[str, ...], config_dir: Path, runs: int, warmup: int) -> dict:
    """Full synth of `config_dir`: fast from a cold cache against naive, interleaved (alternating which goes
    first), after `warmup` unmeasured runs each."""
    options = {"fast": {"cache": "cold", "config_dir": config_dir}, "naive": {"jobs": "1", "cache": "off", "config_dir": config_dir}}
    for _ in range(warmup):
        for variant in variants:
            bench.synth(f"warm-up {variant}", variant, **options[variant])
    measured: list[Run] = []
    for index in range(runs):
        for variant in variants if index % 2 == 0 else variants[::-1]:
            run = bench.synth(variant, variant, **options[variant])
            measured.append(run)
            bench.say(f"  run {index + 1}/{runs} {variant:<5} {run.wall_s:6.2f} s  tree peak <= {mb(run.tree_peak_bound)}")
    _same_output(measured, "fast and naive")
    summary = {variant: _summary([run for run in measured if run.label == variant]) for variant in variants}
    if "naive" in summary:
        summary["ratio_fast_over_naive"] = summary["fast"]["median_wall_s"] / summary["naive"]["median_wall_s"]
    return {"summary": summary, "runs": [asdict(run) for run in measured]}


def measure_incremental(bench: Bench, config_dir: Path, runs: int, name: str) -> dict:
    """Per round: a cold-cache synth, the same again (no change: every environment reused), then one
    environment's config file edited (a comment appended, so its key changes and its output does not), and
    that environment alone with `--no-cache` (what the cache adds to rebuilding it: key, entries, merge)."""
    edited = bench.work / f"config-{name}-edited"
    shutil.copytree(config_dir, edited)
    changed = sorted(path for path in edited.glob("*.yaml") if not path.name.startswith("_"))[0]
    first = environment_name(changed)
    cases: dict[str, list[Run]] = {case: [] for case in INCREMENTAL_CASES}
    for index in range(runs):
        cases["cold cache"].append(bench.synth("cold cache", config_dir=edited, cache="cold"))
        cases["no change"].append(bench.synth("no change", config_dir=edited, cache="warm"))
        with changed.open("a", encoding="utf-8") as handle:
            handle.write(f"# benchmark edit {index}\n")
        cases["one changed"].append(bench.synth("one changed", config_dir=edited, cache="warm"))
        cases["one alone, no cache"].append(bench.synth("one alone, no cache", config_dir=edited, cache="off", env=first))
        bench.say(f"  {name} {index + 1}/{runs}: " + ", ".join(f"{case} {cases[case][-1].wall_s:.2f} s" for case in INCREMENTAL_CASES))
    everything = cases["cold cache"] + cases["no change"] + cases["one changed"]
    _same_output(everything, f"incremental synthesis of {name}")
    _same_output(cases["one alone, no cache"], f"{first} alone")
    for run in cases["no change"]:
        if run.built:
            raise SystemExit(f"{name}: a no-change synth rebuilt {', '.join(run.built)}")
    for run in cases["one changed"]:
        if run.built != [first]:
            raise SystemExit(f"{name}: one changed environment ({first}) rebuilt {', '.join(run.built) or 'nothing'}")
    return {
        "environments": len(cases["cold cache"][0].built),
        "changed_environment": first,
        "cases": {case: _summary(found) for case, found in cases.items()},
    }


def environment_name(config_file: Path) -> str:
    """The environment a config file defines (`name:`), read without the config model."""
    import yaml

    return str(yaml.safe_load(config_file.read_text(encoding="utf-8"))["name"])


def measure_scaling(bench: Bench, dirs: dict[int, Path], runs: int) -> dict:
    """Each point and series `runs` times with `--no-cache`, the order of the points reversed every round."""
    counts = sorted(dirs)
    bench.synth("scaling warm-up", config_dir=dirs[counts[0]])
    walls = {name: {count: [] for count in counts} for name in SCALING_SERIES}
    peaks = {name: {count: [] for count in counts} for name in SCALING_SERIES}
    used = {name: {} for name in SCALING_SERIES}
    digests: dict[int, list[Run]] = {count: [] for count in counts}
    for index in range(runs):
        for count in counts if index % 2 == 0 else counts[::-1]:
            for name, jobs in SCALING_SERIES.items():
                run = bench.synth(f"{count} environments, {name}", config_dir=dirs[count], jobs=jobs)
                walls[name][count].append(run.wall_s)
                peaks[name][count].append(run.tree_peak_bound)
                used[name][count] = run.synth_processes
                digests[count].append(run)
                bench.say(f"  scaling {index + 1}/{runs} {count:>2} envs {run.stacks:>3} stacks "
                          f"{run.synth_processes} process(es) {run.wall_s:6.2f} s  {name}")
    for count, found in digests.items():
        _same_output(found, f"{count} environments, one process and several")
    scaling = {}
    for name in SCALING_SERIES:
        medians = {count: statistics.median(values) for count, values in walls[name].items()}
        scaling[name] = {
            "runs_per_point": runs,
            "synth_processes": used[name],
            "median_wall_s": medians,
            "median_tree_peak_bound": {count: statistics.median(values) for count, values in peaks[name].items()},
            "slope_s_per_env": slope(list(medians.items())) if len(counts) > 1 else float("nan"),
        }
    return scaling


# ---------------------------------------------------------------------------------------------- reports


def slope(points: list[tuple[int, float]]) -> float:
    xs, ys = [x for x, _ in points], [y for _, y in points]
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / sum((x - mean_x) ** 2 for x in xs)


def mb(value: float) -> str:
    return f"{value / 1e6:,.0f} MB"


def machine() -> dict:
    cpu = "unknown"
    try:
        cpu = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M).group(1)
    except (OSError, AttributeError):
        pass
    memory = re.search(r"^MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text(), re.M)
    try:
        node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        node = "unknown"
    return {
        "nproc": os.cpu_count(),
        "memory_gb": round(int(memory.group(1)) * 1024 / 1e9, 1) if memory else None,
        "cpu": cpu,
        "python": platform.python_version(),
        "node": node,
        "loadavg_start": os.getloadavg(),
    }


@dataclass
class Report:
    machine: dict
    variants: dict = field(default_factory=dict)
    probes: dict = field(default_factory=dict)
    incremental: dict = field(default_factory=dict)
    scaling: dict = field(default_factory=dict)
    checks: dict = field(default_factory=dict)


def evaluate(report: Report) -> dict[str, bool]:
    """The goals of docs/performance.md (issue 15 and the fast-import issue) for what was measured."""
    checks: dict[str, bool] = {}
    summary = report.variants.get("summary", {})
    if "ratio_fast_over_naive" in summary:
        checks[f"full synth (cold cache) <= {RATIO_LIMIT} x naive"] = summary["ratio_fast_over_naive"] <= RATIO_LIMIT
    if "fast" in summary:
        checks["full synth peak memory <= 1.0 GB"] = summary["fast"]["median_tree_peak_bound"] <= MEMORY_LIMIT_BYTES
    sets = list(report.incremental.items())
    if sets:
        name, examples = sets[0]
        cases = examples["cases"]
        checks[f"{name}: no-change synth <= {NO_CHANGE_LIMIT_S} s"] = cases["no change"]["median_wall_s"] <= NO_CHANGE_LIMIT_S
        checks[f"{name}: one changed environment <= {ONE_CHANGED_LIMIT:.0%} of a full synth"] = (
            cases["one changed"]["median_wall_s"] <= ONE_CHANGED_LIMIT * cases["cold cache"]["median_wall_s"]
        )
        for large_name, large in sets[1:]:
            checks[f"{large_name}: peak memory <= 1.0 GB"] = all(
                case["median_tree_peak_bound"] <= MEMORY_LIMIT_BYTES for case in large["cases"].values()
            )
            checks[f"{large_name}: one changed <= {LARGE_ONE_CHANGED_LIMIT:g} x one changed in {name}"] = (
                large["cases"]["one changed"]["median_wall_s"]
                <= LARGE_ONE_CHANGED_LIMIT * cases["one changed"]["median_wall_s"]
            )
    if SHIPPED in report.scaling:
        shipped = report.scaling[SHIPPED]
        checks[f"per-environment cost <= {SLOPE_LIMIT_S} s"] = shipped["slope_s_per_env"] <= SLOPE_LIMIT_S
        checks["peak memory <= 1.0 GB at every scaling point"] = all(
            peak <= MEMORY_LIMIT_BYTES for peak in shipped["median_tree_peak_bound"].values()
        )
    return checks


def print_report(report: Report, say: Say) -> None:
    summary = report.variants.get("summary", {})
    if summary:
        first = next(iter(value for key, value in summary.items() if isinstance(value, dict)))
        say("")
        say(f"Full synth of the examples ({first['stacks']} stacks, {first['resources']} resources), "
            f"{first['runs']} interleaved runs per variant, medians (fast: cold cache; naive: --no-cache --jobs 1):")
        _table(say, {variant: row for variant, row in summary.items() if isinstance(row, dict)})
        if "ratio_fast_over_naive" in summary:
            ratio = summary["ratio_fast_over_naive"]
            say(f"  ratio fast/naive: {ratio:.3f}  (naive/fast: {1 / ratio:.1f}x)")
    if report.probes:
        probes = report.probes["probes"]
        names = list(probes)
        say("")
        say("Where the time goes (one probe run each, seconds):")
        say(f"  {'phase':<60}" + "".join(f" {name:>22}" for name in names))
        say(f"  {'interpreter start-up + exit (kernel shutdown)':<60}" + "".join(f" {probes[n]['outside_s']:22.2f}" for n in names))
        for phase in probes[names[0]]["phases"]:
            say(f"  {phase:<60}" + "".join(f" {probes[n]['phases'][phase]:22.2f}" for n in names))
        say(f"  {'total (wall)':<60}" + "".join(f" {probes[n]['wall_s']:22.2f}" for n in names))
        for name in names:
            packages = ", ".join(
                f"{package.removeprefix('cdktf_cdktf_provider_')}: {info['submodules']} modules"
                + (" (bare package)" if info["bare"] else " (package __init__)")
                for package, info in probes[name]["packages"].items() if info["imported"]
            )
            kernels = ", ".join(
                f"{k['role']} {mb(k['rss'])} RSS" + (" (lazy-index hook)" if k["lazy_index_hook"] else "")
                for k in probes[name]["kernels"]
            )
            say(f"  {name}: {packages}; {kernels}")
        say(f"  bare cdktf app (import cdktf, empty App().synth()), median of 3: {report.probes['bare_app_s']:.2f} s")
    for name, found in report.incremental.items():
        cases = found["cases"]
        full = cases["cold cache"]["median_wall_s"]
        say("")
        say(f"Incremental synthesis, {name} ({found['environments']} environments, {cases['cold cache']['stacks']} stacks; "
            f"changed: {found['changed_environment']}), {cases['cold cache']['runs']} rounds, medians:")
        _table(say, cases, share_of=full)
    for name, series in report.scaling.items():
        say("")
        say(f"Scaling, {name} (generated environments, --no-cache, {series['runs_per_point']} runs per point, medians):")
        previous = None
        for count, value in series["median_wall_s"].items():
            step = f"  (+{(value - previous[1]) / (count - previous[0]):.3f} s/env)" if previous else ""
            say(f"  {count:>3} envs  {series['synth_processes'][count]} process(es)  {value:6.2f} s  "
                f"tree peak <= {mb(series['median_tree_peak_bound'][count])}{step}")
            previous = (count, value)
        say(f"  marginal cost per environment (least-squares slope): {series['slope_s_per_env']:.3f} s")
    say("")
    for check, ok in report.checks.items():
        say(f"  {'PASS' if ok else 'FAIL'}  {check}")
    say(f"  load average start {report.machine['loadavg_start']}, end {report.machine['loadavg_end']}")


def _table(say: Say, rows: dict[str, dict], share_of: float | None = None) -> None:
    share = f" {'of full':>8}" if share_of else ""
    say(f"  {'':<22} {'wall':>8} {'min':>8} {'max':>8}{share} {'processes':>9} {'tree peak (bound)':>18} "
        f"{'tree peak (sampled)':>20} {'largest process':>16}")
    for name, row in rows.items():
        ratio = f" {row['median_wall_s'] / share_of:8.0%}" if share_of else ""
        say(f"  {name:<22} {row['median_wall_s']:7.2f}s {row['min_wall_s']:7.2f}s {row['max_wall_s']:7.2f}s{ratio} "
            f"{row['synth_processes']:>9} {mb(row['median_tree_peak_bound']):>18} {mb(row['median_tree_peak_sampled']):>20} "
            f"{mb(row['median_largest_process_peak']):>16}")


# ------------------------------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--config-dir", type=Path,
        help="the environment set measured and generated from (default: config/ of the snapshot)",
    )
    parser.add_argument("--runs", type=int, default=5, help="measured runs per variant (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured runs per variant first (default 1)")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="fast, naive or both (default fast,naive)")
    parser.add_argument("--incremental-runs", type=int, default=5, help="rounds of the incremental cases for the examples (default 5)")
    parser.add_argument("--large", type=int, default=48, help="generated environments of the large incremental set (default 48; 0: skip)")
    parser.add_argument("--large-runs", type=int, default=3, help="rounds of the incremental cases for the large set (default 3)")
    parser.add_argument("--scaling-runs", type=int, default=3, help="runs per point of the scaling series (default 3)")
    parser.add_argument("--envs", default="3,12,24,48", help="environment counts of the scaling series (default 3,12,24,48)")
    parser.add_argument("--no-scaling", action="store_true", help="skip the scaling series")
    parser.add_argument("--no-probe", action="store_true", help="skip the import probe, phase breakdown and bare app")
    parser.add_argument("--json", metavar="PATH", help="also write the full results as JSON ('-' for stdout)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a check fails (default: report only)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    args.variants = tuple(dict.fromkeys(item.strip() for item in args.variants.split(",") if item.strip()))
    if not args.variants or set(args.variants) - set(VARIANTS) or args.variants[0] != "fast":
        parser.error(f"--variants: expected fast or fast,naive, got {','.join(args.variants)!r}")
    if min(args.runs, args.incremental_runs, args.large_runs, args.scaling_runs) < 1 or args.warmup < 0 or args.large < 0:
        parser.error("run counts must be at least 1 (--warmup and --large at least 0)")
    try:
        args.envs = sorted({int(item) for item in args.envs.split(",") if item.strip()})
    except ValueError:
        parser.error(f"--envs: expected comma-separated numbers, got {args.envs!r}")
    if not args.envs or min(args.envs) < 1:
        parser.error("--envs: expected at least one positive number")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="synth-bench-"))
    say: Say = (lambda *a: print(*a, file=sys.stderr, flush=True)) if args.json == "-" else (lambda *a: print(*a, flush=True))
    try:
        bench = Bench(copy_checkout(ROOT, work / "app"), work, say)
        config_dir = args.config_dir.resolve() if args.config_dir else bench.app / "config"
        report = Report(machine=machine())
        say(f"snapshot of {ROOT} in {bench.app}; {report.machine['nproc']} CPUs, load {report.machine['loadavg_start']}")
        first = environment_name(sorted(path for path in config_dir.glob("*.yaml") if not path.name.startswith("_"))[0])
        if not args.no_probe:
            report.probes = measure_probes(bench, args.variants, config_dir, first)
        report.variants = measure_variants(bench, args.variants, config_dir, args.runs, args.warmup)
        counts = set(args.envs if not args.no_scaling else ()) | ({args.large} if args.large else set())
        dirs = {count: generate_environments(bench.app, config_dir, count, work / f"envs-{count}") for count in sorted(counts)}
        report.incremental[EXAMPLES] = measure_incremental(bench, config_dir, args.incremental_runs, EXAMPLES)
        if args.large:
            name = f"{args.large} generated"
            report.incremental[name] = measure_incremental(bench, dirs[args.large], args.large_runs, name)
        if not args.no_scaling:
            report.scaling = measure_scaling(bench, {count: dirs[count] for count in args.envs}, args.scaling_runs)
        report.checks = evaluate(report)
        report.machine["loadavg_end"] = os.getloadavg()
        print_report(report, say)
        if args.json:
            text = json.dumps(asdict(report), indent=2, default=str)
            if args.json == "-":
                print(text)
            else:
                Path(args.json).write_text(text + "\n", encoding="utf-8")
        return 1 if args.strict and not all(report.checks.values()) else 0
    finally:
        if args.keep:
            say(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
