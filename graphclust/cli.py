"""The ``graphclust`` command: ``bench``, ``datasets``, ``evaluate`` and ``fit``.

``graphclust bench`` with no arguments runs the baselines and the toolkit's own graph
methods at a quick setting on embedded data (no download, about two minutes on 2 CPU
cores) and prints a results table.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

DEFAULT_SEEDS = 3


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _add_bench(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="run methods x datasets x seeds and print a results table",
        description="Run every method on every dataset for each seed; one JSON line per run "
        "in OUT/results.jsonl; a rerun skips finished runs.",
    )
    parser.add_argument(
        "--methods",
        default=None,
        help="comma-separated method names, each at its defaults (default: the quick suite: "
        "kmeans, spectral, louvain, and PamC and DAG at a quick setting)",
    )
    parser.add_argument(
        "--datasets",
        default=None,
        help="comma-separated dataset names (default: karate,digits,sbm,lfr)",
    )
    parser.add_argument(
        "--seeds",
        type=int,
        default=DEFAULT_SEEDS,
        help=f"number of seeds 0..S-1 (default: {DEFAULT_SEEDS})",
    )
    parser.add_argument(
        "--config", type=Path, help="YAML suite file (overrides --methods/--datasets/--seeds)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("results"),
        help="output folder for results.jsonl and summary.md (default: results)",
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=None,
        help="data root (default: $GRAPHCLUST_DATA, else ./datasets)",
    )
    parser.add_argument(
        "--metrics",
        default=None,
        help="comma-separated metrics to show (default: acc,nmi,ari,f1,"
        "modularity,edge,edge_trivial,k)",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(handler=_run_bench)


def _run_bench(args: argparse.Namespace) -> int:
    from graphclust.bench.environment import run_context
    from graphclust.bench.runner import run_suite
    from graphclust.bench.suite import QUICK_DATASETS, load_suite, make_suite, quick_suite
    from graphclust.bench.table import (
        DEFAULT_METRICS,
        check_metrics,
        format_report,
        format_table,
        summarize,
    )

    if args.config is not None:
        suite = load_suite(args.config)
    elif args.methods is None:
        datasets = _split(args.datasets) if args.datasets else list(QUICK_DATASETS)
        suite = quick_suite(args.seeds, datasets)
    else:
        datasets = args.datasets or ",".join(QUICK_DATASETS)
        suite = make_suite(_split(args.methods), _split(datasets), args.seeds)
    metrics = check_metrics(_split(args.metrics) if args.metrics else list(DEFAULT_METRICS))
    records = run_suite(suite, args.out, root=args.root, progress=not args.no_progress)
    rows = summarize(records, metrics)
    print(format_table(rows, metrics))
    report = format_report(rows, metrics, run_context(), title=f"Benchmark: {suite.name}")
    (args.out / "summary.md").write_text(report)
    failures = [r for r in records if r.get("status") != "ok"]
    for record in failures:
        print(
            f"FAILED {record['method']} on {record['dataset']} seed {record['seed']}: "
            f"{record.get('error')}",
            file=sys.stderr,
        )
    print(
        f"\n{len(records) - len(failures)} runs ok, {len(failures)} failed; "
        f"records in {args.out / 'results.jsonl'}"
    )
    return 1 if failures else 0


def _add_datasets(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("datasets", help="list datasets and whether each is available")
    parser.add_argument(
        "--root",
        type=Path,
        default=None,
        help="data root (default: $GRAPHCLUST_DATA, else ./datasets)",
    )
    parser.set_defaults(handler=_run_datasets)


def _run_datasets(args: argparse.Namespace) -> int:
    from graphclust.data import data_root, dataset_spec, is_available, list_datasets

    root = data_root(args.root)
    print(f"data root: {root}")
    names = list_datasets()
    width = max(len(name) for name in names)
    for name in names:
        spec = dataset_spec(name)
        status = "available" if is_available(name, root=args.root) else "missing"
        print(f"{name:<{width}}  {status:<9}  {spec.description}")
    return 0


def _add_evaluate(subparsers: argparse._SubParsersAction) -> None:
    from graphclust.bench import evaluate

    parser = subparsers.add_parser(
        "evaluate",
        help="score a partition with EDGE from pair annotations",
        description="Print the EDGE report of a partition: from the graph's labels, or "
        "from files of intra- and inter-community pairs. On an unlabelled graph with "
        "known intra pairs only, --sample-inter draws non-adjacent pairs as inter pairs: "
        "they are not known to be apart, and EDGE then holds at one fixed intra/inter "
        "mix (--inter-ratio, default 1.0), so compare partitions at the same mix only.",
    )
    _evaluate_arguments(parser, evaluate)
    parser.set_defaults(handler=evaluate.run)


def _evaluate_arguments(parser: argparse.ArgumentParser, evaluate: ModuleType) -> None:
    """The ``graphclust evaluate`` options."""
    parser.add_argument(
        "--graph",
        required=True,
        help="a dataset name (see 'graphclust datasets') or an edge-list file "
        "('i j' per line, 0-based)",
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=None,
        help="data root for a dataset name (default: $GRAPHCLUST_DATA)",
    )
    parser.add_argument(
        "--partition",
        type=Path,
        required=True,
        help="partition file: one label per line, or 'node label' per line",
    )
    parser.add_argument(
        "--intra",
        type=Path,
        default=None,
        help="file of pairs known to share a community ('i j' per line)",
    )
    parser.add_argument(
        "--inter", type=Path, default=None, help="file of pairs known to be apart ('i j' per line)"
    )
    parser.add_argument(
        "--sample-inter",
        type=int,
        nargs="?",
        const=evaluate.BY_RATIO,
        default=None,
        metavar="N",
        help="instead of --inter, draw inter pairs uniformly from the node pairs with no "
        "edge between them (and not in --intra): N of them, or without N "
        "--inter-ratio times the number of intra pairs. Caveats: a sampled pair is only "
        "non-adjacent, not known to be apart, and EDGE (and its trivial score) depends "
        "on the intra/inter mix, so it compares partitions only at one fixed mix",
    )
    parser.add_argument(
        "--inter-ratio",
        type=float,
        default=None,
        metavar="R",
        help="with --sample-inter and no N: sample R inter pairs per distinct intra pair "
        f"(default: {evaluate.DEFAULT_INTER_RATIO}, as many inter as intra pairs)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of --sample-inter (default: 0)")
    parser.add_argument(
        "--save-inter", type=Path, default=None, help="write the sampled inter pairs to this file"
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def _add_fit(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "fit",
        help="fit one method on one graph and write labels, embeddings, record, plots",
        description="Fit one registered method once, on a catalog dataset or a graph file, "
        "and write OUT/labels.txt, OUT/embeddings.npy (when the method has embeddings), "
        "OUT/record.json (configuration, versions, seed, time, peak memory, scores) and, "
        "with --plot, PNG figures. Labels, when the graph has them, only score the result.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--dataset", help="catalog dataset name (see `graphclust datasets`)")
    source.add_argument(
        "--graph",
        type=Path,
        help="graph file: .gml, .npz (gnn-benchmark/NOCD layout), else an edge list; or a "
        "folder written by graphclust.data.memmap.save_memmap (mapped, shared by processes)",
    )
    parser.add_argument("--method", required=True, help="registered method name, e.g. kmeans, dag")
    parser.add_argument(
        "--set",
        dest="params",
        action="append",
        metavar="NAME=VALUE",
        help="method parameter, value parsed as YAML (e.g. n_clusters=7, hidden=[64,32]); "
        "repeatable",
    )
    parser.add_argument(
        "--dataset-set",
        dest="dataset_params",
        action="append",
        metavar="NAME=VALUE",
        help="dataset parameter for --dataset (e.g. n_nodes=500 for sbm); repeatable",
    )
    parser.add_argument(
        "--labels", type=Path, help="labels file for an edge-list --graph (scoring only)"
    )
    parser.add_argument(
        "--label-attr", help="node attribute with the ground truth in a .gml --graph (scoring only)"
    )
    parser.add_argument(
        "--feature-kind",
        help="features for a --graph: identity, degree, laplacian, randomwalk, attributes "
        "(default: the file's, else placeholders with a warning)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output folder (default: results/fit/METHOD-DATASET)",
    )
    parser.add_argument("--plot", action="store_true", help="also write the figures as PNG")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument(
        "--device", default=None, help="cpu, cuda, cuda:I or auto (default: the method's)"
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=None,
        help="data root (default: $GRAPHCLUST_DATA, else ./datasets)",
    )
    parser.add_argument(
        "--traceback",
        action="store_true",
        help="show the full traceback when the fit itself fails (for bug reports)",
    )
    parser.add_argument(
        "--nproc-per-node",
        type=int,
        default=1,
        help="train data-parallel in N processes on this machine, launched with torchrun "
        "(gloo on CPUs, nccl on GPUs; methods with a 'distributed' parameter; rank 0 "
        "writes the outputs; default: 1)",
    )
    parser.set_defaults(handler=_run_fit)


def _run_fit(args: argparse.Namespace) -> int:
    from graphclust.bench.fit import (
        FitConfig,
        format_summary,
        launch,
        parse_assignments,
        run_fit,
    )
    from graphclust.utils.distributed import launched_by_torchrun, shutdown

    if args.nproc_per_node != 1 and not launched_by_torchrun():
        return launch(args.argv, args.method, args.nproc_per_node)

    config = FitConfig(
        method=args.method,
        dataset=args.dataset,
        graph=args.graph,
        labels=args.labels,
        label_attr=args.label_attr,
        feature_kind=args.feature_kind,
        params=parse_assignments(args.params, "--set"),
        dataset_params=parse_assignments(args.dataset_params, "--dataset-set"),
        out=args.out,
        plot=args.plot,
        seed=args.seed,
        device=args.device,
        root=args.root,
    )
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning  # one line per warning, not source lines
            record = run_fit(config)
    except _CLI_ERRORS:
        raise
    except Exception as err:  # a failing fit is one line unless asked otherwise
        if args.traceback:
            raise
        raise _FitFailed(f"{type(err).__name__}: {err} (rerun with --traceback)") from err
    finally:
        shutdown()  # leave the process group, if torchrun started one
    if record["out"] is not None:  # rank 0 (or the only process)
        print(format_summary(record))
    return 0


def _show_warning(message: Warning | str, *args: object, **kw: object) -> None:
    if os.environ.get("RANK", "0") != "0":  # under torchrun, rank 0 speaks for all
        return
    print(f"graphclust fit: warning: {message}", file=sys.stderr)


class _FitFailed(RuntimeError):
    """The fit itself raised; its message is already one line."""


#: Errors whose message is for the user: printed as one line, exit status 2.
_CLI_ERRORS = (ValueError, FileNotFoundError, KeyError, TypeError, OSError)


def _version() -> str:
    from graphclust import __version__

    return f"graphclust {__version__}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="graphclust", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=_version())
    subparsers = parser.add_subparsers(dest="command", required=True)
    _add_bench(subparsers)
    _add_datasets(subparsers)
    _add_evaluate(subparsers)
    _add_fit(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv = argv  # for re-running the same command under torchrun
    try:
        return args.handler(args)
    except (*_CLI_ERRORS, _FitFailed) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        if isinstance(err, OSError) and err.strerror and err.filename:
            message = f"{err.strerror}: {err.filename}"
        print(f"graphclust {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
