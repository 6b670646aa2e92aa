"""Masked attribute reconstruction (GraphMAE), as used by DAG's first loss term.

Each step a share of the nodes has its features replaced by a learnable [MASK] vector;
the encoder embeds the corrupted graph, the embeddings of the masked nodes are masked
again before decoding (so the decoder must rebuild them from their neighbours), and the
scaled cosine error compares the reconstruction with the original features of the
masked nodes only.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from graphclust.nn.gat import GATDecoder, gat_encoder


def scaled_cosine_error(x: torch.Tensor, z: torch.Tensor, gamma: float = 3.0) -> torch.Tensor:
    """GraphMAE's scaled cosine error ``mean_i (1 - cos(x_i, z_i)) ** gamma``.

    Args:
        x: targets [M, D] (the original features of the masked nodes).
        z: reconstructions [M, D].
        gamma: the scaling exponent (>= 1); 3 in DAG. A larger gamma down-weights rows
            that are already well reconstructed.

    Returns:
        A scalar in [0, 2 ** gamma]. A zero row of ``x`` or ``z`` has cosine 0 (F.normalize
        guards the division), so it contributes 1.
    """
    if x.shape != z.shape:
        raise ValueError(
            f"x and z must have the same shape, got {list(x.shape)} and {list(z.shape)}"
        )
    if gamma < 1:
        raise ValueError(f"gamma must be >= 1, got {gamma}")
    if x.size(0) == 0:
        raise ValueError("scaled_cosine_error needs at least one row")
    cos = (F.normalize(x, dim=-1) * F.normalize(z, dim=-1)).sum(dim=-1)
    return (1.0 - cos).pow(gamma).mean()


def sample_mask(
    num_nodes: int, mask_rate: float, device: torch.device | None = None
) -> torch.Tensor:
    """Indices of ``max(1, round(mask_rate * N))`` nodes drawn without replacement.

    Uses the global torch RNG, so a seeded run draws the same masks.
    """
    if not 0.0 < mask_rate < 1.0:
        raise ValueError(f"mask_rate must be in (0, 1), got {mask_rate}")
    n_mask = max(1, int(round(mask_rate * num_nodes)))
    return torch.randperm(num_nodes)[:n_mask].to(device)


def mask_features(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Replace the rows ``mask`` of x [N, D] by the [MASK] indicator: returns [N, D + 1].

    Masked rows become e_{D+1} (all features zero, a 1 in the extra column); other rows
    are ``[x_i, 0]``. A linear first layer then maps a masked row to its weight column
    D + 1, which is the learnable [MASK] token's projection (GraphMAE's token t enters
    only through W t, so learning that column directly spans the same functions). Keeping
    the token out of the feature block lets a sparse x stay sparse: a sparse COO input
    gives a sparse CSR output, and its first-layer product costs O(nnz), not O(N D).

    Args:
        x: features [N, D], dense or sparse COO.
        mask: LongTensor [M] of node indices (may be empty).
    """
    n, d = x.shape
    flags = torch.zeros(n, dtype=torch.bool, device=x.device)
    flags[mask] = True
    if not x.is_sparse:
        return torch.cat([x.masked_fill(flags[:, None], 0.0), flags[:, None].to(x.dtype)], 1)
    x = x.coalesce()
    indices, values = x.indices(), x.values()
    keep = ~flags[indices[0]]
    token = torch.stack([mask, torch.full_like(mask, d)])
    out = torch.sparse_coo_tensor(
        torch.cat([indices[:, keep], token], 1),
        torch.cat([values[keep], torch.ones(mask.numel(), dtype=values.dtype, device=x.device)]),
        (n, d + 1),
        check_invariants=False,  # indices come from a valid tensor and the mask
    )
    with warnings.catch_warnings():
        # torch labels CSR "beta"; the only CSR ops used here are F.linear and values()
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return out.coalesce().to_sparse_csr()


class MaskedOutput(NamedTuple):
    """What one masked-autoencoder pass returns."""

    loss: torch.Tensor  # scalar SCE over the masked nodes
    embeddings: torch.Tensor  # H [N, hidden] of the corrupted graph
    mask: torch.Tensor  # LongTensor [M] of masked node indices


