"""Seeded moving-digits clips: classes that only motion tells apart.

Each clip shows one digit (from an image set such as ``usps``) sliding in a straight line
in one of ``n_directions`` directions at ``speed`` pixels per frame over a black canvas,
optionally with distractors: fragments of other digits moving in random directions.
The class of a clip is the pair (digit, direction), so clips of the same digit that move
differently are different classes.

Why a frame-only model cannot tell the direction: the start position is drawn uniformly
among those that keep the digit inside the canvas for the whole clip, so the *set* of
frames of a clip moving one way has the same distribution as that of a clip moving the
opposite way (the same frames in reverse order). Any model that sees frames without
their order (a frame encoder with pooling over time) is at chance between opposite
directions; a video model must use the order of the frames.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class MovingDigits:
    """A generated data set.

    Attributes:
        clips: float32 ``[N, T, 1, S, S]`` in ``[0, 1]``.
        digit: int64 ``[N]``, class of the moving digit.
        direction: int64 ``[N]``, direction id ``0..n_directions-1`` (angle
            ``2 pi d / n_directions``, counter-clockwise from "right", y pointing up).
        label: int64 ``[N]``, ``digit_rank * n_directions + direction`` with
            ``digit_rank`` the position of the digit in ``digits``.
        directions: float32 ``[n_directions, 2]``, unit ``(dx, dy)`` in image axes
            (``dy`` positive downwards, as rows grow).
    """

    clips: torch.Tensor
    digit: torch.Tensor
    direction: torch.Tensor
    label: torch.Tensor
    directions: torch.Tensor

    def __len__(self) -> int:
        return self.clips.shape[0]


def moving_digits(
    images: torch.Tensor,
    labels: torch.Tensor,
    n_clips: int = 1000,
    n_frames: int = 8,
    frame_size: int = 32,
    n_directions: int = 4,
    speed: float = 2.0,
    n_distractors: int = 0,
    distractor_size: int | None = None,
    digits: tuple[int, ...] | None = None,
    seed: int = 0,
) -> MovingDigits:
    """Generate clips of digits moving in one of ``n_directions`` directions.

    Args:
        images: ``[M, 1, h, w]`` (or ``[M, h, w]``) digit images in ``[0, 1]``,
            background 0.
        labels: ``[M]`` their digit classes.
        n_clips: number of clips ``N``; digits and directions are drawn uniformly.
        n_frames: frames per clip ``T``.
        frame_size: canvas side ``S``; must leave room for the motion:
            ``S >= max(h, w) + speed * (T - 1)``.
        n_directions: number of directions, evenly spaced (4: right, up, left, down).
        speed: displacement per frame, in pixels (positions are rounded per frame).
        n_distractors: fragments of other images per clip, each moving in a random
            direction at the same speed (they carry no label information).
        distractor_size: side of a fragment (default: half the digit side).
        digits: the digit classes to use (default: all in ``labels``).
        seed: seed of every random draw (same seed, same clips).

    Returns:
        :class:`MovingDigits`.
    """
    x = torch.as_tensor(images, dtype=torch.float32)
    if x.dim() == 4:
        if x.shape[1] != 1:
            raise ValueError(f"images must be grey [M, 1, h, w], got {tuple(x.shape)}")
        x = x[:, 0]
    if x.dim() != 3:
        raise ValueError(f"images must be [M, 1, h, w] or [M, h, w], got {tuple(x.shape)}")
    y = torch.as_tensor(labels).long()
    if y.shape != (x.shape[0],):
        raise ValueError(f"labels must be [M] = [{x.shape[0]}], got {tuple(y.shape)}")
    if n_clips < 1 or n_frames < 2 or n_directions < 2 or speed <= 0:
        raise ValueError("need n_clips >= 1, n_frames >= 2, n_directions >= 2 and speed > 0")
    side = max(x.shape[1:])
    travel = speed * (n_frames - 1)
    if frame_size < side + travel:
        raise ValueError(
            f"frame_size={frame_size} leaves no room: a {side}-pixel digit moving {travel:g} "
            f"pixels needs frame_size >= {math.ceil(side + travel)}"
        )
    classes = sorted(int(c) for c in y.unique()) if digits is None else [int(d) for d in digits]
    missing = [c for c in classes if not bool((y == c).any())]
    if missing:
        raise ValueError(f"digits {missing} do not occur in labels")
    rng = np.random.default_rng(seed)
    pool = {c: np.flatnonzero(y.numpy() == c) for c in classes}
    angles = 2 * np.pi * np.arange(n_directions) / n_directions
    unit = np.stack([np.cos(angles), -np.sin(angles)], axis=1)  # y axis points down
    frag = distractor_size or max(2, side // 2)

    clips = np.zeros((n_clips, n_frames, frame_size, frame_size), dtype=np.float32)
    digit_rank = rng.integers(len(classes), size=n_clips)
    direction = rng.integers(n_directions, size=n_clips)
    pixels = x.numpy()
    for i in range(n_clips):
        img = pixels[rng.choice(pool[classes[digit_rank[i]]])]
        _draw_moving(clips[i], img, unit[direction[i]], speed, rng)
        for _ in range(n_distractors):
            src = pixels[rng.integers(len(pixels))]
            r0 = rng.integers(src.shape[0] - frag + 1)
            c0 = rng.integers(src.shape[1] - frag + 1)
            patch = src[r0 : r0 + frag, c0 : c0 + frag]
            _draw_moving(clips[i], patch, unit[rng.integers(n_directions)], speed, rng)
    digit = torch.tensor([classes[r] for r in digit_rank], dtype=torch.long)
    direction_t = torch.from_numpy(direction).long()
    return MovingDigits(
        clips=torch.from_numpy(clips).unsqueeze(2),
        digit=digit,
        direction=direction_t,
        label=torch.from_numpy(digit_rank).long() * n_directions + direction_t,
        directions=torch.from_numpy(unit.astype(np.float32)),
    )


def _draw_moving(
    frames: np.ndarray, patch: np.ndarray, unit: np.ndarray, speed: float, rng
) -> None:
    """Paste ``patch`` into ``frames [T, S, S]`` along a straight path (max-composite).

    The start is uniform among positions that keep the whole path inside the canvas.
    """
    n_frames, size = frames.shape[0], frames.shape[1]
    ph, pw = patch.shape
    step = unit * speed
    # Offsets of the path relative to its start, per frame, as (col, row).
    path = np.arange(n_frames)[:, None] * step[None, :]
    low = -path.min(axis=0)
    high = np.array([size - pw, size - ph]) - path.max(axis=0)
    start = low + rng.random(2) * (high - low)
    positions = np.rint(start[None, :] + path).astype(int)
    for t, (col, row) in enumerate(positions):
        region = frames[t, row : row + ph, col : col + pw]
        np.maximum(region, patch, out=region)


__all__ = ["MovingDigits", "moving_digits"]
