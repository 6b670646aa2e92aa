"""The assignment core shared by every method: codes, prototypes, targets.

Pure functions and small modules with no graph logic:

- :func:`sinkhorn`: log-domain, optionally distributed, balanced codes ``[B, K]``.
- :class:`Prototypes`: unit-norm prototype heads producing cosine scores.
- :func:`student_t_assignment`, :func:`dec_target`, :func:`depict_target`: DEC/DEPICT
  self-training targets.
- :class:`FeatureQueue`, :func:`queued_sinkhorn`: a queue of past embeddings.
- :func:`kmeans`: k-means++ and Lloyd in torch, on the input's device;
  :func:`fit_kmeans`: scikit-learn or it, by device (the methods' k-means).
- The NIW marginal likelihood and split/merge ratios (GPC),
  :mod:`graphclust.assign.sdp` (the Peng-Wei SDP solver).
- :mod:`graphclust.assign.dist`: the distributed helpers.

The losses live in :mod:`graphclust.losses`; the clustering losses
:func:`kl_clustering_loss`, :func:`swapped_prediction_loss`,
:func:`symmetric_prediction_loss`, :func:`multilabel_cluster_loss` (with
:func:`positive_centres`, :func:`sample_negatives`) and :func:`prototype_uniformity_loss`
are re-exported here, so ``from graphclust.assign import ...`` finds them too.
"""

from graphclust.assign.kmeans import KMeansResult, fit_kmeans, kmeans
from graphclust.assign.niw import NIWPrior, merge_log_ratio, niw_log_marginal, split_log_ratio
from graphclust.assign.prototypes import Prototypes
from graphclust.assign.queue import FeatureQueue, queued_sinkhorn
from graphclust.assign.sinkhorn import sinkhorn
from graphclust.assign.targets import dec_target, depict_target, student_t_assignment
from graphclust.losses import (
    kl_clustering_loss,
    multilabel_cluster_loss,
    positive_centres,
    prototype_uniformity_loss,
    sample_negatives,
    swapped_prediction_loss,
    symmetric_prediction_loss,
)

__all__ = [
    "NIWPrior",
    "merge_log_ratio",
    "multilabel_cluster_loss",
    "niw_log_marginal",
    "positive_centres",
    "prototype_uniformity_loss",
    "sample_negatives",
    "split_log_ratio",
    "FeatureQueue",
    "KMeansResult",
    "Prototypes",
    "dec_target",
    "depict_target",
    "kl_clustering_loss",
    "fit_kmeans",
    "kmeans",
    "queued_sinkhorn",
    "sinkhorn",
    "student_t_assignment",
    "swapped_prediction_loss",
    "symmetric_prediction_loss",
]
