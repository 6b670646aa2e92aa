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

    @torch.no_grad()
    def inference(self, x: torch.Tensor, edge_index: torch.Tensor, chunk_size: int) -> torch.Tensor:
        """The eval-mode ``forward``, layer by layer over chunks of destination nodes.

        Memory: a full ``forward`` holds several per-edge tensors of width ``heads`` x
        ``channels`` at once (2.8 GB on a 1M-node, 13M-edge graph at width 16); here
        only one chunk's edges are live, so the peak is O(N d + chunk edges x d).
        Each layer projects all N nodes once, then every chunk of ``chunk_size``
        destination nodes attends over exactly its incoming edges and self-loop (the
        softmax of a node only involves its own incoming edges, so the result equals
        ``forward`` up to float rounding).

        Args:
            x: [N, in_channels], dense or sparse CSR.
            edge_index: [2, E] of an undirected graph (both directions listed), sorted
                by ``edge_index[0]`` (as coalesced graphs are); without self-loops.
            chunk_size: destination nodes per chunk.
        """
        if self.training:
            raise RuntimeError("GAT.inference is the eval-mode forward: call .eval() first")
        n = x.size(0)
        # undirected: the edges arriving at node i are the edges leaving it, reversed,
        # and those are contiguous in a graph sorted by its first row
        starts = torch.searchsorted(
            edge_index[0], torch.arange(0, n + 1, chunk_size, device=edge_index.device)
        ).tolist()
        if starts[-1] != edge_index.size(1):
            starts.append(edge_index.size(1))
        for conv, act in zip(self.convs, self.acts, strict=True):
            h = conv.lin(self._dropout(x))
            out = torch.empty(
                n,
                conv.heads * conv.out_channels if conv.concat else conv.out_channels,
                device=h.device,
            )
            lin, loops = conv.lin, conv.add_self_loops
            conv.lin, conv.add_self_loops = nn.Identity(), False  # h is projected already
            try:
                for index, lo in enumerate(range(0, n, chunk_size)):
                    hi = min(n, lo + chunk_size)
                    part = edge_index[:, starts[index] : starts[index + 1]]
                    local = torch.arange(hi - lo, device=h.device)
                    edges = torch.stack(
                        [torch.cat([part[1], local + lo]), torch.cat([part[0] - lo, local])]
                    )
                    out[lo:hi] = act(conv((h, h[lo:hi]), edges, size=(n, hi - lo)))
            finally:
                conv.lin, conv.add_self_loops = lin, loops
            x = out
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
    """The GAT decoder: ``[N, hidden] -> Z [N, D]``, one layer (GraphMAE) or two.

    The last GAT layer has one head and no activation, so that its output can match
    features of any sign and scale. Two forms of that last layer:

    - plain (``factorized=False``, default): a ``GATConv(hidden, D)``, GraphMAE's
      decoder. Its per-edge messages are D wide.
    - factorised (``factorized=True``): it aggregates in the hidden width and projects
      to D afterwards: ``W2 sum_j a_ij W1 h_j`` is a GATConv to D whose weight is
      factorised as W2 W1 (rank <= hidden, which a hidden -> D map has anyway when D >
      hidden), with attention logits still a linear function of h_j. It represents the
      same functions with ``hidden``-wide messages, which on bag-of-words features (D
      in the thousands) saves most of the training time, but it does not train the
      same way: on Cora at the paper's width the encoder's embeddings after 250 epochs
      of reconstruction cluster far worse behind it (experiments/dag/README.md,
      ``encoder_probe.py``).

    Args:
        hidden: input and hidden width (a multiple of ``heads``).
        out_channels: D.
        heads: heads of the hidden layer (unused with one layer).
        feat_dropout, attn_dropout: as in :class:`GAT`.
        num_layers: GAT layers (1: a single one-head layer, GraphMAE's depth; 2: a
            PReLU hidden layer of ``heads`` heads before it).
        factorized: the form of the last layer (above).
    """

    def __init__(
        self,
        hidden: int,
        out_channels: int,
        heads: int,
        feat_dropout: float = 0.2,
        attn_dropout: float = 0.1,
        num_layers: int = 2,
        factorized: bool = False,
    ) -> None:
        super().__init__()
        if num_layers not in (1, 2):
            raise ValueError(f"the decoder has 1 or 2 layers, got num_layers={num_layers}")
        self.gat = GAT(
            hidden,
            hidden,
            hidden if factorized else out_channels,
            num_layers=num_layers,
            heads=heads,
            heads_out=1,
            feat_dropout=feat_dropout,
            attn_dropout=attn_dropout,
            activate_last=False,
        )
        self.project = nn.Linear(hidden, out_channels) if factorized else nn.Identity()

    def forward(self, h: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        return self.project(self.gat(h, edge_index))


__all__ = ["GAT", "GATDecoder", "gat_encoder"]
