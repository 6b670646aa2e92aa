"""Scores of a partition: supervised (need labels), graph and feature (label-free), EDGE.

* :mod:`~graphclust.metrics.supervised`: clustering_accuracy, nmi, ari, macro_f1,
  match_labels (any number of clusters against any number of classes).
* :mod:`~graphclust.metrics.graph`: modularity (hard or soft), conductance, coverage,
  computed sparsely from ``edge_index``.
* :mod:`~graphclust.metrics.features`: calinski_harabasz, silhouette (subsampled).
* :mod:`~graphclust.metrics.edge`: edge_score -> EdgeReport (EDGE of Liu et al. 2024
  with the context it needs: trivial score, inter-class F1, number of clusters).
* :mod:`~graphclust.metrics.damage`: random_damage, ball_damage, merge_damage,
  split_damage, partitions made from the true classes by controlled damage (what a
  score such as EDGE rewards).
* :mod:`~graphclust.metrics.gcd`: gcd_accuracy, ACC all / old / new of generalised
  category discovery on the unlabelled rows.
* :mod:`~graphclust.metrics.overlap`: overlapping_nmi (McDaid et al. NMI_max),
  overlapping_f1, symmetric_jaccard against overlapping ground truth (covers).
* :mod:`~graphclust.metrics.ood`: maxquery_scores (MaxQuery), msp_scores,
  knn_distance_scores and auroc, aupr, fpr_at_tpr, ood_report for out-of-distribution.
* :mod:`~graphclust.metrics.probe`: linear_probe_accuracy of a representation.
* :mod:`~graphclust.metrics.report`: evaluate_partition, all of the above in one dict.
"""

from graphclust.metrics.damage import ball_damage, merge_damage, random_damage, split_damage
from graphclust.metrics.edge import EdgeReport, edge_score
from graphclust.metrics.features import calinski_harabasz, silhouette
from graphclust.metrics.gcd import gcd_accuracy
from graphclust.metrics.graph import conductance, coverage, modularity
from graphclust.metrics.ood import (
    aupr,
    auroc,
    fpr_at_tpr,
    knn_distance_scores,
    maxquery_scores,
    msp_scores,
    ood_report,
)
from graphclust.metrics.overlap import overlapping_f1, overlapping_nmi, symmetric_jaccard
from graphclust.metrics.probe import linear_probe_accuracy
from graphclust.metrics.report import evaluate_partition
from graphclust.metrics.supervised import (
    ari,
    clustering_accuracy,
    macro_f1,
    match_labels,
    nmi,
)

__all__ = [
    "EdgeReport",
    "aupr",
    "auroc",
    "ball_damage",
    "fpr_at_tpr",
    "gcd_accuracy",
    "knn_distance_scores",
    "linear_probe_accuracy",
    "maxquery_scores",
    "msp_scores",
    "ood_report",
    "ari",
    "calinski_harabasz",
    "clustering_accuracy",
    "conductance",
    "coverage",
    "edge_score",
    "evaluate_partition",
    "macro_f1",
    "match_labels",
    "merge_damage",
    "modularity",
    "nmi",
    "random_damage",
    "overlapping_f1",
    "overlapping_nmi",
    "silhouette",
    "split_damage",
    "symmetric_jaccard",
]
