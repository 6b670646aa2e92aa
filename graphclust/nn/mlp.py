"""MLP encoders and the deep-clustering autoencoder, with built-in pre-training.

:class:`Autoencoder` is the DEC/SDCN/PamC network ``D-500-500-2000-10`` (ReLU, linear
bottleneck, mirrored decoder) with configurable sizes; :func:`pretrain_autoencoder`
trains it (or any module with ``encode``/``decode``) on the reconstruction MSE with
Adam, seeded, so no external checkpoint is needed. The SDCN recipe that the PamC
authors reused is the default: 30 epochs, batch 256, learning rate 1e-3.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

DEFAULT_HIDDEN = (500, 500, 2000)


class MLP(nn.Module):
    """Fully connected stack ``dims[0] -> dims[1] -> ... -> dims[-1]``.

    Args:
        dims: layer widths, input first; at least two entries.
        activation: ``"relu"`` (DEC/SDCN) or ``"elu"``, between layers.
        activate_last: also apply the activation after the last layer (off for a
            linear bottleneck or output).
    """

    def __init__(
        self, dims: Sequence[int], activation: str = "relu", activate_last: bool = False
    ) -> None:
        super().__init__()
        dims = [int(d) for d in dims]
        if len(dims) < 2 or any(d < 1 for d in dims):
            raise ValueError(f"dims must list at least two positive widths, got {dims}")
        if activation not in ("relu", "elu"):
            raise ValueError(f"activation must be 'relu' or 'elu', got {activation!r}")
        self.dims = dims
        self.activation = activation
        self.activate_last = activate_last
        self.layers = nn.ModuleList(
            nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:], strict=False)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, dims[0]] -> [N, dims[-1]]``."""
        act = F.relu if self.activation == "relu" else F.elu
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < last or self.activate_last:
                x = act(x)
        return x


class Autoencoder(nn.Module):
    """Symmetric MLP autoencoder ``D-h1-...-hk-d`` / ``d-hk-...-h1-D``.

    Args:
        in_dim: input features ``D``.
        hidden: encoder hidden widths (decoder mirrors them); the paper: (500, 500, 2000).
        latent_dim: embedding size ``d`` (10 in DEC/SDCN/PamC).
    """

    needs_graph = False

    def __init__(
        self, in_dim: int, hidden: Sequence[int] = DEFAULT_HIDDEN, latent_dim: int = 10
    ) -> None:
        super().__init__()
        hidden = [int(h) for h in hidden]
        self.encoder = MLP([in_dim, *hidden, latent_dim])
        self.decoder = MLP([latent_dim, *reversed(hidden), in_dim])

    def encode(self, x: torch.Tensor, edge_index: torch.Tensor | None = None) -> torch.Tensor:
        """``[N, D] -> [N, d]``; ``edge_index`` is ignored (an MLP sees no graph)."""
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """``[N, d] -> [N, D]``."""
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Reconstruction ``[N, D]`` and embedding ``[N, d]``."""
        z = self.encode(x)
        return self.decode(z), z


def pretrain_autoencoder(
    model: nn.Module,
    x: torch.Tensor,
    edge_index: torch.Tensor | None = None,
    epochs: int = 30,
    lr: float = 1e-3,
    batch_size: int | None = 256,
    seed: int = 0,
    on_epoch_end: Callable[[int], None] | None = None,
) -> list[float]:
    """Train ``model`` to reconstruct ``x`` (MSE, Adam), in place; returns epoch losses.

    ``model`` provides ``encode(x, edge_index)`` and ``decode(z)``. A model with
    ``needs_graph = True`` (a GCN encoder) trains full batch, one step per epoch; an MLP
    trains on shuffled mini-batches of ``batch_size`` rows (``None``: full batch).
    Shuffling uses its own generator seeded with ``seed``, so a run is repeatable and
    does not disturb the global random stream. ``x`` and the model must share a device.

    Args:
        model: the autoencoder.
        x: ``[N, D]`` features.
        edge_index: ``[2, E]`` graph, for models that need it.
        epochs: passes over the data (>= 0).
        lr: Adam learning rate.
        batch_size: rows per step for graph-free models.
        seed: shuffling seed.
        on_epoch_end: called with the number of epochs done after each epoch (e.g. to
            snapshot the model at several lengths of one run).

    Returns:
        The mean reconstruction loss of each epoch.
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"epochs must be a non-negative integer, got {epochs!r}")
    if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
        raise ValueError(f"batch_size must be a positive integer or None, got {batch_size!r}")
    needs_graph = bool(getattr(model, "needs_graph", False))
    if needs_graph and edge_index is None:
        raise ValueError(f"{type(model).__name__} encodes with the graph: pass edge_index")
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(int(seed))
    n = x.size(0)
    step = n if (needs_graph or batch_size is None) else batch_size
    history: list[float] = []
    model.train()
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator).to(x.device)
        total = 0.0
        for start in range(0, n, step):
            if needs_graph:
                batch = x
                recon = model.decode(model.encode(x, edge_index))
            else:
                batch = x[order[start : start + step]]
                recon = model.decode(model.encode(batch))
            loss = F.mse_loss(recon, batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * batch.size(0)
        history.append(total / n)
        if on_epoch_end is not None:
            model.eval()
            on_epoch_end(len(history))
            model.train()
    model.eval()
    return history


@torch.no_grad()
def encode_in_chunks(
    model: nn.Module,
    x: torch.Tensor,
    chunk_size: int = 8192,
    edge_index: torch.Tensor | None = None,
) -> torch.Tensor:
    """``model.encode`` without gradient, ``chunk_size`` rows at a time (graph-free models).

    Peak memory grows with ``chunk_size`` times the widest layer, not with ``N``; a
    model with ``needs_graph`` is encoded full batch.
    """
    if getattr(model, "needs_graph", False):
        return model.encode(x, edge_index)
    return torch.cat([model.encode(x[i : i + chunk_size]) for i in range(0, x.size(0), chunk_size)])


__all__ = ["DEFAULT_HIDDEN", "MLP", "Autoencoder", "encode_in_chunks", "pretrain_autoencoder"]
