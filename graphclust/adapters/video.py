"""Video clips -> space-time tubes, and VideoMAE's tube masking.

A clip ``[T, C, H, W]`` is cut into non-overlapping tubes of ``t`` frames by ``p x p``
pixels (VideoMAE/SIGMA: ``2 x 16 x 16``); each tube is flattened to a token of
``t * C * p * p`` values. Tokens are ordered time-major: token
``(i_t, i_h, i_w)`` sits at ``(i_t * (H/p) + i_h) * (W/p) + i_w``.

Tube masking (VideoMAE) masks the *same* spatial positions in every temporal slot, so a
masked patch cannot be copied from the neighbouring frame, which is what makes masked
video modelling learn motion rather than interpolation.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import torch
from torch_geometric.data import Data


class TubeGrid(NamedTuple):
    """The layout of tubes in a clip: ``(T/t, H/p, W/p)`` slots and the tube size."""

    n_t: int
    n_h: int
    n_w: int
    t: int
    p: int

    @property
    def n_tubes(self) -> int:
        return self.n_t * self.n_h * self.n_w

    @property
    def n_spatial(self) -> int:
        return self.n_h * self.n_w


def tube_grid(clip_shape: tuple[int, ...], tube_size: tuple[int, int]) -> TubeGrid:
    """Check that ``tube_size = (t, p)`` tiles clips of shape ``[T, C, H, W]`` exactly."""
    if len(clip_shape) != 4:
        raise ValueError(f"a clip must be [T, C, H, W], got {tuple(clip_shape)}")
    t_len, _, h, w = clip_shape
    t, p = tube_size
    if t < 1 or p < 1 or t_len % t or h % p or w % p:
        raise ValueError(
            f"tube size (t={t}, p={p}) must divide the clip's T={t_len}, H={h}, W={w}; "
            "crop or pad the clips, or pick another tube size"
        )
    return TubeGrid(t_len // t, h // p, w // p, t, p)


def to_tubes(clips: torch.Tensor, tube_size: tuple[int, int] = (2, 8)) -> torch.Tensor:
    """Cut clips ``[B, T, C, H, W]`` into tubes ``[B, L, t * C * p * p]`` (time-major).

    ``L = (T/t) (H/p) (W/p)``; within a token the values are ordered ``(t, C, p, p)``.
    """
    if clips.dim() != 5:
        raise ValueError(f"clips must be [B, T, C, H, W], got {tuple(clips.shape)}")
    grid = tube_grid(tuple(clips.shape[1:]), tube_size)
    b, _, c = clips.shape[:3]
    x = clips.reshape(b, grid.n_t, grid.t, c, grid.n_h, grid.p, grid.n_w, grid.p)
    x = x.permute(0, 1, 4, 6, 2, 3, 5, 7)  # B, n_t, n_h, n_w | t, C, p, p
    return x.reshape(b, grid.n_tubes, grid.t * c * grid.p * grid.p)


def from_tubes(
    tubes: torch.Tensor, clip_shape: tuple[int, int, int, int], tube_size: tuple[int, int] = (2, 8)
) -> torch.Tensor:
    """Inverse of :func:`to_tubes`: ``[B, L, t C p p] -> [B, T, C, H, W]``."""
    grid = tube_grid(tuple(clip_shape), tube_size)
    b = tubes.shape[0]
    c = clip_shape[1]
    x = tubes.reshape(b, grid.n_t, grid.n_h, grid.n_w, grid.t, c, grid.p, grid.p)
    x = x.permute(0, 1, 4, 5, 2, 6, 3, 7)
    return x.reshape(b, *clip_shape)


def tube_mask(
    batch_size: int,
    grid: TubeGrid,
    ratio: float = 0.75,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """VideoMAE tube masking: a boolean mask ``[B, L]``, True = masked (hidden).

    Per clip, ``round(ratio * n_spatial)`` spatial positions are drawn without
    replacement and masked in every temporal slot, so every clip has exactly the same
    number of visible tokens (the encoder can then batch them as ``[B, L_vis, D]``).

    Args:
        batch_size: number of clips ``B``.
        grid: the tube layout (:func:`tube_grid`).
        ratio: fraction of spatial positions masked, in ``(0, 1)``; at least one
            position stays visible and one is masked.
        generator: CPU generator for the draw.
    """
    if not 0 < ratio < 1:
        raise ValueError(f"mask ratio must lie in (0, 1), got {ratio}")
    n_masked = min(max(1, round(ratio * grid.n_spatial)), grid.n_spatial - 1)
    order = torch.rand(batch_size, grid.n_spatial, generator=generator).argsort(dim=1)
    spatial = torch.zeros(batch_size, grid.n_spatial, dtype=torch.bool)
    spatial.scatter_(1, order[:, :n_masked], True)
    return spatial.repeat(1, grid.n_t)


def normalize_tubes(tubes: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Per-token standardisation (VideoMAE's normalised pixel target): ``[..., D]``."""
    mean = tubes.mean(dim=-1, keepdim=True)
    var = tubes.var(dim=-1, unbiased=False, keepdim=True)
    return (tubes - mean) / (var + eps).sqrt()


