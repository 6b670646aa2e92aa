"""Every training loss of the methods, one module per loss.

- :func:`bpr_loss` (:mod:`~graphclust.losses.bpr`): DAG's affiliation edge model.
- :func:`pamc_loss`, :func:`influence_term`, :func:`meta_node_term`
  (:mod:`~graphclust.losses.pamc`): PamC's sparse meta-node contrastive loss.
- :func:`graph_mlp_loss` (:mod:`~graphclust.losses.graph_mlp`): Graph-MLP's dense
  neighbour contrastive loss, the reference PamC replaces.
- :func:`multilabel_cluster_loss`, :func:`positive_centres`, :func:`sample_negatives`,
  :func:`n_sampled_negatives` (:mod:`~graphclust.losses.multilabel`): MLCD.
- :func:`protonce_loss`, :func:`prototype_concentration`
  (:mod:`~graphclust.losses.protonce`): the prototype term of ProtoNCE (GPC).
- :func:`kl_clustering_loss` (:mod:`~graphclust.losses.kl`): DEC/DEPICT self-training
  (the targets are in :mod:`graphclust.assign.targets`).
- :func:`prototype_uniformity_loss` (:mod:`~graphclust.losses.uniformity`): MaxQuery's
  query-distribution regulariser.
- :func:`swapped_prediction_loss`, :func:`symmetric_prediction_loss`
  (:mod:`~graphclust.losses.swapped`): SwAV, MGCA and SIGMA.

The loss modules import nothing from :mod:`graphclust.assign` (which re-exports some of
them), so either package can be imported first.
"""

from graphclust.losses.bpr import bpr_loss
from graphclust.losses.graph_mlp import graph_mlp_loss
from graphclust.losses.kl import kl_clustering_loss
from graphclust.losses.multilabel import (
    multilabel_cluster_loss,
    n_sampled_negatives,
    positive_centres,
    sample_negatives,
)
from graphclust.losses.pamc import influence_term, meta_node_term, pamc_loss
from graphclust.losses.protonce import protonce_loss, prototype_concentration
from graphclust.losses.swapped import swapped_prediction_loss, symmetric_prediction_loss
from graphclust.losses.uniformity import prototype_uniformity_loss

__all__ = [
    "bpr_loss",
    "graph_mlp_loss",
    "influence_term",
    "kl_clustering_loss",
    "meta_node_term",
    "multilabel_cluster_loss",
    "n_sampled_negatives",
    "pamc_loss",
    "positive_centres",
    "prototype_concentration",
    "prototype_uniformity_loss",
    "protonce_loss",
    "sample_negatives",
    "swapped_prediction_loss",
    "symmetric_prediction_loss",
]
