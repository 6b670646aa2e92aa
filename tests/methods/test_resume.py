"""Kill and resume: PamC and DAG fits restarted from a checkpoint end as uninterrupted ones.

The kill tests fork a child that fits with ``checkpoint_every=1`` (slowed by a sleep
after each save, which changes no number), wait until its checkpoint holds at least two
epochs, SIGKILL it, resume in this process and compare with a fit that was never
interrupted: same labels, ``torch.equal`` embeddings, same history. A fork, not a new
interpreter: the child inherits the imported modules, so a test stays within seconds.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.utils import stochastic_blockmodel_graph, to_undirected

from graphclust.methods.checkpoints import ResumableFit
from graphclust.methods.dag import DAG
from graphclust.methods.pamc import PamC

PAMC = {
    "n_clusters": 3,
    "hidden": (16, 16, 32),
    "latent_dim": 4,
    "pretrain_epochs": 3,
    "pretrain_batch_size": 16,
    "epochs": 10,
    "n_init": 2,
    "seed": 1,
    "device": "cpu",
}


def _graph(seed: int = 0, n: int = 20, k: int = 3) -> Data:
    """k planted blocks of n nodes (p_in 0.3, p_out 0.05) with noisy block-mean features."""
    torch.manual_seed(seed)
    probs = torch.full((k, k), 0.05)
    probs.fill_diagonal_(0.3)
    edge_index = to_undirected(stochastic_blockmodel_graph([n] * k, probs))
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(k).repeat_interleave(n)
    x = 2 * torch.randn(k, 8, generator=g)[y] + torch.randn(n * k, 8, generator=g)
    return Data(x=x, edge_index=edge_index)


@pytest.fixture(autouse=True)
def _one_thread():
    """Bit-for-bit comparisons need one summation order: one intra-op thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


class _Stop(Exception):
    pass


def _interrupt_after(monkeypatch, epoch: int, occurrence: int = 1) -> None:
    """Make ResumableFit.save raise right after the ``occurrence``-th checkpoint it
    wrote of ``epoch`` epochs (a second one: in a second training run of the fit)."""
    original = ResumableFit.save
    seen = []

    def save_then_stop(self, done, *args, **kwargs):
        written = original(self, done, *args, **kwargs)
        seen.extend([done] if written and done == epoch else [])
        if len(seen) == occurrence:
            raise _Stop
        return written

    monkeypatch.setattr(ResumableFit, "save", save_then_stop)


def _record_saves(monkeypatch) -> list[int]:
    """The epoch counts of the checkpoints written from now on (a resumed fit must
    continue after its checkpoint, not train again from the start)."""
    original, saves = ResumableFit.save, []

    def record(self, done, *args, **kwargs):
        saves.append(done)
        return original(self, done, *args, **kwargs)

    monkeypatch.setattr(ResumableFit, "save", record)
    return saves


def _saved_epoch(path: Path) -> int:
    if not path.exists():
        return 0
    return int(torch.load(path, map_location="cpu", weights_only=False)["epoch"])


def _fit_slowly(make: Callable[[], object], data: Data) -> None:
    """The child: fit with a pause after every checkpoint, so the parent can kill it."""
    torch.set_num_threads(1)
    original = ResumableFit.save

    def slow_save(self, *args, **kwargs):
        written = original(self, *args, **kwargs)
        time.sleep(0.25)
        return written

    ResumableFit.save = slow_save
    make().fit(data)


def _kill_mid_training(
    make: Callable[[], object], data: Data, path: Path, epochs: int, at_least: int = 2
) -> int:
    """Fork a child fitting ``make()``, SIGKILL it once ``path`` holds ``at_least``
    epochs; returns the epochs its checkpoint holds (checked to be short of ``epochs``)."""
    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("needs the fork start method to run the child without re-importing")
    child = multiprocessing.get_context("fork").Process(target=_fit_slowly, args=(make, data))
    child.start()
    try:
        deadline = time.monotonic() + 60
        while _saved_epoch(path) < at_least:
            assert child.is_alive(), "the child ended before it could be killed"
            assert time.monotonic() < deadline, f"no checkpoint of {at_least} epochs in 60 s"
            time.sleep(0.02)
        os.kill(child.pid, signal.SIGKILL)
        child.join(timeout=30)
    finally:
        if child.is_alive():
            os.kill(child.pid, signal.SIGKILL)
            child.join()
    assert child.exitcode == -signal.SIGKILL
    done = _saved_epoch(path)
    assert at_least <= done < epochs, f"killed after epoch {done} of {epochs}: not mid-training"
    return done


def _assert_same_fit(resumed, full) -> None:
    assert torch.equal(resumed.labels_, full.labels_)
    assert torch.equal(resumed.embeddings_, full.embeddings_)
    assert torch.equal(resumed.soft_assignments_, full.soft_assignments_)
    assert resumed.history_ == full.history_
    assert resumed.n_clusters_ == full.n_clusters_


