"""SwAV estimator: contract, graph term against a dense formula, resume, a tiny task."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from graphclust.adapters import ImageGraphAdapter
from graphclust.assign import sinkhorn
from graphclust.graph import knn_graph
from graphclust.methods.base import NotFittedError
from graphclust.methods.swav import SwAV, SwAVNet, recalibrate_batch_norm
from graphclust.metrics import clustering_accuracy
from graphclust.training import Checkpointer
from tests.markers import requires_cuda

TINY = dict(
    width=4,
    hidden_dim=16,
    embedding_dim=8,
    batch_size=32,
    progress=False,
    local_size=4,
    n_local=2,
    epochs=2,
    kmeans_n_init=2,
    device="cpu",
)


def _images(n: int = 96, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed))


def _bars(n_per_class: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """Two classes told apart at a glance: a horizontal or a vertical bar, jittered."""
    gen = torch.Generator().manual_seed(0)
    images = torch.zeros(2 * n_per_class, 1, 12, 12)
    for i in range(2 * n_per_class):
        offset = int(torch.randint(3, 9, (1,), generator=gen))
        if i % 2:
            images[i, 0, offset - 1 : offset + 1, 2:10] = 1.0
        else:
            images[i, 0, 2:10, offset - 1 : offset + 1] = 1.0
    return images, torch.arange(2 * n_per_class) % 2


def test_fit_sets_the_fitted_attributes() -> None:
    model = SwAV(n_clusters=3, overcluster=5, **TINY).fit(_images())
    n = 96
    assert model.labels_.shape == (n,) and model.labels_.dtype == torch.long
    assert int(model.labels_.max()) < 3
    torch.testing.assert_close(model.embeddings_.norm(dim=1), torch.ones(n))
    assert model.soft_assignments_.shape == (n, 3)
    torch.testing.assert_close(model.soft_assignments_.sum(dim=1), torch.ones(n))
    assert torch.equal(model.labels_, model.merged_labels_)  # the default read-out
    assert model.merged_labels_.unique().tolist() == [0, 1, 2]
    assert model.kmeans_labels_.shape == model.prototype_labels_.shape == (n,)
    assert model.history_["epoch"] == [0.0, 1.0] and len(model.history_["swav"]) == 2
    assert model.transform(_images(5, seed=1)).shape == (5, 8)
    assert model.predict(_images(5, seed=1)).shape == (5,)
    assert model.config_["method"] == "SwAV" and model.fit_time_ > 0


def test_labels_from_kmeans_or_prototypes() -> None:
    model = SwAV(n_clusters=3, labels_from="kmeans", **TINY).fit(_images())
    assert torch.equal(model.labels_, model.kmeans_labels_) and model.merged_labels_ is None
    model = SwAV(n_clusters=3, labels_from="prototypes", **TINY).fit(_images())
    assert torch.equal(model.labels_, model.prototype_labels_)


def test_merged_labels_against_a_reference_built_another_way() -> None:
    # the read-out rebuilt from scikit-learn: k-means (same seed and restarts) on the
    # embeddings, the two kNN graphs from NearestNeighbors joined as a set of pairs
    from sklearn.cluster import KMeans
    from sklearn.neighbors import NearestNeighbors

    from graphclust.graph.merge import merge_clusters

    images = _images()
    model = SwAV(n_clusters=3, merge_overcluster=12, merge_k=4, seed=3, **TINY).fit(images)
    z = model.embeddings_.numpy()
    over = KMeans(12, n_init=TINY["kmeans_n_init"], random_state=3).fit_predict(z)
    pairs = set()
    for points, metric in ((images.flatten(1).numpy(), "euclidean"), (z, "cosine")):
        _, idx = NearestNeighbors(n_neighbors=5, metric=metric).fit(points).kneighbors(points)
        for i, row in enumerate(idx):
            for j in row[1:]:  # the point itself comes first (no ties in random data)
                pairs.update({(i, int(j)), (int(j), i)})
    edge_index = torch.tensor(sorted(pairs)).t()
    expected = merge_clusters(edge_index, torch.from_numpy(over).long(), 3)
    assert torch.equal(model.merged_labels_, expected)


def test_graph_merge_one_view_uses_only_that_graph() -> None:
    # each single view against the reference built from that view's pairs alone
    from sklearn.neighbors import NearestNeighbors

    from graphclust.graph.merge import merge_clusters
    from graphclust.methods.swav import graph_merge

    gen = torch.Generator().manual_seed(1)
    images = torch.rand(60, 1, 6, 6, generator=gen)
    z = F.normalize(torch.randn(60, 5, generator=gen), dim=1)
    over = torch.arange(60) % 9
    for view, points, metric in (
        ("input", images.flatten(1).numpy(), "euclidean"),
        ("embedding", z.numpy(), "cosine"),
    ):
        _, idx = NearestNeighbors(n_neighbors=4, metric=metric).fit(points).kneighbors(points)
        pairs = {(i, int(j)) for i, row in enumerate(idx) for j in row[1:]}
        pairs |= {(j, i) for i, j in pairs}
        expected = merge_clusters(torch.tensor(sorted(pairs)).t(), over, 3)
        assert torch.equal(graph_merge(images, z, over, 3, k=3, views=(view,)), expected)
    with pytest.raises(ValueError, match="views must be a non-empty subset"):
        graph_merge(images, z, over, 3, k=3, views=("pixels",))
    with pytest.raises(ValueError, match="views must be a non-empty subset"):
        graph_merge(images, z, over, 3, k=3, views=())
    with pytest.raises(ValueError, match="same items, got 60 and 59 rows"):
        graph_merge(images, z[:59], over[:59], 3, k=3)
    with pytest.raises(ValueError, match="59 labels for 60 rows"):
        graph_merge(images, z, over[:59], 3, k=3)


def test_read_out_settings_reuse_a_finished_checkpoint(tmp_path) -> None:
    path = str(tmp_path / "swav.pt")
    first = SwAV(n_clusters=3, labels_from="kmeans", checkpoint=path, **TINY).fit(_images())
    again = SwAV(n_clusters=3, merge_k=5, checkpoint=path, **TINY).fit(_images())
    assert torch.equal(again.embeddings_, first.embeddings_)  # not retrained
    assert again.merged_labels_ is not None


def test_params_round_trip_and_clone() -> None:
    model = SwAV(n_clusters=4, graph_weight=0.5)
    assert model.get_params()["graph_weight"] == 0.5
    assert model.clone().get_params() == model.get_params()
    with pytest.raises(ValueError, match="no parameter"):
        model.set_params(n_prototypes=3)


def test_same_seed_same_result() -> None:
    a = SwAV(n_clusters=3, seed=5, **TINY).fit(_images())
    b = SwAV(n_clusters=3, seed=5, **TINY).fit(_images())
    assert torch.equal(a.embeddings_, b.embeddings_) and torch.equal(a.labels_, b.labels_)


def test_labels_in_a_dataset_are_ignored() -> None:
    images = _images()
    pairs = [(img, 1) for img in images]
    a = SwAV(n_clusters=3, **TINY).fit(images)
    b = SwAV(n_clusters=3, **TINY).fit(pairs)
    assert torch.equal(a.embeddings_, b.embeddings_)


def test_relaxed_cluster_sizes_train_and_label() -> None:
    """Reference: the read-out codes are the relaxed Sinkhorn codes of the fitted
    prototype scores (not the balanced ones), their argmax the prototype labels; the
    relaxation reaches training too (the balanced run trains differently)."""
    model = SwAV(n_clusters=3, overcluster=5, sinkhorn_relax=0.25, queue_size=64, **TINY)
    model.fit(_images())
    assert all(torch.isfinite(torch.tensor(model.history_["loss"])))
    assert model.prototype_labels_.shape == (len(_images()),)
    torch.testing.assert_close(model.soft_assignments_.sum(dim=1), torch.ones(len(_images())))
    with torch.no_grad():
        scores = model.model_.prototypes(model.embeddings_)[0]
    relaxed = sinkhorn(scores, model.epsilon, model.sinkhorn_iters, col_relax=0.25)
    torch.testing.assert_close(model.soft_assignments_, relaxed)
    assert not torch.allclose(relaxed, sinkhorn(scores, model.epsilon, model.sinkhorn_iters))
    assert torch.equal(model.prototype_labels_, relaxed.argmax(dim=1))
    balanced = SwAV(n_clusters=3, overcluster=5, queue_size=64, **TINY).fit(_images())
    assert balanced.history_["swav"] != pytest.approx(model.history_["swav"], rel=1e-3)


def test_graph_term_and_queue_paths_run() -> None:
    """The minimised loss is the swapped prediction plus graph_weight times the graph
    term (epoch means of a per-batch sum), and the queue takes part in the codes: the
    same run without it trains differently."""
    model = SwAV(n_clusters=3, graph_weight=0.5, graph_k=4, queue_size=64, **TINY)
    model.fit(_images())
    history = model.history_
    assert len(history["graph"]) == 2
    assert all(torch.isfinite(torch.tensor(history["loss"])))
    expected = [s + 0.5 * g for s, g in zip(history["swav"], history["graph"], strict=True)]
    assert history["loss"] == pytest.approx(expected, rel=1e-5)
    no_queue = SwAV(n_clusters=3, graph_weight=0.5, graph_k=4, queue_size=0, **TINY)
    assert no_queue.fit(_images()).history_["swav"] != pytest.approx(history["swav"], rel=1e-3)


def test_graph_term_equals_the_dense_formula() -> None:
    """Reference: S = D^-1 (A + I) as a dense matrix, cosine similarities in full, and the
    meta-nodes as per-cluster sums, all written out with dense torch ops."""
    gen = torch.Generator().manual_seed(0)
    b, d, k, tau = 12, 5, 3, 2.0
    z0, z1 = torch.randn(b, d, generator=gen), torch.randn(b, d, generator=gen)
    codes = [torch.softmax(torch.randn(b, k, generator=gen), 1) for _ in range(2)]
    model = SwAV(n_clusters=k, graph_k=3, graph_tau=tau)
    adapter = ImageGraphAdapter(torch.rand(b, 1, 4, 4), batch_size=b, k=3)
    got = model._graph_term(z0, z1, codes, adapter)

    edge_index = knn_graph(z0, 3, metric="cosine", symmetric=True)
    a = torch.zeros(b, b)
    a[edge_index[0], edge_index[1]] = 1.0
    a += torch.eye(b)
    s = a / a.sum(dim=1, keepdim=True)
    n0, n1 = F.normalize(z0, dim=1), F.normalize(z1, dim=1)
    pos01 = -torch.log((s * torch.exp(tau * n0 @ n1.t())).sum(1)).mean()
    pos10 = -torch.log((s * torch.exp(tau * n1 @ n0.t())).sum(1)).mean()
    labels = torch.cat([codes[0].argmax(1), codes[1].argmax(1)])
    z = torch.cat([z0, z1])
    centres = torch.stack([z[labels == c].sum(0) for c in labels.unique()])
    c = F.normalize(centres, dim=1)
    negative = torch.logsumexp(tau * c @ c.t(), dim=1).mean()
    torch.testing.assert_close(got, 0.5 * (pos01 + pos10) + negative)


def test_batch_norm_recalibration_uses_the_statistics_of_the_whole_images() -> None:
    """Reference: the stem BatchNorm's running mean / variance must equal the mean and the
    unbiased variance of the stem convolution's output over all images, computed directly."""
    torch.manual_seed(0)
    net = SwAVNet(1, 4, (1, 1, 1), 16, 8, [3], 0)
    net.train()
    net(torch.rand(32, 1, 4, 4))  # training-time statistics from other (small) crops
    images = _images(40)
    recalibrate_batch_norm(net, images, batch_size=64, device=torch.device("cpu"))
    bn = net.backbone.stem[1]
    with torch.no_grad():
        out = net.backbone.stem[0](images - 0.5)
    torch.testing.assert_close(bn.running_mean, out.mean(dim=(0, 2, 3)))
    torch.testing.assert_close(bn.running_var, out.var(dim=(0, 2, 3), unbiased=True))
    assert bn.momentum == 0.1 and not net.training


