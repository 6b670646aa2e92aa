"""Graph operations: kNN graph construction, normalised adjacency, meta-nodes, and
greedy modularity merging of clusters."""

from graphclust.graph.knn import knn_graph
from graphclust.graph.merge import merge_clusters

__all__ = [
    "knn_graph",
    "merge_clusters",
]
