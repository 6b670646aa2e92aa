"""DAG's sampled mode on 2 gloo processes against one process on the same subgraphs.

One spawn of two CPU processes (module fixture) fits DAG with two subgraphs per step,
one per rank; the reference is one process given ``subgraphs_per_step=2``, which draws
the same subgraphs and seeds and trains on both. Tolerances: the loss curve to a
relative 1e-4 and the embeddings to an absolute 1e-3 (float32 gradients summed over
ranks in another order); labels exactly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from graphclust.methods.dag import DAG
from tests.assign.dist_utils import run_distributed
from tests.methods.test_dag import SMALL, _sbm

# 120 nodes, subgraphs of about 20 nodes (6 roots walking 2 steps), 3 steps per epoch;
# the labels are read by k-means on every rank (K = 4 here, C's argmax gives 2)
SAMPLED = dict(
    SMALL,
    batch_size=40,
    epochs=12,
    eval_every=4,
    lr=1e-2,
    k_readout="kmeans",
    progress=False,
    device="cpu",
)
LOSS_RTOL = 1e-4


def _fitted(model: DAG) -> dict[str, Any]:
    return {
        "labels": model.labels_.clone(),
        "labels_argmax": model.labels_argmax_.clone(),
        "embeddings": model.embeddings_.clone(),
        "loss": list(model.history_["loss"]),
        "k_train": list(model.history_["k_train"]),
        "selected": model.selected_epoch_,
        "subgraphs": model.subgraphs_per_step_,
        "weights": {k: v.clone() for k, v in model._mae.state_dict().items()},
    }


def _errors(fn) -> str:
    try:
        fn()
    except ValueError as err:
        return str(err)
    return ""


def _per_rank(rank: int, world_size: int, group: Any, tmp: str) -> dict[str, Any]:
    data = _sbm()
    ckpt = str(Path(tmp) / "dag.pt")
    out = _fitted(DAG(**SAMPLED, distributed=True, checkpoint=ckpt, seed=0).fit(data))
    out["full_batch"] = _errors(lambda: DAG(**SMALL, epochs=1, distributed=True).fit(data))
    out["too_few"] = _errors(
        lambda: DAG(**SAMPLED, subgraphs_per_step=1, distributed=True).fit(data)
    )
    out["seed"] = _errors(lambda: DAG(**SAMPLED, seed=rank, distributed=True).fit(data))
    out["alone"] = DAG(**SAMPLED, distributed=False, seed=0).fit(data).subgraphs_per_step_
    return out


@pytest.fixture(scope="module")
def spawn(tmp_path_factory) -> tuple[list[dict[str, Any]], Path]:
    folder = tmp_path_factory.mktemp("dag_ddp")
    return run_distributed(_per_rank, 2, folder, str(folder)), folder


@pytest.fixture(scope="module")
def ranks(spawn) -> list[dict[str, Any]]:
    return spawn[0]


@pytest.fixture(scope="module")
def one_process(tmp_path_factory) -> dict[str, Any]:
    ckpt = tmp_path_factory.mktemp("dag_one") / "dag.pt"
    model = DAG(**SAMPLED, subgraphs_per_step=2, checkpoint=str(ckpt), seed=0).fit(_sbm())
    return {**_fitted(model), "checkpoint": ckpt}


def _adam_first_moments(path: Path) -> list[torch.Tensor]:
    state = torch.load(path, weights_only=False)["state_dicts"]["optimizer"]["state"]
    return [state[i]["exp_avg"] for i in sorted(state)]


def test_both_ranks_return_the_same_model(ranks) -> None:
    first, second = ranks
    assert first["subgraphs"] == second["subgraphs"] == 2  # None: one per process
    assert torch.equal(first["labels"], second["labels"])
    assert torch.equal(first["labels_argmax"], second["labels_argmax"])
    assert torch.equal(first["embeddings"], second["embeddings"])
    assert first["loss"] == second["loss"]  # logged values are reduced over the group
    for name, value in first["weights"].items():
        assert torch.equal(value, second["weights"][name]), name


def test_two_processes_train_as_one_process_on_the_same_subgraphs(ranks, one_process) -> None:
    two = ranks[0]
    assert len(two["loss"]) == len(one_process["loss"]) == SAMPLED["epochs"]
    assert two["loss"] == pytest.approx(one_process["loss"], rel=LOSS_RTOL)
    assert two["k_train"] == pytest.approx(one_process["k_train"], rel=LOSS_RTOL)
    assert torch.allclose(two["embeddings"], one_process["embeddings"], atol=1e-3)
    assert two["selected"] == one_process["selected"]
    assert torch.equal(two["labels"], one_process["labels"])
    assert torch.equal(two["labels_argmax"], one_process["labels_argmax"])
    assert two["labels"].unique().numel() > 1  # not a trivial single-community match


def test_the_update_is_one_process_gradient(spawn, one_process) -> None:
    """Adam's first moments (averages of the gradients, scale included, which Adam's
    normalised steps would hide) in rank 0's checkpoint equal one process's: DDP's
    average of the ranks' scaled losses is the gradient of the mean over the subgraphs."""
    two = _adam_first_moments(spawn[1] / "dag.pt")
    one = _adam_first_moments(one_process["checkpoint"])
    assert len(two) == len(one) > 0
    for a, b in zip(two, one, strict=True):
        assert torch.allclose(a, b, rtol=1e-3, atol=1e-7), (a - b).abs().max()


def test_several_subgraphs_per_step_differ_from_one(one_process) -> None:
    """The reference above is not the default single-subgraph run: the comparison would
    not catch a rank that trained on the wrong share if both were the same."""
    single = _fitted(DAG(**SAMPLED, seed=0).fit(_sbm()))
    assert single["subgraphs"] == 1
    assert single["loss"] != pytest.approx(one_process["loss"], rel=LOSS_RTOL)


def test_refusals_under_a_group(ranks) -> None:
    for out in ranks:
        assert "batch_size" in out["full_batch"]
        assert "subgraphs_per_step=1 must be at least the 2 processes" in out["too_few"]
        assert "seed differs between ranks" in out["seed"]
        assert out["alone"] == 1  # distributed=False inside a group: this process alone


def test_the_checkpoint_keeps_the_subgraphs_per_step(spawn) -> None:
    """Rank 0 checkpointed the run; one process resuming it with one subgraph per step
    (the default alone) is refused rather than continuing another training."""
    ckpt = spawn[1] / "dag.pt"
    assert ckpt.exists()
    with pytest.raises(ValueError, match="the checkpoint trained on 2 subgraphs per step"):
        DAG(**SAMPLED, checkpoint=str(ckpt), seed=0).fit(_sbm())


def test_distributed_without_a_group_is_refused() -> None:
    data = _sbm()
    with pytest.raises(ValueError, match="distributed=True but torch.distributed is not"):
        DAG(**SAMPLED, distributed=True).fit(data)
    with pytest.raises(
        ValueError, match="distributed=True trains DAG's sampled mode: set batch_size"
    ):
        DAG(**SMALL, epochs=1, distributed=True).fit(data)
    with pytest.raises(ValueError, match="subgraphs_per_step is for the sampled mode"):
        DAG(**SMALL, epochs=1, subgraphs_per_step=2).fit(data)
    with pytest.raises(ValueError, match="subgraphs_per_step must be"):
        DAG(**SAMPLED, subgraphs_per_step=0).fit(data)