def test_resume_after_interruption_matches_an_uninterrupted_run(tmp_path, monkeypatch) -> None:
    images = _images()
    params = dict(n_clusters=3, **{**TINY, "epochs": 3})
    full = SwAV(**params).fit(images)

    path = tmp_path / "swav.pt"
    original = Checkpointer.maybe_save

    def save_then_stop(self, epoch, *args, **kwargs):
        written = original(self, epoch, *args, **kwargs)
        if epoch == 1:
            raise KeyboardInterrupt
        return written

    monkeypatch.setattr(Checkpointer, "maybe_save", save_then_stop)
    with pytest.raises(KeyboardInterrupt):
        SwAV(checkpoint=str(path), **params).fit(images)
    monkeypatch.setattr(Checkpointer, "maybe_save", original)
    assert torch.load(path, weights_only=False)["epoch"] == 1
    resumed = SwAV(checkpoint=str(path), **params).fit(images)
    torch.testing.assert_close(resumed.embeddings_, full.embeddings_)
    assert resumed.history_["loss"] == pytest.approx(full.history_["loss"])


def test_a_checkpoint_of_another_run_is_refused(tmp_path) -> None:
    path = str(tmp_path / "swav.pt")
    SwAV(n_clusters=3, checkpoint=path, **TINY).fit(_images())
    with pytest.raises(ValueError, match="different run"):
        SwAV(n_clusters=3, checkpoint=path, **{**TINY, "n_local": 1}).fit(_images())


