"""DQN replay, one file per part.

- ``buffer``: :class:`ReplayBuffer`, rings of single frames per env, stacked at sample time
- ``nstep``: :func:`n_step_targets` and :func:`sequence_mask`, where an episode end cuts a window
- ``priorities``: :class:`ProportionalPriorities`, prioritised replay's ``p ** alpha`` bookkeeping
- ``sumtree``: :class:`SumTree`, the batched 32-ary sum tree under it
- ``batch``: :class:`Batch` and :class:`SequenceBatch`, what sampling returns
"""

from rlkit.replay.batch import Batch, SequenceBatch
from rlkit.replay.buffer import ReplayBuffer
from rlkit.replay.nstep import n_step_targets, sequence_mask
from rlkit.replay.priorities import ProportionalPriorities
from rlkit.replay.sumtree import SumTree

__all__ = [
    "Batch",
    "ProportionalPriorities",
    "ReplayBuffer",
    "SequenceBatch",
    "SumTree",
    "n_step_targets",
    "sequence_mask",
]
