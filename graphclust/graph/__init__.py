"""Graph operations: kNN graph construction, normalised adjacency, meta-nodes."""

from graphclust.graph.knn import knn_graph

__all__ = [
    "knn_graph",
]
