"""``DQN``: the object a user holds. ``learn`` / ``save`` / ``load`` / ``predict`` / ``evaluate``.

from agents.dqn import DQN
model = DQN("CartPole-v1", preset="rainbow", lr=1e-4, seed=0)
model.learn(50_000)                       # backend="ray", num_workers=8 scales the acting out
model.save("cartpole.pt")
action = DQN.load("cartpole.pt").predict(obs)   # numpy or torch, one observation or a batch
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

import nets
from agents.dqn.actor import make_env
from agents.dqn.config import DQNConfig, check_checkpoint, check_config
from agents.dqn.evaluate import evaluate_network, record_video, score_summary
from agents.dqn.networks import build_network_for_env
from agents.dqn.presets import make_config
from agents.dqn.train import Trainer
from rlkit.agent import Agent
from rlkit.config import replace_values
from rlkit.devices import resolve_device
from rlkit.errors import RlkitError

__all__ = ["DQN", "evaluate"]


class DQN(Agent):
    """DQN with every Rainbow extension, as one object.

    :param env_id: a Gymnasium env id (``CartPole-v1``, ``ALE/Pong-v5``, ``MinAtar/Breakout-v1``,
        ``module:EnvId``); default: the env a task preset was tuned for, else CartPole-v1.
    :param preset: ``dqn``, ``double``, ``dueling``, ``prioritized``, ``c51``, ``noisy``, ``rainbow``, ...
        (``agents.dqn.PRESETS``).
    :param config: a ready ``DQNConfig`` instead of ``env_id``/``preset``/``overrides``.
    :param run_dir: an existing run directory to continue in; else ``learn`` creates one in ``runs_dir``.
    :param overrides: config keys and values, e.g. ``lr=1e-4, seed=0, mlp_hidden=[64, 64]``.
    :raises RlkitError: unknown preset, key or value; an env the config cannot act in.
    """

    name = "dqn"
    budget_key = "total_steps"
    counter = "step"
    config_cls = DQNConfig

    def __init__(
        self,
        env_id: str | None = None,
        preset: str = "dqn",
        *,
        config: DQNConfig | None = None,
        run_dir: str | os.PathLike | None = None,
        runs_dir: str = "runs",
        **overrides: Any,
    ) -> None:
        if config is None:
            config = make_config(preset, env_id)
        elif env_id is not None:
            overrides = {"env_id": env_id, **overrides}
        config = replace_values(config, overrides) if overrides else config
        check_config(config)
        super().__init__(config, run_dir, runs_dir)
        self.preset = preset
        self._network: torch.nn.Module | None = None
        self._obs_shape: tuple[int, ...] | None = None
        self._rng = np.random.default_rng(self.config.seed)
        self._recurrent_state: Any = None

    def _make_trainer(self, num_workers: int) -> Trainer:
        self._network = None
        return Trainer(self.config, num_workers=num_workers)

    def _budget_warnings(self, target: int) -> list[str]:
        """A run that ends before learning starts, or before epsilon has decayed, is rarely what was meant."""
        cfg = self.config
        for key, what in (("learning_starts_steps", "learning starts"), ("eps_decay_steps", "exploration has decayed")):
            if target < getattr(cfg, key) and not (key == "eps_decay_steps" and cfg.noisy):
                value = getattr(cfg, key)
                return [f"the run ends at {target} steps, before {what} ({key}={value}); train longer or lower {key}"]
        return []

    def _run_name(self) -> str:
        return f"dqn-{self.config.env_id.replace('/', '_').replace(':', '_')}-{super()._run_name().split('-', 1)[1]}"

    def _describe(self) -> str:
        return f"{self.config.env_id!r}"

    def _check_loaded(self, state: dict[str, Any], path: Path) -> None:
        check_checkpoint(state, self.config, path)

    # ------------------------------------------------------------------ acting
    @property
    def network(self) -> torch.nn.Module:
        """The online Q-network (the learner's, or the loaded checkpoint's)."""
        if self._trainer is not None:
            return self._trainer.learner.online
        if self._network is None:
            env = make_env(self.config, 1, self.config.seed, vectorization="sync")
            try:
                network, self._obs_shape, _ = build_network_for_env(self.config, env)
            finally:
                env.close()
            if self._pending_state is not None:
                try:
                    network.load_state_dict(self._pending_state["learner"]["online"])
                except RuntimeError:
                    raise RlkitError("the checkpoint's weights do not fit the network its config describes") from None
            self._network = network.to(resolve_device(self.config.device))
        return self._network

    @property
    def observation_shape(self) -> tuple[int, ...]:
        if self._trainer is not None:
            return tuple(self._trainer.obs_shape)
        self.network  # noqa: B018 (builds the network and reads the shape)
        return tuple(self._obs_shape)

    @torch.no_grad()
    def predict(self, obs: np.ndarray | torch.Tensor, deterministic: bool = True) -> np.ndarray | torch.Tensor | int:
        """Actions for one observation (``obs_shape``) or a batch (``[B, *obs_shape]``).

        Greedy in the expected Q-values for every head (C51 atoms are averaged first); with
        ``deterministic=False`` epsilon-greedy at ``eval_epsilon`` (noisy nets: their noise).
        Recurrent (``lstm``) networks carry their state between calls: ``reset_state()`` starts over.

        :returns: an ``int`` for one numpy observation, ``int64 [B]`` numpy for a batch; the same
            shapes as torch ``long`` tensors for torch input.
        """
        network = self.network
        shape = self.observation_shape
        as_torch = isinstance(obs, torch.Tensor)
        x = obs if as_torch else torch.as_tensor(np.asarray(obs))
        single = x.dim() == len(shape)
        if single:
            x = x.unsqueeze(0)
        if tuple(x.shape[1:]) != shape:
            raise RlkitError(
                f"observation shape {tuple(obs.shape)} does not match the env's {shape} (or a batch of it)"
            )
        device = next(network.parameters()).device
        x = x.to(device)
        nets.set_noise(network, not deterministic)
        try:
            if hasattr(network, "initial_state"):
                if self._recurrent_state is None or _batch_of(self._recurrent_state) != x.shape[0]:
                    self._recurrent_state = network.initial_state(x.shape[0], device)
                q, self._recurrent_state = network.step(x.float(), self._recurrent_state)
            else:
                q = network.q_values(x)
        finally:
            nets.set_noise(network, True)
        actions = q.argmax(dim=1)
        if not deterministic and not self.config.noisy:
            explore = torch.as_tensor(self._rng.random(len(actions)) < self.config.eval_epsilon, device=device)
            random_actions = torch.as_tensor(self._rng.integers(q.shape[1], size=len(actions)), device=device)
            actions = torch.where(explore, random_actions, actions)
        if as_torch:
            return actions[0] if single else actions
        actions = actions.cpu().numpy()
        return int(actions[0]) if single else actions

    def reset_state(self) -> None:
        """Forget the recurrent state ``predict`` carries (start of new episodes)."""
        self._recurrent_state = None

    def evaluate(self, episodes: int = 30, seed: int = 0, video_dir: str | os.PathLike | None = None) -> dict[str, Any]:
        """Play ``episodes`` full games under the evaluation protocol (``agents.dqn.evaluate``).

        :returns: ``env_id``, ``episodes``, ``mean``, ``median``, ``std``, ``min``, ``max`` of the game
            scores, ``human_normalized`` on Atari games, ``video`` when ``video_dir`` is given.
        """
        if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
            raise RlkitError(f"episodes must be a whole number >= 1, got {episodes!r}")
        summary = score_summary(self.config, evaluate_network(self.config, self.network, episodes, seed))
        if video_dir is not None:
            summary["video"] = str(record_video(self.config, self.network, Path(video_dir), seed))
        return summary


def _batch_of(state: Any) -> int:
    first = state[0] if isinstance(state, (tuple, list)) else state
    return first.shape[-2]


def evaluate(
    checkpoint_or_run_dir: str | os.PathLike,
    episodes: int = 30,
    video_dir: str | os.PathLike | None = None,
    seed: int = 0,
    device: str = "auto",
) -> dict[str, Any]:
    """``DQN.load(path, device).evaluate(episodes, seed, video_dir)``: a checkpoint's scores."""
    return DQN.load(checkpoint_or_run_dir, device=device).evaluate(episodes, seed, video_dir)
