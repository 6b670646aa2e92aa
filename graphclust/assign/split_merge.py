"""Semi-supervised k-means with NIW split and merge moves (GPC's E-step).

Clusters ``0..n_known-1`` are the known classes: every labelled row is pinned to the
cluster of its class, whatever its distance; the unlabelled rows go to the nearest
prototype. The other clusters are free. Between k-means runs, moves change K:

- split: a free cluster of more than ``min_split_size`` points is cut in two by 2-means
  and the cut is kept when the Hastings ratio ``H_s`` (:func:`split_log_ratio`) is
  positive, or else with probability ``split_accept_prob`` (a random exploration move;
  the merges that follow undo the cuts the likelihood does not support);
- merge: each free cluster and its nearest free prototype form a candidate pair
  (nearest pairs first, each cluster in at most one move per round); the pair is merged
  when ``H_m > 0``. With ``merge_known=True`` the known prototypes are candidates too
  and a free cluster merged into a known one takes the known class; two known classes
  are never merged.

A round is: splits, k-means, merges, k-means. Rounds stop when a round accepts no move
with a positive ratio (random splits do not count) or after ``max_rounds``; a last
merge-only pass then removes random cuts that never found support. K is the number of
surviving prototypes. Empty free clusters are dropped after each k-means.

Cost per round: the k-means (O(N K D) per iteration), one 2-means per free cluster and
one NIW evaluation (O(n D^2 + D^3)) per part, so work in a reduced D (GPC: <= 32).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from graphclust.assign.kmeans import kmeans
from graphclust.assign.niw import NIWPrior, merge_log_ratio, split_log_ratio


@dataclass
class SplitMergeResult:
    """labels [N] in 0..K-1 (clusters < ``n_known`` are the known classes), centroids
    [K, D], and per round the K, the accepted splits and merges."""

    labels: torch.Tensor
    centroids: torch.Tensor
    n_known: int
    history: dict[str, list[int]] = field(default_factory=dict)


def _nearest(x: torch.Tensor, centroids: torch.Tensor) -> torch.Tensor:
    """Index of the nearest centroid of each row (||c||^2 - 2 x.c orders as ||x - c||^2)."""
    return ((centroids * centroids).sum(1) - 2.0 * x @ centroids.T).argmin(dim=1)


def _means(x: torch.Tensor, labels: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    sums = torch.zeros(k, x.size(1), dtype=x.dtype, device=x.device).index_add_(0, labels, x)
    counts = torch.bincount(labels, minlength=k)
    return sums / counts.clamp_min(1).unsqueeze(1).to(x.dtype), counts


def semi_supervised_kmeans(
    x: torch.Tensor,
    centroids: torch.Tensor,
    pinned: torch.Tensor,
    n_known: int,
    max_iter: int = 100,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Lloyd iterations with pinned rows (GCD's semi-supervised k-means).

    Args:
        x: [N, D] points.
        centroids: [K, D] starting prototypes; the first ``n_known`` are the known classes.
        pinned: LongTensor [N], the known cluster of a labelled row, -1 for a free row.
        n_known: number of known clusters (each holds at least one pinned row).
        max_iter: Lloyd iterations at most (stops when no label changes).

    Returns:
        labels [N] and centroids [K', D]; free clusters left empty are dropped and the
        rest renumbered in order, so K' <= K and the known clusters keep their ids.
    """
    free = pinned < 0
    labels = torch.where(free, _nearest(x, centroids), pinned)
    for _ in range(max_iter):
        centroids, counts = _means(x, labels, centroids.size(0))
        keep = counts > 0
        keep[:n_known] = True
        if not bool(keep.all()):  # a free cluster lost every point: drop it
            centroids = centroids[keep]
        new = torch.where(free, _nearest(x, centroids), pinned)
        if not bool(keep.all()):
            labels = new
            continue
        if torch.equal(new, labels):
            break
        labels = new
    centroids, _ = _means(x, labels, centroids.size(0))
    return labels, centroids


def initial_prototypes(
    x: torch.Tensor, pinned: torch.Tensor, n_known: int, k: int, generator: torch.Generator
) -> torch.Tensor:
    """The labelled class means, then ``k - n_known`` k-means++ draws from the free rows
    (each with probability proportional to the squared distance to the nearest
    prototype so far). Returns [k, D]."""
    labelled = pinned >= 0
    known, _ = _means(x[labelled], pinned[labelled], n_known)
    centres = [known]
    pool = x[~labelled] if bool((~labelled).any()) else x
    closest = torch.cdist(pool, known).min(dim=1).values ** 2
    for _ in range(k - n_known):
        total = closest.sum()
        if float(total) <= 0:
            break  # every free row sits on a prototype: no further distinct start
        # drawn on the host: the generator is a CPU one whatever x's device
        pick = int(torch.multinomial((closest / total).float().cpu(), 1, generator=generator))
        centres.append(pool[pick].unsqueeze(0))
        closest = torch.minimum(closest, ((pool - pool[pick]) ** 2).sum(dim=1))
    return torch.cat(centres)