class TubeBatch(NamedTuple):
    """One masked batch of clips.

    Attributes:
        index: LongTensor ``[B]``, positions of the clips in the data set.
        tokens: ``[B, L, t C p p]`` tube tokens (:func:`to_tubes`).
        mask: bool ``[B, L]``, True = hidden (:func:`tube_mask`).
        visible: LongTensor ``[B, L_vis]``, token positions the encoder sees, ascending.
        masked: LongTensor ``[B, L_mask]``, token positions to predict, ascending.
    """

    index: torch.Tensor
    tokens: torch.Tensor
    mask: torch.Tensor
    visible: torch.Tensor
    masked: torch.Tensor


def split_positions(mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Visible and hidden token positions ``([B, L_vis], [B, L_mask])`` of a mask ``[B, L]``.

    Every row must hide the same number of tokens (true of :func:`tube_mask`).
    """
    b, n_tubes = mask.shape
    hidden = mask.sum(dim=1)
    if bool((hidden != hidden[0]).any()):
        raise ValueError("every clip of a batch must hide the same number of tubes")
    positions = torch.arange(n_tubes, device=mask.device).expand(b, -1)
    return positions[~mask].view(b, -1), positions[mask].view(b, -1)


class VideoTubeAdapter:
    """Masked batches of tube tokens from a clip tensor, built on the training device.

    The video counterpart of :class:`~graphclust.adapters.ImageGraphAdapter`: per batch
    it yields a :class:`TubeBatch` (tokens, tube mask, visible and hidden positions).
    The clip order and the masks are drawn from ``generator`` (CPU), in that order.

    Args:
        clips: ``[N, T, C, H, W]`` in ``[0, 1]`` (see :func:`check_clips`).
        tube_size: ``(t, p)``.
        mask_ratio: fraction of spatial positions hidden per clip.
        batch_size: clips per batch; the last incomplete batch is dropped.
        shuffle: a new random order every epoch.
        device: where tokens and masks are built.
        generator: CPU generator (seeded by the caller).
    """

    def __init__(
        self,
        clips: torch.Tensor,
        tube_size: tuple[int, int] = (2, 8),
        mask_ratio: float = 0.75,
        batch_size: int = 32,
        shuffle: bool = True,
        device: str | torch.device = "cpu",
        generator: torch.Generator | None = None,
    ) -> None:
        self.clips = check_clips(clips, min_samples=1).to(device)
        self.grid = tube_grid(tuple(self.clips.shape[1:]), tube_size)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.tube_size = (int(tube_size[0]), int(tube_size[1]))
        self.mask_ratio = mask_ratio
        self.batch_size = min(batch_size, self.clips.shape[0])
        self.shuffle = shuffle
        self.device = torch.device(device)
        self.generator = generator if generator is not None else torch.Generator()

    @property
    def token_dim(self) -> int:
        """Values per tube token, ``t * C * p * p``."""
        return self.grid.t * self.clips.shape[2] * self.grid.p * self.grid.p

    def __len__(self) -> int:
        return self.clips.shape[0] // self.batch_size

    def __iter__(self) -> Iterator[TubeBatch]:
        n = self.clips.shape[0]
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        for i in range(len(self)):
            index = order[i * self.batch_size : (i + 1) * self.batch_size]
            mask = tube_mask(self.batch_size, self.grid, self.mask_ratio, self.generator)
            mask = mask.to(self.device)
            tokens = to_tubes(self.clips[index.to(self.device)], self.tube_size)
            yield TubeBatch(index, tokens, mask, *split_positions(mask))


def check_clips(clips: object, min_samples: int = 2) -> torch.Tensor:
    """Validate video input at the door: float32 ``[N, T, C, H, W]`` in ``[0, 1]``.

    ``[N, T, H, W]`` gets a channel axis; ``uint8`` is scaled by 1/255.
    """
    if isinstance(clips, Data):
        raise TypeError("clips must be a video tensor [N, T, C, H, W], got a graph (PyG Data)")
    if not isinstance(clips, torch.Tensor):
        try:
            clips = torch.as_tensor(clips)
        except (TypeError, ValueError, RuntimeError) as err:
            raise TypeError(
                f"clips must be a tensor [N, T, C, H, W], got {type(clips).__name__}"
            ) from err
    x = clips
    if x.dim() == 4:
        x = x.unsqueeze(2)
    if x.dim() != 5:
        raise ValueError(f"clips must be [N, T, C, H, W] or [N, T, H, W], got {tuple(x.shape)}")
    if x.shape[0] < min_samples:
        raise ValueError(f"got {x.shape[0]} clips; at least {min_samples} are needed")
    x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
    if not bool(torch.isfinite(x).all()):
        raise ValueError("clips contain NaN or inf")
    if float(x.min()) < 0 or float(x.max()) > 1:
        raise ValueError("clip values must lie in [0, 1]; rescale them (e.g. divide by 255)")
    return x.contiguous()


__all__ = [
    "TubeBatch",
    "TubeGrid",
    "VideoTubeAdapter",
    "check_clips",
    "from_tubes",
    "normalize_tubes",
    "split_positions",
    "to_tubes",
    "tube_grid",
    "tube_mask",
]
