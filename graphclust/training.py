"""Training-loop helpers shared by the image and video estimators (SwAV, SIGMA).

Small pieces, no framework:

- :class:`Checkpointer`: saves the whole training state (modules, optimiser, scheduler,
  random-number generators, history, epoch) atomically at the end of every ``every``
  epochs and restores it, so an interrupted ``fit`` resumes where it stopped and ends
  with the same parameters an uninterrupted run reaches.
- :func:`train_epochs`: the epoch loop around a method's own ``run_epoch``: resume,
  progress bar, per-epoch logging into ``history_``, checkpoints.
- :func:`optimize`: the whole optimiser loop both estimators share (warm-up + cosine
  schedule per step, finite-loss check, checkpointed state, hooks for what differs:
  SwAV's prototype freezing, the prototype re-normalisation).
- :class:`RunningMeans`, :func:`warmup_cosine`: per-epoch loss means, the LR schedule.

Data-parallel training (``group`` argument of :func:`optimize`; the pieces are in
:mod:`graphclust.utils.distributed`, the guide in docs/distributed.md): every rank
iterates the same global batches and computes on its share, the step runs inside
``DistributedDataParallel`` (gradients averaged over ranks), logged values are
averaged over ranks, only rank 0 writes checkpoints and shows progress, and the net
leaves with rank 0's parameters and buffers on every rank.
"""

from __future__ import annotations

import math
import os
import random
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from tqdm.auto import tqdm

from graphclust.assign.dist import ProcessGroup, world_size
from graphclust.utils.distributed import (
    ShardedBatches,
    StepModule,
    all_reduce_mean,
    broadcast_module_,
    check_same,
    is_main,
    wrap_ddp,
)
from graphclust.utils.sync_batchnorm import synced_batch_norm

# Hyper-parameters that do not change what a run computes, so a checkpoint written
# under other values of them may be resumed.
_RUN_ONLY_PARAMS = frozenset(
    {"checkpoint", "checkpoint_every", "progress", "device", "distributed"}
)


def progress(iterable: Iterable, enabled: bool, desc: str, **kwargs: Any) -> Iterable:
    """``tqdm(iterable)`` when ``enabled``; the bar goes to stderr and is left in place."""
    return tqdm(iterable, desc=desc, disable=not enabled, dynamic_ncols=True, **kwargs)


def warmup_cosine(warmup_steps: int, total_steps: int) -> Callable[[int], float]:
    """LR factor for ``LambdaLR``: linear warm-up over ``warmup_steps``, cosine decay to 0."""

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        done = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, done)))

    return factor


class RunningMeans:
    """Means over the steps of an epoch of the scalars a step returns (tensors detached)."""

    def __init__(self) -> None:
        self._sums: dict[str, float] = {}
        self._count = 0

    def add(self, values: Mapping[str, torch.Tensor | float]) -> None:
        for key, value in values.items():
            value = float(value.detach()) if isinstance(value, torch.Tensor) else float(value)
            self._sums[key] = self._sums.get(key, 0.0) + value
        self._count += 1

    def means(self) -> dict[str, float]:
        return {k: v / max(1, self._count) for k, v in self._sums.items()}


def train_epochs(
    estimator: Any,
    epochs: int,
    run_epoch: Callable[[int], Mapping[str, float]],
    stateful: Mapping[str, Any],
    checkpointer: Checkpointer,
    generator: torch.Generator | None,
    desc: str,
    group: ProcessGroup | None = None,
) -> None:
    """Run ``run_epoch(epoch)`` for the epochs not done yet, resuming from a checkpoint.

    ``run_epoch`` trains one epoch and returns its mean losses (with a ``"loss"`` key);
    they are appended to ``estimator.history_`` with the epoch index, shown on the bar,
    and the whole state is checkpointed when due. Under a process ``group`` every rank
    reads the checkpoint (it must be on a file system they share: a rank that resumes
    from another epoch than rank 0 is an error), and only rank 0 shows the bar.
    """
    start = 0
    resumed = checkpointer.load(stateful, generator)
    if resumed is not None:
        start, estimator.history_, _ = resumed
    check_same(start, "resumed epoch (is the checkpoint on a file system every rank reads?)", group)
    show = estimator.progress and is_main(group)
    bar = progress(range(start, epochs), show, desc, initial=start, total=epochs)
    for epoch in bar:
        means = run_epoch(epoch)
        estimator.log(epoch=epoch, **means)
        bar.set_postfix(loss=f"{means['loss']:.4f}")
        checkpointer.maybe_save(epoch + 1, epochs, stateful, estimator.history_, generator)


class Batches(Protocol):
    """What :func:`optimize` iterates: ``len`` (steps per epoch) and one batch per step."""

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[Any]: ...


