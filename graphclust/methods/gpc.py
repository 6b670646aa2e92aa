"""GPC: semi-supervised Gaussian mixture with split and merge for generalised category
discovery (Zhao, Wen and Han, ICCV 2023).

Some rows are labelled; the unlabelled rows hold the known classes and new ones, and the
number of classes K is unknown. GPC alternates:

1. E-step: semi-supervised k-means in the embedding space, labelled rows pinned to their
   classes, with split and merge moves that change K (:mod:`graphclust.assign.split_merge`):
   a cluster with no labelled row is cut by 2-means when the Hastings ratio
   ``H_s = ln alpha + ln G(N1) + ln ML(X1) + ln G(N2) + ln ML(X2) - ln G(N) - ln ML(X)``
   is positive (``ML`` the Normal-Inverse-Wishart marginal likelihood,
   :mod:`graphclust.assign.niw`), or else with probability 0.1, never when it has at
   most 5 points; nearest pairs are merged when ``H_m = -H_s`` of their union is
   positive. K is the number of surviving prototypes. Prior: ``kappa_0 = 1e-4``,
   ``nu_0 = D + 1``, ``Psi_0 = 0.005 I``, ``alpha = 1``.
2. M-step: prototypical contrastive learning: the encoder is trained on the ProtoNCE
   prototype term (:mod:`graphclust.losses.protonce`) of its L2-normalised embeddings
   against the current prototypes, each row's target its E-step cluster.

Labelled rows are an explicit fit argument, ``fit(data, y=..., labeled_mask=...)``; only
``y[labeled_mask]`` is read. For runners that call ``fit(data)`` alone, a constructor
switch (``label_fraction``) draws the labelled rows from ``data.y`` at the door, by the
generalised-category-discovery protocol of :func:`draw_labeled_rows`; it is off by
default and the drawn rows are kept in ``labeled_mask_``.

Differences from the published code/paper, all deliberate:

- Encoder: an MLP or GCN autoencoder (``graphclust.nn``), pre-trained on reconstruction,
  instead of a DINO ViT on images. The M-step loss is ProtoNCE's prototype term plus
  ``reconstruction_weight`` x the reconstruction MSE, which keeps the embedding from
  collapsing onto the prototypes; the paper's instance term needs image augmentations
  and a supervised contrastive term on the labelled rows, which are not used here
  (the labelled rows enter through their pinned clusters). ``train_encoder=False``
  clusters the given features without any network.
- The E-step runs on a reduced space: rows L2-normalised (``normalize``), then PCA to at
  most ``pca_dim`` = 32 dimensions, scaled to unit total variance (the scale of unit-norm
  features, for which the prior's ``Psi_0 = 0.005 I`` was set: the NIW prior is not
  scale-free, each cluster pays ``nu_0 / 2 ln|Psi_0|``), where the NIW prior above
  (with D = that dimension) is applied. The ratios cost O(n D^2 + D^3) per cluster,
  and a 768-d NIW with ``nu_0 = D + 1`` on a few hundred points per cluster is
  dominated by the prior.
- K bounds come from the labelled data, never the true K: ``initial_k="auto"`` starts
  from 4 x the number of labelled classes (k-means++ for the free prototypes), because a
  new class whose points go to a known prototype can never leave it (known clusters
  are not split), so GPC must start over-clustered and merge; ``k_max="auto"`` stops
  splits at 2 x that.
- Merges join clusters with no labelled row only (the moves of the paper's E-step);
  ``merge_known=True`` also lets a free cluster merge into a known class. Moves stop
  when a round accepts no move with a positive ratio (or after ``max_move_rounds``); a
  final merge-only pass undoes random splits the likelihood never supported.
- The returned state is the final one (no model selection).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch_geometric.data import Data

from graphclust.assign.niw import NIWPrior
from graphclust.assign.split_merge import initial_prototypes, split_merge_kmeans
from graphclust.data.labelled import labelled_rows
from graphclust.data.validation import check_graph
from graphclust.losses import protonce_loss, prototype_concentration
from graphclust.methods.base import BaseClusterer, check_finite
from graphclust.nn.gcn import GCNAutoencoder
from graphclust.nn.mlp import Autoencoder, encode_in_chunks, pretrain_autoencoder
from graphclust.training import progress
from graphclust.utils.checks import (
    flag,
    non_negative_float,
    positive_float,
    positive_int,
    probability,
)

# up to this width the E-step's PCA is an exact eigh of the D x D scatter; beyond it a
# randomised low-rank SVD (seeded by the fit's seed), which costs O(N D q), not O(D^3)
EXACT_PCA_MAX_DIM = 256


def draw_labeled_rows(
    y: torch.Tensor,
    known_class_fraction: float = 0.5,
    label_fraction: float = 0.5,
    seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The generalised-category-discovery split: a share of the classes is known, and a
    share of each known class's rows is labelled; the other classes are new.

    Args:
        y: LongTensor [N] of class labels (all rows).
        known_class_fraction: share of the classes that are known (at least one).
        label_fraction: share of the rows of each known class that are labelled
            (at least one row per known class).
        seed: seed of the draw.

    Returns:
        labeled_mask BoolTensor [N] and the known classes (sorted LongTensor).
    """
    for value, name in (
        (known_class_fraction, "known_class_fraction"),
        (label_fraction, "label_fraction"),
    ):
        probability(value, name, zero=False)
    y = y.long().cpu()
    generator = torch.Generator().manual_seed(int(seed))
    classes = y.unique()
    n_known = max(1, round(known_class_fraction * classes.numel()))
    known = classes[torch.randperm(classes.numel(), generator=generator)[:n_known]].sort().values
    mask = torch.zeros(y.numel(), dtype=torch.bool)
    for c in known.tolist():
        rows = (y == c).nonzero().flatten()
        take = max(1, round(label_fraction * rows.numel()))
        mask[rows[torch.randperm(rows.numel(), generator=generator)[:take]]] = True
    return mask, known


