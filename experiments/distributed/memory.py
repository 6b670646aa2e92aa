"""Memory per process of PamC mini-batch on an SBM: in-memory graph vs memory-mapped graph.

The SBM (``graphclust.data.synthetic.load_sbm``) is written once with
``graphclust.data.memmap.save_memmap``; then, for each process count, the worker runs
under ``torchrun --standalone`` (gloo, CPU, one thread) and either maps the folder
(``load_memmap``: every process maps the same files, the page cache holds them once) or
reads it into its own memory (``load_memmap(mmap=False)``: one private copy per
process, as any other loader gives), and fits PamC mini-batch for a short run.

A sampler thread reads ``/proc/self/smaps_rollup`` every 50 ms and keeps the peaks of
RSS (resident pages, shared ones counted in full), PSS (shared pages divided between
the processes mapping them), USS (private pages only: what the process alone holds) and
anonymous memory (pages not backed by a file: what the kernel cannot drop and re-read).
A file page mapped by one process only counts as private, so with one process the
mapped graph is in its USS too; it leaves USS once a second process maps it, and it
never counts as anonymous. The kernel's own RSS high-water mark (``VmHWM``) is recorded
too. Baseline = after
importing torch and graphclust, before loading the graph.

    OMP_NUM_THREADS=1 python experiments/distributed/memory.py --nodes 200000,1000000

Appends to memory.jsonl and rewrites memory.md next to this file (or --out).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
K = 8
FIELDS = ("Rss", "Pss", "Private_Clean", "Private_Dirty", "Anonymous")


def memory_mb() -> dict[str, float]:
    """RSS, PSS, USS and anonymous memory of this process in MiB (smaps_rollup)."""
    values = {}
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in FIELDS:
            values[name] = int(rest.split()[0]) / 1024
    uss = values["Private_Clean"] + values["Private_Dirty"]
    return {"rss": values["Rss"], "pss": values["Pss"], "uss": uss, "anon": values["Anonymous"]}


class PeakSampler(threading.Thread):
    """Keeps the peak of each of :func:`memory_mb`'s values while it runs."""

    def __init__(self, every_s: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.every_s = every_s
        self.peak = memory_mb()
        self.running = True

    def run(self) -> None:
        while self.running:
            now = memory_mb()
            self.peak = {k: max(v, now[k]) for k, v in self.peak.items()}
            time.sleep(self.every_s)

    def stop(self) -> dict[str, float]:
        self.running = False
        self.join()
        now = memory_mb()
        return {k: max(v, now[k]) for k, v in self.peak.items()}


def _hwm_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _model():
    from graphclust.methods.pamc import PamC

    params = dict(
        hidden=(64,), latent_dim=10, pretrain_epochs=1, pretrain_batch_size=4096, epochs=1
    )
    return PamC(n_clusters=K, **params, batch_size=8192, n_init=1, eval_every=1, device="cpu")


def worker(folder: Path, mode: str) -> None:
    import torch

    from graphclust.data.memmap import load_memmap
    from graphclust.utils.distributed import init_from_env, resolve_group, shutdown

    torch.set_num_threads(1)
    init_from_env()
    group = resolve_group(None)
    base = memory_mb()
    sampler = PeakSampler()
    sampler.start()
    start = time.perf_counter()
    data = load_memmap(folder, mmap=mode == "memmap")
    loaded = memory_mb()
    model = _model().fit(data)
    peak = sampler.stop()
    rank = 0 if group is None else torch.distributed.get_rank(group)
    row = {
        "rank": rank,
        "mode": mode,
        "base": base,
        "after_load": loaded,
        "peak": peak,
        "vm_hwm_mb": _hwm_mb(),
        "fit_s": round(time.perf_counter() - start, 1),
        "final_loss": model.history_["loss"][-1],
    }
    print("RESULT " + json.dumps(row), flush=True)
    shutdown()


def prepare(nodes: int, features: int, degree: float, cache: Path) -> tuple[Path, dict]:
    """The SBM's memmap folder (written once) and its description."""
    from graphclust.data.memmap import load_memmap, save_memmap
    from graphclust.data.synthetic import load_sbm

    folder = cache / f"sbm-n{nodes}-d{features}-deg{degree:g}"
    if not (folder / "meta.json").exists():
        # Expected degree (N/K) p_in + N (K-1)/K p_out, 80% of it inside the blocks.
        p_in, p_out = 0.8 * degree * K / nodes, 0.2 * degree * K / ((K - 1) * nodes)
        graph = load_sbm(nodes, K, p_in, p_out, feature_dim=features, seed=0)
        save_memmap(graph, folder, overwrite=True)
        del graph
    data = load_memmap(folder)
    edges = int(data.edge_index.size(1))
    mib = (data.x.numel() * 4 + edges * 16 + nodes * 8) / 2**20
    what = {
        "graph": f"SBM N={nodes}, K={K}, x [N, {features}], {edges // 2} undirected edges",
        "graph_files_mb": round(mib, 1),
    }
    return folder, what


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", default="200000,1000000", help="graph sizes to measure")
    parser.add_argument("--features", type=int, default=64)
    parser.add_argument("--degree", type=float, default=10.0, help="expected mean degree")
    parser.add_argument("--nproc", default="1,2")
    parser.add_argument("--modes", default="memory,memmap")
    parser.add_argument("--cache", type=Path, default=None, help="where the SBM folders go")
    parser.add_argument("--out", type=Path, default=HERE)
    parser.add_argument("--worker", nargs=2, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(Path(args.worker[0]), args.worker[1])
        return

    from graphclust.bench.environment import run_context

    cache = args.cache or Path(os.environ.get("GRAPHCLUST_CACHE", HERE / ".cache")) / "memmap"
    context = run_context()
    rows = []
    for nodes in (int(n) for n in args.nodes.split(",")):
        folder, what = prepare(nodes, args.features, args.degree, cache)
        for mode in args.modes.split(","):
            for nproc in (int(n) for n in args.nproc.split(",")):
                cmd = [
                    sys.executable, "-m", "torch.distributed.run", "--standalone",
                    f"--nproc-per-node={nproc}", str(Path(__file__).resolve()),
                    "--worker", str(folder), mode,
                ]  # fmt: skip
                env = {**os.environ, "OMP_NUM_THREADS": "1"}
                done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
                lines = done.stdout.splitlines()
                found = [json.loads(ln[7:]) for ln in lines if ln.startswith("RESULT ")]
                if done.returncode or len(found) != nproc:
                    raise SystemExit(f"{mode} x{nproc} failed:\n{done.stderr[-3000:]}")
                for rank_row in sorted(found, key=lambda r: r["rank"]):
                    rows.append({**what, **rank_row, "nodes": nodes, "nproc": nproc})
                peaks = [f"{r['peak']['uss']:.0f}" for r in found]
                print(f"N={nodes} {mode} x{nproc}: peak USS MiB per rank {peaks}", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "memory.jsonl", "a") as f:
        for row in rows:
            f.write(json.dumps({**row, **context}) + "\n")
    write_table(args.out)


def write_table(out: Path) -> None:
    """memory.md from the runs in memory.jsonl: per-rank peaks, memmap against memory."""
    rows = [json.loads(line) for line in (out / "memory.jsonl").read_text().splitlines()]
    first = rows[0]
    lines = [
        "# Memory per process, PamC mini-batch: in-memory graph vs memory-mapped graph",
        "",
        "Written by `experiments/distributed/memory.py` from memory.jsonl (each line holds",
        "the command, versions and machine). Peaks in MiB over load + fit, sampled every 50",
        "ms from /proc/self/smaps_rollup: RSS counts shared pages in full, PSS divides them",
        "between the processes that map them, USS counts private pages only, anon the pages",
        "backed by no file (a mapped graph is never anonymous; with one process its pages are",
        "private, so they leave USS only when a second process maps them). `base`: the",
        "process after importing torch and graphclust, before loading the graph. The ratio",
        "columns are memmap / memory of the same graph, process count and rank. PamC: MLP",
        "64-10, batch 8192, 1 pre-training epoch (batch 4096), 1 epoch, gloo, 1 thread per",
        "process.",
        "",
        f"Last command: `{first['command']}`; machine: {first['machine']}; versions: "
        f"{first['versions']}.",
        "",
        "| date (UTC) | graph | graph files MiB | processes | rank | mode | base USS "
        "| peak RSS | peak PSS | peak USS | peak anon | VmHWM | RSS ratio | PSS ratio "
        "| USS ratio | anon ratio |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        ref = [
            r
            for r in rows
            if r["mode"] == "memory"
            and (r["graph"], r["nproc"], r["rank"], r["date"]) == (
                row["graph"], row["nproc"], row["rank"], row["date"]
            )
        ]  # fmt: skip
        peak = row["peak"]
        ratios = (
            [f"{peak[k] / ref[-1]['peak'][k]:.2f}" for k in ("rss", "pss", "uss", "anon")]
            if ref
            else ["-"] * 4
        )
        lines.append(
            f"| {row['date']} | {row['graph']} | {row['graph_files_mb']:.0f} | {row['nproc']} "
            f"| {row['rank']} | {row['mode']} | {row['base']['uss']:.0f} | {peak['rss']:.0f} "
            f"| {peak['pss']:.0f} | {peak['uss']:.0f} | {peak['anon']:.0f} "
            f"| {row['vm_hwm_mb']:.0f} | " + " | ".join(ratios) + " |"
        )
    (out / "memory.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
