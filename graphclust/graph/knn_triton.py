"""Exact k-nearest-neighbour search as one tiled Triton kernel (faiss-style).

The plain torch path writes every ``chunk x N`` score block to memory and runs
``torch.topk`` over whole rows, which is memory-bound on a GPU. Here each program
owns a tile of ``BLOCK_Q`` queries and sweeps the database in tiles of ``BLOCK_N``
points: scores come from ``tl.dot`` and are merged at once into a running top-k
held in registers ([BLOCK_Q, KP]), so no score row ever reaches global memory.

Merge rule (exact): a tile's best remaining score per row is inserted in place of the
row's current worst kept score while it is strictly better, then removed from the
tile; a row stops when its tile maximum no longer beats its k-th best. After the
first tiles almost nothing beats the k-th best, so most tiles cost one row-maximum.

Triton is imported lazily: this module can be imported without it. With
``TRITON_INTERPRET=1`` the kernel runs in Triton's CPU interpreter on CPU tensors
(slow; for tests).
"""

from __future__ import annotations

import importlib.util
import os
import types
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    import triton.language as tl

#: Largest k the in-register top-k supports; larger k should use the torch path.
MAX_K = 32
DTYPES = (torch.float32, torch.bfloat16, torch.float16)
PRECISIONS = ("ieee", "tf32x3", "tf32")
#: Tile configurations (BLOCK_Q, BLOCK_N, num_warps, num_stages) the compiled kernel
#: autotunes over, once per (D, k, metric, dtype, precision), per kernel family:
#: "mma" tensor cores with the query tile in registers (D <= 128), "mma_chunked"
#: tensor cores over 32-column chunks (D > 128), "ieee" exact float32 FMA products over
#: 16-column chunks. Chosen so that sm_90 builds stay (nearly) free of register spills;
#: "mma" from a sweep on an H200 at N = 300k, d = 128 (experiments/knn/README.md).
FAMILY_CONFIGS = {
    "mma": ((64, 64, 4, 2), (64, 128, 4, 2), (128, 64, 8, 3)),
    "mma_chunked": ((64, 128, 8, 3), (64, 64, 4, 3)),
    "ieee": ((64, 64, 4, 2), (128, 64, 8, 2)),
}
#: Tiles for the CPU interpreter: tl.dot needs every dimension >= 16.
_INTERPRET_BLOCK = 16


def triton_available() -> bool:
    """True when the ``triton`` package can be imported."""
    return importlib.util.find_spec("triton") is not None


def interpreting() -> bool:
    """True when Triton kernels run in the CPU interpreter (``TRITON_INTERPRET=1``)."""
    return os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")


# Kernel bodies: plain functions, decorated per mode by _build_kernels.


def _merge_tile(s, cols, top_v, top_i, KP: tl.constexpr):
    # s [BQ, BN]: tile scores, -inf where masked; cols [BN]: database ids;
    # top_v/top_i [BQ, KP]: kept scores/ids, padded slots hold +inf (never worst).
    slots = tl.arange(0, KP)
    m = tl.max(s, axis=1)
    thr = tl.min(top_v, axis=1)
    while tl.max((m > thr).to(tl.int32), axis=0) > 0:
        upd = m > thr
        col = tl.min(tl.where(s == m[:, None], cols[None, :], 2147483647), axis=1)
        slot = tl.min(tl.where(top_v == thr[:, None], slots[None, :], KP), axis=1)
        hit = upd[:, None] & (slots[None, :] == slot[:, None])
        top_v = tl.where(hit, m[:, None], top_v)
        top_i = tl.where(hit, col[:, None], top_i)
        s = tl.where(upd[:, None] & (cols[None, :] == col[:, None]), -float("inf"), s)
        m = tl.max(s, axis=1)
        thr = tl.min(top_v, axis=1)
    return top_v, top_i


def _dot(a, b, acc, PRECISION: tl.constexpr, INTERPRETED: tl.constexpr):
    # acc + a @ b in float32. The interpreter (triton 3.6) multiplies bfloat16 operands
    # wrongly; their float32 copies give the same exact products.
    if INTERPRETED:
        a = a.to(tl.float32)
        b = b.to(tl.float32)
    return tl.dot(a, b, acc, input_precision=PRECISION, out_dtype=tl.float32)