class _Mover:
    """The split and merge proposals of one fit (shared prior, thresholds, random stream)."""

    def __init__(self, x, pinned, n_known, prior, alpha, accept_prob, min_size, k_max, gen):
        self.x, self.pinned, self.n_known = x, pinned, n_known
        self.merge_known = False
        self.prior, self.alpha, self.accept_prob = prior, alpha, accept_prob
        self.min_size, self.k_max, self.gen = min_size, k_max, gen

    def split(self, labels: torch.Tensor, centroids: torch.Tensor):
        """Split free clusters; returns (labels, centroids, #accepted with H_s > 0, #all)."""
        k = centroids.size(0)
        centroids = centroids.clone()
        new_centres, supported, accepted = [centroids], 0, 0
        next_id = k
        for c in range(self.n_known, k):
            if next_id >= self.k_max:
                break
            members = (labels == c).nonzero().flatten()
            if members.numel() <= self.min_size:
                continue
            points = self.x[members]
            seed = int(torch.randint(2**31 - 1, (1,), generator=self.gen))
            halves = kmeans(points.float(), 2, n_init=2, max_iter=50, seed=seed).labels
            in_first = halves == 0
            if bool(in_first.all()) or not bool(in_first.any()):
                continue  # duplicated points: 2-means found one group
            ratio = split_log_ratio(points, in_first, self.prior, self.alpha)
            coin = float(torch.rand((), generator=self.gen))
            if ratio > 0 or coin < self.accept_prob:
                supported += ratio > 0
                accepted += 1
                labels = labels.clone()
                labels[members[~in_first]] = next_id
                new_centres.append(points[~in_first].mean(0, keepdim=True))
                centroids[c] = points[in_first].mean(0)
                next_id += 1
        return labels, torch.cat(new_centres), supported, accepted

    def merge(self, labels: torch.Tensor, centroids: torch.Tensor):
        """Merge nearest pairs with H_m > 0; returns (labels, centroids, #merges)."""
        k = centroids.size(0)
        if k < 2:
            return labels, centroids, 0
        dist = torch.cdist(centroids, centroids)
        dist.fill_diagonal_(float("inf"))
        first = 0 if self.merge_known else self.n_known
        if not self.merge_known:  # only clusters without labelled rows take part
            dist[:, : self.n_known] = float("inf")
        if k - first < 2:
            return labels, centroids, 0
        nearest = dist.argmin(dim=1)
        pairs = {tuple(sorted((a, int(nearest[a])))) for a in range(first, k)}
        order = sorted(pairs, key=lambda p: float(dist[p[0], p[1]]))
        used, target = set(), torch.arange(k, device=labels.device)
        for a, b in order:  # a < b, so a known cluster is always a
            if a in used or b in used or b < self.n_known:
                continue
            ratio = merge_log_ratio(
                self.x[labels == a], self.x[labels == b], self.prior, self.alpha
            )
            if ratio > 0:
                used.update((a, b))
                target[b] = a
        if not used:
            return labels, centroids, 0
        # renumber: merged-away clusters vanish, the others keep their order
        alive = target == torch.arange(k, device=labels.device)
        new_id = torch.cumsum(alive.long(), 0) - 1
        labels = new_id[target[labels]]
        centroids, _ = _means(self.x, labels, int(alive.sum()))
        return labels, centroids, len(used) // 2


def split_merge_kmeans(
    x: torch.Tensor,
    pinned: torch.Tensor,
    n_known: int,
    prior: NIWPrior,
    centroids: torch.Tensor,
    *,
    alpha: float = 1.0,
    split_accept_prob: float = 0.1,
    min_split_size: int = 5,
    k_max: int | None = None,
    merge_known: bool = False,
    max_rounds: int = 20,
    max_iter: int = 100,
    generator: torch.Generator | None = None,
) -> SplitMergeResult:
    """Semi-supervised k-means with split and merge moves, from ``centroids`` [K0, D].

    Args:
        x: [N, D] points (float64 is used for the ratios).
        pinned: LongTensor [N], the known cluster of each labelled row, -1 elsewhere;
            every known cluster ``0..n_known-1`` holds at least one pinned row.
        n_known: number of known classes.
        prior: the NIW prior of a cluster in ``x``'s space.
        centroids: starting prototypes, the known classes first.
        alpha: Dirichlet-process concentration in the Hastings ratio.
        split_accept_prob: probability of keeping a split whose ``H_s <= 0``.
        min_split_size: clusters of at most this many points are never split.
        k_max: splits stop at this many clusters (None: no cap).
        merge_known: also let a free cluster merge into its nearest known class (False:
            merges, like splits, only between clusters with no labelled row).
        max_rounds: rounds of moves at most.
        max_iter: Lloyd iterations per k-means.
        generator: random stream of the 2-means starts and of the random acceptances.
    """
    generator = generator or torch.Generator().manual_seed(0)
    x = x.detach().double()
    mover = _Mover(
        x, pinned, n_known, prior, alpha, split_accept_prob, min_split_size,
        k_max or x.size(0), generator,
    )  # fmt: skip
    mover.merge_known = merge_known
    labels, centroids = semi_supervised_kmeans(x, centroids.double(), pinned, n_known, max_iter)
    history: dict[str, list[int]] = {"k": [], "splits": [], "merges": []}
    for _ in range(max_rounds):
        labels, centroids, supported, accepted = mover.split(labels, centroids)
        if accepted:
            labels, centroids = semi_supervised_kmeans(x, centroids, pinned, n_known, max_iter)
        labels, centroids, merges = mover.merge(labels, centroids)
        if merges:
            labels, centroids = semi_supervised_kmeans(x, centroids, pinned, n_known, max_iter)
        history["k"].append(centroids.size(0))
        history["splits"].append(accepted)
        history["merges"].append(merges)
        if supported == 0 and merges == 0:
            break
    for _ in range(max_rounds):  # merge-only: undo random cuts the likelihood rejects
        labels, centroids, merges = mover.merge(labels, centroids)
        if not merges:
            break
        labels, centroids = semi_supervised_kmeans(x, centroids, pinned, n_known, max_iter)
        history["merges"][-1] += merges
        history["k"][-1] = centroids.size(0)
    return SplitMergeResult(labels, centroids, n_known, history)


__all__ = [
    "SplitMergeResult",
    "initial_prototypes",
    "semi_supervised_kmeans",
    "split_merge_kmeans",
]
