"""What replay sampling hands a learner: :class:`Batch` (n-step transitions) and
:class:`SequenceBatch` (sequences for recurrent Q-networks), CPU tensors with one ``to(device)``."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["Batch", "SequenceBatch"]


class _TensorBatch:
    """Moves every tensor field to a device in one call."""

    def to(self, device: torch.device | str, non_blocking: bool = False) -> Self:
        return type(self)(**{f.name: getattr(self, f.name).to(device, non_blocking=non_blocking) for f in fields(self)})


@dataclass(frozen=True)
class Batch(_TensorBatch):
    """A batch of n-step transitions (CPU tensors; ``to(device)`` moves them all).

    obs, next_obs: ``[B, *obs_shape]`` in the buffer's obs dtype; action: long ``[B]``;
    reward: float32 ``[B]`` discounted n-step return; discount: float32 ``[B]``,
    ``gamma ** m`` or 0 after a termination; weight: float32 ``[B]`` importance weights
    divided by their batch max (ones without PER); index: long ``[B]`` slot ids for
    ``update_priorities``.
    """

    obs: torch.Tensor
    action: torch.Tensor
    reward: torch.Tensor
    discount: torch.Tensor
    next_obs: torch.Tensor
    weight: torch.Tensor
    index: torch.Tensor


@dataclass(frozen=True)
class SequenceBatch(_TensorBatch):
    """A batch of T-step sequences for recurrent Q-networks (CPU tensors; ``to(device)`` moves them all).

    obs: ``[B, T + 1, *obs_shape]`` (after the last real step it repeats the last real
    observation); action: long ``[B, T]``; reward: float32 ``[B, T]`` one-step rewards;
    terminated: bool ``[B, T]``; discount: float32 ``[B, T]``, gamma or 0 after a
    termination; mask: bool ``[B, T]``, False once the episode the sequence started in
    has ended or has not been recorded yet (masked steps hold zeros); index: long ``[B]``.
    """

    obs: torch.Tensor
    action: torch.Tensor
    reward: torch.Tensor
    terminated: torch.Tensor
    discount: torch.Tensor
    mask: torch.Tensor
    index: torch.Tensor