def _sweep_tile(
    x_ptr, sqn_ptr, q_tile, q_row, q_ok, gq, top_v, top_i, n0, N, stride_x,
    D: tl.constexpr, KP: tl.constexpr, EUCLID: tl.constexpr, PRECISION: tl.constexpr,
    BLOCK_D: tl.constexpr, BLOCK_Q: tl.constexpr, BLOCK_N: tl.constexpr,
    INTERPRETED: tl.constexpr,
):  # fmt: skip
    # Scores of the query tile against database rows n0 .. n0 + BLOCK_N, merged.
    dk = tl.arange(0, BLOCK_D)
    cols = n0 + tl.arange(0, BLOCK_N)
    c_ok = cols < N
    c_row = cols.to(tl.int64) * stride_x
    if D <= BLOCK_D:
        db = tl.load(
            x_ptr + c_row[None, :] + dk[:, None],
            mask=c_ok[None, :] & (dk[:, None] < D),
            other=0.0,
        )
        acc = _dot(q_tile, db, tl.zeros([BLOCK_Q, BLOCK_N], tl.float32), PRECISION, INTERPRETED)
    else:
        acc = tl.zeros([BLOCK_Q, BLOCK_N], tl.float32)
        for d0 in range(0, D, BLOCK_D):
            d_ok = (d0 + dk) < D
            q = tl.load(
                x_ptr + q_row[:, None] + (d0 + dk)[None, :],
                mask=q_ok[:, None] & d_ok[None, :],
                other=0.0,
            )
            db = tl.load(
                x_ptr + c_row[None, :] + (d0 + dk)[:, None],
                mask=c_ok[None, :] & d_ok[:, None],
                other=0.0,
            )
            acc = _dot(q, db, acc, PRECISION, INTERPRETED)
    if EUCLID:
        # -|d|^2 + 2 q.d ranks like -|q - d|^2; |q|^2 is added back on the host.
        sqn = tl.load(sqn_ptr + cols, mask=c_ok, other=0.0)
        s = 2.0 * acc - sqn[None, :]
    else:
        s = acc
    s = tl.where(c_ok[None, :] & (cols[None, :] != gq[:, None]), s, -float("inf"))
    return _merge_tile(s, cols, top_v, top_i, KP)


def knn_tile_kernel(
    x_ptr,  # [N, D] row-major database (queries are rows of it too)
    sqn_ptr,  # [N] float32 squared norms (read for euclidean only)
    out_v_ptr,  # [n_queries, KP] float32 kept scores
    out_i_ptr,  # [n_queries, KP] int32 kept ids
    N,
    q_start,
    n_queries,
    stride_x,
    D: tl.constexpr,
    K: tl.constexpr,
    KP: tl.constexpr,
    EUCLID: tl.constexpr,
    PRECISION: tl.constexpr,
    BLOCK_D: tl.constexpr,
    BLOCK_Q: tl.constexpr,
    BLOCK_N: tl.constexpr,
    INTERPRETED: tl.constexpr,
):
    pid = tl.program_id(0)
    rq = pid * BLOCK_Q + tl.arange(0, BLOCK_Q)
    q_ok = rq < n_queries
    gq = q_start + rq  # global query ids, for self-exclusion
    q_row = gq.to(tl.int64) * stride_x
    dk = tl.arange(0, BLOCK_D)
    slots = tl.arange(0, KP)
    top_v = tl.where(slots[None, :] < K, -float("inf"), float("inf")) + tl.zeros(
        [BLOCK_Q, KP], tl.float32
    )
    top_i = tl.zeros([BLOCK_Q, KP], tl.int32)
    q_tile = 0.0
    if D <= BLOCK_D:  # the whole query tile stays in registers for the sweep
        q_tile = tl.load(
            x_ptr + q_row[:, None] + dk[None, :],
            mask=q_ok[:, None] & (dk[None, :] < D),
            other=0.0,
        )
    if INTERPRETED:
        # The interpreter (numpy >= 2.4) cannot range() over a runtime int argument.
        n0 = 0
        while n0 < N:
            top_v, top_i = _sweep_tile(
                x_ptr,
                sqn_ptr,
                q_tile,
                q_row,
                q_ok,
                gq,
                top_v,
                top_i,
                n0,
                N,
                stride_x,
                D,
                KP,
                EUCLID,
                PRECISION,
                BLOCK_D,
                BLOCK_Q,
                BLOCK_N,
                INTERPRETED,
            )
            n0 += BLOCK_N
    else:
        for n0 in range(0, N, BLOCK_N):
            top_v, top_i = _sweep_tile(
                x_ptr,
                sqn_ptr,
                q_tile,
                q_row,
                q_ok,
                gq,
                top_v,
                top_i,
                n0,
                N,
                stride_x,
                D,
                KP,
                EUCLID,
                PRECISION,
                BLOCK_D,
                BLOCK_Q,
                BLOCK_N,
                INTERPRETED,
            )
    out = rq.to(tl.int64)[:, None] * KP + slots[None, :]
    keep = q_ok[:, None] & (slots[None, :] < K)
    tl.store(out_v_ptr + out, top_v, mask=keep)
    tl.store(out_i_ptr + out, top_i, mask=keep)


