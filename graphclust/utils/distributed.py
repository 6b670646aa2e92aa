"""Data-parallel training on ``torch.distributed``: the pieces the estimators share.

No cluster layer of our own: processes are started by ``torchrun`` (or anything that
sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``), joined
by :func:`init_from_env` (``gloo`` on CPUs, ``nccl`` on GPUs), gradients are averaged by
:class:`torch.nn.parallel.DistributedDataParallel`, and every global statistic goes
through a collective of the process group.

The contract an estimator follows (``distributed`` parameter, see
:func:`resolve_group`): ``None`` (default) trains data-parallel over the world group when
``torch.distributed`` is initialised with more than one process, else alone; ``False``
always trains alone; ``True`` requires an initialised group. Under a group:

- every rank builds the same *global* batch from the same seeded generator (order,
  crops, masks) and computes on its contiguous share of it (:class:`ShardedBatches`),
  so ``batch_size`` is the global batch and ``R`` ranks reproduce one process on the
  same batches (up to float summation order, and BatchNorm statistics on CPUs, where
  ``SyncBatchNorm`` is not available);
- logged values are averaged over ranks (:func:`all_reduce_mean`), so ``history_`` is
  the same on every rank;
- BatchNorm layers normalise over the global batch while training
  (:func:`graphclust.utils.sync_batchnorm.synced_batch_norm`);
- only rank 0 writes checkpoints and shows progress (:func:`is_main`);
- the fitted state is computed on every rank and rank 0's copy is broadcast
  (:func:`broadcast_tensors`), so every rank returns the same labels.

Group conventions are those of :mod:`graphclust.assign.dist`: ``None`` means this
process only.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from graphclust.assign.dist import ProcessGroup, is_distributed, rank, world_size

#: Environment variables ``torchrun`` sets in every process it starts.
TORCHRUN_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


def launched_by_torchrun() -> bool:
    """Whether this process was started by ``torchrun`` (its environment is complete)."""
    return all(name in os.environ for name in TORCHRUN_ENV)


def init_from_env(backend: str | None = None, timeout_s: float = 1800.0) -> bool:
    """Join the process group ``torchrun`` describes in the environment, if any.

    Does nothing (returns ``False``) in a plain single process. Under ``torchrun``:
    picks ``nccl`` when CUDA is available and ``gloo`` otherwise (``backend`` overrides),
    binds the process to GPU ``LOCAL_RANK`` when it uses CUDA, and initialises the
    default group. Calling it again once initialised is a no-op returning ``True``.

    Args:
        backend: ``"gloo"``, ``"nccl"`` or ``None`` (choose from the hardware).
        timeout_s: collective timeout in seconds (a dead peer fails the run after it).

    Returns:
        Whether this process is now part of a group of more than one process.
    """
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size() > 1
    if not launched_by_torchrun():
        return False
    if not dist.is_available():
        raise RuntimeError("torchrun started this process but torch.distributed is unavailable")
    if backend is None:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend not in ("gloo", "nccl"):
        raise ValueError(f"backend must be 'gloo' or 'nccl', got {backend!r}")
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
    elif os.environ.get("LOCAL_WORLD_SIZE") == os.environ["WORLD_SIZE"]:
        # All processes on this machine: gloo's interface lookup by host name fails on
        # machines without a resolvable one; loopback always works here.
        os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    dist.init_process_group(backend, timeout=timedelta(seconds=timeout_s))
    return dist.get_world_size() > 1


def shutdown() -> None:
    """Leave the default process group (``init_from_env``'s counterpart); idempotent."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def resolve_group(distributed: bool | None) -> ProcessGroup | None:
    """The process group an estimator trains over, from its ``distributed`` parameter.

    Args:
        distributed: ``None``: the world group when ``torch.distributed`` is initialised
            with more than one process, else ``None``; ``False``: ``None`` (this process
            alone, even inside a group); ``True``: the world group, which must exist.

    Raises:
        ValueError: ``distributed`` is not ``None``/``True``/``False``, or ``True``
            without an initialised process group.
    """
    if distributed is not None and not isinstance(distributed, bool):
        raise ValueError(f"distributed must be None, True or False, got {distributed!r}")
    initialised = dist.is_available() and dist.is_initialized()
    if distributed is True and not initialised:
        raise ValueError(
            "distributed=True but torch.distributed is not initialised; launch with "
            "torchrun (or graphclust fit --nproc-per-node N) and call "
            "graphclust.utils.distributed.init_from_env() first, or pass distributed=None"
        )
    if distributed is False or not initialised:
        return None
    if distributed is None and dist.get_world_size() == 1:
        return None
    return dist.group.WORLD


def is_main(group: ProcessGroup | None) -> bool:
    """Whether this process writes files and prints (rank 0, or not distributed)."""
    return rank(group) == 0


def check_same(value: int | float, name: str, group: ProcessGroup | None) -> None:
    """Raise on every rank when ``value`` differs between ranks (e.g. the seed).

    A seed that differs between ranks would give every rank another data order and
    other crops: the run would train on a mixture that matches no single process.
    """
    if not is_distributed(group):
        return
    t = torch.tensor([float(value), -float(value)], dtype=torch.float64)
    dist.all_reduce(t, op=dist.ReduceOp.MAX, group=group)
    if float(t[0]) != -float(t[1]):
        raise ValueError(
            f"{name} differs between ranks (from {-float(t[1])} to {float(t[0])}); every "
            f"rank must be given the same {name}"
        )


def shard(n: int, group: ProcessGroup | None) -> slice:
    """This rank's contiguous share of ``range(n)``: sizes differ by at most one, rank
    order (the first ``n % R`` ranks take one more)."""
    size, r = world_size(group), rank(group)
    base, extra = divmod(n, size)
    start = r * base + min(r, extra)
    return slice(start, start + base + (1 if r < extra else 0))


def shard_batch(batch: Any, group: ProcessGroup | None) -> Any:
    """This rank's rows of a batch: every tensor (in a tuple, list or ``NamedTuple``,
    nested) is sliced along dim 0 by :func:`shard`; anything else is kept as is."""
    if isinstance(batch, torch.Tensor):
        return batch[shard(batch.shape[0], group)]
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):
        return type(batch)(*(shard_batch(b, group) for b in batch))
    if isinstance(batch, (list, tuple)):
        return type(batch)(shard_batch(b, group) for b in batch)
    return batch


