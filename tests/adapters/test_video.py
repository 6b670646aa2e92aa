"""Space-time tubes and tube masking, against hand indexing."""

from __future__ import annotations

import pytest
import torch
from torch_geometric.data import Data

from graphclust.adapters.video import (
    VideoTubeAdapter,
    check_clips,
    from_tubes,
    normalize_tubes,
    split_positions,
    to_tubes,
    tube_grid,
    tube_mask,
)


def test_tokens_are_the_hand_indexed_tubes() -> None:
    clips = torch.rand(2, 4, 3, 8, 12)  # B, T, C, H, W
    t, p = 2, 4
    tokens = to_tubes(clips, (t, p))
    n_t, n_h, n_w = 2, 2, 3
    assert tuple(tokens.shape) == (2, n_t * n_h * n_w, t * 3 * p * p)
    for b in range(2):
        for it in range(n_t):
            for ih in range(n_h):
                for iw in range(n_w):
                    tube = clips[
                        b, it * t : (it + 1) * t, :, ih * p : (ih + 1) * p, iw * p : (iw + 1) * p
                    ]
                    index = (it * n_h + ih) * n_w + iw
                    assert torch.equal(tokens[b, index], tube.reshape(-1))


def test_from_tubes_inverts_to_tubes() -> None:
    clips = torch.rand(3, 6, 1, 8, 8)
    assert torch.equal(from_tubes(to_tubes(clips, (3, 4)), (6, 1, 8, 8), (3, 4)), clips)


def test_tube_size_must_tile_the_clip() -> None:
    with pytest.raises(ValueError, match="divide"):
        tube_grid((5, 1, 8, 8), (2, 4))
    with pytest.raises(ValueError, match="divide"):
        to_tubes(torch.rand(1, 4, 1, 10, 8), (2, 4))


def test_tube_mask_hides_the_same_positions_in_every_time_slot() -> None:
    grid = tube_grid((8, 1, 16, 16), (2, 4))  # 4 time slots x 16 positions
    mask = tube_mask(5, grid, 0.75, torch.Generator().manual_seed(0))
    assert tuple(mask.shape) == (5, 64) and mask.dtype == torch.bool
    per_slot = mask.view(5, 4, 16)
    assert bool((per_slot == per_slot[:, :1]).all())
    assert per_slot[:, 0].sum(dim=1).tolist() == [12] * 5  # round(0.75 * 16)
    again = tube_mask(5, grid, 0.75, torch.Generator().manual_seed(0))
    assert torch.equal(mask, again)
    assert not torch.equal(mask[0], mask[1])  # positions differ between clips


def test_tube_mask_always_keeps_one_visible_and_one_hidden_position() -> None:
    grid = tube_grid((2, 1, 8, 8), (2, 4))  # 4 positions
    assert tube_mask(3, grid, 0.99).view(3, 4).sum(dim=1).tolist() == [3, 3, 3]
    assert tube_mask(3, grid, 0.01).view(3, 4).sum(dim=1).tolist() == [1, 1, 1]
    with pytest.raises(ValueError, match="ratio"):
        tube_mask(3, grid, 1.0)


def test_normalize_tubes_standardises_each_token() -> None:
    tokens = torch.rand(2, 5, 32) * 3 + 1
    out = normalize_tubes(tokens)
    torch.testing.assert_close(out.mean(dim=-1), torch.zeros(2, 5), atol=1e-5, rtol=0)
    torch.testing.assert_close(out.var(dim=-1, unbiased=False), torch.ones(2, 5), atol=1e-3, rtol=0)


def test_check_clips() -> None:
    assert tuple(check_clips(torch.rand(3, 4, 8, 8)).shape) == (3, 4, 1, 8, 8)
    raw = torch.full((2, 2, 1, 4, 4), 255, dtype=torch.uint8)
    assert float(check_clips(raw).max()) == 1.0
    with pytest.raises(ValueError, match=r"\[N, T, C, H, W\]"):
        check_clips(torch.rand(3, 8, 8))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        check_clips(torch.rand(3, 2, 1, 4, 4) * 2)
    with pytest.raises(ValueError, match="at least 2"):
        check_clips(torch.rand(1, 2, 1, 4, 4))
    with pytest.raises(TypeError, match="graph"):
        check_clips(Data(x=torch.rand(3, 4)))


def test_split_positions_lists_visible_and_hidden_tokens_in_order() -> None:
    mask = torch.tensor([[True, False, False, True], [False, True, False, True]])
    visible, masked = split_positions(mask)
    assert visible.tolist() == [[1, 2], [0, 2]] and masked.tolist() == [[0, 3], [1, 3]]
    with pytest.raises(ValueError, match="same number"):
        split_positions(torch.tensor([[True, False], [True, True]]))


def test_video_tube_adapter_batches() -> None:
    clips = torch.rand(10, 4, 1, 8, 8)
    adapter = VideoTubeAdapter(
        clips, (2, 4), 0.5, batch_size=4, generator=torch.Generator().manual_seed(0)
    )
    batches = list(adapter)
    assert len(adapter) == len(batches) == 2
    seen = torch.cat([b.index for b in batches])
    assert seen.unique().numel() == 8
    first = batches[0]
    assert adapter.token_dim == 32 and tuple(first.tokens.shape) == (4, 8, 32)
    assert torch.equal(first.tokens, to_tubes(clips[first.index], (2, 4)))
    assert tuple(first.visible.shape) == (4, 4) and tuple(first.masked.shape) == (4, 4)
    assert bool(first.mask.gather(1, first.masked).all())
    assert not bool(first.mask.gather(1, first.visible).any())