def optimize(
    estimator: Any,
    net: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    batches: Batches,
    step: Callable[[int, Any], Mapping[str, torch.Tensor | float]],
    data: torch.Tensor,
    generator: torch.Generator | None,
    desc: str,
    *,
    before_update: Callable[[int], None] | None = None,
    after_update: Callable[[], None] | None = None,
    extra_state: Mapping[str, Any] | None = None,
    group: ProcessGroup | None = None,
) -> None:
    """Train ``net`` for ``estimator.epochs`` epochs over ``batches``, resumably.

    Per step: ``parts = step(epoch, batch)`` (a dict with the scalar ``"loss"`` to
    minimise and any detached parts to log), a finite check of the loss, backward,
    ``before_update(global_step)`` (e.g. cancel the gradients of frozen prototypes),
    the optimiser and scheduler steps, then ``after_update()`` (e.g. re-normalise the
    prototypes). The learning rate follows :func:`warmup_cosine` per step over
    ``estimator.warmup_epochs`` and ``estimator.epochs``. The net, optimiser, scheduler
    and ``extra_state`` (e.g. a feature queue) are checkpointed to
    ``estimator.checkpoint`` every ``estimator.checkpoint_every`` epochs, keyed by the
    estimator's parameters and a fingerprint of ``data``.

    Args:
        estimator: a BaseClusterer with ``epochs``, ``warmup_epochs``, ``checkpoint``,
            ``checkpoint_every`` and ``progress`` parameters.
        net: the module trained (put in train mode every epoch).
        optimizer: its optimiser (a scheduler is attached here).
        batches: ``len(batches)`` steps per epoch; iterating gives the batches.
        step: ``(epoch, batch) -> {"loss": tensor, ...}``.
        data: the training input, fingerprinted so a checkpoint of other data is refused.
        generator: the loop's random generator (checkpointed with the rest).
        desc: name on the progress bar and in error messages.
        group: process group to train data-parallel over (``None``: this process).
            ``batches`` then yields the *global* batches, the same on every rank (a
            generator seeded alike), of ``batches.batch_size`` rows, a multiple of the
            group size; each rank runs ``step`` on its share inside
            ``DistributedDataParallel``. ``step`` must use every parameter of ``net``
            (DDP's default) and must reduce over ``group`` whatever global statistic
            it needs (e.g. ``sinkhorn(..., group=group)``). ``extra_state`` is per rank
            and only rank 0's copy is checkpointed.
    """
    # Imported here, not at the top: estimators built on this module (SwAV, SIGMA) may be
    # registered in graphclust.methods, and a top-level import would then be circular.
    from graphclust.methods.base import check_finite

    distributed = world_size(group) > 1
    if distributed:
        check_same(estimator.seed, "seed", group)
        batches = ShardedBatches(batches, batches.batch_size, group)
    steps_per_epoch = len(batches)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        warmup_cosine(
            estimator.warmup_epochs * steps_per_epoch, estimator.epochs * steps_per_epoch
        ),
    )
    stateful = {"net": net, "optimizer": optimizer, "scheduler": scheduler, **(extra_state or {})}
    config = {**estimator.get_params(), "input": input_fingerprint(data)}
    if distributed:
        # A checkpoint holds rank 0's share of per-rank state (queues): resume under
        # the same number of processes only.
        config["world_size"] = world_size(group)
    ckpt = Checkpointer(
        estimator.checkpoint,
        config,
        estimator.checkpoint_every,
        ignore=getattr(estimator, "readout_params", ()),
        write=is_main(group),
    )

    def run_epoch(epoch: int) -> dict[str, float]:
        trainer.train()
        meter = RunningMeans()
        for i, batch in enumerate(batches):
            parts = trainer(epoch, batch)
            logged = all_reduce_mean(parts, group) if distributed else parts
            check_finite(logged["loss"], f"{desc} loss", epoch)
            optimizer.zero_grad(set_to_none=True)
            parts["loss"].backward()
            if before_update is not None:
                before_update(epoch * steps_per_epoch + i)
            optimizer.step()
            scheduler.step()
            if after_update is not None:
                after_update()
            meter.add(logged)
        return meter.means()

    with synced_batch_norm(net, group):
        # DDP averages gradients of what runs inside its forward: the whole step does.
        trainer = wrap_ddp(StepModule(net, step), group)
        train_epochs(estimator, estimator.epochs, run_epoch, stateful, ckpt, generator, desc, group)
    if distributed:
        # DDP keeps parameters equal, not buffers: each rank's BatchNorm statistics
        # ran on its share (CPU) since the last broadcast; leave with rank 0's.
        broadcast_module_(net, group)


def rng_state(generator: torch.Generator | None = None) -> dict[str, Any]:
    """The state of every random stream a training loop draws from."""
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    if generator is not None:
        state["generator"] = generator.get_state()
    return state


def set_rng_state(state: Mapping[str, Any], generator: torch.Generator | None = None) -> None:
    """Restore what :func:`rng_state` saved."""
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    if generator is not None and "generator" in state:
        generator.set_state(state["generator"])


