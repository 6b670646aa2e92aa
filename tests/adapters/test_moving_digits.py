"""The moving-digits generator: seeding, exact motion, and the frame-order property."""

from __future__ import annotations

import pytest
import torch

from graphclust.adapters.moving_digits import moving_digits


def _images() -> tuple[torch.Tensor, torch.Tensor]:
    """Three 6x6 glyphs with distinct shapes, two copies each."""
    glyphs = torch.zeros(3, 6, 6)
    glyphs[0, 1:5, 2:4] = 1.0  # vertical bar
    glyphs[1, 2:4, 1:5] = 1.0  # horizontal bar
    glyphs[2, 1:5, 1:5] = 0.5  # square
    return glyphs.repeat(2, 1, 1).unsqueeze(1), torch.tensor([0, 1, 2, 0, 1, 2])


def _centre_of_mass(frame: torch.Tensor) -> torch.Tensor:
    rows, cols = torch.meshgrid(
        torch.arange(frame.shape[0]), torch.arange(frame.shape[1]), indexing="ij"
    )
    mass = frame.sum()
    return torch.stack([(frame * cols).sum() / mass, (frame * rows).sum() / mass])


def test_shapes_labels_and_seeding() -> None:
    images, labels = _images()
    a = moving_digits(images, labels, n_clips=40, n_frames=5, frame_size=16, seed=3)
    b = moving_digits(images, labels, n_clips=40, n_frames=5, frame_size=16, seed=3)
    c = moving_digits(images, labels, n_clips=40, n_frames=5, frame_size=16, seed=4)
    assert tuple(a.clips.shape) == (40, 5, 1, 16, 16)
    assert torch.equal(a.clips, b.clips) and not torch.equal(a.clips, c.clips)
    assert set(a.direction.tolist()) <= {0, 1, 2, 3}
    assert torch.equal(a.label, a.digit * 4 + a.direction)  # digits 0..2 are their own rank
    assert float(a.clips.min()) >= 0 and float(a.clips.max()) <= 1


def test_every_frame_moves_the_digit_by_speed_in_its_direction() -> None:
    """Reference: the centre of mass of the (whole, undistorted) digit in each frame."""
    images, labels = _images()
    data = moving_digits(images, labels, n_clips=30, n_frames=4, frame_size=16, speed=2.0)
    expected = {0: (2, 0), 1: (0, -2), 2: (-2, 0), 3: (0, 2)}  # (d col, d row); rows go down
    for clip, direction, digit in zip(data.clips, data.direction, data.digit, strict=True):
        glyph_mass = float(images[int(digit), 0].sum())
        centres = []
        for frame in clip[:, 0]:
            assert abs(float(frame.sum()) - glyph_mass) < 1e-5  # never clipped by the border
            centres.append(_centre_of_mass(frame))
        steps = torch.stack(centres).diff(dim=0)
        want = torch.tensor(expected[int(direction)], dtype=torch.float32)
        torch.testing.assert_close(steps, want.expand_as(steps), atol=1e-4, rtol=0)


def test_opposite_directions_are_the_same_frames_reversed_in_distribution() -> None:
    """A frame-only model cannot tell left from right: the mean first frame of left-moving
    clips matches the mean last frame of right-moving clips (and vice versa)."""
    images, labels = _images()
    data = moving_digits(
        images[:1], labels[:1], n_clips=4000, n_frames=4, frame_size=16, n_directions=2, seed=0
    )
    right, left = data.clips[data.direction == 0], data.clips[data.direction == 1]
    assert len(right) > 1500 and len(left) > 1500
    gap = (right[:, 0].mean(0) - left[:, -1].mean(0)).abs().max()
    drift = (right[:, 0].mean(0) - right[:, -1].mean(0)).abs().max()
    assert float(gap) < 0.25 * float(drift)


def test_distractors_add_moving_fragments() -> None:
    images, labels = _images()
    plain = moving_digits(images, labels, n_clips=10, n_frames=3, frame_size=16, seed=1)
    busy = moving_digits(
        images,
        labels,
        n_clips=10,
        n_frames=3,
        frame_size=16,
        seed=1,
        n_distractors=2,
        distractor_size=3,
    )
    assert float(busy.clips.sum()) > float(plain.clips.sum())
    assert torch.equal(busy.direction, plain.direction)


def test_digit_subset_and_refusals() -> None:
    images, labels = _images()
    data = moving_digits(images, labels, n_clips=20, n_frames=3, frame_size=12, digits=(1, 2))
    assert set(data.digit.tolist()) <= {1, 2}
    assert set(data.label.tolist()) <= set(range(8))
    with pytest.raises(ValueError, match="frame_size"):
        moving_digits(images, labels, n_frames=8, frame_size=10, speed=2.0)
    with pytest.raises(ValueError, match="do not occur"):
        moving_digits(images, labels, digits=(7,))
    with pytest.raises(ValueError, match="labels"):
        moving_digits(images, labels[:3])
