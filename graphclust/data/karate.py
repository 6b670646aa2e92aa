"""Zachary's karate club, shipped with networkx."""

from __future__ import annotations

import networkx as nx
from torch_geometric.data import Data

from graphclust.data.features import DEFAULT_DIM
from graphclust.data.readers import from_networkx


def load_karate(features: str = "identity", feature_dim: int = DEFAULT_DIM) -> Data:
    """Zachary's karate club (1977): 34 members, 78 friendships, split into two
    factions after a dispute. Labels from the ``club`` attribute ("Mr. Hi" = 0,
    "Officer" = 1). The graph has no features: by default the identity [34, 34]
    (marked ``feature_kind="identity"``); ``features`` picks another kind from
    :mod:`graphclust.data.features` (e.g. "laplacian")."""
    return from_networkx(
        nx.karate_club_graph(),
        label_attr="club",
        name="karate",
        feature_kind=features,
        feature_dim=feature_dim,
    )
