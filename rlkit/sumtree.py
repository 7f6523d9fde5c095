"""A vectorised sum tree for proportional prioritised replay (Schaul et al. 2016).

The tree is one flat float64 array of ``2 * P`` nodes, ``P`` the smallest power of two
>= ``capacity``: node 1 is the root, node ``i`` has children ``2i`` and ``2i + 1``, and
leaf ``j`` lives at node ``P + j`` (node 0 is unused). Every operation works on a whole
batch of leaves at once and loops only over the ``log2(P)`` levels, never over samples:

- ``update`` writes a batch of leaves and recomputes their ancestors level by level
  from the children, so repeated indices and float rounding never accumulate drift;
- ``find`` descends from the root for a batch of prefix sums, one level per step;
- ``sample`` draws one uniform value in each of ``B`` equal segments of the total mass
  (stratified sampling, as in the paper) and descends with them.

The descent never lands on a zero-priority leaf, even when float rounding pushes a
prefix value past the mass of a subtree, so zero priorities can mark entries that
must not be sampled.
"""

from __future__ import annotations

import time

import numpy as np

from rlkit.errors import RlkitError

__all__ = ["SumTree", "time_sample_update_ms"]


class SumTree:
    """Sums of non-negative leaf values over a complete binary tree.

    :param capacity: number of leaves (indices ``0 .. capacity - 1``), all zero at first.
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise RlkitError(f"SumTree capacity must be a positive integer, got {capacity}")
        self.capacity = int(capacity)
        self._depth = max(1, int(np.ceil(np.log2(self.capacity))))
        self._first_leaf = 1 << self._depth
        self._nodes = np.zeros(2 * self._first_leaf, dtype=np.float64)
        # Row i of this view is (node 2i, node 2i + 1): both children of node i in one gather.
        self._child_pairs = self._nodes.reshape(-1, 2)

    @property
    def total(self) -> float:
        """Sum of all leaves."""
        return float(self._nodes[1])

    @property
    def nbytes(self) -> int:
        """Bytes held by the node array."""
        return self._nodes.nbytes

    @property
    def leaves(self) -> np.ndarray:
        """Read-only view of the leaf values, float64 ``[capacity]``."""
        view = self._nodes[self._first_leaf : self._first_leaf + self.capacity]
        view.flags.writeable = False
        return view

    def get(self, index: np.ndarray) -> np.ndarray:
        """Leaf values at ``index`` (int ``[B]``) -> float64 ``[B]``."""
        return self._nodes[self._first_leaf + np.asarray(index, dtype=np.int64)]

    def update(self, index: np.ndarray, value: np.ndarray) -> None:
        """Set leaves ``index`` (int ``[B]``) to ``value`` (float ``[B]``, >= 0) and refresh their ancestors.

        A repeated index takes one of its values (NumPy's fancy assignment), so pass each
        index once when the values differ.
        """
        node = self._first_leaf + np.asarray(index, dtype=np.int64)
        self._nodes[node] = value
        for _ in range(self._depth):
            node >>= 1
            children = self._child_pairs[node]
            self._nodes[node] = children[:, 0] + children[:, 1]

    def find(self, prefix: np.ndarray) -> np.ndarray:
        """Leaf indices ``j`` with ``sum(leaves[:j]) <= prefix < sum(leaves[:j + 1])``, for float ``[B]`` prefixes.

        Prefixes must lie in ``[0, total)``; one at or past the total (float rounding)
        returns the last non-zero leaf instead of an empty one.
        """
        remaining = np.array(prefix, dtype=np.float64, copy=True)
        node = np.ones(remaining.shape, dtype=np.int64)
        for _ in range(self._depth):
            children = self._child_pairs[node]
            left, right = children[:, 0], children[:, 1]
            # Going right into an empty subtree can only be rounding: stay left instead.
            go_right = (remaining >= left) & (right > 0.0)
            remaining -= np.where(go_right, left, 0.0)
            node = 2 * node + go_right
        return node - self._first_leaf

    def sample(self, batch_size: int, rng: np.random.Generator) -> np.ndarray:
        """Stratified proportional sample: leaf indices int64 ``[batch_size]``, one per equal slice of the total.

        Leaf ``j`` is drawn with probability ``leaves[j] / total`` in each slice it overlaps.
        """
        total = self.total
        if total <= 0.0:
            raise RlkitError("cannot sample from a SumTree whose leaves are all zero")
        segment = total / batch_size
        prefix = (np.arange(batch_size) + rng.random(batch_size)) * segment
        return self.find(prefix)


def time_sample_update_ms(capacity: int = 1_000_000, batch_size: int = 32, repeats: int = 2000, seed: int = 0) -> float:
    """Mean wall-clock milliseconds for one prioritised ``sample`` of ``batch_size`` plus its priority ``update``.

    Measured on a tree of ``capacity`` random priorities, the work a prioritised DQN
    learner does per step on top of gathering the transitions.
    """
    rng = np.random.default_rng(seed)
    tree = SumTree(capacity)
    tree.update(np.arange(capacity), rng.random(capacity) + 1e-3)
    new_priorities = rng.random((repeats, batch_size)) + 1e-3
    start = time.perf_counter()
    for priorities in new_priorities:
        tree.update(tree.sample(batch_size, rng), priorities)
    return (time.perf_counter() - start) * 1e3 / repeats