# -- PamC -------------------------------------------------------------------------------


def test_pamc_killed_mid_training_resumes_to_the_uninterrupted_result(
    tmp_path, monkeypatch
) -> None:
    data, path, epochs = _graph(), tmp_path / "pamc.pt", PAMC["epochs"]
    full = PamC(**PAMC).fit(data)
    done = _kill_mid_training(lambda: PamC(checkpoint=str(path), **PAMC), data, path, epochs)
    saves = _record_saves(monkeypatch)
    resumed = PamC(checkpoint=str(path), **PAMC).fit(data)
    assert saves == list(range(done + 1, epochs + 1))
    _assert_same_fit(resumed, full)
    assert resumed.selected_epoch_ == full.selected_epoch_
    torch.testing.assert_close(resumed.cluster_centers_, full.cluster_centers_, rtol=0, atol=0)
    assert _saved_epoch(path) == PAMC["epochs"]


@pytest.mark.parametrize(
    ("params", "occurrence"),
    [
        # mini-batch order from the checkpointed generator; 8 centroids for 3 blocks
        # make empty-cluster restarts happen (checked below)
        ({"batch_size": 16, "n_clusters": 8}, 1),
        # two pre-training candidates: stopped in the second one's training
        ({"pretrain_epochs": (2, 4)}, 2),
    ],
)
def test_pamc_resume_at_an_epoch_boundary(tmp_path, monkeypatch, params, occurrence) -> None:
    data, path = _graph(), tmp_path / "pamc.pt"
    settings = {**PAMC, **params}
    full = PamC(**settings).fit(data)
    _interrupt_after(monkeypatch, 4, occurrence)
    with pytest.raises(_Stop):
        PamC(checkpoint=str(path), **settings).fit(data)
    monkeypatch.undo()
    saved = torch.load(path, weights_only=False)
    assert saved["epoch"] == 4
    if occurrence == 2:  # the first candidate's result travels in the checkpoint
        assert saved["extra"]["candidate"] == 4 and list(saved["extra"]["finals"]) == [2]
    saves = _record_saves(monkeypatch)
    resumed = PamC(checkpoint=str(path), **settings).fit(data)
    assert saves == list(range(5, settings["epochs"] + 1))
    _assert_same_fit(resumed, full)
    assert torch.equal(resumed.final_labels_, full.final_labels_)
    assert resumed.selected_epoch_ == full.selected_epoch_
    assert resumed.selected_pretrain_epochs_ == full.selected_pretrain_epochs_
    assert resumed.pretrain_history_ == full.pretrain_history_
    if "n_clusters" in params:
        assert sum(full.history_["restarted"]) > 0  # the restarts were exercised


def test_pamc_refuses_a_checkpoint_of_other_data_or_parameters(tmp_path) -> None:
    data, path = _graph(), tmp_path / "pamc.pt"
    PamC(checkpoint=str(path), **{**PAMC, "epochs": 2}).fit(data)
    moved = Data(x=data.x + 1.0, edge_index=data.edge_index)
    with pytest.raises(ValueError, match="different run.*input"):
        PamC(checkpoint=str(path), **{**PAMC, "epochs": 2}).fit(moved)
    rewired = Data(x=data.x, edge_index=_graph(seed=5).edge_index)
    with pytest.raises(ValueError, match="different run.*input"):
        PamC(checkpoint=str(path), **{**PAMC, "epochs": 2}).fit(rewired)
    with pytest.raises(ValueError, match="different run.*'lr'"):
        PamC(checkpoint=str(path), **{**PAMC, "epochs": 2, "lr": 1e-2}).fit(data)
    with pytest.raises(ValueError, match="checkpoint_every"):
        PamC(checkpoint=str(path), checkpoint_every=0, **PAMC).fit(data)


# -- DAG --------------------------------------------------------------------------------

# the paper's model at a tiny width, evaluated every 3 epochs (the selector's state
# changes during training and must travel with the checkpoint)
DAG_SMALL = {
    "preset": "paper",
    "k_max": 6,
    "hidden": 8,
    "heads": 2,
    "epochs": 10,
    "eval_every": 3,
    "lr": 1e-2,
    "readout_norm": "none",
    "progress": False,
    "seed": 2,
    "device": "cpu",
}


def _assert_same_dag(resumed: DAG, full: DAG) -> None:
    _assert_same_fit(resumed, full)
    assert resumed.selected_epoch_ == full.selected_epoch_
    assert resumed.epochs_run_ == full.epochs_run_
    assert torch.equal(resumed.labels_argmax_, full.labels_argmax_)
    assert resumed.k_search_ == full.k_search_
    assert resumed.readout_norm_ == full.readout_norm_
    assert resumed.readout_check_ == full.readout_check_


