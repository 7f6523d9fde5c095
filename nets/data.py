"""The data forms ``nets.fit`` accepts, and the mini-batches it makes of them.

- **In memory**: a tensor or numpy array ``x`` (unsupervised models), or a tuple/list ``(x, y, ...)`` of tensors
  and/or arrays (anything with ``__array__``, e.g. a pandas column) sharing their first dimension. fit indexes
  them directly, shuffled with its seed: the fastest form for data that fits in memory.
- **A torch Dataset** whose items are tensors, arrays or tuples of them: batched by a DataLoader with fit's
  ``batch_size``, shuffled with fit's seed.
- **A torch DataLoader**: used as it is (its own batch size, sampler, collation and workers); the shuffling of
  a ``shuffle=True`` loader without its own generator is still seeded by fit's seed.

Floating-point tensors are cast to the model's floating dtype, so scikit-learn's float64 arrays train a
float32 model. Integer tensors keep their dtype: uint8 images stay uint8 for the CNNs that scale them, and
class labels of any integer dtype are widened to int64 by the supervised loss.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from nets.registry import NetsError

__all__ = ["Batch", "Data", "batches", "prepare"]

Data = torch.Tensor | np.ndarray | Sequence[torch.Tensor | np.ndarray] | Dataset | DataLoader
Batch = tuple[torch.Tensor, ...]
Prepared = tuple[torch.Tensor, ...] | Dataset | DataLoader
"""``Data`` after :func:`prepare`: in-memory data as a tuple of tensors, Datasets and DataLoaders unchanged."""

FORMS = "a tensor or numpy array, a tuple (x, y, ...) of them, a torch Dataset or a torch DataLoader"


def prepare(data: Any, name: str, float_dtype: torch.dtype) -> Prepared:
    """Check ``data`` once before training; in-memory data becomes a tuple of tensors, floats cast to ``float_dtype``.

    :param name: how error messages call the data ("train", "val").
    :raises NetsError: naming the bad part of ``data`` and the forms fit accepts.
    """
    if isinstance(data, (Dataset, DataLoader)):
        return data
    if isinstance(data, (torch.Tensor, np.ndarray)):
        parts, names = (data,), [name]
    elif isinstance(data, (tuple, list)):
        parts, names = tuple(data), [f"{name}[{i}]" for i in range(len(data))]
    else:
        raise NetsError(f"{name} must be {FORMS}; got {type(data).__name__}")
    if not parts:
        raise NetsError(f"{name} is an empty {type(data).__name__}; pass (x,) or (x, y)")
    tensors = tuple(_as_tensor(part, part_name, float_dtype) for part, part_name in zip(parts, names))
    lengths = [len(t) for t in tensors]
    if len(set(lengths)) > 1:
        raise NetsError(f"{name}: x, y, ... must have the same first dimension, got lengths {lengths}")
    return tensors


def batches(
    data: Prepared, batch_size: int, generator: torch.Generator | None, device: torch.device, float_dtype: torch.dtype
) -> Iterator[Batch]:
    """Mini-batches of prepared data as tuples of tensors on ``device``; shuffled when a generator is given."""
    if isinstance(data, tuple):
        # Indexing whole tensors beats a DataLoader's per-example collation by a wide margin on small data.
        n = len(data[0])
        order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
        # One copy of the order to the data's device per epoch, not an implicit one per batch.
        for index in order.to(data[0].device).split(batch_size):
            yield tuple(t[index].to(device, non_blocking=True) for t in data)
        return
    if isinstance(data, DataLoader):
        loader = data
    else:
        loader = DataLoader(data, batch_size=batch_size, shuffle=generator is not None, generator=generator)
    for batch in loader:
        yield tuple(_to(t, device, float_dtype) for t in _as_tuple(batch, type(loader.dataset).__name__))


def _as_tuple(batch: Any, source: str) -> tuple[Any, ...]:
    if isinstance(batch, torch.Tensor):
        return (batch,)
    if isinstance(batch, (tuple, list)) and batch and all(isinstance(t, torch.Tensor) for t in batch):
        return tuple(batch)
    kinds = [type(t).__name__ for t in batch] if isinstance(batch, (tuple, list)) else type(batch).__name__
    raise NetsError(f"batches of {source} must be a tensor or a tuple (x, y, ...) of tensors; got {kinds}")


def _to(tensor: torch.Tensor, device: torch.device, float_dtype: torch.dtype) -> torch.Tensor:
    dtype = float_dtype if tensor.is_floating_point() else None
    return tensor.to(device, dtype=dtype, non_blocking=True)


def _as_tensor(part: Any, name: str, float_dtype: torch.dtype) -> torch.Tensor:
    if not isinstance(part, torch.Tensor):
        if not hasattr(part, "__array__"):
            raise NetsError(f"{name} must be a tensor or numpy array, got {type(part).__name__}")
        array = np.asarray(part)
        if array.dtype.kind not in "biuf":
            raise NetsError(
                f"{name} is an array of dtype {array.dtype}; fit needs numbers (float features, integer labels)"
            )
        part = torch.from_numpy(np.require(array, requirements=["C", "W"]))  # read-only arrays are copied
    if part.dim() == 0:
        raise NetsError(f"{name} is a scalar; fit needs a first dimension of examples")
    return part.to(float_dtype) if part.is_floating_point() else part
