"""Video ViT encoder and decoder: position codes, masking semantics, shapes."""

from __future__ import annotations

import math

import pytest
import torch

from graphclust.nn.vit import VideoDecoder, VideoViT, gather_tokens, sincos_positions


def test_sincos_positions_match_the_transformer_formula() -> None:
    codes = sincos_positions(7, 6)
    for pos in range(7):
        for i in range(3):
            angle = pos / 10000 ** (2 * i / 6)
            assert codes[pos, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-6)
            assert codes[pos, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-6)
    with pytest.raises(ValueError, match="even"):
        sincos_positions(3, 5)


def test_gather_tokens_matches_indexing() -> None:
    x = torch.rand(2, 5, 3)
    index = torch.tensor([[4, 0], [1, 1]])
    out = gather_tokens(x, index)
    for b in range(2):
        for j in range(2):
            assert torch.equal(out[b, j], x[b, index[b, j]])


def test_encoder_never_sees_the_hidden_tokens() -> None:
    torch.manual_seed(0)
    encoder = VideoViT(token_dim=12, n_tubes=6, dim=8, depth=2, heads=2).eval()
    tokens = torch.rand(2, 6, 12)
    visible = torch.tensor([[0, 2, 5], [1, 3, 4]])
    changed = tokens.clone()
    for b in range(2):
        hidden = [i for i in range(6) if i not in visible[b].tolist()]
        changed[b, hidden] = torch.rand(len(hidden), 12) * 10
    with torch.no_grad():
        torch.testing.assert_close(encoder(tokens, visible), encoder(changed, visible))
        full = encoder(tokens)
        all_visible = encoder(tokens, torch.arange(6).expand(2, -1))
    torch.testing.assert_close(full, all_visible)
    assert encoder.pooled(tokens).shape == (2, 8)


def test_decoder_predicts_one_vector_per_hidden_tube() -> None:
    """Each prediction belongs to its hidden tube: listing the hidden tubes in another
    order reorders the predictions, listing the visible tokens (with their positions) in
    another order changes nothing, clips of a batch do not see each other, and the
    position codes tell apart the tubes that share the one mask token."""
    torch.manual_seed(0)
    decoder = VideoDecoder(in_dim=8, n_tubes=6, out_dim=5, dim=8, depth=1, heads=2).eval()
    encoded = torch.rand(2, 3, 8)
    visible = torch.tensor([[0, 2, 5], [1, 3, 4]])
    masked = torch.tensor([[1, 3, 4], [0, 2, 5]])
    with torch.no_grad():
        out = decoder(encoded, visible, masked)
        assert out.shape == (2, 3, 5)
        order = torch.tensor([2, 0, 1])
        torch.testing.assert_close(decoder(encoded, visible, masked[:, order]), out[:, order])
        torch.testing.assert_close(decoder(encoded[:, order], visible[:, order], masked), out)
        torch.testing.assert_close(decoder(encoded[1:], visible[1:], masked[1:]), out[1:])
    assert min(float(torch.pdist(clip).min()) for clip in out) > 1e-4


def test_encoder_refuses_wrong_token_count_and_bad_heads() -> None:
    with pytest.raises(ValueError, match=r"\[B, 6, D\]"):
        VideoViT(12, 6, dim=8, depth=1, heads=2)(torch.rand(2, 5, 12))
    with pytest.raises(ValueError, match="divisible"):
        VideoViT(12, 6, dim=10, depth=1, heads=4)
