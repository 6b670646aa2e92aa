"""Label-free rules for the number of clusters K, diagnosed against the true K.

k-means of an embedding H [N, d] for every K in ``2..k_max`` gives one partition per K
(:func:`scores_over_k`, the partitions :func:`graphclust.methods.ksearch.kmeans_k_search`
chooses among). A label-free rule (:data:`K_RULES`) scores each partition from
label-free quantities only and :func:`pick_k` takes the partition it scores highest.
Each partition also carries its scores against the labels (NMI, ARI, EDGE), for a
diagnosis and nothing else: :func:`summarize_picks` says how far the K a rule picked,
over several runs, is from the true K and what the partitions it picked score.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from typing import Any

import torch

from graphclust.assign import fit_kmeans
from graphclust.methods.ksearch import selection_score
from graphclust.metrics import ari, calinski_harabasz, edge_score, modularity, nmi, silhouette
from graphclust.utils.checks import positive_int

Scores = dict[str, float]


def scores_over_k(
    embeddings: torch.Tensor, data: Any, k_max: int, seed: int = 0, n_init: int = 5
) -> list[Scores]:
    """k-means of ``embeddings`` for every K in ``2..k_max``, each partition scored.

    k-means as :func:`~graphclust.methods.ksearch.kmeans_k_search` runs it on a CPU
    (scikit-learn, float64, ``n_init`` k-means++ restarts, ``seed``), so the same K gives
    the same partition.

    Args:
        embeddings: [N, d] the space clustered, on the CPU.
        data: the graph: ``edge_index`` [2, E] (both directions), ``x`` [N, D] features,
            ``y`` [N] true classes, ``num_nodes``.
        k_max: the largest K tried, in ``[2, N - 1]``.
        seed: the k-means seed.
        n_init: k-means restarts per K.

    Returns:
        One dict per K tried, in order, with ``k`` (the number of clusters k-means used,
        which can be below the K asked on duplicated points) and the label-free
        ``q`` (modularity), ``ch_h`` (Calinski-Harabasz in ``embeddings``), ``ch_x``
        (Calinski-Harabasz in ``data.x``), ``silhouette`` (exact, in ``embeddings``; -1
        for one cluster); then, read from the labels for the diagnosis, ``nmi``, ``ari``,
        ``edge`` and ``edge_trivial`` (EDGE of the one-cluster partition).
    """
    n = int(data.num_nodes)
    k_max = positive_int(k_max, "k_max", minimum=2)
    if k_max > n - 1:
        raise ValueError(f"k_max must be at most N - 1 = {n - 1}, got {k_max}")
    seed = positive_int(seed, "seed", minimum=0)
    n_init = positive_int(n_init, "n_init")
    h = embeddings.detach().cpu()
    if h.dim() != 2 or h.size(0) != n:
        raise ValueError(f"embeddings must be [N, d] with N = {n}, got {list(h.shape)}")
    rows = []
    for k in range(2, k_max + 1):
        labels = fit_kmeans(h.double(), k, n_init=n_init, seed=seed, backend="sklearn").labels
        labels = labels.cpu()
        used = int(labels.unique().numel())
        report = edge_score(labels, edge_index=data.edge_index, y=data.y)
        rows.append(
            {
                "k": used,
                "q": modularity(data.edge_index, labels, num_nodes=n),
                "ch_h": calinski_harabasz(h, labels),
                "ch_x": calinski_harabasz(data.x, labels),
                "silhouette": silhouette(h, labels, sample_size=None) if used > 1 else -1.0,
                "nmi": nmi(data.y, labels),
                "ari": ari(data.y, labels),
                "edge": report.edge,
                "edge_trivial": report.trivial_edge,
            }
        )
    return rows


def _q_x_ch(ch_key: str) -> Callable[[Scores], float]:
    return lambda s: selection_score(s["q"], s[ch_key], int(s["k"]))


#: Label-free rules: name -> a function of one K's scores (:func:`scores_over_k`),
#: higher is better. "Q x CH(H)" is DAG's and kmeans_k_search's own rule.
K_RULES: dict[str, Callable[[Scores], float]] = {
    "Q x CH(H)": _q_x_ch("ch_h"),
    "Q x CH(X)": _q_x_ch("ch_x"),
    "modularity Q": lambda s: s["q"],
    "silhouette(H)": lambda s: s["silhouette"],
}


def pick_k(rows: Sequence[Scores], rule: Callable[[Scores], float]) -> Scores:
    """The row of :func:`scores_over_k` that ``rule`` scores highest (ties: the first,
    the smallest K, as kmeans_k_search breaks them)."""
    if not rows:
        raise ValueError("rows is empty: there is no K to pick")
    return max(rows, key=rule)


def at_k(rows: Sequence[Scores], k: int) -> Scores:
    """The row of ``rows`` whose partition has ``k`` clusters (the first such)."""
    found = next((row for row in rows if row["k"] == k), None)
    if found is None:
        raise ValueError(f"no row has k = {k}; the rows have k in {[row['k'] for row in rows]}")
    return found


def _mean_std(values: list[float]) -> tuple[float, float]:
    return statistics.mean(values), statistics.pstdev(values)


def summarize_picks(picks: Sequence[Scores], true_k: int) -> dict[str, Any]:
    """How the partitions a rule picked in several runs compare with the true K.

    Args:
        picks: one row of :func:`scores_over_k` per run (e.g. per seed), the one a rule
            picked.
        true_k: the number of classes.

    Returns:
        ``k_mean`` (mean K), ``exact`` and ``within_one`` (runs whose K is the true K,
        or within 1 of it), ``mean_abs_dk`` (mean ``|K - true_k|``) and ``nmi`` as
        (mean, population std); with ``ari`` and ``edge_gain`` (EDGE minus the
        one-cluster EDGE) as (mean, population std) where every pick has them.
    """
    if not picks:
        raise ValueError("picks is empty: summarise at least one run")
    true_k = positive_int(true_k, "true_k")
    ks = [int(p["k"]) for p in picks]
    summary: dict[str, Any] = {
        "k_mean": statistics.mean(ks),
        "exact": sum(k == true_k for k in ks),
        "within_one": sum(abs(k - true_k) <= 1 for k in ks),
        "mean_abs_dk": statistics.mean(abs(k - true_k) for k in ks),
        "nmi": _mean_std([p["nmi"] for p in picks]),
    }
    if all("ari" in p for p in picks):
        summary["ari"] = _mean_std([p["ari"] for p in picks])
    if all("edge" in p and "edge_trivial" in p for p in picks):
        summary["edge_gain"] = _mean_std([p["edge"] - p["edge_trivial"] for p in picks])
    return summary


__all__ = ["K_RULES", "at_k", "pick_k", "scores_over_k", "summarize_picks"]
