"""GPU detection without importing a CUDA library.

On GKE the NVIDIA device plugin gives a GPU pod its /dev/nvidia<N> device nodes and mounts the driver
utilities (nvidia-smi) under /usr/local/nvidia/bin. NVIDIA_VISIBLE_DEVICES alone proves nothing: CUDA
base images set it to "all" even on CPU-only nodes. So a device node is the evidence; the variable and
nvidia-smi are reported as context.
"""
from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Optional

_DEVICE = re.compile(r"^nvidia(\d+)$")
_NVIDIA_SMI_DIRS = ("/usr/local/nvidia/bin", "/usr/bin", "/usr/local/bin")


@dataclass(frozen=True)
class GpuInfo:
    available: bool
    devices: tuple[str, ...] = ()
    visible_devices: Optional[str] = None
    nvidia_smi: Optional[str] = None
    reason: str = ""

    def as_dict(self) -> dict:
        return {"available": self.available, "count": len(self.devices), "devices": list(self.devices),
                "nvidia_visible_devices": self.visible_devices, "nvidia_smi": self.nvidia_smi,
                "reason": self.reason}


def detect_gpu(dev_dir: str = "/dev", environ: Optional[Mapping[str, str]] = None,
               which: Callable[[str, Optional[str]], Optional[str]] = lambda cmd, path: shutil.which(cmd, path=path)
               ) -> GpuInfo:
    env = os.environ if environ is None else environ
    visible = env.get("NVIDIA_VISIBLE_DEVICES")
    search_path = os.pathsep.join([env.get("PATH", ""), *_NVIDIA_SMI_DIRS])
    smi = which("nvidia-smi", search_path)
    try:
        names = os.listdir(dev_dir)
    except OSError:
        names = []
    devices = tuple(sorted((n for n in names if _DEVICE.match(n)), key=lambda n: int(_DEVICE.match(n).group(1))))
    if visible is not None and visible.strip().lower() in ("", "void", "none"):
        return GpuInfo(False, (), visible, smi, f"NVIDIA_VISIBLE_DEVICES={visible!r} hides all GPUs")
    if devices:
        return GpuInfo(True, tuple(os.path.join(dev_dir, d) for d in devices), visible, smi,
                       f"{len(devices)} NVIDIA device node(s) in {dev_dir}")
    if visible:
        return GpuInfo(False, (), visible, smi, "NVIDIA_VISIBLE_DEVICES is set but no /dev/nvidia<N> device is present")
    return GpuInfo(False, (), visible, smi, "no NVIDIA device nodes")
