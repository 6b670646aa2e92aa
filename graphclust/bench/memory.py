"""Peak resident memory of this process, resettable between runs (Linux).

Linux keeps a high-water mark of resident memory (VmHWM); writing "5" to
/proc/self/clear_refs resets it, so consecutive runs in one process each get their own
peak. Elsewhere the lifetime peak from getrusage is reported instead, and
:func:`peak_is_per_run` says so.
"""

from __future__ import annotations

import resource
import sys
from pathlib import Path

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _read_hwm_kb() -> int | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def reset_peak_rss() -> bool:
    """Reset the peak-RSS mark; returns False where the platform cannot."""
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def peak_rss_mb() -> float:
    """Peak resident memory in MiB since the last successful reset (or process start)."""
    hwm = _read_hwm_kb()
    if hwm is not None:
        return hwm / 1024
    usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # ru_maxrss is in KiB on Linux and bytes on macOS.
    return usage / (1024 * 1024) if sys.platform == "darwin" else usage / 1024


def peak_is_per_run() -> bool:
    """Whether :func:`reset_peak_rss` works here, so peaks are per run, not per process."""
    return _read_hwm_kb() is not None and reset_peak_rss()
