"""The real-world suite as loaded: sizes, checksums, read-time reports, overlapping truth.

Needs the raw files under $GRAPHCLUST_DATA (the shared copy's ``realworld/`` folder);
each test skips with the reason when they are missing.
"""

from __future__ import annotations

import warnings

import pytest
import torch

from graphclust.data import is_available, load_dataset, verify_checksums
from graphclust.metrics import evaluate_partition

# name: (N, undirected E, D, num_classes, nodes with y = -1); D None = placeholder
EXPECTED = {
    "football": (115, 613, None, 12, 0),
    "email-eu-core": (1005, 16064, None, 42, 0),
    "fb-0": (347, 2519, 30, 24, 61),
    "fb-348": (227, 3192, 21, 14, 7),
    "fb-414": (159, 1693, 16, 7, 20),
    "fb-686": (170, 1656, 9, 14, 0),
    "fb-698": (66, 270, 6, 13, 12),
    "fb-3437": (547, 4813, 23, 32, 450),
    "fb-3980": (59, 146, 16, 17, 1),
}


def _require(name: str) -> None:
    if not is_available(name):
        pytest.skip(f"{name}: raw files missing under $GRAPHCLUST_DATA (realworld/)")


def _load(name: str, **params):
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        data = load_dataset(name, **params)
    return data, [str(w.message) for w in record]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sizes_and_checksums(name: str) -> None:
    _require(name)
    verify_checksums(name)
    n, e, d, c, unlabelled = EXPECTED[name]
    data, _ = _load(name)
    assert data.num_nodes == n and data.edge_index.size(1) == 2 * e
    assert data.num_classes == c and data.y.shape == (n,)
    assert int((data.y == -1).sum()) == unlabelled and int(data.y.max()) < c
    if d is None:
        assert data.feature_kind == "identity" and torch.equal(data.x, torch.eye(n))
    else:
        assert data.x.shape == (n, d) and not hasattr(data, "feature_kind")
        assert set(data.x.unique().tolist()) <= {0.0, 1.0}


def test_email_read_time_report() -> None:
    _require("email-eu-core")
    data, messages = _load("email-eu-core")
    report = next(m for m in messages if "edge entries" in m)
    assert "read 25,571 edge entries: dropped 642 self-loops" in report
    assert "(8,865 pairs listed in both directions, 7,199 in one only)" in report
    assert "kept 16,064 undirected edges" in report
    assert any("no node features; using identity" in m for m in messages)
    assert data.label_names == list(range(42))


def test_feature_choices() -> None:
    _require("football")
    lap, messages = _load("football", features="laplacian", feature_dim=8)
    assert lap.x.shape == (115, 8) and lap.feature_kind == "laplacian"
    assert not any("no node features" in m for m in messages)
    rw, _ = _load("football", features="randomwalk")
    assert rw.x.shape == (115, 32) and rw.feature_kind == "randomwalk"
    with pytest.raises(ValueError, match="no node features"):
        load_dataset("football", features="attributes")


def test_facebook_overlapping_ground_truth() -> None:
    _require("fb-0")
    data, _ = _load("fb-0")
    cover = data.y_overlap
    assert cover.shape == (347, 24) and cover.dtype == torch.bool
    assert int(cover.sum()) == 325  # the stored nnz of labels.*
    # y is the largest circle of each node; nodes in no circle are -1
    sizes = cover.sum(0)
    for i in range(347):
        circles = cover[i].nonzero().flatten()
        if circles.numel() == 0:
            assert data.y[i] == -1
        else:
            assert sizes[data.y[i]] == sizes[circles].max() and cover[i, data.y[i]]
    scores = evaluate_partition(data.y.clamp(min=0), data)
    assert 0.0 < scores["onmi"] <= 1.0 and 0.0 < scores["overlap_f1"] <= 1.0
    structural, _ = _load("fb-0", features="laplacian", feature_dim=4)
    assert structural.x.shape == (347, 4) and structural.feature_kind == "laplacian"
