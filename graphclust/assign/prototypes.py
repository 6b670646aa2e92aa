"""Learnable unit-norm prototypes (cluster centres on the sphere), one or several heads."""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from graphclust.utils.checks import positive_int


class Prototypes(nn.Module):
    """Bias-free linear layer(s) ``C [K, d]`` with unit-norm rows; scores are cosines.

    ``forward(z)`` returns ``normalize(z) @ C^T``: the cosine similarity of every
    embedding to every prototype, the input of :func:`graphclust.assign.sinkhorn` and of
    the swapped prediction losses. The rows of ``C`` are kept on the unit sphere by
    calling :meth:`normalize_` after every optimiser step (SwAV, MGCA, SIGMA do the same);
    gradients reach ``C`` unnormalised, as in those codes.

    Heads: ``n_prototypes=3000`` gives one head and ``forward`` returns one ``[B, K]``
    tensor. Several heads (SwAV's ``nmb_prototypes`` list) are asked for either with a
    list of sizes, ``n_prototypes=[3000, 3000, 1000]``, or with ``n_heads=3`` for three
    heads of the same size; ``forward`` then returns a list of ``[B, K_h]`` tensors, one
    per head, even for a one-element list. So the return type follows the constructor,
    never the data.

    Training loop::

        protos = Prototypes(128, 500, freeze_steps=313)
        for step, batch in enumerate(loader):
            loss = ...(protos(z1), protos(z2))
            loss.backward()
            protos.cancel_gradients(step)   # prototypes frozen for the first steps
            optimizer.step()
            protos.normalize_()

    Args:
        dim: embedding size ``d``.
        n_prototypes: ``K`` (int) or one ``K_h`` per head (sequence of ints).
        n_heads: number of heads of size ``n_prototypes`` when that is an int; must be
            1 or ``len(n_prototypes)`` when it is a sequence.
        freeze_steps: number of optimiser steps during which :meth:`cancel_gradients`
            clears the prototype gradients (SwAV: 313 iterations at batch 4096; MGCA:
            one epoch). Freezing lets the encoder move away from its random start
            before the prototypes chase it.
    """

    def __init__(
        self,
        dim: int,
        n_prototypes: int | Sequence[int],
        n_heads: int = 1,
        freeze_steps: int = 0,
    ) -> None:
        super().__init__()
        positive_int(dim, "dim")
        positive_int(n_heads, "n_heads")
        positive_int(freeze_steps, "freeze_steps", minimum=0)
        if isinstance(n_prototypes, numbers.Integral) and not isinstance(n_prototypes, bool):
            sizes = [int(n_prototypes)] * n_heads
            self.multi_head = n_heads > 1
        elif isinstance(n_prototypes, Sequence):
            sizes = list(n_prototypes)
            if not sizes or n_heads not in (1, len(sizes)):
                raise ValueError(
                    f"with a list n_prototypes={sizes}, n_heads must be 1 or its length "
                    f"{len(sizes)}, got n_heads={n_heads}; the list already gives one head "
                    "per entry"
                )
            self.multi_head = True
        else:
            raise ValueError(f"n_prototypes must be an int or a list of ints, got {n_prototypes!r}")
        sizes = [positive_int(k, "each entry of n_prototypes") for k in sizes]
        self.dim = int(dim)
        self.sizes = sizes
        self.freeze_steps = int(freeze_steps)
        self.heads = nn.ModuleList(nn.Linear(self.dim, k, bias=False) for k in sizes)
        self.normalize_()

    def forward(
        self, z: torch.Tensor, detach_prototypes: bool = False
    ) -> torch.Tensor | list[torch.Tensor]:
        """Cosine scores of the embeddings against every head's prototypes.

        Args:
            z: ``[B, d]`` embeddings (normalised here, so any scale is fine).
            detach_prototypes: score against a detached copy of the prototypes, so this
                branch's loss trains the encoder but not ``C`` (SIGMA's video branch).

        Returns:
            ``[B, K]`` for a single head, else a list of ``[B, K_h]``, one per head.
        """
        if z.dim() != 2 or z.shape[1] != self.dim:
            raise ValueError(
                f"z must have shape [B, {self.dim}] (embedding size given to Prototypes), "
                f"got {tuple(z.shape)}"
            )
        z = F.normalize(z, dim=1)
        scores = []
        for head in self.heads:
            weight = head.weight.detach() if detach_prototypes else head.weight
            scores.append(F.linear(z, weight))
        return scores if self.multi_head else scores[0]

    @torch.no_grad()
    def normalize_(self) -> None:
        """Project every prototype row back onto the unit sphere, in place."""
        for head in self.heads:
            head.weight.copy_(F.normalize(head.weight, dim=1))

    def cancel_gradients(self, step: int) -> bool:
        """Clear the prototype gradients while ``step < freeze_steps``.

        Call between ``loss.backward()`` and ``optimizer.step()``. Gradients are set to
        ``None`` rather than zero, as SwAV does, so the optimiser skips the prototypes
        entirely: no weight decay, no momentum, no Adam update while frozen.

        Args:
            step: the index (from 0) of the optimiser step about to be taken.

        Returns:
            Whether the gradients were cleared.
        """
        if step >= self.freeze_steps:
            return False
        for param in self.parameters():
            param.grad = None
        return True

    def extra_repr(self) -> str:
        return f"dim={self.dim}, sizes={self.sizes}, freeze_steps={self.freeze_steps}"
