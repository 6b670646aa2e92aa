"""Datasets, user-graph readers and input validation."""

from graphclust.data.validation import GraphWarning, check_graph

__all__ = ["GraphWarning", "check_graph"]
