"""ProportionalPriorities: scaling, max priority for new slots, lazy validity, exact importance weights."""

import numpy as np
import pytest

from rlkit.errors import RlkitError
from rlkit.replay.priorities import ProportionalPriorities


def test_importance_weights_by_hand_and_invalid_slots_never_drawn():
    valid = np.array([True, True, False, True])
    priorities = ProportionalPriorities(valid, alpha=1.0, eps=0.0)
    priorities.assign(np.arange(4), np.array([1.0, 3.0, 100.0, 0.0]))
    priorities.mark(np.arange(4))
    rng = np.random.default_rng(0)
    slot, weight = priorities.sample(64, num_valid=2, beta=1.0, rng=rng)
    # P = [1/4, 3/4] over the valid slots with mass; w = (N P) ** -beta = [2, 2/3], over the max: [1, 1/3].
    assert set(slot.tolist()) == {0, 1}
    np.testing.assert_allclose(weight, np.where(slot == 0, 1.0, 1 / 3), rtol=1e-6)
    assert weight.dtype == np.float32
    # A validity change reaches the tree once marked: slot 2 now dominates.
    valid[2] = True
    priorities.mark(np.array([2]))
    slot, _ = priorities.sample(104, num_valid=3, beta=0.5, rng=rng)
    assert np.count_nonzero(slot == 2) == 100  # stratified: exactly its 100/104 share of the segments


def test_new_slots_get_the_largest_scaled_priority_so_far():
    priorities = ProportionalPriorities(np.ones(3, dtype=bool), alpha=0.5, eps=0.0)
    assert priorities.max_priority == 1.0
    priorities.update(np.array([0]), np.array([16.0]))
    assert priorities.max_priority == 4.0  # 16 ** 0.5
    priorities.assign(np.array([1]), None)
    priorities.assign(np.array([2]), np.array([9.0]))
    np.testing.assert_array_equal(priorities.priority, [4.0, 4.0, 3.0])
    with pytest.raises(RlkitError, match=r"finite, got \[inf\]"):
        priorities.update(np.array([1]), np.array([np.inf]))
