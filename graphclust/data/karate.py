"""Zachary's karate club, shipped with networkx."""

from __future__ import annotations

import networkx as nx
from torch_geometric.data import Data

from graphclust.data.readers import from_networkx


def load_karate() -> Data:
    """Zachary's karate club (1977): 34 members, 78 friendships, split into two
    factions after a dispute. Labels from the ``club`` attribute ("Mr. Hi" = 0,
    "Officer" = 1); features are the identity [34, 34] (the graph has none)."""
    return from_networkx(
        nx.karate_club_graph(), label_attr="club", name="karate", feature_kind="identity"
    )
