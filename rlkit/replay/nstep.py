"""n-step targets and sequence masks: pure functions over the per-step arrays of sampled windows.

:func:`n_step_targets` and :func:`sequence_mask` take ``[B, n]`` or ``[B, T]`` arrays read from
the buffer's rings: they decide where an episode's end cuts a window and what it bootstraps
from, independently of how the buffer lays out memory.
"""

from __future__ import annotations

import numpy as np

__all__ = ["n_step_targets", "sequence_mask"]


def n_step_targets(
    reward: np.ndarray, terminated: np.ndarray, truncated: np.ndarray, gamma: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """n-step targets of windows that start at a transition and run n steps on.

    Step j of a window counts while no earlier step of it ended the episode, so a window
    keeps ``m <= n`` steps: all n, or up to and including the step that ended its episode.
    Steps after that end may hold anything (the next episode, stale slots): they are ignored.

    :param reward: float ``[B, n]``, one-step rewards ``r_t .. r_{t+n-1}``.
    :param terminated: bool ``[B, n]``, a real end of the episode after that step.
    :param truncated: bool ``[B, n]``, a time-limit end after that step.
    :returns: ``reward`` float32 ``[B]`` = ``sum_{j<m} gamma**j r_{t+j}``; ``discount`` float32 ``[B]``
        = ``gamma**m``, or 0 when a termination ended the window (a truncation bootstraps);
        ``length`` int64 ``[B]`` = m, so the bootstrap observation is the one m steps on.
    """
    n = reward.shape[1]
    gamma_powers = float(gamma) ** np.arange(n + 1)
    ended = terminated | truncated
    inside = np.ones_like(ended)
    inside[:, 1:] = np.logical_and.accumulate(~ended[:, :-1], axis=1)
    length = inside.sum(axis=1)
    n_step_reward = (np.where(inside, reward, 0.0) * gamma_powers[:n]).sum(axis=1)
    terminal = (terminated & inside).any(axis=1)
    discount = np.where(terminal, 0.0, gamma_powers[length])
    return n_step_reward.astype(np.float32), discount.astype(np.float32), length


def sequence_mask(recorded: np.ndarray, ended: np.ndarray) -> np.ndarray:
    """Which steps of sampled sequences are real: bool ``[B, T]``.

    Step t is real when it is recorded and every earlier step was recorded and did not end
    the episode; so a sequence stops after its episode's last step, or at the first step not
    written yet (the write head).

    :param recorded: bool ``[B, T]``, the slot holds a transition (not a frame-only slot: a reset stack's
        frames or the newest frame, which nothing has been done from yet).
    :param ended: bool ``[B, T]``, that transition ended its episode (terminated or truncated).
    """
    goes_on = recorded & ~ended
    mask = recorded.copy()
    mask[:, 1:] &= np.logical_and.accumulate(goes_on[:, :-1], axis=1)
    return mask
