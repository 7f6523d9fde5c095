"""The pure window maths of replay sampling, on hand-computed examples."""

import numpy as np

from rlkit.replay.nstep import n_step_targets, sequence_mask

T, F = True, False


def test_n_step_targets_stop_at_episode_ends_and_bootstrap_only_after_truncation():
    reward = np.array([[1, 2, 4], [1, 2, 4], [1, 2, 4], [8, 100, 100], [8, 100, 100], [1, 2, 4]], dtype=np.float32)
    terminated = np.array([[F, F, F], [F, T, F], [F, F, F], [T, T, F], [F, T, F], [F, F, T]])
    truncated = np.array([[F, F, F], [F, F, F], [F, T, F], [F, F, F], [T, F, F], [F, F, T]])
    n_step_reward, discount, length = n_step_targets(reward, terminated, truncated, gamma=0.5)
    # Rows: full window; termination at step 1; truncation at step 1; termination at step 0 (the flags
    # after it belong to the next episode); truncation at step 0 then a later episode's termination;
    # both flags on the last step (a termination: no bootstrap).
    np.testing.assert_array_equal(n_step_reward, [1 + 1 + 1, 1 + 1, 1 + 1, 8, 8, 1 + 1 + 1])
    np.testing.assert_array_equal(discount, [0.125, 0.0, 0.25, 0.0, 0.5, 0.0])
    np.testing.assert_array_equal(length, [3, 2, 2, 1, 1, 3])
    assert n_step_reward.dtype == discount.dtype == np.float32


def test_one_step_targets_are_reward_and_gamma():
    reward = np.array([[3.0], [3.0], [3.0]], dtype=np.float32)
    n_step_reward, discount, length = n_step_targets(
        reward, np.array([[F], [T], [F]]), np.array([[F], [F], [T]]), gamma=0.9
    )
    np.testing.assert_array_equal(n_step_reward, [3.0, 3.0, 3.0])
    np.testing.assert_allclose(discount, [0.9, 0.0, 0.9])
    np.testing.assert_array_equal(length, [1, 1, 1])


def test_sequence_mask_stops_after_an_episode_end_and_at_the_first_unrecorded_step():
    recorded = np.array([[T, T, T, T], [T, T, F, T], [T, T, T, T], [T, F, T, T]])
    ended = np.array([[F, T, F, F], [F, F, F, F], [F, F, F, T], [F, F, F, F]])
    expected = [[T, T, F, F], [T, T, F, F], [T, T, T, T], [T, F, F, F]]
    np.testing.assert_array_equal(sequence_mask(recorded, ended), expected)