class MaskedGraphAutoencoder(nn.Module):
    """GraphMAE: [MASK] token, 2-layer GAT encoder, re-mask, 2-layer GAT decoder, SCE.

    Features may be dense or sparse COO (bag-of-words); the sparse form is never
    densified except for the masked rows' reconstruction targets.

    Args:
        in_channels: feature size D.
        hidden: embedding size d (a multiple of ``heads``).
        heads: attention heads of the encoder and of the decoder's hidden layer.
        remask: "zero" sets the masked rows of the projected H to 0 (GraphMAE's
            default); "token" replaces them with a second learnable vector (GraphMAE2).
        feat_dropout: dropout on every GAT layer's input (DAG's input dropout, 0.2).
        attn_dropout: dropout on attention coefficients (GraphMAE uses 0.1).
        gamma: SCE exponent (3 in DAG).
        decoder_layers: GAT layers of the decoder (:class:`GATDecoder`): 1 is
            GraphMAE's depth, 2 adds a hidden layer.
        decoder_factorized: the decoder's last layer is a plain GATConv(hidden, D)
            (False, default; GraphMAE's) or aggregates in the hidden width and projects
            to D (True; faster on wide bag-of-words, but the encoder learns worse
            behind it). See :class:`GATDecoder`.
    """

    def __init__(
        self,
        in_channels: int,
        hidden: int,
        heads: int,
        remask: str = "zero",
        feat_dropout: float = 0.2,
        attn_dropout: float = 0.1,
        gamma: float = 3.0,
        decoder_layers: int = 2,
        decoder_factorized: bool = False,
    ) -> None:
        super().__init__()
        if remask not in ("zero", "token"):
            raise ValueError(f"remask must be 'zero' or 'token', got {remask!r}")
        self.remask = remask
        self.gamma = gamma
        # one extra input column carries the [MASK] indicator (see mask_features)
        self.encoder = gat_encoder(in_channels + 1, hidden, heads, feat_dropout, attn_dropout)
        with torch.no_grad():
            # zero token as in GraphMAE: a masked node starts as "no information"
            self.encoder.convs[0].lin.weight[:, -1] = 0.0
        # a bias-free projection before re-masking, so a zero row stays zero
        self.to_decoder = nn.Linear(hidden, hidden, bias=False)
        self.remask_token = nn.Parameter(torch.zeros(1, hidden)) if remask == "token" else None
        self.decoder = GATDecoder(
            hidden,
            in_channels,
            heads,
            feat_dropout,
            attn_dropout,
            num_layers=decoder_layers,
            factorized=decoder_factorized,
        )

    @property
    def mask_token(self) -> torch.Tensor:
        """The [MASK] token's first-layer projection [heads * hidden / heads]."""
        return self.encoder.convs[0].lin.weight[:, -1]

    def embed(
        self, x: torch.Tensor, edge_index: torch.Tensor, chunk_size: int | None = None
    ) -> torch.Tensor:
        """Embeddings of the uncorrupted graph: ``[N, D] -> H [N, hidden]``.

        ``chunk_size`` (eval mode, no gradient): run the encoder layer by layer over
        chunks of that many destination nodes (:meth:`GAT.inference`), so that a graph
        of millions of edges never holds all its per-edge attention tensors at once;
        ``edge_index`` must then be undirected and sorted by its first row.
        """
        empty = torch.empty(0, dtype=torch.long, device=edge_index.device)
        features = mask_features(x, empty)
        if chunk_size is None:
            return self.encoder(features, edge_index)
        return self.encoder.inference(features, edge_index, chunk_size)

    def forward(
        self, x: torch.Tensor, edge_index: torch.Tensor, mask: torch.Tensor
    ) -> MaskedOutput:
        """One masked pass.

        Args:
            x: features [N, D], dense or sparse COO.
            edge_index: [2, E].
            mask: LongTensor [M] of node indices to mask (see :func:`sample_mask`).
        """
        h = self.encoder(mask_features(x, mask), edge_index)
        rep = self.to_decoder(h)
        if self.remask_token is None:
            rep = rep.index_fill(0, mask, 0.0)
        else:
            rep = rep.clone()
            rep[mask] = self.remask_token
        z = self.decoder(rep, edge_index)
        target = x.index_select(0, mask)
        target = target.to_dense() if target.is_sparse else target
        loss = scaled_cosine_error(target, z[mask], self.gamma)
        return MaskedOutput(loss=loss, embeddings=h, mask=mask)


__all__ = [
    "MaskedGraphAutoencoder",
    "MaskedOutput",
    "mask_features",
    "sample_mask",
    "scaled_cosine_error",
]
