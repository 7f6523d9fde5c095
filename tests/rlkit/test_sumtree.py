"""SumTree against brute-force NumPy references."""

import numpy as np
import pytest
from scipy.stats import chisquare

from rlkit.errors import RlkitError
from rlkit.replay.sumtree import SumTree


def brute_force_find(leaves: np.ndarray, prefix: np.ndarray) -> np.ndarray:
    """Index j with cumsum[j - 1] <= prefix < cumsum[j]: the leaf whose interval holds the prefix."""
    return np.searchsorted(np.cumsum(leaves), prefix, side="right")


@pytest.mark.parametrize("capacity", [1, 2, 7, 32, 33, 1000, 5000])  # one to three levels below the root
def test_totals_and_prefix_search_match_brute_force(capacity):
    rng = np.random.default_rng(capacity)
    tree = SumTree(capacity)
    # Integer priorities with many zeros keep every sum exact, so boundaries can be tested exactly.
    leaves = rng.integers(0, 4, size=capacity).astype(np.float64)
    leaves[0] = max(leaves[0], 1.0)
    tree.update(np.arange(capacity), leaves)
    assert tree.total == leaves.sum()
    np.testing.assert_array_equal(tree.leaves, leaves)
    cumsum = np.cumsum(leaves)
    boundaries = np.unique(cumsum[cumsum < leaves.sum()])  # a prefix exactly on a boundary starts the next leaf
    prefix = np.concatenate([rng.random(500) * leaves.sum(), boundaries, [0.0]])
    np.testing.assert_array_equal(tree.find(prefix), brute_force_find(leaves, prefix))


def test_repeated_updates_keep_every_sum_exact():
    rng = np.random.default_rng(1)
    capacity = 300
    tree, leaves = SumTree(capacity), np.zeros(capacity)
    for _ in range(200):
        index = rng.choice(capacity, size=17, replace=False)
        value = rng.integers(0, 10, size=17).astype(np.float64)
        tree.update(index, value)
        leaves[index] = value
    assert tree.total == leaves.sum()
    np.testing.assert_array_equal(tree.get(np.arange(capacity)), leaves)
    prefix = rng.random(1000) * leaves.sum()
    np.testing.assert_array_equal(tree.find(prefix), brute_force_find(leaves, prefix))


def test_find_never_returns_an_empty_leaf_even_past_the_total():
    tree = SumTree(10)
    leaves = np.array([0, 0, 1.5, 0, 0, 2.5, 0, 0, 0, 0.0])
    tree.update(np.arange(10), leaves)
    prefix = np.array([0.0, 1.4999, 1.5, 3.9999, 4.0, 4.0 + 1e-9, 1e6])
    np.testing.assert_array_equal(tree.find(prefix), [2, 2, 5, 5, 5, 5, 5])


def test_stratified_sampling_matches_priorities():
    rng = np.random.default_rng(0)
    leaves = np.array([0.0, 1.0, 2.0, 3.0, 0.0, 4.0, 10.0, 0.5, 0.0, 7.0])
    tree = SumTree(leaves.size)
    tree.update(np.arange(leaves.size), leaves)
    counts = np.zeros(leaves.size)
    for _ in range(2000):
        np.add.at(counts, tree.sample(32, rng), 1)
    assert counts[leaves == 0].sum() == 0
    expected = leaves / leaves.sum() * counts.sum()
    nonzero = leaves > 0
    assert chisquare(counts[nonzero], expected[nonzero]).pvalue > 1e-3
    np.testing.assert_allclose(counts / counts.sum(), leaves / leaves.sum(), atol=3e-3)


def test_stratified_sampling_takes_one_draw_per_segment():
    # Ten equal leaves and a batch of ten: each segment covers exactly one leaf.
    tree = SumTree(10)
    tree.update(np.arange(10), np.ones(10))
    np.testing.assert_array_equal(tree.sample(10, np.random.default_rng(3)), np.arange(10))


def test_bad_input_raises():
    with pytest.raises(RlkitError, match="capacity"):
        SumTree(0)
    with pytest.raises(RlkitError, match="all zero"):
        SumTree(4).sample(2, np.random.default_rng(0))
    tree = SumTree(4)
    with pytest.raises(RlkitError, match=r"finite and >= 0, got \[-1.0, nan\]"):
        tree.update(np.array([0, 1, 2]), np.array([1.0, -1.0, np.nan]))
    assert tree.total == 0.0  # nothing written
