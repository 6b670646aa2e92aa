"""What a benchmark record says about where it ran: versions, machine, date, command."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import sys
from importlib import metadata

_PACKAGES = (
    "graphclust",
    "torch",
    "torch-geometric",
    "torch-scatter",
    "numpy",
    "scipy",
    "scikit-learn",
    "networkx",
)


def package_versions() -> dict[str, str]:
    """Installed versions of the packages that shape results ("absent" when missing)."""
    versions = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def machine_info() -> dict[str, object]:
    """CPU count, platform, accelerator, and thread setting of this machine."""
    import torch

    info: dict[str, object] = {
        "platform": platform.platform(),
        "processor": platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
    return info


def run_context() -> dict[str, object]:
    """Command line, UTC date, versions and machine, for the header of a results file."""
    return {
        "command": " ".join([os.path.basename(sys.argv[0]), *sys.argv[1:]]),
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "versions": package_versions(),
        "machine": machine_info(),
    }
