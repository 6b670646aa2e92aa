"""Device resolution shared by every method (``device="auto"``)."""

from __future__ import annotations

import os

import torch

DEVICE_ENV = "GRAPHCLUST_DEVICE"


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """Turn ``"auto"`` or a device name into a device.

    ``"auto"`` is ``$GRAPHCLUST_DEVICE`` when that is set (``GRAPHCLUST_DEVICE=cpu``
    keeps every method on the CPU of a GPU machine), else CUDA when available, else CPU.

    Raises:
        ValueError: for an unknown device name, or a CUDA device asked for on a machine
            without one.
    """
    if isinstance(device, torch.device):
        resolved = device
    else:
        name = device
        if device == "auto":
            name = os.environ.get(DEVICE_ENV, "auto").strip() or "auto"
        if name == "auto":
            resolved = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        else:
            try:
                resolved = torch.device(name)
            except RuntimeError as err:
                source = f" (from ${DEVICE_ENV})" if name != device else ""
                raise ValueError(
                    f"unknown device {name!r}{source}; use 'auto', 'cpu' or 'cuda[:i]'"
                ) from err
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device {str(resolved)!r} was requested but CUDA is not available; use 'cpu'"
        )
    return resolved