class GPC(BaseClusterer):
    """GPC generalised category discovery (semi-supervised, finds K itself).

    Args:
        encoder: ``"mlp"`` or ``"gcn"`` (attributed graphs).
        train_encoder: False clusters ``data.x`` itself (no network, no M-step).
        hidden: encoder hidden widths (the decoder mirrors them).
        latent_dim: embedding size ``d``.
        pretrain_epochs: autoencoder pre-training epochs (MSE, Adam, lr ``lr``).
        rounds: EM rounds (E-step, then ``epochs_per_round`` M-step epochs); a last
            E-step follows the last round.
        epochs_per_round: M-step epochs per round.
        lr: Adam learning rate.
        temperature: mean ProtoNCE temperature of the prototypes.
        reconstruction_weight: weight of the reconstruction MSE in the M-step.
        batch_size: rows per M-step step for the MLP encoder (the GCN is full batch).
        pca_dim: dimension of the E-step space (PCA), at most.
        normalize: L2-normalise rows before the PCA.
        initial_k: starting number of prototypes, or ``"auto"`` (4 x labelled classes).
        k_max: splits stop at this many clusters, or ``"auto"`` (2 x initial K).
        kappa, nu, psi_scale: NIW prior (``nu=None`` means D + 1 of the E-step space).
        alpha: Dirichlet-process concentration of the Hastings ratios.
        split_accept_prob: probability of keeping a split whose ratio is not positive.
        min_split_size: clusters of at most this many rows are never split.
        max_move_rounds: rounds of split/merge moves per E-step, at most.
        merge_known: let free clusters merge into known classes too (False: the
            paper's moves, splits and merges both only between clusters without a
            labelled row).
        label_fraction: None (default): labelled rows come only from ``fit``'s
            arguments. A number: when ``fit`` gets none, draw them from ``data.y`` with
            :func:`draw_labeled_rows` (this share of each known class's rows).
        known_class_fraction: share of known classes for that draw.
        label_seed: seed of that draw.
        progress: show a progress bar over the rounds (tqdm, on stderr, with an estimate
            of the time left).
        seed: random seed (network, k-means++, 2-means, random acceptances).
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.

    Fitted attributes, besides the base ones: ``known_classes_`` (class label of the
    clusters ``0..n_known-1``; clusters from ``n_known`` on are new), ``labeled_mask_``,
    ``cluster_centers_`` [K, D'] (E-step space), ``pca_dim_`` (D').
    ``soft_assignments_`` [N, K] is the ProtoNCE softmax of the L2-normalised embeddings
    (features without an encoder) against the normalised cluster means; ``embeddings_``
    the encoder's output [N, d], or the E-step space [N, D'] without an encoder.
    """

    k_free: ClassVar[bool] = True

    def __init__(
        self,
        encoder: str = "mlp",
        train_encoder: bool = True,
        hidden: tuple[int, ...] = (256,),
        latent_dim: int = 32,
        pretrain_epochs: int = 30,
        rounds: int = 5,
        epochs_per_round: int = 10,
        lr: float = 1e-3,
        temperature: float = 0.1,
        reconstruction_weight: float = 1.0,
        batch_size: int = 256,
        pca_dim: int = 32,
        normalize: bool = True,
        initial_k: int | str = "auto",
        k_max: int | str = "auto",
        kappa: float = 1e-4,
        nu: float | None = None,
        psi_scale: float = 0.005,
        alpha: float = 1.0,
        split_accept_prob: float = 0.1,
        min_split_size: int = 5,
        max_move_rounds: int = 10,
        merge_known: bool = False,
        label_fraction: float | None = None,
        known_class_fraction: float = 0.5,
        label_seed: int = 0,
        progress: bool = True,
        seed: int = 0,
        device: str = "auto",
    ) -> None:
        self.encoder = encoder
        self.train_encoder = train_encoder
        self.hidden = hidden
        self.latent_dim = latent_dim
        self.pretrain_epochs = pretrain_epochs
        self.rounds = rounds
        self.epochs_per_round = epochs_per_round
        self.lr = lr
        self.temperature = temperature
        self.reconstruction_weight = reconstruction_weight
        self.batch_size = batch_size
        self.pca_dim = pca_dim
        self.normalize = normalize
        self.initial_k = initial_k
        self.k_max = k_max
        self.kappa = kappa
        self.nu = nu
        self.psi_scale = psi_scale
        self.alpha = alpha
        self.split_accept_prob = split_accept_prob
        self.min_split_size = min_split_size
        self.max_move_rounds = max_move_rounds
        self.merge_known = merge_known
        self.label_fraction = label_fraction
        self.known_class_fraction = known_class_fraction
        self.label_seed = label_seed
        self.progress = progress
        self.seed = seed
        self.device = device

    # -- the door: labelled rows -----------------------------------------------------
    def fit(
        self,
        data: Data,
        y: torch.Tensor | None = None,
        labeled_mask: torch.Tensor | None = None,
    ) -> GPC:
        """Fit on ``data`` with the labels ``y`` [N] of the rows ``labeled_mask`` [N]
        (bool); only ``y[labeled_mask]`` is read. Returns ``self``."""
        clean = check_graph(data, require_features=True)  # y is not carried over
        self._pinned, self.known_classes_, self.labeled_mask_ = self._labelled_rows(
            data, clean.num_nodes, y, labeled_mask
        )
        self._validate_params(clean)
        try:
            self._train(clean, clean.num_nodes)
        finally:
            del self._pinned
        return self

    def fit_predict(
        self,
        data: Data,
        y: torch.Tensor | None = None,
        labeled_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Fit and return ``labels_`` (LongTensor [N])."""
        return self.fit(data, y, labeled_mask).labels_

    def _labelled_rows(self, data: Any, n: int, y: Any, mask: Any):
        """Validate (or draw) the labelled rows; returns pinned [N] (known cluster id or
        -1), the known classes and the mask [N]."""
        draw = None
        if self.label_fraction is not None:
            positive_int(self.label_seed, "label_seed", minimum=0)

            def draw(labels: torch.Tensor) -> torch.Tensor:
                return draw_labeled_rows(
                    labels, self.known_class_fraction, self.label_fraction, self.label_seed
                )[0]

        index, known_y = labelled_rows(
            data, n, y, mask, method="GPC", option="label_fraction", draw=draw
        )
        classes = known_y.unique()
        pinned = torch.full((n,), -1, dtype=torch.long)
        pinned[index] = torch.searchsorted(classes, known_y)
        labeled = torch.zeros(n, dtype=torch.bool)
        labeled[index] = True
        return pinned, classes, labeled

    def _validate_params(self, data: Data) -> None:
        super()._validate_params(data)
        flag(self.progress, "progress")
        if self.encoder not in ("mlp", "gcn"):
            raise ValueError(f"encoder must be 'mlp' or 'gcn', got {self.encoder!r}")
        for name in ("latent_dim", "rounds", "batch_size", "pca_dim", "max_move_rounds"):
            positive_int(getattr(self, name), name, 1)
        for name in ("pretrain_epochs", "epochs_per_round", "min_split_size"):
            positive_int(getattr(self, name), name, 0)
        for name in ("lr", "temperature", "kappa", "psi_scale", "alpha"):
            positive_float(getattr(self, name), name)
        probability(self.split_accept_prob, "split_accept_prob")
        non_negative_float(self.reconstruction_weight, "reconstruction_weight")
        n_known = self.known_classes_.numel()
        for name in ("initial_k", "k_max"):
            value = getattr(self, name)
            if value != "auto":
                positive_int(value, name, n_known)
        if not all(isinstance(h, int) and h >= 1 for h in self.hidden):
            raise ValueError(f"hidden must be positive integer widths, got {self.hidden!r}")

    # -- training --------------------------------------------------------------------
    def _k_bounds(self, n: int) -> tuple[int, int]:
        n_known = self.known_classes_.numel()
        k0 = max(4 * n_known, n_known + 2) if self.initial_k == "auto" else self.initial_k
        k0 = min(k0, n)
        k_max = 2 * k0 if self.k_max == "auto" else max(self.k_max, k0)
        return k0, k_max

    def _fit(self, data: Data, device: torch.device) -> None:
        x, edge_index = data.x.to(device), data.edge_index.to(device)
        pinned = self._pinned.to(device)
        self._generator = torch.Generator().manual_seed(self.seed)
        model = None
        if self.train_encoder:
            cls = Autoencoder if self.encoder == "mlp" else GCNAutoencoder
            model = cls(x.size(1), tuple(self.hidden), self.latent_dim).to(device)
            self.pretrain_history_ = pretrain_autoencoder(
                model, x, edge_index, epochs=self.pretrain_epochs, lr=self.lr,
                batch_size=self.batch_size, seed=self.seed,
            )  # fmt: skip
            optimizer = torch.optim.Adam(model.parameters(), lr=self.lr)
        labels = None
        rounds = range(self.rounds if model is not None else 0)
        for round_ in progress(rounds, self.progress, "GPC"):
            z = encode_in_chunks(model.eval(), x, edge_index=edge_index)
            check_finite(z, "GPC embeddings (training diverged)", round_)
            labels, _ = self._e_step(z, pinned, labels)
            self._m_step(model, optimizer, x, edge_index, labels)
        z = x if model is None else encode_in_chunks(model.eval(), x, edge_index=edge_index)
        check_finite(z, "GPC embeddings (training diverged)", self.rounds)
        labels, u = self._e_step(z, pinned, labels)
        zn = F.normalize(z.float(), dim=1)
        prototypes, phi = self._prototypes(zn, labels)
        self.labels_ = labels.cpu()
        self.n_clusters_ = prototypes.size(0)
        self.soft_assignments_ = torch.softmax(zn @ prototypes.T / phi, dim=1)
        self.embeddings_ = (u if model is None else z).float()
        del self._generator

    def _reduce(self, z: torch.Tensor) -> torch.Tensor:
        """The E-step space: rows normalised (optionally), centred, PCA to <= pca_dim,
        scaled to unit total variance."""
        v = z.detach().double()
        v = F.normalize(v, dim=1) if self.normalize else v
        v = v - v.mean(dim=0)
        if v.size(1) > EXACT_PCA_MAX_DIM:
            q = min(self.pca_dim + 10, *v.shape)  # oversampled, then the top pca_dim kept
            v = v @ torch.pca_lowrank(v, q=q, center=False, niter=4)[2][:, : self.pca_dim]
        elif v.size(1) > self.pca_dim:
            _, vectors = torch.linalg.eigh(v.T @ v)
            v = v @ vectors[:, -self.pca_dim :].flip(1)
        # unit total variance: the scale of the unit-norm features Psi_0 = 0.005 I was set
        # for; the NIW prior is not scale-free (each cluster pays nu_0/2 ln|Psi_0|)
        return v / v.pow(2).sum(dim=1).mean().sqrt().clamp_min(1e-12)

    def _e_step(self, z: torch.Tensor, pinned: torch.Tensor, previous: torch.Tensor | None):
        """Split/merge k-means on the reduced embeddings; returns labels (on ``z``'s
        device) and the reduced space [N, D'] (on the host).

        Runs on the host whatever the device: many small float64 operations (D' x D'
        determinants, a 2-means per cluster) that a GPU would run launch-bound."""
        device = z.device
        u = self._reduce(z).cpu()
        pinned = pinned.cpu()
        previous = None if previous is None else previous.cpu()
        self.pca_dim_ = u.size(1)
        n_known = self.known_classes_.numel()
        k0, k_max = self._k_bounds(u.size(0))
        if previous is None:
            start = initial_prototypes(u, pinned, n_known, k0, self._generator)
        else:  # warm start: the previous clusters' means in the new space
            k = int(previous.max()) + 1
            sums = torch.zeros(k, u.size(1), dtype=u.dtype, device=u.device)
            start = sums.index_add_(0, previous, u) / torch.bincount(previous, minlength=k)[
                :, None
            ].clamp_min(1)
        prior = NIWPrior.isotropic(u.mean(dim=0), self.kappa, self.nu, self.psi_scale)
        result = split_merge_kmeans(
            u, pinned, n_known, prior, start,
            alpha=self.alpha, split_accept_prob=self.split_accept_prob,
            min_split_size=self.min_split_size, k_max=k_max,
            max_rounds=self.max_move_rounds, merge_known=self.merge_known,
            generator=self._generator,
        )  # fmt: skip
        self.cluster_centers_ = result.centroids.float().cpu()
        self.log(k=result.centroids.size(0), splits=sum(result.history["splits"]),
                 merges=sum(result.history["merges"]))  # fmt: skip
        return result.labels.to(device), u

    def _prototypes(self, zn: torch.Tensor, labels: torch.Tensor):
        k = int(labels.max()) + 1
        sums = torch.zeros(k, zn.size(1), dtype=zn.dtype, device=zn.device)
        prototypes = F.normalize(sums.index_add_(0, labels, zn), dim=1)
        return prototypes, prototype_concentration(zn, prototypes, labels, self.temperature)

    def _m_step(self, model, optimizer, x, edge_index, labels) -> None:
        """``epochs_per_round`` epochs of ProtoNCE (+ reconstruction) against fixed
        prototypes of the current clusters."""
        with torch.no_grad():
            zn = F.normalize(encode_in_chunks(model.eval(), x, edge_index=edge_index), dim=1)
        prototypes, phi = self._prototypes(zn, labels)
        full = getattr(model, "needs_graph", False)
        step = x.size(0) if full else self.batch_size
        model.train()
        for _ in range(self.epochs_per_round):
            order = torch.randperm(x.size(0), generator=self._generator).to(x.device)
            total = 0.0
            for start in range(0, x.size(0), step):
                rows = order[start : start + step]
                z = model.encode(x, edge_index)[rows] if full else model.encode(x[rows])
                proto = protonce_loss(F.normalize(z, dim=1), prototypes, labels[rows], phi)
                recon = F.mse_loss(model.decode(z), x[rows])
                loss = proto + self.reconstruction_weight * recon
                check_finite(loss, "GPC M-step loss")
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total += float(loss.detach()) * rows.numel()
            self.log(loss=total / x.size(0))


__all__ = ["GPC", "draw_labeled_rows"]
