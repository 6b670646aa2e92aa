"""Real-world graphs no method here was tuned on: featureless, directed, overlapping.

* ``football``: Girvan & Newman's (2002) US college football 2000 season, Newman's
  GML; 115 teams, 613 games, 12 conferences (node attribute ``value``). No features.
* ``email-eu-core``: SNAP email-Eu-core (Leskovec et al. 2007; Yin et al. 2017);
  1,005 members of a European research institution, a directed edge list with 642
  self-loops (made undirected and dropped, reported at read time), 42 departments
  as ground truth. No features.
* ``fb-<ego>``: seven SNAP Facebook ego networks (McAuley & Leskovec 2012) as
  distributed with NOCD (Shchur & Günnemann 2019), npz "dotted" layout: binary
  attributes and *overlapping* ground-truth circles (``data.y_overlap`` bool [N, C],
  ``y`` the largest circle of each node, -1 for nodes in none).

Every loader takes ``features``: for the featureless graphs "auto" (identity, with a
warning), "identity", "degree", "laplacian" or "randomwalk"; for ``fb-*`` the default
"attributes" (the published ones) or any of the structural kinds.
"""

from __future__ import annotations

from pathlib import Path

from torch_geometric.data import Data

from graphclust.data.features import DEFAULT_DIM
from graphclust.data.readers import from_edge_list, from_gml, from_npz

FOOTBALL_FILE = "realworld/football.gml"
EMAIL_FILES = ("realworld/email-Eu-core.txt", "realworld/email-Eu-core-department-labels.txt")
#: The ego ids of the seven NOCD Facebook networks in the catalog (``fb-<ego>``).
FACEBOOK_EGOS = (0, 348, 414, 686, 698, 3437, 3980)


def facebook_file(ego: int) -> str:
    """Raw file of the Facebook ego network ``ego`` relative to the data root."""
    return f"realworld/facebook_ego/fb_{ego}.npz"


def load_football(root: Path, features: str = "auto", feature_dim: int = DEFAULT_DIM) -> Data:
    """US college football 2000: 115 teams, 613 games, 12 conferences (``y``)."""
    return from_gml(
        root / FOOTBALL_FILE,
        label_attr="value",
        name="football",
        feature_kind=features,
        feature_dim=feature_dim,
    )


def load_email_eu_core(root: Path, features: str = "auto", feature_dim: int = DEFAULT_DIM) -> Data:
    """email-Eu-core: 1,005 people, 16,064 undirected edges, 42 departments (``y``).

    The file is directed (25,571 lines, 642 self-loops); the read-time warning gives
    the counts. Isolated members (no email in or out) are kept.
    """
    edges, labels = (root / f for f in EMAIL_FILES)
    return from_edge_list(
        edges,
        labels=labels,
        num_nodes=1005,
        name="email-eu-core",
        feature_kind=features,
        feature_dim=feature_dim,
    )


def load_facebook_ego(
    root: Path, ego: int, features: str = "attributes", feature_dim: int = DEFAULT_DIM
) -> Data:
    """A NOCD Facebook ego network with overlapping circles (``y_overlap``, ``y``)."""
    return from_npz(
        root / facebook_file(ego),
        name=f"fb-{ego}",
        feature_kind=features,
        feature_dim=feature_dim,
    )