class Checkpointer:
    """Atomic save / resume of a training run, keyed by the run's configuration.

    The file holds ``{"config", "epoch", "state_dicts", "rng", "history", "extra"}``.
    ``config`` (the estimator's hyper-parameters without the run-only ones, plus a
    fingerprint of the input) must match on resume: a checkpoint from another run is
    refused with a message rather than silently continued. A parameter missing from the
    saved configuration (added to the estimator after the file was written) matches only
    when its current value is ``None``, the value that leaves a new feature off.

    Args:
        path: file to write, or ``None`` to disable checkpointing (every call is a no-op).
        config: what identifies the run (JSON-like values).
        every: save at the end of every ``every``-th epoch (and always after the last).
        ignore: configuration keys that do not change training (how labels are read out
            of a trained model): neither saved nor compared, on either side, so a
            finished run can be read out again with other settings.
        write: whether this process writes the file (``False`` on the ranks other than
            0 of a distributed run: they read it on resume but never write it).
    """

    def __init__(
        self,
        path: str | os.PathLike | None,
        config: Mapping[str, Any],
        every: int = 1,
        ignore: Iterable[str] = (),
        write: bool = True,
    ):
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"checkpoint_every must be a positive integer, got {every!r}")
        self.path = Path(path) if path is not None else None
        self.ignore = _RUN_ONLY_PARAMS | frozenset(ignore)
        self.config = {k: v for k, v in config.items() if k not in self.ignore}
        self.every = every
        self.write = write

    def load(
        self,
        stateful: Mapping[str, Any],
        generator: torch.Generator | None = None,
    ) -> tuple[int, dict[str, list[float]], dict[str, Any]] | None:
        """Restore ``stateful`` objects (modules, optimiser, ...) in place from the file.

        Args:
            stateful: name -> object with ``load_state_dict``.
            generator: the loop's own generator, restored too.

        Returns:
            ``(epochs_done, history, extra)``, or ``None`` when there is nothing to resume.
        """
        if self.path is None or not self.path.exists():
            return None
        saved = torch.load(self.path, map_location="cpu", weights_only=False)
        saved_config = saved.get("config", {})
        differing = sorted(
            k
            for k in (set(saved_config) | set(self.config)) - self.ignore
            if not _same_setting(k, saved_config, self.config)
        )
        if differing:
            raise ValueError(
                f"checkpoint {self.path} was written by a different run (differs in "
                f"{differing}); delete it or pass another checkpoint path"
            )
        for name, obj in stateful.items():
            obj.load_state_dict(saved["state_dicts"][name])
        set_rng_state(saved["rng"], generator)
        return saved["epoch"], saved["history"], saved.get("extra", {})

    def maybe_save(
        self,
        epoch: int,
        total_epochs: int,
        stateful: Mapping[str, Any],
        history: Mapping[str, list[float]],
        generator: torch.Generator | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> bool:
        """Save after epoch ``epoch`` (1-based count of finished epochs) when it is due.

        Written to a temporary file first and renamed, so an interruption while saving
        leaves the previous checkpoint intact.

        Returns:
            Whether a checkpoint was written.
        """
        if not self.write or self.path is None or (epoch % self.every and epoch != total_epochs):
            return False
        payload = {
            "config": self.config,
            "epoch": epoch,
            "state_dicts": {name: obj.state_dict() for name, obj in stateful.items()},
            "rng": rng_state(generator),
            "history": {k: list(v) for k, v in history.items()},
            "extra": dict(extra or {}),
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        torch.save(payload, tmp)
        os.replace(tmp, self.path)
        return True


def _same_setting(key: str, saved: Mapping[str, Any], current: Mapping[str, Any]) -> bool:
    """Whether one configuration entry of a checkpoint matches the current run.

    A key missing from the saved side matches when the current value is ``None`` (a
    parameter added later, at its off value). Input fingerprints compare their checksums
    to a relative 1e-6: a float32 sum over millions of values changes in its last digits
    with the number of threads that computed it.
    """
    if key not in saved:
        return key in current and current[key] is None
    if key not in current:
        return False
    a, b = saved[key], current[key]
    if key == "input" and isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys() or a.get("shape") != b.get("shape"):
            return False
        return all(
            a[k] == b[k]
            if not isinstance(a[k], float)
            else math.isclose(a[k], b[k], rel_tol=1e-6, abs_tol=1e-3)
            for k in a
        )
    return a == b


def input_fingerprint(x: torch.Tensor) -> dict[str, Any]:
    """Shape, dtype and a cheap checksum of an input tensor (identifies the data of a run).

    The checksums are float32 sums, exact only up to the summation order; checkpoints
    compare them with a tolerance (:class:`Checkpointer`).
    """
    flat = x.detach().reshape(-1).float()
    step = max(1, flat.numel() // 4096)
    sample = flat[::step]
    return {
        "shape": list(x.shape),
        "dtype": str(x.dtype),
        "sum": round(float(flat.sum()), 3),
        "sample": round(float((sample * torch.arange(1, sample.numel() + 1)).sum()), 3),
    }


__all__ = [
    "Batches",
    "Checkpointer",
    "RunningMeans",
    "input_fingerprint",
    "optimize",
    "progress",
    "rng_state",
    "set_rng_state",
    "train_epochs",
    "warmup_cosine",
]