class ShardedBatches:
    """A :class:`~graphclust.training.Batches` iterable whose batches are this rank's share.

    Every rank iterates the same global batches (the wrapped object draws them from a
    generator seeded identically on every rank) and keeps its rows
    (:func:`shard_batch`). The per-batch draws (crops, masks) are made for the whole
    global batch on every rank: cheap next to the network, and what makes ``R`` ranks
    reproduce one process on the same global batch.

    Args:
        batches: ``len`` and iteration over global batches.
        batch_size: the global batch size, a multiple of the group size (equal shares,
            so that DDP's gradient average equals the global batch's gradient).
        group: the process group.
    """

    def __init__(self, batches: Any, batch_size: int, group: ProcessGroup | None) -> None:
        size = world_size(group)
        if batch_size % size:
            raise ValueError(
                f"batch_size={batch_size} must be a multiple of the {size} processes (each "
                "takes an equal share of a global batch); change batch_size or --nproc-per-node"
            )
        self.batches = batches
        self.group = group

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self) -> Iterator[Any]:
        for batch in self.batches:
            yield shard_batch(batch, self.group)


def all_reduce_mean(
    values: Mapping[str, torch.Tensor | float], group: ProcessGroup | None
) -> dict[str, torch.Tensor]:
    """Average scalars over ranks in one collective; returns detached float64 tensors.

    Used for what a step logs (equal shares of a batch: the mean of the per-rank means
    is the global mean) and to check the loss for NaN on every rank at once: a NaN on
    one rank becomes a NaN on all, so all raise together instead of one rank waiting
    forever in the next collective.
    """
    keys = list(values)
    flat = torch.stack(
        [
            v.detach().double().reshape(()).cpu()
            if isinstance(v, torch.Tensor)
            else torch.tensor(float(v), dtype=torch.float64)
            for v in values.values()
        ]
    )
    if is_distributed(group):
        flat = _collective_device_copy(flat, group)
        dist.all_reduce(flat, group=group)
        flat = flat.cpu() / world_size(group)
    return dict(zip(keys, flat, strict=True))


def all_reduce_sum_(tensor: torch.Tensor, group: ProcessGroup | None) -> torch.Tensor:
    """Sum ``tensor`` over ranks in place (no-op alone) and return it."""
    if is_distributed(group):
        dist.all_reduce(tensor, group=group)
    return tensor


def broadcast_tensors(tensors: Iterable[torch.Tensor], group: ProcessGroup | None) -> None:
    """Overwrite ``tensors`` in place with rank 0's values (same shapes on every rank)."""
    if not is_distributed(group):
        return
    src = dist.get_global_rank(group, 0) if group is not dist.group.WORLD else 0
    for t in tensors:
        buf = _collective_device_copy(t.detach(), group)
        dist.broadcast(buf, src=src, group=group)
        with torch.no_grad():
            t.copy_(buf.to(t.device))


def broadcast_module_(module: torch.nn.Module, group: ProcessGroup | None) -> None:
    """Give every rank rank 0's parameters and buffers (e.g. BatchNorm statistics, which
    DDP leaves per rank after the last step)."""
    broadcast_tensors([*module.parameters(), *module.buffers()], group)


