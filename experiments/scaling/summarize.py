"""Table, growth orders and log-log figure from growth.py's JSON lines.

Usage (from the repository root)::

    MPLBACKEND=Agg python experiments/scaling/summarize.py experiments/scaling/results_cpu.jsonl

Writes ``<stem>.md`` and ``<stem>.png`` beside the first input (further inputs: runs
at other sizes, merged into the same table). Growth order: the slope of
log(time per epoch, or per fit) and of log(memory added by the fit,
``peak_rss_mb - rss_before_fit_mb``) against log(edges), least squares over the sizes
with N >= 10,000 (at 1,000 nodes fixed costs dominate); "n/a" below 2 such sizes.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

MIN_N_FOR_SLOPE = 10_000


def slope(xs: list[float], ys: list[float]) -> float | None:
    pts = [(x, y) for x, y in zip(xs, ys, strict=True) if x > 0 and y and y > 0]
    if len(pts) < 2:
        return None
    x, y = np.log10(np.array(pts)).T
    return float(np.polyfit(x, y, 1)[0])


def _fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}g}"


def summarize(path: Path, *more: Path) -> tuple[Path, Path]:
    """Tables and figure from ``path`` (and further runs ``more``, e.g. larger sizes run
    separately), written beside ``path``."""
    rows = []
    for file in (path, *more):
        rows += [json.loads(line) for line in file.read_text().splitlines() if line.strip()]
    headers = [r for r in rows if r.get("kind") == "header"]
    header = headers[0]
    # One row per (method, N): a measured fit wins over a skip of another run.
    chosen: dict[tuple, dict] = {}
    for r in (r for r in rows if r.get("kind") == "fit"):
        key = (r["method"], r["n"])
        if key not in chosen or ("fit_s" in r and "fit_s" not in chosen[key]):
            chosen[key] = r
    fits = list(chosen.values())
    by_method: dict[str, list[dict]] = defaultdict(list)
    for r in fits:
        by_method[r["method"]].append(r)
    lines = [
        f"# Growth with graph size ({header.get('device', 'cpu')})",
        "",
        *[f"Command: `{h.get('command')}`, {h.get('date')}." for h in headers],
        f"Machine: {json.dumps(header.get('machine'))}; versions: "
        f"{json.dumps(header.get('versions'))}.",
        "One subprocess per fit, one thread. Times are wall-clock on a shared 2-core machine "
        "(other jobs running): inflated and noisy; `cpu s` is the process CPU time.",
        "",
        "| method | N | edges | s / epoch (or fit) | cpu s | fit s | peak RSS MB | added by fit MB "
        "| processes | note |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    orders = []
    for method, rs in by_method.items():
        for r in sorted(rs, key=lambda r: r["n"]):
            if "fit_s" not in r:
                error = r.get("error", "")[-120:].replace("\n", " ")
                note = r.get("skipped") or f"error: {error}"
                if "> -" in note:  # runs before the fix: the budget was already spent
                    note = "run budget spent (" + note.split(" >")[0] + ")"
                lines.append(
                    f"| {method} | {r['n']:,} | | | | | | | {r.get('processes', 1)} | {note} |"
                )
                continue
            per_epoch = r.get("epoch_s") is not None
            cpu = r.get("epoch_cpu_s") if per_epoch else r.get("fit_cpu_s")
            cuda = f", CUDA peak {r['cuda_peak_mb']:.0f} MB" if "cuda_peak_mb" in r else ""
            note = f"{r['epochs']} epochs" if per_epoch else "whole fit"
            lines.append(
                f"| {method} | {r['n']:,} | {r['edges']:,} | {_fmt(r['unit_s'])} | {_fmt(cpu)} "
                f"| {_fmt(r['fit_s'])} | {r['peak_rss_mb']:.0f} | {r['fit_extra_mb']:.0f} "
                f"| {r.get('processes', 1)} | {note}{cuda} |"
            )
        done = [r for r in rs if "fit_s" in r and r["n"] >= MIN_N_FOR_SLOPE]
        edges = [r["edges"] for r in done]
        orders.append(
            (
                method,
                [r["n"] for r in done],
                slope(edges, [r["unit_s"] for r in done]),
                slope(edges, [r.get("epoch_cpu_s") or r["fit_cpu_s"] for r in done]),
                slope(edges, [r["fit_extra_mb"] for r in done]),
            )
        )
    lines += [
        "",
        f"Growth order (slope of log-log against edges, sizes N >= {MIN_N_FOR_SLOPE:,}; 1 = "
        "linear in edges):",
        "",
        "| method | sizes used | time (wall) | time (cpu) | memory added by the fit |",
        "|---|---|---|---|---|",
    ]
    for method, ns, t_wall, t_cpu, mem in orders:
        used = ", ".join(f"{n:,}" for n in ns) or "none"
        cells = [method, used, _fmt(t_wall, 2), _fmt(t_cpu, 2), _fmt(mem, 2)]
        lines.append("| " + " | ".join(cells) + " |")
    md = path.with_suffix(".md")
    md.write_text("\n".join(lines) + "\n")
    png = path.with_suffix(".png")
    plot(by_method, png, header)
    return md, png


def plot(by_method: dict[str, list[dict]], out: Path, header: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(11, 4.2))
    for method, rs in by_method.items():
        done = sorted((r for r in rs if "fit_s" in r), key=lambda r: r["edges"])
        if not done:
            continue
        edges = [r["edges"] for r in done]
        ax_t.plot(edges, [r["unit_s"] for r in done], "o-", label=method)
        ax_m.plot(edges, [max(r["fit_extra_mb"], 0.1) for r in done], "o-", label=method)
    ref = np.array([5e3, 5e6])
    for ax, y0 in ((ax_t, 1e-2), (ax_m, 1.0)):
        ax.plot(ref, y0 * ref / ref[0], "k:", lw=1, label="slope 1 (linear)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("edges (SBM, mean degree ~10)")
        ax.grid(True, which="both", alpha=0.3)
    ax_t.set_ylabel("seconds per epoch (per fit without epochs)")
    ax_m.set_ylabel("MB added to RSS by the fit (peak - before)")
    ax_t.legend(fontsize=7)
    device, date = header.get("device", "cpu"), header.get("date")
    fig.suptitle(f"graphclust growth, {device}, 1 thread, {date}")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    print(*summarize(*map(Path, sys.argv[1:])))