def _kernels(interpret: bool) -> tuple[object, dict[str, object]]:
    """(plain kernel, {family: autotuned kernel}) for the given mode, built on first use."""
    if interpret not in _BUILT:
        _BUILT[interpret] = _build_kernels(interpret)
    return _BUILT[interpret]


_BUILT: dict[bool, tuple[object, dict[str, object]]] = {}


def _build_kernels(interpret: bool) -> tuple[object, dict[str, object]]:
    # triton.jit reads TRITON_INTERPRET when it decorates, and kernels find their helpers
    # through their globals: each mode gets its own namespace with decorated copies.
    import triton
    import triton.language as tl

    namespace: dict[str, object] = {"tl": tl, "triton": triton, "__name__": __name__}
    for fn in (_dot, _merge_tile, _sweep_tile, knn_tile_kernel):
        clone = types.FunctionType(fn.__code__, namespace, fn.__name__, fn.__defaults__)
        clone.__annotations__ = fn.__annotations__
        clone.__module__ = __name__
        namespace[fn.__name__] = triton.jit(clone)
    knn_tile_kernel_jit = namespace["knn_tile_kernel"]
    if interpret:
        return knn_tile_kernel_jit, {}
    key = ["D", "K", "EUCLID", "PRECISION", "BLOCK_D"]
    tuned = {
        family: triton.autotune(
            configs=[
                triton.Config({"BLOCK_Q": bq, "BLOCK_N": bn}, num_warps=w, num_stages=st)
                for bq, bn, w, st in configs
            ],
            key=key,
        )(knn_tile_kernel_jit)
        for family, configs in FAMILY_CONFIGS.items()
    }
    return knn_tile_kernel_jit, tuned


def kernel_family(d: int, dtype: torch.dtype, precision: str) -> tuple[str, int]:
    """Kernel family and BLOCK_D for rows of width ``d`` (see FAMILY_CONFIGS)."""
    if dtype == torch.float32 and precision == "ieee":
        return "ieee", 16
    if d <= 128:
        return "mma", max(16, 1 << (d - 1).bit_length())
    return "mma_chunked", 32


def chosen_config(d: int, dtype: torch.dtype, precision: str) -> str | None:
    """The tile configuration the autotuner last picked for this family (benchmarks)."""
    tuned = _BUILT.get(False, (None, {}))[1].get(kernel_family(d, dtype, precision)[0])
    best = getattr(tuned, "best_config", None)
    return None if best is None else str(best)


def check_triton_inputs(x: torch.Tensor, k: int, precision: str) -> None:
    """Raise a clear error when the Triton kernel cannot serve this call."""
    if not triton_available():
        raise ImportError(
            "backend='triton' needs the triton package (pip install triton; it ships with "
            "CUDA builds of torch), or use backend='torch'"
        )
    if k > MAX_K:
        raise ValueError(
            f"backend='triton' keeps the top-k in registers and supports k <= {MAX_K}, "
            f"got k={k}; use backend='torch' for larger k"
        )
    if x.dtype not in DTYPES:
        raise TypeError(
            f"backend='triton' supports {[str(d) for d in DTYPES]}, got {x.dtype}; "
            "convert x or use backend='torch'"
        )
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if x.device.type != "cuda" and not interpreting():
        raise ValueError(
            f"backend='triton' needs x on a CUDA device, got {x.device}; use backend='torch' "
            "(or set TRITON_INTERPRET=1 to run the kernel slowly in Triton's CPU interpreter)"
        )


