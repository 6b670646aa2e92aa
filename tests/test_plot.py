"""Figures of graphclust.plot on tiny fitted examples (karate): axes, artists, data."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from graphclust.data import load_dataset
from graphclust.methods.baselines import KMeans, SpectralClustering
from graphclust.methods.dag import DAG
from graphclust.metrics import clustering_accuracy
from graphclust.plot import (
    contingency_matrix,
    plot_contingency,
    plot_embedding,
    plot_history,
    plot_k_selection,
    save_figures,
)

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def karate():
    return load_dataset("karate")


@pytest.fixture(scope="module")
def dag(karate):
    torch.set_num_threads(1)
    return DAG(preset="cpu", hidden=16, heads=2, epochs=4, eval_every=2, progress=False).fit(karate)


def _curves(history):
    return [k for k, v in history.items() if k != "eval_epoch" and isinstance(v[0], float | int)]


def test_history_one_panel_per_numeric_key(dag):
    fig = plot_history(dag.history_)
    keys = _curves(dag.history_)
    assert "w_col_norms" not in keys  # a list of vectors per epoch is not a curve
    assert len(fig.axes) == len(keys)
    by_title = {ax.get_title(): ax for ax in fig.axes}
    loss = by_title["loss"].lines[0]
    np.testing.assert_allclose(loss.get_ydata(), dag.history_["loss"])
    np.testing.assert_array_equal(loss.get_xdata(), np.arange(1, 5))
    # a per-evaluation key is drawn against the evaluated epochs
    k_line = by_title["k"].lines[0]
    np.testing.assert_array_equal(k_line.get_xdata(), dag.history_["eval_epoch"])


def test_history_keys_and_errors(dag):
    assert len(plot_history(dag.history_, keys=["loss", "bpr"]).axes) == 2
    with pytest.raises(ValueError, match="no key 'nope'"):
        plot_history(dag.history_, keys=["nope"])
    with pytest.raises(ValueError, match="not a list of numbers"):
        plot_history(dag.history_, keys=["w_col_norms"])
    with pytest.raises(ValueError, match="no numeric curve"):
        plot_history({})


def test_k_selection_marks_selected_epoch_and_k(dag):
    fig = plot_k_selection(dag)
    assert dag.k_search_  # the cpu preset reads K out by k-means: third panel
    assert len(fig.axes) == 3
    marker = [line for line in fig.axes[0].lines if line.get_gid() == "selected"]
    assert len(marker) == 1
    assert list(marker[0].get_xdata()) == [dag.selected_epoch_]
    at = dag.history_["eval_epoch"].index(dag.selected_epoch_)
    assert marker[0].get_ydata()[0] == pytest.approx(dag.history_["selection_score"][at])
    chosen = [line for line in fig.axes[2].lines if line.get_gid() == "chosen_k"]
    assert list(chosen[0].get_xdata()) == [dag.n_clusters_]
    assert sorted(fig.axes[2].lines[0].get_xdata()) == sorted(dag.k_search_)


def test_k_selection_without_k_search_has_two_panels(dag):
    argmax_fit = SimpleNamespace(
        history_=dag.history_, selected_epoch_=4, k_search_=None, n_clusters_=2
    )
    fig = plot_k_selection(argmax_fit)
    assert len(fig.axes) == 2
    marker = [line for line in fig.axes[0].lines if line.get_gid() == "selected"]
    assert list(marker[0].get_xdata()) == [4]


def test_k_selection_refuses_estimator_without_checkpoints(karate):
    with pytest.raises(ValueError, match="selected_epoch_"):
        plot_k_selection(KMeans(n_clusters=2).fit(karate))


def _points(ax):
    return sum(len(c.get_offsets()) for c in ax.collections)


def test_embedding_panels_and_points(karate):
    """Both panels draw the same map, node i at the same place, coloured by its cluster
    in the first and by its class in the second."""
    spectral = SpectralClustering(n_clusters=2).fit(karate)
    fig = plot_embedding(spectral.embeddings_, spectral.labels_, karate.y)
    assert len(fig.axes) == 2
    assert [_points(ax) for ax in fig.axes] == [34, 34]
    (clusters,), (classes,) = (ax.collections for ax in fig.axes)
    np.testing.assert_array_equal(clusters.get_offsets(), classes.get_offsets())
    np.testing.assert_array_equal(clusters.get_array(), spectral.labels_.numpy())
    np.testing.assert_array_equal(classes.get_array(), karate.y.numpy())
    one = plot_embedding(spectral.embeddings_, spectral.labels_)
    assert len(one.axes) == 1
    np.testing.assert_array_equal(one.axes[0].collections[0].get_offsets(), clusters.get_offsets())


def test_embedding_subsamples_and_reduces_wide_input():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(80, 64))  # wider than 50: PCA first
    labels = np.arange(80) % 3
    y = labels.copy()
    y[:5] = -1  # unlabelled nodes are drawn grey, still drawn
    fig = plot_embedding(z, labels, y, max_points=60)
    assert [_points(ax) for ax in fig.axes] == [60, 60]
    # y equals the labels except the grey (unlabelled) rows: the second panel holds the
    # first panel's points, each known one in the colour it has there
    (clusters,), (grey, known) = (ax.collections for ax in fig.axes)
    colour_at = dict(zip(map(tuple, clusters.get_offsets()), clusters.get_array(), strict=True))
    assert len(grey.get_offsets()) <= 5
    assert {tuple(p) for p in grey.get_offsets()} <= set(colour_at)
    for point, colour in zip(map(tuple, known.get_offsets()), known.get_array(), strict=True):
        assert colour_at[point] == colour
    with pytest.raises(ValueError, match="N = len"):
        plot_embedding(z, labels[:10])


def test_contingency_hand_worked():
    y_true = [0, 0, 1, 1, 2, 2]
    y_pred = [5, 5, 3, 3, 3, 7]
    counts, classes, clusters = contingency_matrix(y_true, y_pred)
    # Hungarian: class 0 <-> 5, class 1 <-> 3, class 2 <-> 7 (by hand)
    assert clusters.tolist() == [5, 3, 7]
    assert classes.tolist() == [0, 1, 2]
    assert counts.tolist() == [[2, 0, 0], [0, 2, 0], [0, 1, 1]]
    fig = plot_contingency(y_true, y_pred)
    assert len(fig.axes) == 2  # heatmap + colour bar
    np.testing.assert_array_equal(fig.axes[0].images[0].get_array(), counts)
    assert len(fig.axes[0].texts) == 9


def test_contingency_diagonal_is_accuracy(karate):
    pred = KMeans(n_clusters=4).fit(karate).labels_  # more clusters than classes
    counts, _, clusters = contingency_matrix(karate.y, pred)
    assert counts.shape == (2, 4) and counts.sum() == 34
    assert np.trace(counts) == round(clustering_accuracy(karate.y, pred) * 34)


def test_save_figures(dag, karate, tmp_path):
    written = save_figures(dag, karate, tmp_path)
    names = [p.name for p in written]
    assert names == ["history.png", "k_selection.png", "embedding.png", "contingency.png"]
    for path in written:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    kmeans = KMeans(n_clusters=2).fit(karate)  # one inertia value, no embeddings
    assert [p.name for p in save_figures(kmeans, karate, tmp_path / "k")] == ["contingency.png"]
