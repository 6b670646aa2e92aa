"""BatchNorm over the global batch of a data-parallel run, on GPUs and on CPUs.

``torch.nn.SyncBatchNorm`` runs on GPUs only; :class:`GlooSyncBatchNorm` gives CPU
process groups (gloo) the same statistics and gradients, so that ``R`` CPU processes
train BatchNorm networks (SwAV's ResNet) as one process on the whole batch.
:func:`synced_batch_norm` swaps either in for the duration of training.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from graphclust.assign.dist import ProcessGroup, is_distributed


class _AllReduceSum(torch.autograd.Function):
    """Differentiable sum over ranks: the gradient of a sum is the sum of gradients."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, group: ProcessGroup) -> torch.Tensor:
        ctx.group = group
        out = x.clone()
        dist.all_reduce(out, group=group)
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        grad = grad.contiguous().clone()
        dist.all_reduce(grad, group=ctx.group)
        return grad, None


class GlooSyncBatchNorm(nn.modules.batchnorm._BatchNorm):
    """Training-mode BatchNorm over the global batch for CPU process groups.

    ``torch.nn.SyncBatchNorm`` runs on GPUs only. This one computes the same statistics
    with two differentiable all-reduces (the per-channel sums and count, then the
    summed squared deviations), so the
    normalisation and its gradient are those of one process holding the whole batch
    (biased variance to normalise, unbiased for the running average, as
    ``F.batch_norm``). Built by :meth:`sharing` from a BatchNorm whose parameters and
    buffers it shares (same names, so state dicts are unchanged). In eval mode, and
    with ``momentum=None`` (a cumulative re-estimation), it is a plain local BatchNorm.
    """

    group: ProcessGroup | None = None

    @classmethod
    def sharing(cls, bn: nn.modules.batchnorm._BatchNorm, group: ProcessGroup) -> GlooSyncBatchNorm:
        out = cls(bn.num_features, bn.eps, bn.momentum, bn.affine, bn.track_running_stats)
        out.weight, out.bias = bn.weight, bn.bias
        out.running_mean, out.running_var = bn.running_mean, bn.running_var
        out.num_batches_tracked = bn.num_batches_tracked
        out.training = bn.training
        out.group = group
        return out

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {x.dim()}D input)")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and self.track_running_stats and self.momentum is not None):
            return super().forward(x)
        dims = [0, *range(2, x.dim())]
        shape = [1, -1] + [1] * (x.dim() - 2)
        count = x.new_tensor([x.numel() / x.shape[1]])
        total = _AllReduceSum.apply(torch.cat([x.sum(dims), count]), self.group)
        n = total[-1]
        mean = total[:-1] / n
        centred = x - mean.view(shape)
        var = _AllReduceSum.apply((centred * centred).sum(dims), self.group) / n
        with torch.no_grad():
            m = self.momentum
            self.running_mean.mul_(1 - m).add_(m * mean.detach())
            self.running_var.mul_(1 - m).add_(m * var.detach() * n / (n - 1).clamp_min(1))
            self.num_batches_tracked.add_(1)
        out = centred * torch.rsqrt(var + self.eps).view(shape)
        if self.affine:
            out = out * self.weight.view(shape) + self.bias.view(shape)
        return out


@contextmanager
def synced_batch_norm(module: nn.Module, group: ProcessGroup | None) -> Iterator[nn.Module]:
    """Within the block, ``module``'s BatchNorm layers normalise over the global batch.

    Every ``_BatchNorm`` child is swapped for ``torch.nn.SyncBatchNorm`` (CUDA) or
    :class:`GlooSyncBatchNorm` (CPU), sharing its parameters and buffers, and put back
    on exit, so the trained module is plain again (eval, re-estimation, pickling). A
    no-op without a group.
    """
    swapped: list[tuple[nn.Module, str, nn.Module]] = []
    if is_distributed(group):
        for parent in list(module.modules()):
            for name, child in list(parent.named_children()):
                if isinstance(child, nn.modules.batchnorm._BatchNorm):
                    if child.weight is not None and child.weight.device.type == "cuda":
                        synced = nn.SyncBatchNorm.convert_sync_batchnorm(child, group)
                    else:
                        synced = GlooSyncBatchNorm.sharing(child, group)
                    setattr(parent, name, synced)
                    swapped.append((parent, name, child))
    try:
        yield module
    finally:
        for parent, name, child in swapped:
            setattr(parent, name, child)


__all__ = ["GlooSyncBatchNorm", "synced_batch_norm"]
