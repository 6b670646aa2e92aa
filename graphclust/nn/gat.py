"""Graph attention encoder and decoder built from PyG's ``GATConv``.

The layout follows GraphMAE (Hou et al., KDD 2022), which DAG uses for masked attribute
reconstruction: hidden layers concatenate ``heads`` attention heads of ``hidden // heads``
channels each and apply PReLU; the encoder's last layer keeps its activation (the output
is an embedding), the decoder's last layer has one head and no activation (the output is
a reconstruction of the input features).
"""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.nn import GATConv


class GAT(nn.Module):
    """A stack of ``GATConv`` layers.

    Args:
        in_channels: input feature size D.
        hidden: width of every hidden layer (``heads`` heads of ``hidden // heads``).
        out_channels: output width; a multiple of ``heads_out`` when ``concat_out``.
        num_layers: number of ``GATConv`` layers (>= 1).
        heads: attention heads of the hidden layers.
        heads_out: attention heads of the last layer (concatenated).
        feat_dropout: dropout on the input of every layer (GraphMAE's ``in_drop``).
        attn_dropout: dropout on the attention coefficients.
        activate_last: apply PReLU after the last layer (True for an encoder).
        residual: add a linear skip connection inside every layer.

    Shapes:
        ``forward(x [N, in_channels], edge_index [2, E]) -> [N, out_channels]``.
    """

    def __init__(
        self,
        in_channels: int,
        hidden: int,
        out_channels: int,
        num_layers: int = 2,
        heads: int = 4,
        heads_out: int = 1,
        feat_dropout: float = 0.2,
        attn_dropout: float = 0.1,
        activate_last: bool = True,
        residual: bool = False,
    ) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}")
        if hidden % heads != 0:
            raise ValueError(f"hidden={hidden} must be a multiple of heads={heads}")
        if out_channels % heads_out != 0:
            raise ValueError(f"out_channels={out_channels} must be a multiple of heads_out")
        self.convs = nn.ModuleList()
        self.acts = nn.ModuleList()
        for layer in range(num_layers):
            last = layer == num_layers - 1
            n_in = in_channels if layer == 0 else hidden
            n_heads = heads_out if last else heads
            n_out = (out_channels if last else hidden) // n_heads
            self.convs.append(
                GATConv(
                    n_in,
                    n_out,
                    heads=n_heads,
                    dropout=attn_dropout,
                    residual=residual,
                )
            )
            self.acts.append(nn.PReLU() if (not last or activate_last) else nn.Identity())
        self.feat_dropout = nn.Dropout(feat_dropout)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        """``x`` may be a sparse CSR tensor (first layer only): dropout then acts on its
        stored values, which equals dense dropout since a dropped zero stays zero."""
        for conv, act in zip(self.convs, self.acts, strict=True):
            x = act(conv(self._dropout(x), edge_index))
        return x

    def _dropout(self, x: torch.Tensor) -> torch.Tensor:
        if x.layout != torch.sparse_csr:
            return self.feat_dropout(x)
        values = self.feat_dropout(x.values())
        return torch.sparse_csr_tensor(
            x.crow_indices(), x.col_indices(), values, x.shape, check_invariants=False
        )


def gat_encoder(
    in_channels: int,
    hidden: int,
    heads: int,
    feat_dropout: float = 0.2,
    attn_dropout: float = 0.1,
) -> GAT:
    """The 2-layer GAT encoder of GraphMAE/DAG: ``[N, D] -> H [N, hidden]``."""
    return GAT(
        in_channels,
        hidden,
        hidden,
        num_layers=2,
        heads=heads,
        heads_out=heads,
        feat_dropout=feat_dropout,
        attn_dropout=attn_dropout,
        activate_last=True,
    )


class GATDecoder(nn.Module):
    """The 2-layer GAT decoder: ``[N, hidden] -> Z [N, D]``.

    The last GAT layer has one head and no activation, so that its output can match
    features of any sign and scale. It aggregates in the hidden width and projects to D
    afterwards: ``W2 sum_j a_ij W1 h_j`` is a GATConv to D whose weight is factorised as
    W2 W1 (rank <= hidden, which a hidden -> D map has anyway when D > hidden), with
    attention logits still a linear function of h_j. The functions it can represent
    are those of a GATConv(hidden, D), but the per-edge messages are ``hidden`` wide
    instead of D wide, which on bag-of-words features (D in the thousands) is most of
    the training time.

    Args:
        hidden: input and hidden width (a multiple of ``heads``).
        out_channels: D.
        heads: heads of the hidden layer.
        feat_dropout, attn_dropout: as in :class:`GAT`.
    """

    def __init__(
        self,
        hidden: int,
        out_channels: int,
        heads: int,
        feat_dropout: float = 0.2,
        attn_dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.gat = GAT(
            hidden,
            hidden,
            hidden,
            num_layers=2,
            heads=heads,
            heads_out=1,
            feat_dropout=feat_dropout,
            attn_dropout=attn_dropout,
            activate_last=False,
        )
        self.project = nn.Linear(hidden, out_channels)

    def forward(self, h: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        return self.project(self.gat(h, edge_index))


__all__ = ["GAT", "GATDecoder", "gat_encoder"]
