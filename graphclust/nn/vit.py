"""A small ViT-style video encoder and light decoder for masked video modelling.

VideoMAE's architecture at CPU scale: tube tokens (``graphclust.adapters.video``) are
embedded linearly, get a fixed sine-cosine position code of their tube index, and pass
through pre-norm transformer blocks. In training the encoder sees only the visible
tokens (``visible`` indices), which is what makes a 75-90% mask cheap; the light decoder
appends one learned mask token per hidden tube (with its position code), runs a few
narrow blocks over all tokens, and predicts a vector per hidden tube: normalised pixels
(VideoMAE) or a feature (SIGMA).

Default sizes (``dim=96, depth=3`` encoder, ``dim=64, depth=1`` decoder) have ~0.3 M
parameters (0.24 M in the encoder); a training step on 32 clips of 64 tubes at 75%
masking takes ~0.1 s on one CPU core.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def sincos_positions(n_positions: int, dim: int) -> torch.Tensor:
    """Fixed 1-D sine-cosine position codes ``[n_positions, dim]`` (Transformer, VideoMAE)."""
    if dim % 2:
        raise ValueError(f"position code size must be even, got {dim}")
    position = torch.arange(n_positions, dtype=torch.float32).unsqueeze(1)
    freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    codes = torch.zeros(n_positions, dim)
    codes[:, 0::2] = torch.sin(position * freq)
    codes[:, 1::2] = torch.cos(position * freq)
    return codes


def _blocks(dim: int, depth: int, heads: int, mlp_ratio: float) -> nn.TransformerEncoder:
    if dim % heads:
        raise ValueError(f"width {dim} must be divisible by the number of heads {heads}")
    layer = nn.TransformerEncoderLayer(
        dim,
        heads,
        int(dim * mlp_ratio),
        dropout=0.0,
        activation="gelu",
        batch_first=True,
        norm_first=True,
    )
    return nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)


def gather_tokens(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Rows ``index [B, M]`` of every sequence in ``x [B, L, D]`` -> ``[B, M, D]``."""
    return x.gather(1, index.unsqueeze(-1).expand(-1, -1, x.shape[-1]))


class VideoViT(nn.Module):
    """Transformer encoder over tube tokens ``[B, L, token_dim] -> [B, L_vis, dim]``.

    Args:
        token_dim: values per tube ``t * C * p * p``.
        n_tubes: tokens per clip ``L``.
        dim, depth, heads, mlp_ratio: transformer size.
    """

    def __init__(
        self,
        token_dim: int,
        n_tubes: int,
        dim: int = 96,
        depth: int = 3,
        heads: int = 4,
        mlp_ratio: float = 2.0,
    ) -> None:
        super().__init__()
        self.n_tubes = n_tubes
        self.dim = dim
        self.embed = nn.Linear(token_dim, dim)
        self.register_buffer("pos", sincos_positions(n_tubes, dim), persistent=False)
        self.blocks = _blocks(dim, depth, heads, mlp_ratio)
        self.norm = nn.LayerNorm(dim)

    def forward(self, tokens: torch.Tensor, visible: torch.Tensor | None = None) -> torch.Tensor:
        """Encode the ``visible [B, L_vis]`` tokens (all when ``None``)."""
        if tokens.dim() != 3 or tokens.shape[1] != self.n_tubes:
            raise ValueError(f"tokens must be [B, {self.n_tubes}, D], got {tuple(tokens.shape)}")
        x = self.embed(tokens) + self.pos
        if visible is not None:
            x = gather_tokens(x, visible)
        return self.norm(self.blocks(x))

    def pooled(self, tokens: torch.Tensor) -> torch.Tensor:
        """Clip embedding ``[B, dim]``: the mean of all encoded tokens (no mask)."""
        return self.forward(tokens).mean(dim=1)


class VideoDecoder(nn.Module):
    """Light decoder: predictions ``[B, L_mask, out_dim]`` for the hidden tubes.

    Args:
        in_dim: encoder width.
        n_tubes: tokens per clip ``L``.
        out_dim: size of each prediction (``token_dim`` for pixels, ``d`` for features).
        dim, depth, heads, mlp_ratio: decoder size.
    """

    def __init__(
        self,
        in_dim: int,
        n_tubes: int,
        out_dim: int,
        dim: int = 64,
        depth: int = 1,
        heads: int = 4,
        mlp_ratio: float = 2.0,
    ) -> None:
        super().__init__()
        self.n_tubes = n_tubes
        self.reduce = nn.Linear(in_dim, dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, dim))
        nn.init.trunc_normal_(self.mask_token, std=0.02)
        self.register_buffer("pos", sincos_positions(n_tubes, dim), persistent=False)
        self.blocks = _blocks(dim, depth, heads, mlp_ratio)
        self.norm = nn.LayerNorm(dim)
        self.out = nn.Linear(dim, out_dim)

    def forward(
        self, encoded: torch.Tensor, visible: torch.Tensor, masked: torch.Tensor
    ) -> torch.Tensor:
        """``encoded [B, L_vis, in_dim]`` at ``visible [B, L_vis]``; predict ``masked [B, L_m]``."""
        b = encoded.shape[0]
        pos = self.pos.unsqueeze(0).expand(b, -1, -1)
        vis = self.reduce(encoded) + gather_tokens(pos, visible)
        hid = self.mask_token.expand(b, masked.shape[1], -1) + gather_tokens(pos, masked)
        x = self.blocks(torch.cat([vis, hid], dim=1))
        return self.out(self.norm(x[:, vis.shape[1] :]))


__all__ = ["VideoDecoder", "VideoViT", "gather_tokens", "sincos_positions"]
