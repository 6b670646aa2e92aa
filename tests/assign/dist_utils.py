"""Run a function in several CPU processes joined by a ``gloo`` process group.

Used by the distributed tests of ``graphclust.assign``: each test states what every
rank computes in a module-level function (it must be picklable, since the processes
are spawned), and compares the gathered results with a single-process computation.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

# A hung collective must fail the test, not the whole suite.
_TIMEOUT = timedelta(seconds=60)


def run_distributed(
    fn: Callable[..., Any], world_size: int, tmp_dir: Path, *args: Any
) -> list[Any]:
    """Call ``fn(rank, world_size, group, *args)`` on ``world_size`` spawned processes.

    The processes share a ``gloo`` group set up through a ``FileStore`` in ``tmp_dir``
    (no network port to pick or collide on). Each rank's return value is saved with
    ``torch.save`` and the list, ordered by rank, is returned. An exception in any
    rank is re-raised here (``torch.multiprocessing.ProcessRaisedException``).
    """
    tmp_dir = Path(tmp_dir)
    mp.spawn(
        _entry,
        args=(world_size, str(tmp_dir / "store"), str(tmp_dir), fn, args),
        nprocs=world_size,
        join=True,
    )
    return [torch.load(tmp_dir / f"result_{r}.pt") for r in range(world_size)]


def _entry(
    rank: int,
    world_size: int,
    store_path: str,
    out_dir: str,
    fn: Callable[..., Any],
    args: tuple[Any, ...],
) -> None:
    # Two cores are shared by the whole test run; one thread per process is plenty.
    torch.set_num_threads(1)
    if sys.platform.startswith("linux"):
        # gloo looks up the host name to pick a network interface, which fails on
        # machines without a resolvable host name; the loopback one always exists
        os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    store = dist.FileStore(store_path, world_size)
    dist.init_process_group("gloo", store=store, rank=rank, world_size=world_size, timeout=_TIMEOUT)
    try:
        result = fn(rank, world_size, dist.group.WORLD, *args)
        torch.save(result, Path(out_dir) / f"result_{rank}.pt")
    finally:
        dist.destroy_process_group()
