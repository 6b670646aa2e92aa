"""Hardening (issue 24): bad input fails at the public entry point, naming the fix.

Five classes of defect, each checked through the public API:

1. feature scale: finite but extreme features are refused by ``check_graph``;
2. divergence: a huge learning rate ends in ``FloatingPointError`` (not a deep error);
3. parameters: wrong-typed hyper-parameters raise an error that names the parameter;
4. metrics: scalars are not labelings, soft assignments are non-negative, the
   modularity resolution is finite;
5. runner: runners sharing a folder run each job once; unknown metric names raise.
"""

from __future__ import annotations

import json
import re
import threading
import warnings
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import torch
from torch_geometric.data import Data

from graphclust.bench.runner import LOCK_DIR, RESULTS_FILE, _job_lock, read_records, run_suite
from graphclust.bench.suite import make_suite
from graphclust.bench.table import KNOWN_METRICS, format_table, summarize
from graphclust.data.validation import check_features, check_graph
from graphclust.methods import METHODS
from graphclust.metrics import ari, clustering_accuracy, modularity, nmi
from tests.estimators import IMAGE_ONLY, accepted, semi_supervised, tiny_estimator

torch.set_num_threads(1)


def _tiny_graph(scale: float = 1.0, n: int = 24, d: int = 6) -> Data:
    """Two shifted Gaussian blobs on a ring graph, with labels (for the semi-supervised)."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(n, d, generator=generator)
    x[: n // 2] += 3.0
    src = torch.arange(n)
    dst = (src + 1) % n
    edge_index = torch.stack([torch.cat([src, dst]), torch.cat([dst, src])])
    y = (torch.arange(n) < n // 2).long()
    return Data(x=x * scale, edge_index=edge_index, y=y)


# -- 1. feature scale -------------------------------------------------------------------
@pytest.mark.parametrize("scale", [1e20, 1e16, 1e-30, 1e-18])
def test_extreme_feature_scales_are_refused_with_the_fix(scale: float) -> None:
    with pytest.raises(ValueError, match="standardise the features"):
        check_graph(_tiny_graph(scale))
    # KMeans used to return one cluster with inertia inf (1e20) or 0 (1e-30)
    with pytest.raises(ValueError, match="data.x .*standardise"):
        tiny_estimator("kmeans").fit(_tiny_graph(scale))


def test_float64_features_beyond_float32_range_are_refused() -> None:
    x = torch.randn(5, 3, dtype=torch.float64) * 1e200  # finite in float64, inf in float32
    with pytest.raises(ValueError, match="overflow float32"):
        check_features(x)


@pytest.mark.parametrize("scale", [1e12, 1e-12])
def test_large_but_safe_scales_still_cluster(scale: float) -> None:
    labels = tiny_estimator("kmeans").fit(_tiny_graph(scale)).labels_
    truth = _tiny_graph().y
    assert clustering_accuracy(truth, labels) == 1.0  # the blobs are 3 sigma apart


def test_all_zero_features_are_not_a_scale_error() -> None:
    x = torch.zeros(4, 2)
    assert torch.equal(check_features(x), x)


def test_pamc_refuses_huge_features_at_the_door() -> None:
    # used to end in scikit-learn's "Input X contains NaN" from the k-means init
    with pytest.raises(ValueError, match="standardise"):
        tiny_estimator("pamc").fit(_tiny_graph(1e20))


# -- 2. divergence ----------------------------------------------------------------------
def _diverging(name: str):
    """A tiny input and an estimator of ``name`` with lr=1e6 and short training.

    The layers keep their default widths, not the narrow ones of
    :data:`tests.estimators.TINY`: at those PamC stays finite at lr=1e6, and the point
    here is the divergence path."""
    cls = METHODS.get(name)
    params = {"n_clusters": 2, "lr": 1e6, **semi_supervised(name)}
    short = {"epochs": 4, "pretrain_epochs": 2, "init_epochs": 2, "rounds": 1}
    params.update(short)
    params = accepted(cls, params)
    if name == "swav":
        data = torch.rand(16, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    elif name == "sigma":
        data = torch.rand(8, 4, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    else:
        data = _tiny_graph()
    return cls(**params), data


@pytest.mark.parametrize("name", ["pamc", "dag", "depict", "mlcd", "mgca", "gpc", "swav", "sigma"])
def test_a_huge_learning_rate_diverges_loudly_or_still_clusters(name: str) -> None:
    estimator, data = _diverging(name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            estimator.set_params(
                **({"progress": False} if "progress" in estimator.get_params() else {})
            )
            estimator.fit(data)
    except FloatingPointError as err:
        # check_finite's NaN/inf, or base.DivergenceGuard's growth while still finite
        assert re.search(r"NaN or inf|diverged at step \d+: values grew", str(err))
        assert "lower the learning rate" in str(err)
        return
    # no divergence: the run must have produced a valid, finite result
    n = len(data.x) if isinstance(data, Data) else data.shape[0]
    labels = estimator.labels_
    assert labels.shape == (n,) and labels.dtype == torch.long
    assert int(labels.min()) >= 0 and int(labels.max()) < 2  # n_clusters=2
    assert estimator.n_clusters_ == int(labels.unique().numel())
    if estimator.embeddings_ is not None:
        assert estimator.embeddings_.shape[0] == n
        assert torch.isfinite(estimator.embeddings_).all()
    soft = getattr(estimator, "soft_assignments_", None)
    if soft is not None:  # rows are distributions
        assert torch.isfinite(soft).all() and bool((soft >= 0).all())
        torch.testing.assert_close(soft.sum(1), torch.ones(n, dtype=soft.dtype))


@pytest.mark.parametrize("batch_size", [None, 8])
def test_pamc_divergence_names_the_epoch(batch_size: int | None) -> None:
    # used to end in "q must be finite and non-negative" from assign/targets.py
    estimator = METHODS.get("pamc")(
        n_clusters=2, lr=1e6, pretrain_epochs=2, epochs=20, batch_size=batch_size
    )
    with pytest.raises(FloatingPointError, match=r"PamC .*diverged.* at step \d+"):
        estimator.fit(_tiny_graph())


# -- 3. parameters ----------------------------------------------------------------------
BAD_VALUES = {int: [None, -1, "x", 0.5], float: [None, -1.0, "x", float("nan")]}
# (method, parameter) -> bad values that are valid there (documented meanings)
VALID_THERE = {("mgca", "n_prototypes"): [None]}  # None: one prototype per cluster


def _numeric_params() -> list[tuple[str, str]]:
    cases = []
    for name in METHODS.names():
        if name in IMAGE_ONLY:
            continue
        for param, default in METHODS.get(name)().get_params().items():
            if isinstance(default, (int, float)) and not isinstance(default, bool):
                cases.append((name, param))
    return cases


@pytest.mark.parametrize(("name", "param"), _numeric_params())
def test_wrong_hyper_parameters_name_themselves(name: str, param: str) -> None:
    cls = METHODS.get(name)
    default = cls().get_params()[param]
    kind = float if isinstance(default, float) else int
    for value in BAD_VALUES[kind]:
        if value in VALID_THERE.get((name, param), []):
            continue
        with pytest.raises((ValueError, TypeError)) as caught, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # set_params, not an override: n_clusters=None would mean "the default" there
            tiny_estimator(name).set_params(**{param: value}).fit(_tiny_graph())
        assert param in str(caught.value), f"{name}({param}={value!r}): {caught.value}"


def test_the_reported_parameter_errors() -> None:
    with pytest.raises(TypeError, match="n_clusters must be an integer"):
        METHODS.get("spectral")(n_clusters=None).fit(_tiny_graph())
    with pytest.raises(ValueError, match="hidden must be an integer >= 1"):
        METHODS.get("dag")(hidden=0).fit(_tiny_graph())


# -- 4. metrics -------------------------------------------------------------------------
@pytest.mark.parametrize("metric", [nmi, ari, clustering_accuracy])
@pytest.mark.parametrize("scalar", [3, np.int64(3), np.array(3)])
def test_scalars_are_not_labelings(metric, scalar) -> None:
    with pytest.raises(ValueError, match="scalar"):
        metric(scalar, scalar)
    with pytest.raises(ValueError, match="1-D"):
        metric(torch.tensor(3), torch.tensor(3))


def _path_graph() -> torch.Tensor:
    return torch.tensor([[0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2]])


def test_modularity_refuses_negative_soft_assignments() -> None:
    with pytest.raises(ValueError, match="negative entries"):
        modularity(_path_graph(), -torch.ones(4, 2))  # used to return -2.0


@pytest.mark.parametrize("resolution", [float("nan"), float("inf"), -1.0, "1", None])
def test_modularity_refuses_bad_resolutions(resolution) -> None:
    with pytest.raises((ValueError, TypeError), match="resolution"):
        modularity(_path_graph(), torch.tensor([0, 0, 1, 1]), resolution=resolution)


def test_modularity_with_a_resolution_matches_networkx() -> None:
    graph = nx.path_graph(4)
    labels = torch.tensor([0, 0, 1, 1])
    expected = nx.community.modularity(graph, [{0, 1}, {2, 3}], resolution=0.5)
    assert modularity(_path_graph(), labels, resolution=0.5) == pytest.approx(expected)
    one_hot = torch.nn.functional.one_hot(labels).double()
    assert modularity(_path_graph(), one_hot, resolution=0.5) == pytest.approx(expected)


# -- 5. runner --------------------------------------------------------------------------
def test_two_runners_on_one_folder_run_each_job_once(tmp_path: Path) -> None:
    # Two threads stand in for two processes: each FileLock opens its own file
    # description, so the locks exclude each other exactly as across processes.
    suite = make_suite(["kmeans"], ["karate"], 2)
    barrier = threading.Barrier(2)
    results: list[list[dict]] = []

    def runner() -> None:
        barrier.wait()
        results.append(run_suite(suite, tmp_path, progress=False))

    threads = [threading.Thread(target=runner) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    lines = (tmp_path / RESULTS_FILE).read_text().splitlines()
    keys = [json.loads(line)["key"] for line in lines]
    assert sorted(keys) == sorted(spec.key for spec in suite.runs())  # one line per key
    assert len(results) == 2
    for records in results:  # both runners report every run, with the same records
        assert [r["key"] for r in records] == [spec.key for spec in suite.runs()]
        assert [r["status"] for r in records] == ["ok", "ok"]
    assert results[0] == results[1]


def test_a_job_held_by_another_runner_is_not_run_again(tmp_path: Path) -> None:
    suite = make_suite(["kmeans"], ["karate"], 2)
    held, free = suite.runs()
    lock = _job_lock(tmp_path, held.key)
    lock.acquire()
    result: dict = {}
    thread = threading.Thread(
        target=lambda: result.update(records=run_suite(suite, tmp_path, progress=False))
    )
    thread.start()
    # the runner does the free job, then waits for the held one
    for _ in range(600):
        if any(r["key"] == free.key for r in read_records(tmp_path / RESULTS_FILE)):
            break
        thread.join(0.1)
    assert thread.is_alive()
    record = {"key": held.key, "method": "kmeans", "dataset": "karate", "seed": held.seed}
    record.update(status="ok", metrics={"acc": 0.5}, wall_time_s=0.0, peak_rss_mb=0.0)
    (tmp_path / RESULTS_FILE).open("a").write(json.dumps(record) + "\n")  # "the other" finished
    lock.release()
    thread.join(60)
    keys = [r["key"] for r in read_records(tmp_path / RESULTS_FILE)]
    assert sorted(keys) == sorted([held.key, free.key])  # one line per key
    assert result["records"][0]["metrics"] == {"acc": 0.5}  # taken, not recomputed
    assert (tmp_path / LOCK_DIR).is_dir()


def test_a_torn_last_line_is_removed_on_resume(tmp_path: Path) -> None:
    """The finished run's line stays byte for byte (resumed, not rerun), the torn line
    goes, and the second seed's run is appended: one line per key of the larger suite."""
    suite = make_suite(["kmeans"], ["karate"], 1)
    run_suite(suite, tmp_path, progress=False)
    path = tmp_path / RESULTS_FILE
    first = path.read_text()
    with path.open("a") as handle:
        handle.write('{"key": "torn", "stat')  # a run killed mid-write
    larger = make_suite(["kmeans"], ["karate"], 2)
    records = run_suite(larger, tmp_path, progress=False)
    text = path.read_text()
    lines = text.splitlines()
    assert len(lines) == 2 and all(json.loads(line)["status"] == "ok" for line in lines)
    assert text.startswith(first) and "torn" not in text
    assert [json.loads(line)["key"] for line in lines] == [spec.key for spec in larger.runs()]
    assert [r["key"] for r in records] == [spec.key for spec in larger.runs()]


def test_unknown_metric_names_raise_with_the_valid_ones() -> None:
    records = [
        {"dataset": "d", "method": "m", "status": "ok", "metrics": {"acc": 1.0},
         "wall_time_s": 1.0, "peak_rss_mb": 1.0}
    ]  # fmt: skip
    with pytest.raises(ValueError, match="unknown metric.*'foo'.*valid: acc, nmi"):
        summarize(records, ["acc", "foo"])
    rows = summarize(records, ["acc"])
    with pytest.raises(ValueError, match="'foo'"):
        format_table(rows, ["foo"])
    assert {"acc", "nmi", "modularity", "edge", "k"} <= set(KNOWN_METRICS)
