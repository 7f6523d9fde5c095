"""Replay memory for DQN-family agents: frames stored once, n-step targets, prioritised sampling.

Layout. Each of the N vector envs owns a ring of ``C = capacity // N`` *slots*. A slot
holds one frame (``obs_shape[1:]``, or the whole observation when ``frame_stack == 1``)
and, if an action was taken from the observation whose newest frame it is, that
transition's action, reward and end flags. An episode of L steps fills ``k + L`` slots
of its env's ring, ``k = frame_stack``::

    [reset stack: k frames, the last one is obs_0's newest] [newest frame of obs_1] ... [of obs_L]
     transitions:          -, ..., -, a_0                   a_1                        -

so 1M slots of 84x84 uint8 frames cost 7.06 GB plus 16 bytes of per-slot fields (33
with PER; ``nbytes``), and ``capacity`` counts slots (frames): about ``capacity``
transitions minus ``k`` per episode. Stacks lie on the first axis, oldest frame first, as
Gymnasium's ``FrameStackObservation`` gives them. The observation of the transition in
slot ``s`` is the stack of slots ``s - k + 1 .. s``; it never mixes episodes because every
episode begins with the reset stack the env returned (``FrameStackObservation`` repeats the
reset frame there), and slots are written in order per env, so episodes of different
envs never interleave.

Validity. A transition is sampled only once its n-step window is complete (n steps
recorded, or fewer that end its episode): the last n - 1 steps of an unfinished episode
wait, they are never sampled with a shorter window. Writing a slot retires the
transitions whose stacks hold the overwritten frame (the written slot and the k - 1 after
it); the transitions before it, whose windows could reach that frame, were retired
earlier, when their own slots were overwritten. So no sampled stack crosses the write
head. With prioritised replay a sum tree holds ``priority ** alpha`` for valid
transitions and 0 for the rest (:mod:`rlkit.replay.priorities`); uniform replay
rejection-samples slots against a validity mask.

n-step targets (:func:`rlkit.replay.nstep.n_step_targets`): a window stops at its
episode's last step; a termination gives discount 0, a time-limit truncation bootstraps
from the true final observation.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import torch

from rlkit.errors import RlkitError
from rlkit.replay.batch import Batch, SequenceBatch
from rlkit.replay.nstep import n_step_targets, sequence_mask
from rlkit.replay.priorities import ProportionalPriorities

__all__ = ["ReplayBuffer", "storage_dtype"]

# bool: binary planes and one-hot codes (MinAtar, Discrete spaces), one byte each like uint8 pixels
_OBS_DTYPES = {torch.bool: np.bool_, torch.uint8: np.uint8, torch.float32: np.float32}
# Cap on one round of candidate draws in uniform rejection sampling, to bound memory when few slots are valid.
_MAX_DRAWS = 1 << 18
# Everything state_dict saves besides counters and priorities: the per-slot storage and the per-env write state.
_SAVED_ARRAYS = (
    "frames", "action", "reward", "terminated", "truncated", "has_transition", "valid",
    "head", "episode_first", "episode_over",
)  # fmt: skip


def storage_dtype(obs_dtype) -> torch.dtype:
    """The compact storage for observations of ``obs_dtype`` (NumPy or torch): bool and uint8 stay one byte
    per value (a MinAtar transition is 400 bytes, not 1,600 as float32), everything else is float32."""
    name = str(obs_dtype).removeprefix("torch.") if isinstance(obs_dtype, torch.dtype) else np.dtype(obs_dtype).name
    return {"bool": torch.bool, "uint8": torch.uint8}.get(name, torch.float32)


def _as_array(x, name: str, shape: tuple[int, ...] | None = None, dtype=None, same_kind: bool = False) -> np.ndarray:
    """A torch tensor (any device) or array-like as a NumPy array, checked against ``shape`` when given.

    :param same_kind: refuse a cast to ``dtype`` across kinds (float observations into a uint8 buffer
        would silently truncate to 0 and 1).
    """
    array = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    if shape is not None and array.shape != shape:
        raise RlkitError(f"replay buffer: {name} has shape {tuple(array.shape)}, expected {shape}")
    if same_kind and not np.can_cast(array.dtype, dtype, casting="same_kind"):
        raise RlkitError(
            f"replay buffer: {name} has dtype {array.dtype}, which a buffer of {np.dtype(dtype)} observations cannot "
            "store without losing values; pass obs_dtype=torch.float32 for float observations"
        )
    return array if dtype is None else array.astype(dtype, copy=False)


class ReplayBuffer:
    """Replay memory over N vector envs; see the module docstring for layout and targets.

    :param capacity: slots over all envs (one frame each), split evenly between envs.
    :param obs_shape: shape of one observation, ``(k, 84, 84)`` for k stacked frames.
    :param num_envs: N, the number of envs each ``add`` call steps.
    :param frame_stack: k; with k > 1, ``obs_shape[0]`` must be k and frames are stored once.
    :param obs_dtype: ``torch.uint8`` (pixels), ``torch.bool`` (binary planes, one-hot codes) or
        ``torch.float32``; :func:`storage_dtype` picks it for an observation dtype.
    :param n_step: steps per return target.
    :param gamma: discount per step.
    :param prioritized: proportional prioritised replay (Schaul et al. 2016).
    :param alpha: priority exponent; stored priorities are ``(|p| + eps) ** alpha``.
    :param eps: added to ``|p|`` so no transition gets probability 0.
    :param seed: seed of the sampling generator.
    """

    def __init__(
        self,
        capacity: int,
        obs_shape: Sequence[int],
        num_envs: int = 1,
        frame_stack: int = 1,
        obs_dtype: torch.dtype = torch.uint8,
        n_step: int = 1,
        gamma: float = 0.99,
        prioritized: bool = False,
        alpha: float = 0.5,
        eps: float = 1e-6,
        seed: int = 0,
    ) -> None:
        obs_shape = tuple(int(d) for d in obs_shape)
        if obs_dtype not in _OBS_DTYPES:
            raise RlkitError(f"obs_dtype {obs_dtype} is not supported; choose one of {list(_OBS_DTYPES)}")
        if num_envs < 1 or n_step < 1 or frame_stack < 1:
            raise RlkitError(f"num_envs ({num_envs}), n_step ({n_step}) and frame_stack ({frame_stack}) must be >= 1")
        if frame_stack > 1 and (not obs_shape or obs_shape[0] != frame_stack):
            raise RlkitError(f"obs_shape {obs_shape} must start with frame_stack={frame_stack} when stacking frames")
        slots_per_env = capacity // num_envs
        # Headroom so a step's writes never retire a transition that the same step completes.
        min_slots = 2 * (n_step + frame_stack)
        if slots_per_env < min_slots:
            raise RlkitError(
                f"capacity {capacity} gives {slots_per_env} slots per env; need at least {min_slots} "
                f"(2 * (n_step + frame_stack)) per env, so capacity >= {min_slots * num_envs}"
            )
        self.obs_shape = obs_shape
        self.num_envs = num_envs
        self.frame_stack = frame_stack
        self.obs_dtype = obs_dtype
        self.n_step = n_step
        self.gamma = float(gamma)
        self.prioritized = prioritized
        self.alpha = float(alpha)
        self.eps = float(eps)
        self.capacity = slots_per_env * num_envs
        self._slots_per_env = slots_per_env

        # Per-slot storage, flat over envs: slot id = env * C + (step % C).
        frame_shape = obs_shape[1:] if frame_stack > 1 else obs_shape
        self._frames = np.zeros((self.capacity, *frame_shape), dtype=_OBS_DTYPES[obs_dtype])
        self._action = np.zeros(self.capacity, dtype=np.int64)
        self._reward = np.zeros(self.capacity, dtype=np.float32)
        self._terminated = np.zeros(self.capacity, dtype=bool)
        self._truncated = np.zeros(self.capacity, dtype=bool)
        self._has_transition = np.zeros(self.capacity, dtype=bool)
        self._valid = np.zeros(self.capacity, dtype=bool)
        self._priorities = ProportionalPriorities(self._valid, alpha, eps) if prioritized else None

        # Per-env write state, counted in steps (slots written since construction).
        self._head = np.zeros(num_envs, dtype=np.int64)
        self._episode_first = np.zeros(num_envs, dtype=np.int64)
        self._episode_over = np.ones(num_envs, dtype=bool)
        self._num_valid = 0
        self._rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        """Number of transitions that can be sampled now."""
        return self._num_valid

    @property
    def nbytes(self) -> int:
        """Bytes of memory the buffer holds (all slots, whether written yet or not)."""
        storage = sum(a.nbytes for name, a in self._arrays().items() if name != "priority")
        return storage + (self._priorities.nbytes if self._priorities is not None else 0)

    def add(self, obs, action, reward, terminated, truncated, next_obs, priority=None, active=None) -> None:
        """Record one vector-env step for all N envs (torch tensors or arrays).

        ``obs`` is read only at an env's first step of an episode (its reset stack); later
        steps reuse the previous ``next_obs``, so steps of an env must be added in order.

        :param obs: ``[N, *obs_shape]``, the observations the actions were taken from.
        :param action: long ``[N]``.
        :param reward: float ``[N]``.
        :param terminated: bool ``[N]``, a real end of the episode (no bootstrap).
        :param truncated: bool ``[N]``, a time limit (bootstrap from ``next_obs``).
        :param next_obs: ``[N, *obs_shape]``, the true next observations (the final one
            when the episode ended, never the autoreset observation).
        :param priority: optional float ``[N]`` initial priorities (before ``alpha``);
            default: the largest priority so far.
        :param active: optional bool ``[N]``, the envs whose step is a transition; the rows
            of the others are ignored (e.g. the autoreset step of Gymnasium's NEXT_STEP mode).
        """
        n, frame_dtype = self.num_envs, self._frames.dtype
        rows = [
            _as_array(obs, "obs", (n, *self.obs_shape), frame_dtype, same_kind=True),
            _as_array(action, "action", (n,), np.int64),
            _as_array(reward, "reward", (n,), np.float32),
            _as_array(terminated, "terminated", (n,), bool),
            _as_array(truncated, "truncated", (n,), bool),
            _as_array(next_obs, "next_obs", (n, *self.obs_shape), frame_dtype, same_kind=True),
            None if priority is None else _as_array(priority, "priority", (n,), np.float64),
        ]
        envs = np.arange(n)
        if active is not None:
            envs = np.flatnonzero(_as_array(active, "active", (n,), bool))
            rows = [None if x is None else x[envs] for x in rows]
        obs, action, reward, terminated, truncated, next_obs, priority = rows
        first_written = self._head[envs]

        starting = np.flatnonzero(self._episode_over[envs])
        if starting.size:
            reset_stack = obs[starting] if self.frame_stack > 1 else obs[starting][:, None]
            self._write_frames(envs[starting], reset_stack)
            self._episode_first[envs[starting]] = self._head[envs[starting]] - 1

        current = self._head[envs] - 1  # step of the slot holding each env's obs (newest frame)
        slot = self._slot(envs, current)
        self._action[slot] = action
        self._reward[slot] = reward
        self._terminated[slot] = terminated
        self._truncated[slot] = truncated
        self._has_transition[slot] = True
        if self._priorities is not None:
            self._priorities.assign(slot, priority)

        newest = next_obs[:, -1] if self.frame_stack > 1 else next_obs
        self._write_frames(envs, newest[:, None])

        # Retire the transitions in the slots just written and those whose stacks began on the
        # overwritten frames: the k - 1 slots after the last one written.
        span = self._head[envs] - first_written + self.frame_stack - 1
        row, col = np.nonzero(np.arange(2 * self.frame_stack) < span[:, None])
        self._set_valid(self._slot(envs[row], first_written[row] + col), False)

        # This step completes the window of the transition n - 1 steps back, and of every
        # later one in the episode when the episode ends here.
        ended = terminated | truncated
        back = np.arange(self.n_step)
        candidate = current[:, None] - back
        complete = (candidate >= self._episode_first[envs, None]) & ((back == self.n_step - 1) | ended[:, None])
        row, col = np.nonzero(complete)
        self._set_valid(self._slot(envs[row], candidate[row, col]), True)
        self._episode_over[envs] = ended

    def update_priorities(self, index, priority) -> None:
        """Set the priorities of sampled transitions: ``index`` long ``[B]`` from a Batch, ``priority`` float ``[B]``.

        A slot rewritten between ``sample`` and this call (adds in between, as in Ape-X)
        passes the priority on to its new transition.
        """
        if self._priorities is None:
            raise RlkitError("update_priorities needs a buffer built with prioritized=True")
        index = _as_array(index, "index", dtype=np.int64)
        if index.size and not (0 <= index.min() and index.max() < self.capacity):
            raise RlkitError(f"priority index out of range [0, {self.capacity}): pass the index of a sampled Batch")
        self._priorities.update(index, _as_array(priority, "priority", index.shape, np.float64))

    def _slot(self, env: np.ndarray, step: np.ndarray) -> np.ndarray:
        """Slot ids of ``step`` (any shape) in the rings of ``env`` (broadcastable)."""
        return env * self._slots_per_env + step % self._slots_per_env

    def _write_frames(self, envs: np.ndarray, frames: np.ndarray) -> None:
        """Append ``frames`` ``[E, m, *frame_shape]`` to the rings of ``envs`` ``[E]`` as slots without transitions."""
        m = frames.shape[1]
        steps = self._head[envs, None] + np.arange(m)
        slot = self._slot(envs[:, None], steps)
        self._frames[slot] = frames
        self._has_transition[slot] = False
        self._head[envs] += m

    def _set_valid(self, slot: np.ndarray, valid: bool) -> None:
        """Mark distinct ``slot`` ids (int ``[M]``) sampleable or not, keeping the count in step."""
        self._num_valid += (slot.size if valid else 0) - int(np.count_nonzero(self._valid[slot]))
        self._valid[slot] = valid
        if self._priorities is not None:
            self._priorities.mark(slot)

    def sample(self, batch_size: int, beta: float = 0.4) -> Batch:
        """Sample ``batch_size`` n-step transitions: proportionally to priority with PER, else uniformly.

        :param beta: importance-sampling exponent; weights are ``(len(self) * P(i)) ** -beta`` over their max.
        """
        self._check_can_sample(batch_size)
        if self._priorities is not None:
            slot, weight = self._priorities.sample(batch_size, self._num_valid, beta, self._rng)
        else:
            slot = self._sample_uniform(batch_size)
            weight = np.ones(batch_size, dtype=np.float32)

        env = slot // self._slots_per_env
        position = slot % self._slots_per_env
        window = self._slot(env[:, None], position[:, None] + np.arange(self.n_step))
        reward, discount, length = n_step_targets(
            self._reward[window], self._terminated[window], self._truncated[window], self.gamma
        )
        return Batch(
            obs=self._stacks(env, position),
            action=torch.from_numpy(self._action[slot]),
            reward=torch.from_numpy(reward),
            discount=torch.from_numpy(discount),
            next_obs=self._stacks(env, position + length),
            weight=torch.from_numpy(weight),
            index=torch.from_numpy(slot),
        )

    def sample_sequences(self, batch_size: int, seq_len: int) -> SequenceBatch:
        """Sample ``batch_size`` sequences of ``seq_len`` (T) one-step transitions, starts drawn uniformly."""
        if seq_len < 1:
            raise RlkitError(f"seq_len must be >= 1, got {seq_len}")
        self._check_can_sample(batch_size)
        slot = self._sample_uniform(batch_size)
        env = slot // self._slots_per_env
        start = slot % self._slots_per_env
        window = self._slot(env[:, None], start[:, None] + np.arange(seq_len))
        # The newest slot of every ring has no transition yet, so the mask ends before the write head.
        mask = sequence_mask(self._has_transition[window], self._terminated[window] | self._truncated[window])
        length = mask.sum(axis=1)
        terminated = self._terminated[window] & mask
        obs_steps = start[:, None] + np.minimum(np.arange(seq_len + 1), length[:, None])
        return SequenceBatch(
            obs=self._stacks(env[:, None], obs_steps),
            action=torch.from_numpy(np.where(mask, self._action[window], 0)),
            reward=torch.from_numpy(np.where(mask, self._reward[window], 0.0).astype(np.float32)),
            terminated=torch.from_numpy(terminated),
            discount=torch.from_numpy(np.where(mask & ~terminated, self.gamma, 0.0).astype(np.float32)),
            mask=torch.from_numpy(mask),
            index=torch.from_numpy(slot),
        )

    def _check_can_sample(self, batch_size: int) -> None:
        if batch_size < 1:
            raise RlkitError(f"batch_size must be >= 1, got {batch_size}")
        if self._num_valid == 0:
            raise RlkitError(
                f"the replay buffer has no complete transition yet: add at least n_step={self.n_step} steps "
                "(or a finished episode) first"
            )

    def _sample_uniform(self, batch_size: int) -> np.ndarray:
        """Slot ids ``[batch_size]`` drawn uniformly among valid transitions by rejection."""
        chosen: list[np.ndarray] = []
        missing = batch_size
        while missing > 0:
            # Twice the expected number of draws, so one round almost always suffices.
            draws = min(_MAX_DRAWS, 2 * missing * self.capacity // self._num_valid + 1)
            candidate = self._rng.integers(0, self.capacity, size=draws)
            accepted = candidate[self._valid[candidate]][:missing]
            chosen.append(accepted)
            missing -= accepted.size
        return np.concatenate(chosen)

    def _stacks(self, env: np.ndarray, last_step: np.ndarray) -> torch.Tensor:
        """Observations whose newest frames are at ``last_step`` (int ``[*S]``) of the rings of ``env``
        (broadcastable to ``[*S]``) -> ``[*S, *obs_shape]``."""
        offsets = np.arange(1 - self.frame_stack, 1)
        slot = self._slot(env[..., None], last_step[..., None] + offsets)
        return torch.from_numpy(self._frames[slot].reshape(*last_step.shape, *self.obs_shape))

    def _config(self) -> dict:
        """The constructor arguments that fix the layout of the saved arrays."""
        layout = {
            name: getattr(self, name) for name in ("capacity", "num_envs", "frame_stack", "n_step", "prioritized")
        }
        return {**layout, "obs_shape": list(self.obs_shape), "obs_dtype": str(self.obs_dtype)}

    def _arrays(self) -> dict[str, np.ndarray]:
        """The saved arrays by name; ``priority`` is empty without PER."""
        arrays = {name: getattr(self, f"_{name}") for name in _SAVED_ARRAYS}
        arrays["priority"] = self._priorities.priority if self._priorities is not None else np.zeros(0)
        return arrays

    def state_dict(self) -> dict:
        """Everything needed to resume sampling exactly: tensors, ints and floats only.

        The tensors share memory with the buffer (no copy of the frames): save them before
        adding more. Loadable with ``torch.load(path, weights_only=True)``; pass
        ``mmap=True`` too to avoid holding a second copy of the frames in RAM while loading.
        """
        rng_state = json.dumps(self._rng.bit_generator.state).encode()
        return {
            "config": self._config(),
            "arrays": {name: torch.from_numpy(array) for name, array in self._arrays().items()},
            "num_valid": self._num_valid,
            "max_priority": self._priorities.max_priority if self._priorities is not None else 1.0,
            "rng_state": torch.frombuffer(bytearray(rng_state), dtype=torch.uint8),
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore contents, counters and the sampling generator from ``state_dict()`` output."""
        if state.get("config") != self._config():
            raise RlkitError(
                f"replay state was saved from a buffer with {state.get('config')}, this one has {self._config()}"
            )
        for name, array in self._arrays().items():
            np.copyto(array, state["arrays"][name].numpy())
        self._num_valid = int(state["num_valid"])
        self._rng.bit_generator.state = json.loads(bytes(state["rng_state"].numpy()).decode())
        if self._priorities is not None:
            self._priorities.max_priority = float(state["max_priority"])
            self._priorities.mark_all()
