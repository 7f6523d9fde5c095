"""A vectorised sum tree for proportional prioritised replay (Schaul et al. 2016).

The tree has ``BRANCHING`` (32) children per node, so 1M leaves need only 4 levels below
the root: ``_levels[d]`` holds the ``32 ** d`` node sums of depth d (the root is
``_levels[0][0]``, the leaves ``_levels[-1]``), and the children of node i of depth d are
row i of ``_levels[d + 1].reshape(-1, 32)``. Every operation works on a whole batch of
leaves at once and loops only over the levels, never over samples:

- ``update`` writes a batch of leaves and recomputes their ancestors level by level
  from the children, so repeated indices and float rounding never accumulate drift;
- ``find`` descends from the root for a batch of prefix sums, one level per step, by
  comparing each prefix with the running sums of its node's 32 children;
- ``sample`` draws one uniform value in each of ``B`` equal segments of the total mass
  (stratified sampling, as in the paper) and descends with them.

A wide tree does the same work as a binary one in a fifth of the levels, and NumPy's
per-call overhead, not arithmetic, is the cost at batch 32: sampling 32 of 1M leaves and
updating them takes about half the time of the binary layout.

The descent never lands on a zero-priority leaf, even when float rounding pushes a
prefix value past the mass of a subtree, so zero priorities can mark entries that
must not be sampled.
"""

from __future__ import annotations

import numpy as np

from rlkit.errors import RlkitError

__all__ = ["BRANCHING", "SumTree"]

BRANCHING = 32


class SumTree:
    """Sums of non-negative leaf values over a complete ``BRANCHING``-ary tree.

    :param capacity: number of leaves (indices ``0 .. capacity - 1``), all zero at first.
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise RlkitError(f"SumTree capacity must be a positive integer, got {capacity}")
        self.capacity = int(capacity)
        depth = 1
        while BRANCHING**depth < self.capacity:
            depth += 1
        self._levels = [np.zeros(BRANCHING**d, dtype=np.float64) for d in range(depth + 1)]
        # _children[d][i] is the row of the BRANCHING children of node i of depth d (views, no copies).
        self._children = [level.reshape(-1, BRANCHING) for level in self._levels[1:]]

    @property
    def total(self) -> float:
        """Sum of all leaves."""
        return float(self._levels[0][0])

    @property
    def nbytes(self) -> int:
        """Bytes held by the node arrays."""
        return sum(level.nbytes for level in self._levels)

    @property
    def leaves(self) -> np.ndarray:
        """Read-only view of the leaf values, float64 ``[capacity]``."""
        view = self._levels[-1][: self.capacity]
        view.flags.writeable = False
        return view

    def get(self, index: np.ndarray) -> np.ndarray:
        """Leaf values at ``index`` (int ``[B]``) -> float64 ``[B]``."""
        return self._levels[-1][index]

    def update(self, index: np.ndarray, value: np.ndarray) -> None:
        """Set leaves ``index`` (int ``[B]``) to ``value`` (float ``[B]``, >= 0) and refresh their ancestors.

        A repeated index takes one of its values (NumPy's fancy assignment), so pass each
        index once when the values differ.
        """
        value = np.asarray(value, dtype=np.float64)
        # A negative or NaN leaf would corrupt every sum above it and misdirect all later searches.
        if not (np.isfinite(value).all() and value.min(initial=0.0) >= 0.0):
            raise RlkitError(f"SumTree leaves must be finite and >= 0, got {value[~(value >= 0)][:5].tolist()}")
        node = np.asarray(index, dtype=np.int64)
        self._levels[-1][node] = value
        for depth in range(len(self._levels) - 2, -1, -1):
            node = node // BRANCHING
            self._levels[depth][node] = self._children[depth][node].sum(axis=1)

    def find(self, prefix: np.ndarray) -> np.ndarray:
        """Leaf indices ``j`` with ``sum(leaves[:j]) <= prefix < sum(leaves[:j + 1])``, for float ``[B]`` prefixes.

        Prefixes must lie in ``[0, total)``; one at or past the total (float rounding)
        returns the last non-zero leaf instead of an empty one.
        """
        remaining = np.array(prefix, dtype=np.float64, copy=True)
        node = np.zeros(remaining.shape, dtype=np.int64)
        rows = np.arange(remaining.size)
        for children in self._children:
            mass = children[node]  # [B, BRANCHING]
            running = np.cumsum(mass, axis=1)
            # Rounding can leave a prefix just outside [0, node mass): pull it back in, so the
            # child chosen below always holds mass.
            np.clip(remaining, 0.0, np.nextafter(running[:, -1], 0.0), out=remaining)
            child = np.count_nonzero(running <= remaining[:, None], axis=1)
            remaining -= running[rows, child] - mass[rows, child]
            node = node * BRANCHING + child
        return node

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
