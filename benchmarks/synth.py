"""Synth benchmark: the fast provider loader against a straightforward CDKTF Python app (`make bench`).

What is compared
----------------
* fast:  `python main.py` as it ships (constructs_lib/provider_loader.py loads only the provider modules the
         app uses, on the Python side and, through the Node hook, on the jsii kernel side).
* naive: the same command with PLATFORM_EAGER_PROVIDER_IMPORT=1: provider packages are imported the ordinary
         way, exactly what `from cdktf_cdktf_provider_google.compute_network import ComputeNetwork` does in a
         CDKTF-docs-style app (the package `__init__` imports every resource submodule, and the kernel
         requires the package's eager `lib/index.js`). A probe run per variant checks this by counting the
         provider modules in `sys.modules` and reading the jsii kernel's environment.

Every measured run is a fresh `python main.py --outdir <tmp>` subprocess; the variants are interleaved
(alternating which goes first) and medians are reported. The app is measured from a snapshot of the working
tree taken at start (so concurrent edits cannot change it between runs), and every run's output must be
byte-identical to every other run's, in both variants.

Wall time is measured around the child, interpreter start-up and kernel shutdown included. Peak memory is
that of the whole process tree (python and the jsii `node` kernel it starts), see `measure()`.

Naive runs use `--jobs 1` (a straightforward app is one process); fast runs choose as shipped (`auto`,
stacks/synthesis.py: one process for the 3 example environments on 2 cores).

Scaling: N = 3, 6, 9, 12 environments generated from config/*.yaml (names, prefixes, projects, buckets,
domains and CIDRs rewritten so validation passes), synthesized with `--config-dir`, as shipped (`--jobs
auto`) and in one process (`--jobs 1`); the marginal cost per environment is the least-squares slope of the
median wall time over N.

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
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RATIO_LIMIT = 0.25
MEMORY_LIMIT_BYTES = 1_000_000_000  # 1.0 GB (10^9 bytes)
SLOPE_LIMIT_S = 0.2
PROVIDER_PACKAGES = ("cdktf_cdktf_provider_google", "cdktf_cdktf_provider_kubernetes", "cdktf_cdktf_provider_helm")
VARIANTS = ("fast", "naive")
SHIPPED = "as shipped (--jobs auto)"
SCALING_SERIES = {SHIPPED: None, "one process (--jobs 1)": "1"}  # name → main.py --jobs
SNAPSHOT_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", ".tools", ".third_party", ".pytest_cache", "__pycache__", "node_modules", "cdktf.out",
    ".cdktf.out.*", "*.pyc",
)
SUMMARY_LINE = re.compile(r"^(\d+) stacks, (\d+) resources in ([0-9.]+)s(?: \((\d+) processes\))?$", re.M)


# --------------------------------------------------------------------------------------------- measuring


@dataclass
class Run:
    variant: str
    wall_s: float
    tree_peak_sampled: int  # bytes: max over samples of the sum of VmRSS of every process in the tree
    tree_peak_bound: int  # bytes: sum over processes of their own peak (VmHWM): an upper bound
    largest_process_peak: int  # bytes: ru_maxrss from wait4: the largest single process (python or node)
    processes: int  # processes seen in the tree (python, node wrapper, node kernel; per synth process)
    synth_processes: int  # synth processes main.py used (--jobs), from its summary line
    stacks: int
    resources: int
    digest: str


def child_env(variant: str) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("PLATFORM_EAGER_PROVIDER_IMPORT", "PLATFORM_JSII_LAZY_INDEX_PACKAGES", "CDKTF_OUTDIR"):
        env.pop(name, None)
    env.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    if variant == "naive":
        env["PLATFORM_EAGER_PROVIDER_IMPORT"] = "1"
    elif variant != "fast":
        raise ValueError(variant)
    return env


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found.extend(int(child) for child in handle.read().split())
        except OSError:
            pass
    return found


def _tree(root: int) -> list[int]:
    pids, pending = [], [root]
    while pending:
        pid = pending.pop()
        pids.append(pid)
        pending.extend(_children(pid))
    return pids


def _memory(pid: int) -> tuple[int, int] | None:
    """(VmRSS, VmHWM) in bytes, or None once the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            text = handle.read()
    except OSError:
        return None
    values = dict(re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", text, re.M))
    if "VmRSS" not in values:
        return None  # a zombie
    return int(values["VmRSS"]) * 1024, int(values["VmHWM"]) * 1024


def measure(cmd: list[str], env: dict[str, str], cwd: Path, log: Path, interval: float = 0.02) -> tuple[float, int, int, int, int, int]:
    """Run `cmd`; return (wall seconds, exit status, sampled tree peak, per-process-peak bound, largest
    single-process peak, number of processes seen).

    Peak memory of the process tree: the child (python) starts the jsii kernel (`node`) as its own child,
    so the tree is 2+ processes alive at the same time. `resource.getrusage(RUSAGE_CHILDREN)` / `wait4`
    only report the largest *single* process (python and node are never added up), so the tree is also
    polled through /proc every `interval` seconds: `tree_peak_sampled` is the largest sum of VmRSS seen
    (a lower bound of the true peak: a spike between two samples can be missed), `tree_peak_bound` sums
    every process's own high-water mark VmHWM as last read, and is at least wait4's `ru_maxrss` (an upper
    bound: the peaks need not coincide, and shared pages count once per process; only growth in the last
    `interval` of a process's life can escape it). Checks use the upper bound.
    """
    with open(log, "wb") as output:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
        sampled_peak, hwm = 0, {}
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                wall = time.perf_counter() - started
                break
            total = 0
            for member in _tree(proc.pid):
                memory = _memory(member)
                if memory is not None:
                    total += memory[0]
                    hwm[member] = max(hwm.get(member, 0), memory[1])
            sampled_peak = max(sampled_peak, total)
            time.sleep(interval)
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4; keep Popen from waiting again
    largest = usage.ru_maxrss * 1024
    bound = max(sum(hwm.values()), largest, sampled_peak)
    return wall, proc.returncode, sampled_peak, bound, largest, len(hwm)


def digest_tree(directory: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(directory)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def synth_run(app: Path, variant: str, work: Path, config_dir: Path | None = None, jobs: str | None = None) -> Run:
    """`jobs`: main.py's --jobs; by default the naive variant uses one process (a straightforward app does) and
    the fast one chooses as it ships (auto)."""
    outdir = Path(tempfile.mkdtemp(prefix=f"{variant}-", dir=work)) / "cdktf.out"
    cmd = [sys.executable, str(app / "main.py"), "--outdir", str(outdir)]
    if config_dir is not None:
        cmd += ["--config-dir", str(config_dir)]
    jobs = jobs or ("1" if variant == "naive" else None)
    if jobs is not None:
        cmd += ["--jobs", jobs]
    log = outdir.parent / "log.txt"
    wall, status, sampled, bound, largest, processes = measure(cmd, child_env(variant), app, log)
    text = log.read_text(encoding="utf-8", errors="replace")
    summary = SUMMARY_LINE.search(text)
    if status != 0 or summary is None:
        raise SystemExit(f"{variant} synth failed (exit {status}): {' '.join(cmd)}\n{text[-4000:]}")
    run = Run(
        variant=variant, wall_s=wall, tree_peak_sampled=sampled, tree_peak_bound=bound,
        largest_process_peak=largest, processes=processes, synth_processes=int(summary.group(4) or 1),
        stacks=int(summary.group(1)),
        resources=int(summary.group(2)), digest=digest_tree(outdir),
    )
    shutil.rmtree(outdir.parent, ignore_errors=True)
    return run


# ----------------------------------------------------------------------------- probe: what was imported

PROBE = r"""
import json, os, sys, time
started = time.perf_counter()
app, outdir, config_dir = sys.argv[1:4]
sys.path.insert(0, app)
from pathlib import Path
phases = {}
mark = time.perf_counter()
def lap(name):
    global mark
    now = time.perf_counter()
    phases[name] = now - mark
    mark = now
from stacks.config import load_configs
configs = load_configs(Path(config_dir))
lap("config: import pydantic/yaml, validate")
from constructs_lib import provider_loader
provider_loader.configure(eager=os.environ.get("PLATFORM_EAGER_PROVIDER_IMPORT") == "1")
import cdktf
lap("import cdktf: start node, load constructs+cdktf assemblies")
provider_loader.google.provider
lap("load google package/assembly (+ provider module)")
from stacks.app import build_app
app_ = build_app(configs, outdir=Path(outdir))
lap("construct all stacks (other provider loads included)")
app_.synth()
lap("synth: serialize and write")
packages = {}
for package in %(packages)r:
    module = sys.modules.get(package)
    packages[package] = {
        "imported": module is not None,
        "submodules": sum(1 for name in sys.modules if name.startswith(package + ".")),
        "bare": bool(getattr(module, "__platform_bare_package__", False)),
        "complete_init": module is not None and hasattr(module, "__all__"),
    }
def descendants(pid):
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                children = [int(child) for child in handle.read().split()]
        except OSError:
            continue
        for child in children:
            yield child
            yield from descendants(child)
kernels = []
for pid in descendants(os.getpid()):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            cmdline = handle.read().split(b"\0")
        with open(f"/proc/{pid}/environ", "rb") as handle:
            environ = dict(item.split(b"=", 1) for item in handle.read().split(b"\0") if b"=" in item)
        with open(f"/proc/{pid}/status") as handle:
            rss = int([line.split()[1] for line in handle if line.startswith("VmRSS:")][0]) * 1024
    except OSError:
        continue
    role = "kernel" if any(part.endswith(b"program.js") for part in cmdline) else (
        "runtime wrapper" if any(part.endswith(b"jsii-runtime.js") for part in cmdline) else None)
    if role:
        kernels.append({
            "pid": pid,
            "role": role,
            "lazy_index_hook": b"lazy_index_hook.js" in environ.get(b"NODE_OPTIONS", b""),
            "lazy_index_packages": environ.get(b"PLATFORM_JSII_LAZY_INDEX_PACKAGES", b"").decode(),
            "rss": rss,
        })
print("PROBE " + json.dumps({
    "phases": phases,
    "in_process_s": time.perf_counter() - started,
    "packages": packages,
    "kernels": kernels,
    "node_hook_status": provider_loader.node_hook_status(),
    "parent_env_restored": "PLATFORM_JSII_LAZY_INDEX_PACKAGES" not in os.environ,
}))
"""

BARE_APP = r"""
import sys
import cdktf
cdktf.App(outdir=sys.argv[1]).synth()
"""


def probe(app: Path, variant: str, work: Path, config_dir: Path) -> dict:
    outdir = Path(tempfile.mkdtemp(prefix=f"probe-{variant}-", dir=work))
    code = PROBE % {"packages": PROVIDER_PACKAGES}
    cmd = [sys.executable, "-c", code, str(app), str(outdir / "cdktf.out"), str(config_dir)]
    log = outdir / "log.txt"
    wall, status, _, bound, _, _ = measure(cmd, child_env(variant), app, log)
    text = log.read_text(encoding="utf-8", errors="replace")
    line = next((line for line in text.splitlines() if line.startswith("PROBE ")), None)
    if status != 0 or line is None:
        raise SystemExit(f"probe of {variant} failed (exit {status}):\n{text[-4000:]}")
    result = json.loads(line.removeprefix("PROBE "))
    result["wall_s"] = wall
    result["outside_s"] = wall - result["in_process_s"]  # interpreter start-up + exit (kernel shutdown)
    result["tree_peak_bound"] = bound
    shutil.rmtree(outdir, ignore_errors=True)
    return result


def bare_app(work: Path, runs: int) -> float:
    walls = []
    for _ in range(runs):
        outdir = Path(tempfile.mkdtemp(prefix="bare-", dir=work))
        wall, status, *_ = measure([sys.executable, "-c", BARE_APP, str(outdir / "out")], child_env("fast"), work, outdir / "log.txt")
        if status != 0:
            raise SystemExit(f"bare cdktf app failed:\n{(outdir / 'log.txt').read_text()[-2000:]}")
        shutil.rmtree(outdir, ignore_errors=True)
        walls.append(wall)
    return statistics.median(walls)


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


# --------------------------------------------------------------------------------- generated environments


def _network(index: int) -> dict:
    """Disjoint ranges for environment `index` (< 32): a /13 of 10.0.0.0/8 each, control plane /28s in 172.16/16."""
    if not 0 <= index < 32:
        raise SystemExit("at most 32 generated environments are supported")
    base = 8 * index
    return {
        "private": {"cidr": f"10.{base}.0.0/20", "pods_cidr": f"10.{base + 4}.0.0/14", "services_cidr": f"10.{base + 1}.0.0/20"},
        "public": {"cidr": f"10.{base}.16.0/22"},
        "management": {"cidr": f"10.{base}.20.0/24"},
        "psa_cidr": f"10.{base + 2}.0.0/16",
        "control_plane_cidr": f"172.16.{index}.0/28",
    }


def _app_config_module(app: Path):
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
    """`count` valid environment files derived from the example environments, cycling through them.

    Each copy gets its own name, prefix, project, state bucket, domains and network ranges; everything else
    is the example's. The files are validated with the app's loader before they are used.
    """
    import yaml

    config = _app_config_module(app)
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
        for key, value in _network(index).items():
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
    runs_per_variant: int
    runs: list[dict] = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    probes: dict = field(default_factory=dict)
    bare_app_s: float | None = None
    scaling: dict = field(default_factory=dict)
    checks: dict = field(default_factory=dict)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="measured runs per variant (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured runs per variant first (default 1)")
    parser.add_argument("--scaling-runs", type=int, default=3, help="runs per point of the scaling series (default 3)")
    parser.add_argument("--envs", default="3,6,9,12", help="environment counts of the scaling series (default 3,6,9,12)")
    parser.add_argument("--no-scaling", action="store_true", help="skip the scaling series")
    parser.add_argument("--no-probe", action="store_true", help="skip the import probe, phase breakdown and bare app")
    parser.add_argument("--json", metavar="PATH", help="also write the full results as JSON ('-' for stdout)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a check fails (default: report only)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    counts = sorted({int(item) for item in args.envs.split(",") if item.strip()})

    work = Path(tempfile.mkdtemp(prefix="synth-bench-"))
    say = (lambda *a: print(*a, file=sys.stderr, flush=True)) if args.json == "-" else (lambda *a: print(*a, flush=True))
    try:
        app = work / "app"
        shutil.copytree(ROOT, app, ignore=SNAPSHOT_IGNORE, symlinks=True)
        report = Report(machine=machine(), runs_per_variant=args.runs)
        say(f"snapshot of {ROOT} in {app}; {report.machine['nproc']} CPUs, load {report.machine['loadavg_start']}")

        if not args.no_probe:
            report.probes = {variant: probe(app, variant, work, app / "config") for variant in VARIANTS}
            problems = verify_naive_is_ordinary(report.probes)
            if problems:
                raise SystemExit("the comparison is not what it claims to be:\n" + "\n".join(problems))
            report.bare_app_s = bare_app(work, 3)

        for _ in range(args.warmup):
            for variant in VARIANTS:
                synth_run(app, variant, work)
        runs: list[Run] = []
        for index in range(args.runs):
            order = VARIANTS if index % 2 == 0 else VARIANTS[::-1]
            for variant in order:
                run = synth_run(app, variant, work)
                runs.append(run)
                say(f"  run {index + 1}/{args.runs} {variant:<5} {run.wall_s:6.2f} s  tree peak <= {mb(run.tree_peak_bound)}")
        digests = {run.digest for run in runs}
        if len(digests) != 1:
            raise SystemExit("synthesized output differs between runs/variants; see tests/test_fast_import.py")
        report.runs = [asdict(run) for run in runs]
        for variant in VARIANTS:
            mine = [run for run in runs if run.variant == variant]
            report.summary[variant] = {
                "median_wall_s": statistics.median(run.wall_s for run in mine),
                "min_wall_s": min(run.wall_s for run in mine),
                "max_wall_s": max(run.wall_s for run in mine),
                "median_tree_peak_bound": statistics.median(run.tree_peak_bound for run in mine),
                "median_tree_peak_sampled": statistics.median(run.tree_peak_sampled for run in mine),
                "median_largest_process_peak": statistics.median(run.largest_process_peak for run in mine),
                "stacks": mine[0].stacks,
                "resources": mine[0].resources,
            }
        fast, naive = report.summary["fast"], report.summary["naive"]
        ratio = fast["median_wall_s"] / naive["median_wall_s"]
        report.summary["ratio_fast_over_naive"] = ratio

        if not args.no_scaling:
            dirs = {count: generate_environments(app, app / "config", count, work / f"envs-{count}") for count in counts}
            synth_run(app, "fast", work, dirs[counts[0]])  # warm-up
            walls = {name: {count: [] for count in counts} for name in SCALING_SERIES}
            peaks = {name: {count: [] for count in counts} for name in SCALING_SERIES}
            used = {name: {} for name in SCALING_SERIES}
            digests: dict[int, set[str]] = {count: set() for count in counts}
            for index in range(args.scaling_runs):
                order = counts if index % 2 == 0 else counts[::-1]
                for count in order:
                    for name, jobs in SCALING_SERIES.items():
                        run = synth_run(app, "fast", work, dirs[count], jobs=jobs)
                        walls[name][count].append(run.wall_s)
                        peaks[name][count].append(run.tree_peak_bound)
                        used[name][count] = run.synth_processes
                        digests[count].add(run.digest)
                        say(f"  scaling {index + 1}/{args.scaling_runs} {count:>2} envs {run.stacks:>3} stacks "
                            f"{run.synth_processes} process(es) {run.wall_s:6.2f} s  {name}")
            if any(len(found) != 1 for found in digests.values()):
                raise SystemExit("one process and several synthesized different output; see tests/test_fast_import.py")
            for name in SCALING_SERIES:
                medians = {count: statistics.median(values) for count, values in walls[name].items()}
                report.scaling[name] = {
                    "runs_per_point": args.scaling_runs,
                    "synth_processes": used[name],
                    "median_wall_s": medians,
                    "median_tree_peak_bound": {count: statistics.median(values) for count, values in peaks[name].items()},
                    "slope_s_per_env": slope(list(medians.items())) if len(counts) > 1 else float("nan"),
                }

        report.checks = {
            f"ratio <= {RATIO_LIMIT}": ratio <= RATIO_LIMIT,
            "fast peak memory <= 1.0 GB": fast["median_tree_peak_bound"] <= MEMORY_LIMIT_BYTES,
        }
        if report.scaling:
            shipped = report.scaling[SHIPPED]
            report.checks[f"per-environment cost <= {SLOPE_LIMIT_S} s"] = shipped["slope_s_per_env"] <= SLOPE_LIMIT_S
            report.checks["peak memory <= 1.0 GB at every scaling point"] = all(
                peak <= MEMORY_LIMIT_BYTES for peak in shipped["median_tree_peak_bound"].values()
            )
        report.machine["loadavg_end"] = os.getloadavg()

        say("")
        say(f"Full synth of config/ ({fast['stacks']} stacks, {fast['resources']} resources), "
            f"{args.runs} interleaved runs per variant, medians:")
        say(f"  {'variant':<8} {'wall':>8} {'min':>8} {'max':>8} {'tree peak (bound)':>18} {'tree peak (sampled)':>20} {'largest process':>16}")
        for variant in VARIANTS:
            row = report.summary[variant]
            say(f"  {variant:<8} {row['median_wall_s']:7.2f}s {row['min_wall_s']:7.2f}s {row['max_wall_s']:7.2f}s "
                f"{mb(row['median_tree_peak_bound']):>18} {mb(row['median_tree_peak_sampled']):>20} {mb(row['median_largest_process_peak']):>16}")
        say(f"  ratio fast/naive: {ratio:.3f}  (naive/fast: {1 / ratio:.1f}x)")
        if report.probes:
            say("")
            say("Where the time goes (one probe run per variant, seconds):")
            phases = list(report.probes["fast"]["phases"])
            say(f"  {'phase':<58} {'fast':>7} {'naive':>7}")
            say(f"  {'interpreter start-up + exit (kernel shutdown)':<58} {report.probes['fast']['outside_s']:7.2f} {report.probes['naive']['outside_s']:7.2f}")
            for phase in phases:
                say(f"  {phase:<58} {report.probes['fast']['phases'][phase]:7.2f} {report.probes['naive']['phases'][phase]:7.2f}")
            say(f"  {'total (wall)':<58} {report.probes['fast']['wall_s']:7.2f} {report.probes['naive']['wall_s']:7.2f}")
            for variant in VARIANTS:
                packages = ", ".join(
                    f"{name.removeprefix('cdktf_cdktf_provider_')}: {info['submodules']} modules"
                    + (" (bare package)" if info["bare"] else " (package __init__)")
                    for name, info in report.probes[variant]["packages"].items() if info["imported"]
                )
                kernels = ", ".join(
                    f"{k['role']} {mb(k['rss'])} RSS" + (" (lazy-index hook)" if k["lazy_index_hook"] else "")
                    for k in report.probes[variant]["kernels"]
                )
                say(f"  {variant}: {packages}; {kernels}")
            say(f"  bare cdktf app (import cdktf, empty App().synth()), median of 3: {report.bare_app_s:.2f} s")
        if report.scaling:
            for name, series in report.scaling.items():
                say("")
                say(f"Scaling, {name} (generated environments, {args.scaling_runs} runs per point, medians):")
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
