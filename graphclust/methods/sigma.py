"""SIGMA: Sinkhorn-guided masked video modelling (Salehi et al., ECCV 2024).

A masked video model ``Psi`` (:class:`~graphclust.nn.vit.VideoViT` encoder on the
visible tubes + :class:`~graphclust.nn.vit.VideoDecoder`) predicts a feature
``x^Psi`` for every hidden tube. Instead of regressing pixels (VideoMAE), the target is
a learned feature ``x^phi`` of the same tube, from a projection network ``phi`` (an MLP
on the tube's normalised pixels) trained jointly. Both are scored against shared
:class:`~graphclust.assign.Prototypes`; the hidden tubes of the whole batch form one
Sinkhorn batch per branch, and the loss is the symmetric swapped prediction

``L = CE(softmax(s_phi / tau), code(Psi)) + CE(softmax(s_Psi / tau), code(phi))``

with the prototypes detached on the ``Psi`` branch (they learn from ``phi`` only).
Balanced codes are what let ``phi`` train jointly without collapsing to a constant.

Options: ``codes="hard"`` (one-hot argmax of the Sinkhorn codes; the released code) or
``"soft"``; ``target="pixels"`` turns the same network into the VideoMAE baseline
(MSE to the normalised pixels of the hidden tubes, no ``phi``, no prototypes).

Input contract: ``fit(clips)`` takes clips ``[N, T, C, H, W]`` (or ``[N, T, H, W]``) in
``[0, 1]``; see :func:`~graphclust.adapters.video.check_clips`. Fitted: ``embeddings_``
(mean of the encoder tokens over the unmasked clip, the representation that linear
probes and clustering read) and ``labels_`` (k-means on them, ``n_clusters``).
Conventions otherwise as :class:`~graphclust.methods.base.BaseClusterer`.

Data-parallel training (``distributed``, docs/distributed.md): under ``torchrun`` every
rank draws the same global batch of ``batch_size`` clips and masks and trains on its
share inside DDP; each Sinkhorn batch is the hidden tubes of the whole global batch
(marginals reduced over the group), so the codes are those one process computes; the
fitted embeddings and labels are rank 0's on every rank.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from graphclust.adapters.video import (
    TubeBatch,
    VideoTubeAdapter,
    check_clips,
    normalize_tubes,
    to_tubes,
    tube_grid,
)
from graphclust.assign import Prototypes, fit_kmeans, sinkhorn
from graphclust.data.validation import check_n_clusters
from graphclust.losses import symmetric_prediction_loss
from graphclust.methods.base import BaseClusterer, check_finite
from graphclust.nn.vit import VideoDecoder, VideoViT, gather_tokens
from graphclust.training import optimize
from graphclust.utils.checks import (
    flag,
    non_negative_float,
    one_of,
    positive_float,
    positive_int,
    probability,
)
from graphclust.utils.distributed import (
    ProcessGroup,
    all_reduce_sum_,
    broadcast_tensors,
    resolve_group,
)

_TARGETS = ("sigma", "pixels")
_POSITIVE_INTS = (
    "dim",
    "depth",
    "heads",
    "decoder_dim",
    "decoder_depth",
    "feature_dim",
    "n_prototypes",
    "sinkhorn_iters",
    "epochs",
    "batch_size",
    "kmeans_n_init",
)


class SIGMANet(nn.Module):
    """Encoder, decoder and (for ``target="sigma"``) projection network and prototypes."""

    def __init__(
        self,
        token_dim: int,
        n_tubes: int,
        target: str,
        dim: int,
        depth: int,
        heads: int,
        decoder_dim: int,
        decoder_depth: int,
        feature_dim: int,
        n_prototypes: int,
    ) -> None:
        super().__init__()
        out_dim = token_dim if target == "pixels" else feature_dim
        self.encoder = VideoViT(token_dim, n_tubes, dim, depth, heads)
        self.decoder = VideoDecoder(dim, n_tubes, out_dim, decoder_dim, decoder_depth, heads)
        if target == "sigma":
            self.projector = nn.Sequential(
                nn.Linear(token_dim, 2 * feature_dim),
                nn.GELU(),
                nn.Linear(2 * feature_dim, feature_dim),
            )
            self.prototypes = Prototypes(feature_dim, n_prototypes)


class SIGMA(BaseClusterer):
    """SIGMA masked video model with Sinkhorn-balanced feature targets.

    Args:
        n_clusters: clusters of the k-means on the clip embeddings (``labels_``).
        target: ``"sigma"`` (features from the jointly trained projection network) or
            ``"pixels"`` (VideoMAE-style normalised-pixel regression).
        tube_size: ``(t, p)``, tubes of ``t`` frames by ``p x p`` pixels; they must
            tile the clips with at least two spatial positions (one to hide, one to
            show).
        mask_ratio: fraction of spatial positions hidden (tube masking).
        dim, depth, heads: encoder size; decoder_dim, decoder_depth: decoder size.
        feature_dim: size of the tube features ``x^phi``, ``x^Psi``.
        n_prototypes: shared prototypes (SIGMA 3000 for Kinetics; here sized to the data).
        codes: ``"hard"`` (released code, default) or ``"soft"`` Sinkhorn codes.
        temperature, epsilon, sinkhorn_iters: SIGMA's 0.1, 0.05, 10.
        epochs, batch_size, lr, weight_decay, warmup_epochs: AdamW, warm-up + cosine.
        kmeans_n_init: restarts of the final k-means.
        checkpoint, checkpoint_every, progress, distributed, seed, device: as in
            :class:`~graphclust.methods.swav.SwAV` (``batch_size`` is the global batch
            under ``distributed``).
    """

    requires_features: ClassVar[bool] = True
    #: What ``fit`` takes instead of a graph, so graph benchmarks can skip this method.
    input_kind: ClassVar[str] = "clips"

    def __init__(
        self,
        n_clusters: int = 4,
        target: str = "sigma",
        tube_size: tuple[int, int] = (2, 8),
        mask_ratio: float = 0.75,
        dim: int = 96,
        depth: int = 3,
        heads: int = 4,
        decoder_dim: int = 64,
        decoder_depth: int = 1,
        feature_dim: int = 64,
        n_prototypes: int = 64,
        codes: str = "hard",
        temperature: float = 0.1,
        epsilon: float = 0.05,
        sinkhorn_iters: int = 10,
        epochs: int = 30,
        batch_size: int = 32,
        lr: float = 1e-3,
        weight_decay: float = 0.05,
        warmup_epochs: int = 2,
        kmeans_n_init: int = 10,
        checkpoint: str | None = None,
        checkpoint_every: int = 1,
        progress: bool = True,
        distributed: bool | None = None,
        seed: int = 0,
        device: str = "auto",
    ) -> None:
        self.n_clusters = n_clusters
        self.target = target
        self.tube_size = tube_size
        self.mask_ratio = mask_ratio
        self.dim = dim
        self.depth = depth
        self.heads = heads
        self.decoder_dim = decoder_dim
        self.decoder_depth = decoder_depth
        self.feature_dim = feature_dim
        self.n_prototypes = n_prototypes
        self.codes = codes
        self.temperature = temperature
        self.epsilon = epsilon
        self.sinkhorn_iters = sinkhorn_iters
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.warmup_epochs = warmup_epochs
        self.kmeans_n_init = kmeans_n_init
        self.checkpoint = checkpoint
        self.checkpoint_every = checkpoint_every
        self.progress = progress
        self.distributed = distributed
        self.seed = seed
        self.device = device

    # -- public API -------------------------------------------------------------------
    def fit(self, clips: Any) -> SIGMA:
        """Train on clips ``[N, T, C, H, W]`` in ``[0, 1]``; labels are never read."""
        super().fit(clips)
        return self

    def _validate_input(self, clips: Any) -> tuple[torch.Tensor, int]:
        """Check the clips at the door (replaces the graph check of the base class)."""
        clean = check_clips(clips, min_samples=2)
        check_n_clusters(self.n_clusters, clean.shape[0])
        self._check_params(clean)
        return clean, clean.shape[0]

    @torch.no_grad()
    def transform(self, clips: Any, batch_size: int = 256) -> torch.Tensor:
        """Clip embeddings ``[M, dim]`` (mean of the encoder tokens, nothing masked)."""
        self._require_fitted()
        x = check_clips(clips, min_samples=1)
        if tuple(x.shape[1:]) != self._clip_shape:
            raise ValueError(
                f"clips must have the training shape [M, {', '.join(map(str, self._clip_shape))}]"
                f", got {tuple(x.shape)}"
            )
        return self._embed(x, batch_size)

    # -- training ---------------------------------------------------------------------
    def _check_params(self, clips: torch.Tensor) -> None:
        super()._validate_params(None)  # the device, as every method: before any work
        one_of(self.target, "target", _TARGETS)
        one_of(self.codes, "codes", ("hard", "soft"))
        probability(self.mask_ratio, "mask_ratio", zero=False, one=False)
        for name in _POSITIVE_INTS:
            positive_int(getattr(self, name), name)
        positive_int(self.warmup_epochs, "warmup_epochs", 0)
        for name in ("temperature", "epsilon", "lr"):
            positive_float(getattr(self, name), name)
        non_negative_float(self.weight_decay, "weight_decay")
        flag(self.progress, "progress")
        for name in ("dim", "decoder_dim"):  # attention splits the width across the heads
            if getattr(self, name) % self.heads:
                raise ValueError(
                    f"{name}={getattr(self, name)} must be a multiple of heads={self.heads}"
                )
        self._check_tube_size(tuple(clips.shape[1:]))

    def _check_tube_size(self, clip_shape: tuple[int, ...]) -> None:
        """``tube_size`` must tile the clips and leave at least two spatial positions:
        tube masking hides some positions and keeps others visible, so one position
        (a patch as large as the frame) leaves nothing to predict."""
        size = self.tube_size
        if not (
            isinstance(size, (tuple, list))
            and len(size) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in size)
        ):
            raise ValueError(f"tube_size must be two positive integers (t, p), got {size!r}")
        grid = tube_grid(clip_shape, tuple(size))
        if grid.n_spatial < 2:
            _, _, h, w = clip_shape
            raise ValueError(
                f"tube_size={tuple(size)!r} cuts {h}x{w} frames into {grid.n_spatial} spatial "
                "position; tube masking needs at least 2 (one hidden, one visible): use a "
                f"patch size p that divides H={h} and W={w} with (H/p)(W/p) >= 2, or larger "
                "frames"
            )

    def _fit(self, clips: torch.Tensor, device: torch.device) -> None:
        self._device = device
        self._clip_shape = tuple(clips.shape[1:])
        group = resolve_group(self.distributed)
        generator = torch.Generator().manual_seed(self.seed)
        batches = VideoTubeAdapter(
            clips,
            tuple(self.tube_size),
            self.mask_ratio,
            self.batch_size,
            device=device,
            generator=generator,
        )
        net = SIGMANet(
            batches.token_dim,
            batches.grid.n_tubes,
            self.target,
            self.dim,
            self.depth,
            self.heads,
            self.decoder_dim,
            self.decoder_depth,
            self.feature_dim,
            self.n_prototypes,
        ).to(device)
        optimizer = torch.optim.AdamW(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        optimize(
            self,
            net,
            optimizer,
            batches,
            lambda epoch, batch: self._step(net, batch, group),
            clips,
            generator,
            f"SIGMA[{self.target}]",
            # The pixel target has no prototypes to keep on the unit sphere.
            after_update=net.prototypes.normalize_ if self.target == "sigma" else None,
            group=group,
        )
        self.model_ = net.eval()
        self.embeddings_ = self._embed(clips, 256)
        self.labels_ = fit_kmeans(
            self.embeddings_, self.n_clusters, n_init=self.kmeans_n_init, seed=self.seed
        ).labels
        # Every rank computed them from the same net; keep rank 0's exactly.
        broadcast_tensors([self.embeddings_, self.labels_], group)

    def _step(
        self, net: SIGMANet, batch: TubeBatch, group: ProcessGroup | None = None
    ) -> dict[str, Any]:
        """Loss of one masked batch (tokens ``[B, L, D]``, hidden positions ``[B, L_m]``;
        this rank's share of the global batch under ``group``)."""
        tokens, visible, masked = batch.tokens, batch.visible, batch.masked
        predicted = net.decoder(net.encoder(tokens, visible), visible, masked)  # [B, Lm, o]
        target = normalize_tubes(gather_tokens(tokens, masked))  # [B, Lm, D]
        if self.target == "pixels":
            loss = F.mse_loss(predicted, target)
            return {"loss": loss, "mse": loss.detach()}
        x_psi = predicted.reshape(-1, predicted.shape[-1])
        x_phi = net.projector(target.reshape(-1, target.shape[-1]))
        s_psi = net.prototypes(x_psi, detach_prototypes=True)
        s_phi = net.prototypes(x_phi)
        check_finite((s_psi, s_phi), "SIGMA prototype scores (training diverged)", group=group)
        hard = self.codes == "hard"
        q_psi = sinkhorn(s_psi, self.epsilon, self.sinkhorn_iters, hard=hard, group=group)
        q_phi = sinkhorn(s_phi, self.epsilon, self.sinkhorn_iters, hard=hard, group=group)
        # symmetric_prediction_loss halves the sum (MGCA); SIGMA's loss is the plain sum.
        loss = 2.0 * symmetric_prediction_loss(s_psi, s_phi, q_psi, q_phi, self.temperature)
        # Prototypes used by the codes of the whole (global) batch.
        counts = torch.bincount(q_phi.argmax(dim=1), minlength=self.n_prototypes)
        used = float((all_reduce_sum_(counts, group) > 0).sum()) / self.n_prototypes
        return {"loss": loss, "prototypes_used": used}

    @torch.no_grad()
    def _embed(self, clips: torch.Tensor, batch_size: int) -> torch.Tensor:
        out = []
        for chunk in clips.split(batch_size):
            tokens = to_tubes(chunk.to(self._device), tuple(self.tube_size))
            out.append(self.model_.encoder.pooled(tokens).cpu())
        return torch.cat(out)


__all__ = ["SIGMA", "SIGMANet"]
