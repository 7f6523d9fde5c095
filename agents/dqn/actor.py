"""Vectorised acting: one batched network call per step for all N envs, epsilon-greedy or noisy.

Also the env a config describes (``make_env``) and the linear schedule of epsilon.
Exploration randomness comes from the actor's own ``numpy`` generator (seeded, checkpointed), so
a resumed run draws the same actions as an uninterrupted one.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

import envs
import nets
from agents.dqn.config import DQNConfig, is_atari

__all__ = ["Actor", "linear_schedule", "make_env"]


def make_env(cfg: DQNConfig, num_envs: int, seed: int, vectorization: str | None = None, **gym_kwargs: Any):
    """The vector env of ``cfg`` (Atari presets resolved); ``gym_kwargs`` go to ``gymnasium.make``.

    Observations come as ``envs.make`` adapts them (bool / uint8 / float32 arrays, images channels first);
    pass ``render_mode="rgb_array"`` only to record videos.

    :raises RlkitError: unknown env id, or a missing optional dependency (names the pip extra).
    """
    preset = cfg.env_preset
    if preset == "auto":
        preset = "dqn" if is_atari(cfg.env_id) else "none"
    if cfg.full_action_space and (is_atari(cfg.env_id) or cfg.env_id.startswith("MinAtar/")):
        gym_kwargs = {"full_action_space": True, **gym_kwargs}
    return envs.make(
        cfg.env_id,
        num_envs=num_envs,
        preset=None if preset == "none" else preset,
        seed=seed,
        vectorization=vectorization or cfg.vectorization,
        **gym_kwargs,
    )


def linear_schedule(start: float, end: float, duration_steps: int, step: int) -> float:
    """Linear interpolation from ``start`` at step 0 to ``end`` at ``duration_steps``, constant after."""
    if duration_steps <= 0:
        return end
    return start + (end - start) * min(1.0, step / duration_steps)


class Actor:
    """Picks actions ``int64 [N]`` for N envs from observations ``[N, *obs_shape]``.

    :param network: the learner's online network (shared, not copied: acting sees every update).
    :param eps_start, eps_end, eps_decay_steps: the linear epsilon schedule over agent steps.
    :param random_until_steps: act uniformly at random before this step (the replay warm-up).
    """

    def __init__(
        self,
        network: nn.Module,
        num_actions: int,
        num_envs: int,
        device: torch.device,
        seed: int,
        eps_start: float = 1.0,
        eps_end: float = 0.01,
        eps_decay_steps: int = 1,
        random_until_steps: int = 0,
    ) -> None:
        self.network = network
        self.num_actions = num_actions
        self.num_envs = num_envs
        self.device = device
        self.schedule = (eps_start, eps_end, eps_decay_steps)
        self.random_until_steps = random_until_steps
        self.rng = np.random.default_rng(seed)
        self.recurrent = hasattr(network, "initial_state")
        self.state = network.initial_state(num_envs, device) if self.recurrent else None

    def epsilon(self, step: int) -> float:
        """Exploration probability at agent step ``step`` (1 during the random warm-up)."""
        return 1.0 if step < self.random_until_steps else linear_schedule(*self.schedule, step)

    @torch.no_grad()
    def act(self, obs: np.ndarray, step: int) -> np.ndarray:
        """Epsilon-greedy actions ``int64 [N]`` at agent step ``step``."""
        return self.act_with_epsilon(obs, self.epsilon(step))

    @torch.no_grad()
    def act_with_epsilon(self, obs: np.ndarray, epsilon: float) -> np.ndarray:
        """Actions ``int64 [N]``: greedy in the network's values, uniform with probability ``epsilon``."""
        explore = self.rng.random(self.num_envs) < epsilon
        random_actions = self.rng.integers(self.num_actions, size=self.num_envs)
        # Warm-up steps and recurrent nets need no (or the) forward pass; skip it when every env explores.
        if explore.all() and not self.recurrent:
            return random_actions
        obs_t = torch.as_tensor(obs, device=self.device)
        if self.recurrent:
            q, self.state = self.network.step(obs_t.float(), self.state)
        else:
            q = self.network.q_values(obs_t)
        greedy = q.argmax(dim=1).cpu().numpy()
        return np.where(explore, random_actions, greedy)

    def episode_ends(self, done: np.ndarray) -> None:
        """Zero the recurrent state of envs whose episode ended (``bool [N]``); no-op for feed-forward nets."""
        if self.recurrent and done.any():
            keep = torch.as_tensor(~done, device=self.device, dtype=torch.float32)
            self.state = _mask_state(self.state, keep)

    def set_exploration_noise(self, enabled: bool) -> None:
        """Switch noisy layers on (training) or to their mean weights (evaluation)."""
        nets.set_noise(self.network, enabled)

    def state_dict(self) -> dict[str, Any]:
        return {"rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rng.bit_generator.state = state["rng"]


def _mask_state(state: Any, keep: torch.Tensor) -> Any:
    """Multiply every tensor of a (nested tuple) recurrent state by ``keep [N]`` along its env dimension."""
    if isinstance(state, (tuple, list)):
        return type(state)(_mask_state(s, keep) for s in state)
    # LSTM states are [layers, N, H] or [N, H]: the env dimension is the second to last.
    return state * keep.view(-1, 1)