def test_input_errors_say_what_to_do() -> None:
    with pytest.raises(ValueError, match="reshape"):
        SwAV(**TINY).fit(torch.rand(40, 64))
    with pytest.raises(ValueError, match="exceeds"):
        SwAV(n_clusters=50, **TINY).fit(_images(20))
    with pytest.raises(ValueError, match="labels_from"):
        SwAV(labels_from="best", **TINY).fit(_images())
    with pytest.raises(ValueError, match=r"merge_overcluster must be an integer in \(3, 96\]"):
        SwAV(n_clusters=3, merge_overcluster=3, **TINY).fit(_images())
    with pytest.raises(ValueError, match="merge_k"):
        SwAV(n_clusters=3, merge_k=96, **TINY).fit(_images())
    with pytest.raises(ValueError, match="sinkhorn_relax"):
        SwAV(sinkhorn_relax=0.0, **TINY).fit(_images())
    with pytest.raises(NotFittedError):
        SwAV().transform(_images(4))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_prototypes_separate_horizontal_from_vertical_bars(seed: int) -> None:
    images, labels = _bars()
    model = SwAV(
        n_clusters=2,
        width=8,
        hidden_dim=32,
        embedding_dim=16,
        batch_size=64,
        n_local=0,
        epochs=15,
        lr=1e-2,
        progress=False,
        seed=seed,
        device="cpu",
    )
    model.fit(images)
    assert clustering_accuracy(labels, model.prototype_labels_) > 0.95


@requires_cuda
def test_fits_on_cuda() -> None:
    model = SwAV(n_clusters=3, **{**TINY, "device": "cuda"}).fit(_images())
    assert model.labels_.device.type == "cpu"


def test_whole_images_are_embedded_at_the_global_crop_side() -> None:
    """Reference: the inference resampling must equal a full, unrotated global crop (an
    identity ``affine_grid`` + bilinear ``grid_sample``, what training saw at scale 1),
    and ``transform`` must embed exactly those resampled images."""
    images = _images(40)  # 8x8
    model = SwAV(n_clusters=3, global_size=6, **TINY).fit(images)
    resized = model._at_inference_size(images)
    theta = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]).expand(40, 2, 3)
    grid = F.affine_grid(theta, [40, 1, 6, 6], align_corners=False)
    crop = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    torch.testing.assert_close(resized, crop)
    with torch.no_grad():
        expected = model.model_(crop)
    torch.testing.assert_close(model.transform(images), expected)
    torch.testing.assert_close(model.embeddings_, expected)
    same = SwAV(n_clusters=3, global_size=8, **TINY)
    assert same._at_inference_size(images) is images  # already at the crop side
