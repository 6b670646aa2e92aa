"""DAG's ``readout_norm="auto"`` check: has the community readout learned? (label-free)"""

from __future__ import annotations

import math

# readout_norm="auto": the check runs after this many epochs on the last WINDOW of them.
# Chosen on seeds 0-4 at the reduced settings (experiments/dag/logs/dead_readout.txt):
# over epochs 41-50 the largest community holds at most 67% of the nodes on Cora,
# CiteSeer, ACM, DBLP, Photo and an SBM with K = 10, and at least 88% on PubMed and
# polblogs, whose readouts never learn; at epoch 30 three Cora seeds still had 96-98%.
AUTO_CHECK_EPOCH = 50
AUTO_CHECK_WINDOW = 10
DEAD_BPR_SHARE = 0.98
DEAD_TOP_SHARE = 0.8


def dead_readout(per_edge_bpr: list[float], top_share: list[float]) -> str | None:
    """Why the community readout has not learned, from a window of training epochs.

    Dead when the mean per-edge BPR loss is at least ``DEAD_BPR_SHARE`` x ln 2 (the
    loss of affiliations that rank no edge above its negative: C = 0, the saddle a
    readout on tiny embeddings stays at), or when the largest community of the training
    passes holds on average at least ``DEAD_TOP_SHARE`` of the nodes (one column takes
    almost every node). Uses training signals only, never labels.

    Args:
        per_edge_bpr: the BPR loss per (directed) edge of each epoch of the window.
        top_share: the share of nodes in the largest community, per epoch.

    Returns:
        None when the readout learns, else a one-line reason.
    """
    if not per_edge_bpr or len(per_edge_bpr) != len(top_share):
        raise ValueError(
            "dead_readout needs one BPR value and one top share per epoch, at least one"
        )
    bpr = sum(per_edge_bpr) / len(per_edge_bpr)
    if bpr >= DEAD_BPR_SHARE * math.log(2.0):
        return f"per-edge BPR {bpr:.4f} >= {DEAD_BPR_SHARE} ln 2: no edge ranked above a non-edge"
    top = sum(top_share) / len(top_share)
    if top >= DEAD_TOP_SHARE:
        return f"the largest community holds {top:.1%} of the nodes (>= {DEAD_TOP_SHARE:.0%})"
    return None


__all__ = [
    "AUTO_CHECK_EPOCH",
    "AUTO_CHECK_WINDOW",
    "DEAD_BPR_SHARE",
    "DEAD_TOP_SHARE",
    "dead_readout",
]