def prepare(x: torch.Tensor, metric: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Database in the compute dtype and its float32 squared norms.

    Returns ``(base [N, D], sq_norms [N])``: for cosine, rows normalised in float32
    (zero rows stay zero) and cast back to ``x.dtype``; norms are of ``base``.
    """
    base = x
    if metric == "cosine":
        base = torch.nn.functional.normalize(x.float(), dim=1).to(x.dtype)
    base = base.contiguous()
    sq_norms = base.float().pow(2).sum(dim=1)
    return base, sq_norms


def candidates(
    x: torch.Tensor,
    k: int,
    metric: str,
    precision: str = "ieee",
    queries: tuple[int, int] | None = None,
    prepared: tuple[torch.Tensor, torch.Tensor] | None = None,
    config: tuple[int, int, int, int] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The kernel's k best rows per query and their scores, best first.

    Args:
        x: [N, D] float32, bfloat16 or float16 on CUDA (CPU under TRITON_INTERPRET=1).
        k: neighbours, ``1 <= k <= MAX_K`` and ``k < N`` (checked by the caller).
        metric: ``"cosine"`` or ``"euclidean"``.
        precision: float32 only: ``"ieee"`` (exact float32 products), ``"tf32x3"``
            (three TF32 tensor-core passes, close to float32) or ``"tf32"`` (one pass,
            about 3 decimal digits; near-ties may flip).
        queries: ``(start, stop)`` rows to search for; default all rows.
        prepared: output of :func:`prepare` to reuse across calls (benchmarks).
        config: ``(BLOCK_Q, BLOCK_N, num_warps, num_stages)`` instead of autotuning
            (benchmarks); ignored by the interpreter.

    Returns:
        ``(indices long [Q, k], scores float32 [Q, k])``, self excluded; the score is
        ``q.d`` of the prepared rows (cosine) or ``2 q.d - |d|^2`` (euclidean).
    """
    check_triton_inputs(x, k, precision)
    n, d = x.shape
    start, stop = queries if queries is not None else (0, n)
    n_queries = stop - start
    base, sq_norms = prepared if prepared is not None else prepare(x, metric)
    kp = max(16, 1 << (k - 1).bit_length())
    out_v = torch.empty(n_queries, kp, device=x.device, dtype=torch.float32)
    out_i = torch.empty(n_queries, kp, device=x.device, dtype=torch.int32)
    interpret = interpreting()
    plain, tuned = _kernels(interpret)
    family, block_d = kernel_family(d, base.dtype, precision)
    args = (base, sq_norms, out_v, out_i, n, start, n_queries, base.stride(0))
    meta = {
        "D": d,
        "K": k,
        "KP": kp,
        "EUCLID": metric == "euclidean",
        # The input precision only matters for float32 operands.
        "PRECISION": precision if base.dtype == torch.float32 else "tf32",
        "BLOCK_D": _INTERPRET_BLOCK if interpret else block_d,
        "INTERPRETED": interpret,
    }
    if interpret:
        block = _INTERPRET_BLOCK
        plain[(triton_cdiv(n_queries, block),)](*args, **meta, BLOCK_Q=block, BLOCK_N=block)
    elif config is not None:
        bq, bn, warps, stages = config
        grid = (triton_cdiv(n_queries, bq),)
        plain[grid](*args, **meta, BLOCK_Q=bq, BLOCK_N=bn, num_warps=warps, num_stages=stages)
    else:
        tuned[family][lambda cfg: (triton_cdiv(n_queries, cfg["BLOCK_Q"]),)](*args, **meta)
    score, order = out_v[:, :k].sort(dim=1, descending=True)
    return out_i[:, :k].gather(1, order).long(), score


def topk_triton(
    x: torch.Tensor,
    k: int,
    metric: str,
    precision: str = "ieee",
    queries: tuple[int, int] | None = None,
    prepared: tuple[torch.Tensor, torch.Tensor] | None = None,
    config: tuple[int, int, int, int] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Nearest other rows of ``x`` for a range of query rows (see :func:`candidates`).

    Returns:
        ``(indices long [Q, k], distances [Q, k] in x.dtype)``, nearest first, self
        excluded; distances as in the torch path (``1 - cos`` or Euclidean).
    """
    n = x.size(0)
    start, stop = queries if queries is not None else (0, n)
    prepared = prepared if prepared is not None else prepare(x, metric)
    idx, score = candidates(x, k, metric, precision, (start, stop), prepared, config)
    return idx, scores_to_distances(score, prepared[1][start:stop], metric).to(x.dtype)


def scores_to_distances(score: torch.Tensor, q_sq_norms: torch.Tensor, metric: str) -> torch.Tensor:
    """Kernel scores [Q, k] to distances; ``q_sq_norms`` [Q] are the queries' |q|^2."""
    if metric == "cosine":
        return 1.0 - score
    return (q_sq_norms[:, None] - score).clamp_min(0).sqrt()


def triton_cdiv(a: int, b: int) -> int:
    """Ceiling division (grid size)."""
    return -(-a // b)
