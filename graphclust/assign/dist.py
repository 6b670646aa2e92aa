"""Distributed helpers for the assignment core, kept apart from the maths.

Convention used across ``graphclust.assign``: a ``group`` argument of ``None`` means
"this process only" (no communication, even when ``torch.distributed`` is initialised);
pass ``torch.distributed.group.WORLD`` or a group from ``torch.distributed.new_group``
to reduce over processes. This differs from ``torch.distributed``'s own default (where
``None`` means the world) on purpose: a function called from a single-process script
must never block waiting for peers that do not exist.
"""

from __future__ import annotations

import torch
import torch.distributed as dist

ProcessGroup = dist.ProcessGroup if dist.is_available() else object


def is_distributed(group: ProcessGroup | None) -> bool:
    """Whether ``group`` asks for communication, checking that it is possible.

    Raises:
        ValueError: when a group is given but ``torch.distributed`` is not initialised.
    """
    if group is None:
        return False
    if not (dist.is_available() and dist.is_initialized()):
        raise ValueError(
            "a process group was passed but torch.distributed is not initialised; call "
            "torch.distributed.init_process_group(...) first, or pass group=None for a "
            "single-process run"
        )
    return True


def world_size(group: ProcessGroup | None = None) -> int:
    """Number of processes in ``group`` (1 when ``group`` is ``None``)."""
    return dist.get_world_size(group) if is_distributed(group) else 1


def rank(group: ProcessGroup | None = None) -> int:
    """Rank of this process in ``group`` (0 when ``group`` is ``None``)."""
    return dist.get_rank(group) if is_distributed(group) else 0


def any_rank(flag: bool | torch.Tensor, group: ProcessGroup | None, device=None) -> bool:
    """Whether ``flag`` holds on at least one process of ``group`` (one all-reduce).

    Every rank must call it: a check that fails on one rank only (non-finite scores,
    say) then fails on all of them, instead of one rank raising while the others wait
    forever in the next collective. ``device``: where the flag is reduced (the device
    of the data the check is about; NCCL needs a GPU tensor).
    """
    if not is_distributed(group):
        return bool(flag)
    total = torch.tensor([float(bool(flag))], device=device)
    dist.all_reduce(total, group=group)
    return bool(total.item() > 0)


def all_reduce_logsumexp(lse: torch.Tensor, group: ProcessGroup | None) -> torch.Tensor:
    """Combine per-process log-sum-exp values into the log-sum-exp over all processes.

    Each process holds ``lse = logsumexp(x_local, dim=...)`` (any shape, same on every
    process); the result is ``log(sum_p exp(lse_p))`` elementwise, which is the
    log-sum-exp over the concatenation of every process's rows. Two all-reduces of
    ``lse.numel()`` floats: the elementwise max (for stability) then the shifted sums.
    A process with no rows contributes ``-inf``, which is handled.

    Args:
        lse: local log-sum-exp values, floating point, any shape.
        group: process group, or ``None`` for this process only.

    Returns:
        Tensor of the same shape and dtype as ``lse``.
    """
    if not is_distributed(group):
        return lse
    shift = lse.clone()
    dist.all_reduce(shift, op=dist.ReduceOp.MAX, group=group)
    # An entry that is -inf everywhere would give (-inf) - (-inf) = nan; shift it by 0.
    shift = torch.where(torch.isfinite(shift), shift, torch.zeros_like(shift))
    total = torch.exp(lse - shift)
    dist.all_reduce(total, op=dist.ReduceOp.SUM, group=group)
    return shift + torch.log(total)
