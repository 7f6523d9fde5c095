"""The one place a device name becomes a ``torch.device``."""

from __future__ import annotations

import torch

from rlkit.errors import RlkitError

__all__ = ["DEVICES", "resolve_device"]

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when torch sees a GPU, else CPU; ``cuda`` or ``cuda:N`` must exist.

    :raises RlkitError: an unknown name, or a CUDA device asked for but absent.
    """
    name = str(name)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise RlkitError(f"device {name!r} was asked for but torch sees no CUDA device; use device=cpu or auto")
        device = torch.device(name)
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise RlkitError(f"device {name!r} does not exist; this machine has {torch.cuda.device_count()} GPU(s)")
        return device
    raise RlkitError(f"unknown device {name!r}; choose from: auto, cpu, cuda, cuda:N")
