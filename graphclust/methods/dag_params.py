"""DAG's presets and argument checks: what a fit uses, and refusing what it cannot."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch_geometric.data import Data

from graphclust.graph.negatives import NegativeSampler
from graphclust.methods.checkpoints import check_checkpoint_params
from graphclust.methods.ksearch import default_k_max
from graphclust.utils.checks import (
    flag,
    non_negative_float,
    one_of,
    optional_positive_int,
    positive_float,
    positive_int,
    probability,
)
from graphclust.utils.distributed import resolve_group, world_size

if TYPE_CHECKING:
    from graphclust.methods.dag import DAG

# Sizes and model variant per preset; a parameter the user sets wins over its preset.
# "cpu": the toolkit's configuration (encoder trained by reconstruction alone, K read by
# k-means from the kept embeddings) at widths a 2-core CPU fits in minutes, with wide
# attributes reduced by SVD; "gpu": the same at the paper's widths; "paper": the
# paper's model (joint training, K from the readout's argmax) at the paper's widths.
PRESETS: dict[str, dict[str, Any]] = {
    "cpu": {
        "hidden": 64,
        "heads": 2,
        "epochs": 200,
        "eval_every": 25,
        "max_features": 256,
        "detach_readout": True,
        "k_readout": "kmeans",
    },
    "gpu": {
        "hidden": 512,
        "heads": 4,
        "epochs": 1500,
        "eval_every": 50,
        "max_features": None,
        "detach_readout": True,
        "k_readout": "kmeans",
    },
    "paper": {
        "hidden": 512,
        "heads": 4,
        "epochs": 1500,
        "eval_every": 50,
        "max_features": None,
        "detach_readout": False,
        "k_readout": "argmax",
    },
}


def resolve_settings(
    estimator: DAG, num_nodes: int, device: torch.device | str = "cpu"
) -> dict[str, Any]:
    """The settings of a fit of ``estimator`` on ``num_nodes`` nodes on ``device``: every
    preset parameter left at None takes the preset's value (``"auto"``: ``"gpu"`` on
    CUDA, else ``"cpu"``), and ``k_max`` the rule :func:`default_k_max` of N."""
    preset = one_of(estimator.preset, "preset", ("auto", *PRESETS))
    if preset == "auto":
        preset = "gpu" if torch.device(device).type == "cuda" else "cpu"
    resolved = {"preset": preset}
    for name, value in PRESETS[preset].items():
        chosen = getattr(estimator, name)
        resolved[name] = value if chosen is None else chosen
    k_max = estimator.k_max
    resolved["k_max"] = default_k_max(num_nodes) if k_max is None else k_max
    return resolved


def check_params(estimator: DAG, data: Data, settings: dict[str, Any]) -> None:
    """Raise a ValueError naming the first argument of ``estimator`` a fit on ``data``
    with the resolved ``settings`` cannot use, or the graph's defect."""
    n = data.num_nodes
    cfg = settings
    for name in ("hidden", "heads", "epochs", "eval_every"):
        positive_int(cfg[name], name)
    k_max = positive_int(cfg["k_max"], "k_max", minimum=2)
    if k_max > n:
        raise ValueError(f"k_max must be an integer in [2, {n}] (N), got {k_max!r}")
    if cfg["hidden"] % cfg["heads"] != 0:
        raise ValueError(f"hidden={cfg['hidden']} must be a multiple of heads={cfg['heads']}")
    optional_positive_int(cfg["max_features"], "max_features", minimum=2)
    flag(cfg["detach_readout"], "detach_readout")
    one_of(cfg["k_readout"], "k_readout", ("argmax", "kmeans"))
    if cfg["k_readout"] == "kmeans" and k_max > n - 1:
        raise ValueError(f"k_readout='kmeans' needs k_max <= N - 1 = {n - 1}, got {k_max}")
    flag(estimator.progress, "progress")
    probability(estimator.mask_rate, "mask_rate", zero=False, one=False)
    probability(estimator.input_dropout, "input_dropout", one=False)
    one_of(estimator.remask, "remask", ("zero", "token"))
    one_of(estimator.decoder_layers, "decoder_layers", (1, 2))
    flag(estimator.decoder_factorized, "decoder_factorized")
    for name in ("alpha", "beta", "weight_decay"):
        non_negative_float(getattr(estimator, name), name)
    positive_float(estimator.lr, "lr")
    one_of(estimator.readout, "readout", ("relu", "softmax"))
    one_of(estimator.readout_norm, "readout_norm", ("none", "layer", "auto"))
    one_of(estimator.selection, "selection", ("argmax", "readout"))
    optional_positive_int(estimator.batch_size, "batch_size", minimum=2)
    check_sampled_mode(estimator)
    one_of(estimator.bpr_scale, "bpr_scale", ("sum", "mean"))
    positive_int(estimator.sparsity_warmup, "sparsity_warmup", minimum=0)
    if estimator.max_time_s is not None:
        positive_float(estimator.max_time_s, "max_time_s")
    check_checkpoint_params(estimator.checkpoint, estimator.checkpoint_every)
    if data.edge_index.size(1) == 0:
        raise ValueError("DAG needs edges: its BPR loss models the graph's links")
    if not NegativeSampler(data.edge_index, n).has_negatives:
        raise ValueError(
            "DAG needs two nodes that are not linked: its BPR loss ranks every edge above "
            "a non-edge of the same node, and in this graph every node is linked to every "
            "other one (a complete graph has one community)"
        )


def check_sampled_mode(estimator: DAG) -> None:
    """Refuse ``subgraphs_per_step`` and ``distributed=True`` without ``batch_size``,
    ``distributed=True`` without a process group, and fewer subgraphs per step than
    processes (a rank without a subgraph would have no gradient to average)."""
    subgraphs = optional_positive_int(estimator.subgraphs_per_step, "subgraphs_per_step")
    if estimator.batch_size is None and estimator.distributed:
        raise ValueError(
            "distributed=True trains DAG's sampled mode: set batch_size (the nodes of a "
            "step's subgraphs, shared by the processes)"
        )
    group = resolve_group(estimator.distributed)  # refuses True without a group
    if estimator.batch_size is None:
        if subgraphs is not None:
            raise ValueError("subgraphs_per_step is for the sampled mode: set batch_size")
        return
    if subgraphs is not None and subgraphs > estimator.batch_size:
        raise ValueError(
            f"subgraphs_per_step={subgraphs} must be at most batch_size={estimator.batch_size}"
        )
    if subgraphs is not None and subgraphs < world_size(group):
        raise ValueError(
            f"subgraphs_per_step={subgraphs} must be at least the {world_size(group)} "
            "processes (each trains on its share of a step's subgraphs); raise it or "
            "leave it at None (one per process)"
        )


__all__ = ["PRESETS", "check_params", "check_sampled_mode", "resolve_settings"]
