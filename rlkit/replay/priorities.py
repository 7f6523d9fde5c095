"""Proportional prioritisation (Schaul et al. 2016) over the slots of a replay buffer.

:class:`ProportionalPriorities` keeps each slot's stored priority ``(|p| + eps) ** alpha``,
a :class:`~rlkit.replay.sumtree.SumTree` whose leaf is that priority while the slot holds a
sampleable transition and 0 otherwise, and the importance-sampling weights of a sample.
The buffer owns the validity mask and tells this class which slots changed; leaf changes
wait in a queue and reach the tree in one batched update before the next sample, so adds
cost no tree work of their own.
"""

from __future__ import annotations

import numpy as np

from rlkit.errors import RlkitError
from rlkit.replay.sumtree import SumTree

__all__ = ["ProportionalPriorities"]

# Queued leaves allowed before the tree is refreshed without waiting for a sample, so no
# single refresh (and no sample after a long run of adds) pays for more than this many.
_MAX_STALE = 4096


class ProportionalPriorities:
    """Priorities, sum tree and importance weights for ``capacity`` slots.

    :param valid: bool ``[capacity]``, the buffer's mask of sampleable slots; read (never written)
        whenever queued leaves are applied, so the buffer must update it in place.
    :param alpha: priority exponent.
    :param eps: added to ``|p|`` so no transition gets probability 0.
    """

    def __init__(self, valid: np.ndarray, alpha: float, eps: float) -> None:
        self.alpha = float(alpha)
        self.eps = float(eps)
        self.priority = np.zeros(valid.shape, dtype=np.float64)
        """float64 ``[capacity]``: stored priorities ``(|p| + eps) ** alpha``, valid or not."""
        self.max_priority = 1.0
        """The largest stored priority so far: what a new transition gets."""
        self._valid = valid
        self._tree = SumTree(valid.size)
        self._stale: list[np.ndarray] = []
        self._num_stale = 0

    @property
    def nbytes(self) -> int:
        """Bytes of the priorities and the tree."""
        return self.priority.nbytes + self._tree.nbytes

    def assign(self, slot: np.ndarray, priority: np.ndarray | None) -> None:
        """Give new transitions at ``slot`` (int ``[M]``) raw priorities ``[M]``, or the largest so far when None."""
        self.priority[slot] = self.max_priority if priority is None else self._scale(priority)

    def update(self, slot: np.ndarray, priority: np.ndarray) -> None:
        """Set the raw priorities (float ``[M]``, before ``alpha``) of sampled slots (int ``[M]``)."""
        self.priority[slot] = self._scale(priority)
        self.mark(slot.copy())  # the caller may reuse its index array before the next sample

    def mark(self, slot: np.ndarray) -> None:
        """Queue the leaves of ``slot`` (int ``[M]``), whose validity or priority changed, for the next refresh."""
        self._stale.append(slot)
        self._num_stale += slot.size
        if self._num_stale > _MAX_STALE:
            self._refresh()

    def mark_all(self) -> None:
        """Queue every leaf (after the priorities and the validity mask were restored from a checkpoint)."""
        self.mark(np.arange(self.priority.size))

    def sample(
        self, batch_size: int, num_valid: int, beta: float, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Stratified proportional sample of valid slots.

        :param num_valid: N, the number of valid slots.
        :returns: slot ids int64 ``[batch_size]`` and importance weights float32 ``[batch_size]``,
            ``(N * P(i)) ** -beta`` divided by their batch max.
        """
        self._refresh()
        slot = self._tree.sample(batch_size, rng)
        probability = self._tree.get(slot) / self._tree.total
        weight = (num_valid * probability) ** -beta
        return slot, (weight / weight.max()).astype(np.float32)

    def _scale(self, priority: np.ndarray) -> np.ndarray:
        """``(|p| + eps) ** alpha``, remembering the largest for new transitions."""
        scaled = (np.abs(priority.astype(np.float64)) + self.eps) ** self.alpha
        if not np.isfinite(scaled).all():
            # One NaN would poison every sum above it and all later sampling.
            raise RlkitError(f"priorities must be finite, got {priority[~np.isfinite(scaled)][:5].tolist()}")
        self.max_priority = max(self.max_priority, float(scaled.max(initial=0.0)))
        return scaled

    def _refresh(self) -> None:
        """Apply the queued leaves in one batched update (adds between samples share one propagation)."""
        if self._stale:
            slot = np.concatenate(self._stale)
            self._stale, self._num_stale = [], 0
            self._tree.update(slot, np.where(self._valid[slot], self.priority[slot], 0.0))
