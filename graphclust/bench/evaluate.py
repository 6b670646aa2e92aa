"""``graphclust evaluate``: the EDGE report of a partition made by any tool.

The partition is scored on pairs of nodes whose relation is known: intra pairs (known to
share a community) and inter pairs (known to be apart), as in the DAG paper's
deployment on unlabelled graphs. When only intra pairs are known, inter pairs can be
sampled uniformly from the node pairs that have no edge between them (seeded). Two
caveats, printed with every such report (:data:`SAMPLED_INTER_NOTE`):

* a sampled pair is only *non-adjacent*, not known to be apart: some sampled pairs
  share a community, so the inter side of EDGE is noisy (it penalises a partition
  for joining them);
* EDGE and its trivial one-cluster score depend on the intra/inter mix, so the report
  holds at one fixed mix only: partitions are comparable only at the same mix (and,
  for the exact pairs, the same seed). The default mix is ``--inter-ratio 1.0``: as
  many sampled inter pairs as distinct intra pairs; ``--sample-inter N`` fixes the
  count instead.

With a labelled dataset and no pair files, the pairs are the graph's edges and the
relation comes from the labels.

File formats (blank lines and lines starting with ``#`` are ignored everywhere; fields
are separated by whitespace or commas; node ids are 0-based integers):

* partition: one label per line (line i is node i), or ``node label`` per line in any
  order, every node exactly once. Labels are any tokens (``3``, ``c12``, ``red``).
* pairs (intra, inter) and edge lists: ``i j`` per line; an edge list may carry a third
  column (a weight), which is ignored.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from graphclust.data.pair_files import read_pairs, read_partition
from graphclust.metrics import edge_score
from graphclust.metrics.edge import EdgeReport
from graphclust.metrics.pair_sampling import sample_inter_pairs, undirected_pair_keys

# --sample-inter without N: a non-string const, which argparse stores unconverted, so it
# cannot clash with any count a user types
BY_RATIO = object()
#: Default number of sampled inter pairs per distinct intra pair.
DEFAULT_INTER_RATIO = 1.0
#: What a report with sampled inter pairs must say (text and JSON).
SAMPLED_INTER_NOTE = (
    "sampled inter pairs are non-adjacent pairs, not pairs known to be apart (some may "
    "share a community); EDGE is measured at this one intra/inter mix only: compare "
    "partitions at the same mix"
)


# -- the command ------------------------------------------------------------------------
def _load_graph(graph: str, root: Path | None) -> tuple[torch.Tensor, int | None, object, str]:
    """(edge_index [2, E], num_nodes or None, y or None, description) of --graph."""
    path = Path(graph)
    if path.is_file():
        edges = read_pairs(path, edge_list=True)
        return edges.pairs, None, None, f"{path} (edge list)"
    if path.suffix or "/" in graph:
        raise FileNotFoundError(f"--graph {graph!r}: no such file (nor a dataset name)")
    from graphclust.data import load_dataset

    data = load_dataset(graph, root=root)
    return data.edge_index, int(data.num_nodes), getattr(data, "y", None), graph


def _check_args(args: argparse.Namespace) -> None:
    if args.inter is not None and args.sample_inter is not None:
        raise ValueError("give either --inter or --sample-inter, not both")
    if args.sample_inter is None and args.save_inter is not None:
        raise ValueError("--save-inter only applies with --sample-inter")
    if args.inter_ratio is not None:
        if args.sample_inter is None:
            raise ValueError("--inter-ratio only applies with --sample-inter")
        if args.sample_inter is not BY_RATIO:
            raise ValueError("give --sample-inter N or --inter-ratio R, not both")
        if not args.inter_ratio > 0:
            raise ValueError(f"--inter-ratio must be positive, got {args.inter_ratio}")
    if (
        args.sample_inter is not None
        and args.sample_inter is not BY_RATIO
        and args.sample_inter < 1
    ):
        raise ValueError(f"--sample-inter must be at least 1, got {args.sample_inter}")
    if args.intra is None and (args.inter is not None or args.sample_inter is not None):
        raise ValueError("--inter and --sample-inter need --intra (the known intra pairs)")
    if args.intra is not None and args.inter is None and args.sample_inter is None:
        raise ValueError("with --intra, give --inter FILE or --sample-inter N")


def run(args: argparse.Namespace) -> int:
    """Run ``graphclust evaluate``; prints the report and returns the exit status 0."""
    _check_args(args)
    edge_index, num_nodes, y, graph_name = _load_graph(args.graph, args.root)
    labels, _ = read_partition(args.partition)
    if num_nodes is None:
        num_nodes = labels.numel()
        edges = edge_index.max().item() + 1 if edge_index.numel() else 0
        if edges > num_nodes:
            raise ValueError(
                f"{args.graph} refers to node {edges - 1} but {args.partition} labels only "
                f"{num_nodes} nodes (0..{num_nodes - 1}); label every node of the graph"
            )
    elif labels.numel() != num_nodes:
        raise ValueError(
            f"{args.partition} labels {labels.numel()} nodes but {graph_name} has {num_nodes}; "
            "give one label per node, in node order"
        )
    n_edges = undirected_pair_keys(edge_index.cpu().long(), num_nodes).size
    lines = [
        f"graph:      {graph_name}: {num_nodes} nodes, {n_edges} edges",
        f"partition:  {args.partition}",
    ]
    if args.intra is None:
        if y is None:
            raise ValueError(
                f"{graph_name} has no ground-truth labels; give --intra with --inter or "
                "--sample-inter"
            )
        report = edge_score(labels, edge_index=edge_index, y=y)
        lines.append("pairs:      the graph's edges, relation from its ground-truth labels")
        sample = None
    else:
        intra = read_pairs(args.intra)
        intra.check_range(num_nodes)
        if args.inter is not None:
            inter = read_pairs(args.inter)
            inter.check_range(num_nodes)
            inter_pairs, sample = inter.pairs, None
            source = f"from {args.inter}"
        else:
            n_intra = undirected_pair_keys(intra.pairs, num_nodes).size
            if args.sample_inter is not BY_RATIO:  # an explicit count
                size, ratio = args.sample_inter, args.sample_inter / max(n_intra, 1)
            else:
                ratio = args.inter_ratio if args.inter_ratio is not None else DEFAULT_INTER_RATIO
                size = max(1, round(ratio * n_intra))
            inter_pairs, candidates = sample_inter_pairs(
                edge_index, num_nodes, size, exclude=intra.pairs, seed=args.seed
            )
            sample = {
                "size": size,
                "candidates": candidates,
                "seed": args.seed,
                "inter_per_intra": ratio,
                "note": SAMPLED_INTER_NOTE,
            }
            source = (
                f"sampled uniformly: {size} of {candidates} non-adjacent "
                f"pairs, seed {args.seed}, {ratio:.3g} inter per intra pair"
            )
            if args.save_inter is not None:
                np.savetxt(
                    args.save_inter,
                    inter_pairs.t().numpy(),
                    fmt="%d",
                    header=f"inter pairs {source}",
                )
                source += f", saved to {args.save_inter}"
        report = edge_score(labels, intra_pairs=intra.pairs, inter_pairs=inter_pairs)
        lines.append(
            f"pairs:      {report.n_intra} intra from {args.intra}; {report.n_inter} inter {source}"
        )
        if sample is not None:
            lines.append(f"note:       {SAMPLED_INTER_NOTE}")
    if args.json:
        out = report.as_dict()
        out["edge_minus_trivial"] = report.edge - report.trivial_edge
        out["inter_sample"] = sample
        print(json.dumps(out, indent=2))
    else:
        print("\n".join(lines + [""] + format_report(report)))
    return 0


def format_report(report: EdgeReport) -> list[str]:
    """The EDGE report as aligned text lines."""
    return [
        f"EDGE            {report.edge:.4f}   (F1 of the intra pairs)",
        f"  precision     {report.precision:.4f}",
        f"  recall        {report.recall:.4f}",
        f"inter F1        {report.inter_f1:.4f}   (F1 of the inter pairs)",
        f"balanced F1     {report.balanced_f1:.4f}",
        f"K (clusters)    {report.n_clusters}",
        f"trivial EDGE    {report.trivial_edge:.4f}   (everything in one cluster)",
        f"EDGE - trivial  {report.edge - report.trivial_edge:+.4f}",
    ]


__all__ = ["BY_RATIO", "DEFAULT_INTER_RATIO", "SAMPLED_INTER_NOTE", "format_report", "run"]