def test_dag_killed_mid_training_resumes_to_the_uninterrupted_result(tmp_path, monkeypatch) -> None:
    data, path, epochs = _graph(), tmp_path / "dag.pt", DAG_SMALL["epochs"]
    full = DAG(**DAG_SMALL).fit(data)
    # killed after the first evaluation (epoch 3): the selector holds a state then
    done = _kill_mid_training(lambda: DAG(checkpoint=path, **DAG_SMALL), data, path, epochs, 4)
    saves = _record_saves(monkeypatch)
    resumed = DAG(checkpoint=path, **DAG_SMALL).fit(data)
    assert saves == list(range(done + 1, epochs + 1))
    _assert_same_dag(resumed, full)


@pytest.mark.parametrize(
    "params",
    [
        # sampled subgraphs (global random streams), the k-means read-out scored at
        # every evaluation (its result is part of the selector's state)
        {"batch_size": 30, "k_readout": "kmeans", "selection": "readout"},
        {"sparsity_warmup": 6, "input_dropout": 0.3},
    ],
)
def test_dag_resume_at_an_epoch_boundary(tmp_path, monkeypatch, params) -> None:
    data, path = _graph(), tmp_path / "dag.pt"
    settings = {**DAG_SMALL, **params}
    full = DAG(**settings).fit(data)
    _interrupt_after(monkeypatch, 4)
    with pytest.raises(_Stop):
        DAG(checkpoint=str(path), **settings).fit(data)
    monkeypatch.undo()
    assert _saved_epoch(path) == 4
    saves = _record_saves(monkeypatch)
    resumed = DAG(checkpoint=str(path), **settings).fit(data)
    assert saves == list(range(5, settings["epochs"] + 1))
    _assert_same_dag(resumed, full)


@pytest.mark.parametrize("occurrence", [1, 2])
def test_dag_auto_readout_restart_resumes_in_either_run(tmp_path, monkeypatch, occurrence):
    """readout_norm="auto" trains twice when the check finds the readout dead (forced
    here at epoch 3): stopped in the first run (1) or in the restarted one (2)."""
    import graphclust.methods.dag as dag_module

    monkeypatch.setattr(dag_module, "AUTO_CHECK_EPOCH", 3)
    monkeypatch.setattr(dag_module, "dead_readout", lambda bpr, top: "forced by the test")
    data, path = _graph(), tmp_path / "dag.pt"
    settings = {**DAG_SMALL, "readout_norm": "auto"}
    full = DAG(**settings).fit(data)
    assert full.readout_norm_ == "layer" and full.readout_check_["dead"]
    with monkeypatch.context() as patch:
        _interrupt_after(patch, 2, occurrence)
        with pytest.raises(_Stop):
            DAG(checkpoint=str(path), **settings).fit(data)
    saved = torch.load(path, weights_only=False)
    assert saved["epoch"] == 2 and saved["extra"]["norm"] == ("none", "layer")[occurrence - 1]
    resumed = DAG(checkpoint=str(path), **settings).fit(data)
    _assert_same_dag(resumed, full)


def test_dag_deadline_counts_on_across_a_resume(tmp_path, monkeypatch) -> None:
    """A run stopped at its deadline resumes to the same read-out without training; a
    resume under a larger budget (max_time_s may change) trains the remaining epochs."""
    data, path = _graph(), tmp_path / "dag.pt"
    stopped = DAG(checkpoint=str(path), max_time_s=1e-9, **DAG_SMALL).fit(data)
    assert stopped.epochs_run_ == 1 and _saved_epoch(path) == 1
    saves = _record_saves(monkeypatch)
    again = DAG(checkpoint=str(path), max_time_s=1e-9, **DAG_SMALL).fit(data)
    assert saves == [] and again.epochs_run_ == 1
    _assert_same_fit(again, stopped)
    longer = DAG(checkpoint=str(path), max_time_s=3600.0, **DAG_SMALL).fit(data)
    assert saves == list(range(2, DAG_SMALL["epochs"] + 1))
    assert longer.epochs_run_ == DAG_SMALL["epochs"]


def test_dag_refuses_a_checkpoint_of_other_data_or_parameters(tmp_path) -> None:
    data, path = _graph(), tmp_path / "dag.pt"
    settings = {**DAG_SMALL, "epochs": 2}
    DAG(checkpoint=str(path), **settings).fit(data)
    rewired = Data(x=data.x, edge_index=_graph(seed=5).edge_index)
    with pytest.raises(ValueError, match="different run.*input"):
        DAG(checkpoint=str(path), **settings).fit(rewired)
    with pytest.raises(ValueError, match="different run.*'alpha'"):
        DAG(checkpoint=str(path), **{**settings, "alpha": 0.5}).fit(data)
    with pytest.raises(ValueError, match="checkpoint must be None or a file path"):
        DAG(checkpoint=3, **settings).fit(data)
