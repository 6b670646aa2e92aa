"""Figures of a fitted estimator: training curves, K selection, t-SNE, contingency.

Every function returns a ``matplotlib.figure.Figure`` built with the object-oriented
API (no pyplot state, no window), so they work on a headless machine under any
backend; :func:`save_figures` writes the ones that apply to an estimator as PNG.
matplotlib is imported inside the functions: the rest of graphclust does not need it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from torch_geometric.data import Data

#: The files :func:`save_figures` may write (which ones depends on the estimator).
FIGURE_FILES = ("history.png", "k_selection.png", "embedding.png", "contingency.png")
#: History keys of DAG's checkpoint evaluation, drawn by :func:`plot_k_selection`.
_SELECTION_KEYS = ("eval_epoch", "selection_score", "k")


def _figure(**kwargs: Any) -> Figure:
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def _numpy(values: Any) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().numpy()
    return np.asarray(values)


def _is_curve(values: Any) -> bool:
    """A non-empty list of plain numbers (not per-epoch vectors such as w_col_norms)."""
    if not isinstance(values, (list, tuple)) or not values:
        return False
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def plot_history(history: dict[str, Sequence[float]], keys: Sequence[str] | None = None) -> Figure:
    """Training curves, one panel per history key.

    Args:
        history: an estimator's ``history_``: key -> list of per-epoch (or per-step)
            numbers. A key logged at each evaluation (as long as ``eval_epoch``) is drawn
            against ``eval_epoch``; any other against 1..len.
        keys: which keys to draw; default every key holding numbers except
            ``eval_epoch`` (lists of vectors are skipped).

    Raises:
        ValueError: no curve to draw, or a key not in ``history`` / not numeric.
    """
    if keys is None:
        keys = [k for k, v in history.items() if k != "eval_epoch" and _is_curve(v)]
    else:
        keys = list(keys)
        for key in keys:
            if key not in history:
                raise ValueError(f"history has no key {key!r}; keys: {sorted(history)}")
            if not _is_curve(history[key]):
                raise ValueError(f"history[{key!r}] is not a list of numbers; pick another key")
    if not keys:
        raise ValueError("history has no numeric curve to plot (was the estimator fitted?)")
    eval_x = list(history.get("eval_epoch", []))
    ncols = min(3, len(keys))
    nrows = math.ceil(len(keys) / ncols)
    fig = _figure(figsize=(4 * ncols, 3 * nrows), layout="constrained")
    for i, key in enumerate(keys):
        values = np.asarray(history[key], dtype=float)
        x = eval_x if eval_x and len(eval_x) == len(values) else np.arange(1, len(values) + 1)
        ax = fig.add_subplot(nrows, ncols, i + 1)
        ax.plot(x, values, marker="." if len(values) <= 50 else None)
        ax.set_title(key)
        ax.set_xlabel("epoch")
    return fig


def plot_k_selection(estimator: Any) -> Figure:
    """DAG's label-free model selection: score and K per checkpoint, and the K search.

    Panels: (1) the selection score (modularity x CH, no labels) of every evaluated
    checkpoint, plus the k-means read-out's score when that was selected on, with the
    kept checkpoint (``selected_epoch_``) marked by a star (``gid="selected"``);
    (2) K per checkpoint with the kept one marked; (3) only when ``k_search_`` is set
    (k-means read-out): the search's score against K, the chosen K marked.

    Raises:
        ValueError: the estimator has no evaluation history (not fitted, or not DAG).
    """
    history = getattr(estimator, "history_", None) or {}
    missing = [k for k in _SELECTION_KEYS if k not in history]
    if getattr(estimator, "selected_epoch_", None) is None:
        missing.append("selected_epoch_")
    if missing:
        raise ValueError(
            "plot_k_selection needs a fitted estimator with history_ keys "
            f"{list(_SELECTION_KEYS)} and selected_epoch_ (DAG); missing: {missing}"
        )
    epochs = np.asarray(history["eval_epoch"], dtype=float)
    selected = int(estimator.selected_epoch_)
    at = np.flatnonzero(epochs == selected)
    # the score the selector compared: the read-out's when it was logged
    key = "readout_selection_score" if "readout_selection_score" in history else "selection_score"
    k_search = getattr(estimator, "k_search_", None)
    panels = 3 if k_search else 2
    fig = _figure(figsize=(4 * panels, 3.2), layout="constrained")

    ax = fig.add_subplot(1, panels, 1)
    ax.plot(epochs, _finite(history["selection_score"]), marker=".", label="argmax partition")
    if key != "selection_score":
        ax.plot(epochs, _finite(history[key]), marker=".", label="k-means read-out")
    if at.size:
        y = _finite(history[key])[at[0]]
        ax.plot(
            [selected],
            [y],
            marker="*",
            markersize=14,
            linestyle="none",
            color="crimson",
            label=f"selected (epoch {selected})",
            gid="selected",
        )
    ax.axvline(selected, color="crimson", alpha=0.3, linestyle="--")
    ax.set_xlabel("epoch")
    ax.set_ylabel("modularity x CH (label-free)")
    ax.set_title("checkpoint selection score")
    ax.legend(fontsize="small")

    ax = fig.add_subplot(1, panels, 2)
    ax.plot(epochs, np.asarray(history["k"], dtype=float), marker=".", label="argmax K")
    if "readout_k" in history:
        ax.plot(
            epochs,
            np.asarray(history["readout_k"], dtype=float),
            marker=".",
            label="k-means read-out K",
        )
    ax.axvline(
        selected, color="crimson", alpha=0.3, linestyle="--", label=f"selected (epoch {selected})"
    )
    ax.set_xlabel("epoch")
    ax.set_ylabel("K")
    ax.set_title("K per checkpoint")
    ax.legend(fontsize="small")

    if k_search:
        ks = np.asarray(sorted(k_search), dtype=float)
        scores = _finite([k_search[k] for k in sorted(k_search)])
        ax = fig.add_subplot(1, panels, 3)
        ax.plot(ks, scores, marker=".")
        chosen = int(estimator.n_clusters_)
        if chosen in k_search:
            ax.plot(
                [chosen],
                [_finite([k_search[chosen]])[0]],
                marker="*",
                markersize=14,
                linestyle="none",
                color="crimson",
                label=f"chosen K = {chosen}",
                gid="chosen_k",
            )
            ax.legend(fontsize="small")
        ax.set_xlabel("K")
        ax.set_ylabel("modularity x CH")
        ax.set_title("k-means read-out: score vs K")
    return fig


def _finite(values: Sequence[float]) -> np.ndarray:
    """-inf (a degenerate partition's score) as NaN, which matplotlib leaves as a gap."""
    arr = np.asarray(values, dtype=float)
    return np.where(np.isfinite(arr), arr, np.nan)


def plot_embedding(
    embeddings: Any,
    labels: Any,
    y: Any | None = None,
    seed: int = 0,
    max_points: int = 5000,
) -> Figure:
    """t-SNE map of ``embeddings`` [N, d] coloured by cluster (and by ``y`` beside it).

    Wider than 50 dimensions, the embeddings are first reduced to 50 by PCA (the usual
    t-SNE preprocessing); above ``max_points`` rows a seeded random subset is drawn.
    Nodes with a negative ``y`` (unlabelled) are grey in the label panel.

    Args:
        embeddings: float [N, d] (tensor or array).
        labels: cluster labels [N].
        y: optional ground-truth labels [N]; adds a second panel.
        seed: seed of the subsample, PCA and t-SNE.
        max_points: the most points drawn.
    """
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    z = _numpy(embeddings).astype(np.float64)
    labels = _numpy(labels)
    if z.ndim != 2 or z.shape[0] != labels.shape[0]:
        raise ValueError(
            f"embeddings must be [N, d] with N = len(labels) = {labels.shape[0]}, got {z.shape}"
        )
    if z.shape[0] < 3:
        raise ValueError(f"t-SNE needs at least 3 points, got {z.shape[0]}")
    y_np = None if y is None else _numpy(y).reshape(-1)
    rows = np.arange(z.shape[0])
    if z.shape[0] > max_points:
        rows = np.sort(np.random.default_rng(seed).choice(z.shape[0], max_points, replace=False))
    z = z[rows]
    if z.shape[1] > 50 and z.shape[0] > 50:  # PCA gives at most n_samples components
        z = PCA(n_components=50, random_state=seed).fit_transform(z)
    perplexity = float(min(30.0, max(2.0, (z.shape[0] - 1) / 3)))
    xy = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(z)
    panels = [("clusters", labels[rows])]
    if y_np is not None:
        panels.append(("labels", y_np[rows]))
    fig = _figure(figsize=(5 * len(panels), 4.5), layout="constrained")
    for i, (title, colour) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        known = colour >= 0
        if not known.all():
            ax.scatter(xy[~known, 0], xy[~known, 1], s=4, c="lightgrey")
        ax.scatter(xy[known, 0], xy[known, 1], s=4, c=colour[known], cmap="tab20")
        ax.set_title(f"t-SNE coloured by {title}")
        ax.set_xticks([])
        ax.set_yticks([])
    return fig


def contingency_matrix(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counts [classes, clusters] with the clusters reordered by the Hungarian matching.

    Column j is placed under the class it is matched to (so matched pairs sit on the
    diagonal); unmatched clusters (more clusters than classes) come last.

    Returns:
        (counts, class values, cluster values in column order).
    """
    from graphclust.metrics import match_labels

    true = _numpy(y_true).reshape(-1).astype(np.int64)
    pred = _numpy(y_pred).reshape(-1).astype(np.int64)
    if true.shape != pred.shape:
        raise ValueError(f"y_true and y_pred lengths differ: {true.size} vs {pred.size}")
    classes, t = np.unique(true, return_inverse=True)
    clusters, p = np.unique(pred, return_inverse=True)
    unmatched = int(classes.min()) - 1  # not a class value
    mapped = np.asarray(match_labels(true, pred, unmatched=unmatched))
    match = {}  # cluster code -> matched class code (clusters are whole, any member tells)
    for code in range(clusters.size):
        value = mapped[np.flatnonzero(p == code)[0]]
        if value != unmatched:
            match[code] = int(np.searchsorted(classes, value))
    order = sorted(match, key=match.get) + [c for c in range(clusters.size) if c not in match]
    counts = np.zeros((classes.size, clusters.size), dtype=np.int64)
    np.add.at(counts, (t, p), 1)
    return counts[:, order], classes, clusters[order]


def plot_contingency(y_true: Any, y_pred: Any) -> Figure:
    """Heatmap of class x cluster counts, clusters in Hungarian-matched order.

    The matched pairs lie on the diagonal, so their sum is the clustering accuracy times
    N; counts are written in the cells when the table is at most 30 x 30.
    """
    counts, classes, clusters = contingency_matrix(y_true, y_pred)
    rows, cols = counts.shape
    size = (min(12, 2 + 0.5 * cols), min(10, 1.5 + 0.45 * rows))
    fig = _figure(figsize=size, layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    image = ax.imshow(counts, cmap="Blues", aspect="auto")
    fig.colorbar(image, ax=ax, label="nodes")
    ax.set_xticks(range(cols), [str(c) for c in clusters])
    ax.set_yticks(range(rows), [str(c) for c in classes])
    ax.set_xlabel("cluster (matched order)")
    ax.set_ylabel("class")
    if rows <= 30 and cols <= 30:
        top = counts.max() if counts.size else 0
        for i in range(rows):
            for j in range(cols):
                colour = "white" if counts[i, j] > top / 2 else "black"
                ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=7, color=colour)
    return fig


def save_figures(estimator: Any, data: Data | None, out_dir: str | Path) -> list[Path]:
    """Write every figure that applies to a fitted estimator as PNG in ``out_dir``.

    * ``history.png``: when ``history_`` holds numeric curves of 2+ points;
    * ``k_selection.png``: when the history has DAG's checkpoint evaluation;
    * ``embedding.png``: when ``embeddings_`` is set (with a label panel when
      ``data.y`` exists);
    * ``contingency.png``: when ``data.y`` exists.

    Returns:
        The paths written, in that order.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    labels = estimator.labels_
    y = getattr(data, "y", None) if data is not None else None
    if y is not None:
        y = _numpy(y).reshape(-1) if _numpy(y).ndim == 1 or _numpy(y).shape[-1] == 1 else None
    history = getattr(estimator, "history_", None) or {}
    figures: list[tuple[str, Figure]] = []
    curves = [k for k, v in history.items() if k != "eval_epoch" and _is_curve(v) and len(v) > 1]
    if curves:  # a single logged number (KMeans' inertia) is no curve
        figures.append(("history.png", plot_history(history, curves)))
    if all(k in history for k in _SELECTION_KEYS) and getattr(estimator, "selected_epoch_", None):
        figures.append(("k_selection.png", plot_k_selection(estimator)))
    embeddings = getattr(estimator, "embeddings_", None)
    if embeddings is not None:
        figures.append(("embedding.png", plot_embedding(embeddings, labels, y, seed=0)))
    if y is not None and (y >= 0).any():
        known = y >= 0  # unlabelled nodes (-1) are not a class
        figures.append(("contingency.png", plot_contingency(y[known], _numpy(labels)[known])))
    written = []
    for name, fig in figures:
        path = out / name
        fig.savefig(path, dpi=110)
        written.append(path)
    return written


__all__ = [
    "FIGURE_FILES",
    "contingency_matrix",
    "plot_contingency",
    "plot_embedding",
    "plot_history",
    "plot_k_selection",
    "save_figures",
]