def gather_rows(x: torch.Tensor, group: ProcessGroup | None) -> torch.Tensor:
    """Concatenate every rank's rows ``[n_r, ...]`` in rank order (sizes may differ by
    rank; :func:`shard` shares). Returns ``x`` itself alone."""
    if not is_distributed(group):
        return x
    return _gather_with_counts(x, group)[0]


def _gather_with_counts(x: torch.Tensor, group: ProcessGroup) -> tuple[torch.Tensor, list[int]]:
    size = world_size(group)
    n = torch.tensor([x.shape[0]], dtype=torch.long)
    sizes = [torch.zeros_like(n) for _ in range(size)]
    _all_gather_counts(sizes, n, group)
    counts = [int(c) for c in sizes]
    longest = max(counts)
    padded = torch.zeros((longest, *x.shape[1:]), dtype=x.dtype, device=x.device)
    padded[: x.shape[0]] = x
    padded = _collective_device_copy(padded, group)
    parts = [torch.empty_like(padded) for _ in range(size)]
    dist.all_gather(parts, padded, group=group)
    rows = [p[:c].to(x.device) for p, c in zip(parts, counts, strict=True)]
    return torch.cat(rows), counts


class _GatherRows(torch.autograd.Function):
    """All-gather of rows whose gradient returns to the rank that owns each row."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, group: ProcessGroup) -> torch.Tensor:
        out, counts = _gather_with_counts(x, group)
        ctx.group = group
        ctx.rows = x.shape[0]
        ctx.start = sum(counts[: rank(group)])
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        # Every rank's loss may read every row: sum the gradients over ranks, keep ours.
        grad = grad.contiguous().clone()
        buf = _collective_device_copy(grad, ctx.group)
        dist.all_reduce(buf, group=ctx.group)
        grad = buf.to(grad.device)
        return grad[ctx.start : ctx.start + ctx.rows], None


def gather_rows_with_grad(x: torch.Tensor, group: ProcessGroup | None) -> torch.Tensor:
    """:func:`gather_rows` through which gradients flow back to each row's owner.

    The backward all-reduces the gradient of the gathered tensor (every rank's loss may
    use every rank's rows) and returns this rank's slice of it, so that DDP's average of
    the parameter gradients is the gradient of the mean of the ranks' losses.
    """
    if not is_distributed(group):
        return x
    return _GatherRows.apply(x, group)


def _all_gather_counts(
    counts: Sequence[torch.Tensor], n: torch.Tensor, group: ProcessGroup | None
) -> None:
    bufs = [_collective_device_copy(c, group) for c in counts]
    dist.all_gather(bufs, _collective_device_copy(n, group), group=group)
    for c, b in zip(counts, bufs, strict=True):
        c.copy_(b.cpu())


def _collective_device_copy(t: torch.Tensor, group: ProcessGroup | None) -> torch.Tensor:
    """``t`` on the device the group's backend communicates from (NCCL: this GPU)."""
    if dist.get_backend(group) == "nccl":
        return t.to(torch.device("cuda", torch.cuda.current_device()))
    return t.cpu() if t.device.type != "cpu" else t


def wrap_ddp(module: torch.nn.Module, group: ProcessGroup | None) -> torch.nn.Module:
    """``DistributedDataParallel(module)`` over ``group`` (``module`` itself alone).

    Constructing DDP broadcasts rank 0's parameters and buffers, so every rank starts
    from the same state whatever its own initialisation drew. BatchNorm layers are
    synchronised separately (:func:`synced_batch_norm`).
    """
    if not is_distributed(group):
        return module
    device = next(module.parameters()).device
    if device.type != "cuda":
        return torch.nn.parallel.DistributedDataParallel(module, process_group=group)
    index = device.index if device.index is not None else torch.cuda.current_device()
    return torch.nn.parallel.DistributedDataParallel(
        module, device_ids=[index], process_group=group
    )


class StepModule(nn.Module):
    """A training step as a module's ``forward``, so that DDP sees the whole step.

    DDP averages the gradients of what runs inside its ``forward``; a step that calls
    several sub-modules (encoder, prototypes, centroids) and collectives runs as one.

    Args:
        modules: the trained module (its parameters are what DDP synchronises; every
            one must get a gradient in every step, DDP's default).
        step: ``step(*args) -> outputs``.
    """

    def __init__(self, modules: nn.Module, step: Any) -> None:
        super().__init__()
        self.net = modules
        self._step = step

    def forward(self, *args: Any) -> Any:
        return self._step(*args)


__all__ = [
    "ShardedBatches",
    "StepModule",
    "TORCHRUN_ENV",
    "all_reduce_mean",
    "all_reduce_sum_",
    "broadcast_module_",
    "broadcast_tensors",
    "check_same",
    "gather_rows",
    "gather_rows_with_grad",
    "init_from_env",
    "is_main",
    "launched_by_torchrun",
    "resolve_group",
    "shard",
    "shard_batch",
    "shutdown",
    "wrap_ddp",
]
