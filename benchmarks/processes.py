"""Running a command and reading its process tree from /proc: wall time and peak memory of python and the
jsii `node` processes it starts (the benchmark), and the role and environment of each node process (the
probe)."""
from __future__ import annotations

import os
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


def children(pid: int) -> list[int]:
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


def descendants(root: int) -> list[int]:
    """`root`'s children, their children, and so on (not `root` itself)."""
    found, pending = [], children(root)
    while pending:
        pid = pending.pop()
        found.append(pid)
        pending.extend(children(pid))
    return found


def memory(pid: int) -> tuple[int, int] | None:
    """(VmRSS, VmHWM) in bytes, or None once the process is gone (or a zombie)."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            text = handle.read()
    except OSError:
        return None
    values = dict(re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", text, re.M))
    if "VmRSS" not in values:
        return None
    return int(values["VmRSS"]) * 1024, int(values["VmHWM"]) * 1024


def jsii_processes(root: int) -> list[dict]:
    """The jsii node processes below `root`: the runtime wrapper (`jsii-runtime.js`) and the kernel
    (`lib/program.js`), with their RSS and whether the lazy-index hook is in their environment."""
    found = []
    for pid in descendants(root):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(part.endswith(b"program.js") for part in cmdline):
            role = "kernel"
        elif any(part.endswith(b"jsii-runtime.js") for part in cmdline):
            role = "runtime wrapper"
        else:
            continue
        environ = dict(item.split(b"=", 1) for item in raw if b"=" in item)
        found.append({
            "pid": pid,
            "role": role,
            "lazy_index_hook": b"lazy_index_hook.js" in environ.get(b"NODE_OPTIONS", b""),
            "lazy_index_packages": environ.get(b"PLATFORM_JSII_LAZY_INDEX_PACKAGES", b"").decode(),
            "rss": (memory(pid) or (0, 0))[0],
        })
    return found


@dataclass(frozen=True)
class Measurement:
    wall_s: float
    status: int
    tree_peak_sampled: int
    """Bytes: the largest sum of VmRSS over the tree seen by a sample (a lower bound of the true peak)."""
    tree_peak_bound: int
    """Bytes: the sum of every process's own peak VmHWM, at least `largest_process_peak` (an upper bound)."""
    largest_process_peak: int
    """Bytes: ru_maxrss from wait4, the largest single process (python or node)."""
    processes: int


def measure(cmd: list[str], env: dict[str, str], cwd: Path, log: Path, interval: float = 0.02) -> Measurement:
    """Run `cmd` with its output in `log`, timing it and sampling its process tree every `interval` s.

    The child (python) starts the jsii runtime wrapper and kernel (`node`), all alive at once.
    `getrusage(RUSAGE_CHILDREN)` / `wait4` only report the largest *single* process, so the tree is also
    polled through /proc. The sampled peak can miss a spike between two samples; the bound cannot (only
    growth in a process's last `interval` escapes it) but adds peaks that need not coincide and counts
    shared pages once per process. Checks use the bound.
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
            for member in [proc.pid, *descendants(proc.pid)]:
                found = memory(member)
                if found is not None:
                    total += found[0]
                    hwm[member] = max(hwm.get(member, 0), found[1])
            sampled_peak = max(sampled_peak, total)
            time.sleep(interval)
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4; keep Popen from waiting again
    largest = usage.ru_maxrss * 1024
    return Measurement(
        wall_s=wall,
        status=proc.returncode,
        tree_peak_sampled=sampled_peak,
        tree_peak_bound=max(sum(hwm.values()), largest, sampled_peak),
        largest_process_peak=largest,
        processes=len(hwm),
    )
