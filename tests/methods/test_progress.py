"""Every iterative graph method takes ``progress``: a tqdm bar on stderr when True,
nothing on stderr when False (the labels do not depend on it)."""

from __future__ import annotations

import inspect
import warnings

import pytest
import torch

from graphclust.data.synthetic import load_sbm
from graphclust.methods import METHODS
from tests.estimators import IMAGE_ONLY, tiny_estimator

#: Methods without iterations worth a bar (closed-form or a library call).
NO_BAR = {"kmeans", "spectral", "louvain"}
GRAPH_METHODS = [n for n in METHODS.names() if n not in IMAGE_ONLY | NO_BAR]


def test_every_iterative_method_takes_progress() -> None:
    for name in GRAPH_METHODS:
        assert "progress" in inspect.signature(METHODS.get(name).__init__).parameters, name


@pytest.mark.parametrize("name", GRAPH_METHODS)
def test_progress_bar_goes_to_stderr_only_when_asked(name: str, capfd) -> None:
    data = load_sbm(n_nodes=40, n_clusters=2, p_in=0.4, p_out=0.02, feature_dim=8, seed=0)
    k = None if METHODS.get(name).k_free else 2
    labels = {}
    for shown in (False, True):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = tiny_estimator(name, n_clusters=k, progress=shown).fit(data)
        labels[shown] = model.labels_
        err = capfd.readouterr().err
        if shown:
            assert "it/s" in err or "s/it" in err, (name, err)
        else:
            assert "it/s" not in err and "s/it" not in err, (name, err)
    assert torch.equal(labels[False], labels[True])
