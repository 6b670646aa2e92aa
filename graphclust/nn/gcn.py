"""GCN encoder (PyG ``GCNConv``) and a GCN-encoder / MLP-decoder feature autoencoder.

The graph counterpart of :class:`graphclust.nn.mlp.Autoencoder`: same widths, each
linear layer replaced by ``GCNConv`` (``D^-1/2 (A + I) D^-1/2 X W``), so the embedding
mixes a node's features with its neighbours'. It trains full batch (every layer needs
the whole neighbourhood), which is why PamC's mini-batch mode takes the MLP encoder.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.nn import GCNConv

from graphclust.nn.mlp import DEFAULT_HIDDEN, MLP


class GCNEncoder(nn.Module):
    """Stack of ``GCNConv`` layers ``dims[0] -> ... -> dims[-1]``, ReLU between layers.

    Args:
        dims: widths, input first (at least two).
        cached: cache the normalised adjacency after the first call (transductive use
            on one graph; set ``False`` to encode different graphs with one module).
    """

    def __init__(self, dims: Sequence[int], cached: bool = True) -> None:
        super().__init__()
        dims = [int(d) for d in dims]
        if len(dims) < 2 or any(d < 1 for d in dims):
            raise ValueError(f"dims must list at least two positive widths, got {dims}")
        self.dims = dims
        self.convs = nn.ModuleList(
            GCNConv(a, b, cached=cached) for a, b in zip(dims[:-1], dims[1:], strict=False)
        )

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        """``[N, dims[0]]``, ``[2, E]`` -> ``[N, dims[-1]]`` (last layer linear)."""
        last = len(self.convs) - 1
        for i, conv in enumerate(self.convs):
            x = conv(x, edge_index)
            if i < last:
                x = F.relu(x)
        return x


class GCNAutoencoder(nn.Module):
    """GCN encoder ``D-h1-..-hk-d`` with an MLP decoder back to the features.

    Args:
        in_dim: input features ``D``.
        hidden: encoder hidden widths (the decoder mirrors them).
        latent_dim: embedding size ``d``.
    """

    needs_graph = True

    def __init__(
        self, in_dim: int, hidden: Sequence[int] = DEFAULT_HIDDEN, latent_dim: int = 10
    ) -> None:
        super().__init__()
        hidden = [int(h) for h in hidden]
        self.encoder = GCNEncoder([in_dim, *hidden, latent_dim])
        self.decoder = MLP([latent_dim, *reversed(hidden), in_dim])

    def encode(self, x: torch.Tensor, edge_index: torch.Tensor | None = None) -> torch.Tensor:
        """``[N, D] -> [N, d]``; needs the graph."""
        if edge_index is None:
            raise ValueError("GCNAutoencoder.encode needs edge_index")
        return self.encoder(x, edge_index)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """``[N, d] -> [N, D]``."""
        return self.decoder(z)

    def forward(
        self, x: torch.Tensor, edge_index: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Reconstruction ``[N, D]`` and embedding ``[N, d]``."""
        z = self.encode(x, edge_index)
        return self.decode(z), z


__all__ = ["GCNAutoencoder", "GCNEncoder"]
