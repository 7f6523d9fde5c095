"""The acting side of DQN: a worker steps N envs and returns transitions for the learner side.

One class for both backends. In the local loop the only worker acts with the learner's own
online network (``network=``; shared, so acting sees every update and no weights are copied)
and is asked for one vector step at a time. On Ray each worker holds a copy that the learner
publishes, is asked for ``rollout_steps`` vector steps per request, and computes the initial
PER priorities of what it collected under its copy, with the learner's loss
(``agents.dqn.learner.make_loss``), as Ape-X does.

Exploration (``worker_epsilon``): a single worker follows the config's linear epsilon schedule;
worker ``i`` of ``N > 1`` acts with Ape-X's fixed ``eps_i = 0.4 ** (1 + 7 i / (N - 1))``
(Horgan et al. 2018); noisy networks use no epsilon. Before ``learning_starts_steps`` every
worker acts uniformly at random.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

import nets
from agents.dqn.actor import Actor, linear_schedule, make_env
from agents.dqn.config import DQNConfig
from agents.dqn.learner import make_loss
from agents.dqn.networks import build_network_for_env
from rlkit.devices import resolve_device
from rlkit.replay import Batch

__all__ = ["FIELDS", "ActingWorker", "finished_game_returns", "worker_epsilon", "worker_seed"]

FIELDS = ("obs", "action", "reward", "terminated", "truncated", "next_obs")


def worker_seed(cfg: DQNConfig, worker: int) -> int:
    """Seed of worker ``worker``'s envs and exploration; worker 0 is the local loop's stream."""
    return cfg.seed + 1000 * worker


def worker_epsilon(cfg: DQNConfig, worker: int, num_workers: int, step: int) -> float:
    """Exploration probability of ``worker`` at agent step ``step`` (module docstring)."""
    if step < cfg.learning_starts_steps:
        return 1.0
    if num_workers == 1:
        return linear_schedule(cfg.eps_start, cfg.eps_end, cfg.eps_decay_steps, step)
    if cfg.noisy:
        return 0.0
    return 0.4 ** (1 + 7 * worker / (num_workers - 1))


def finished_game_returns(infos: dict) -> list[float]:
    """Scores of real games that ended this step (whole games, not lives, unclipped)."""
    return [float(r) for r in infos["episode_return"][infos["episode_done"]]]


class ActingWorker:
    """Steps ``cfg.num_envs`` envs with one batched network call per step.

    :param worker, num_workers: this worker's index and the group's size (its exploration rate).
    :param seed: seeds the envs and the exploration stream.
    :param cpus: CPUs reserved for this worker on Ray (its torch thread count); None in-process.
    :param network: the learner's online network to act with (in-process); None builds a copy.
    """

    def __init__(
        self,
        cfg: DQNConfig,
        worker: int,
        num_workers: int,
        seed: int,
        cpus: float | None = None,
        network: nn.Module | None = None,
    ) -> None:
        if cpus is not None:
            torch.set_num_threads(max(1, int(cpus)))
        self.cfg, self.worker, self.num_workers, self.seed = cfg, worker, num_workers, seed
        self.device = resolve_device(cfg.device)
        self.env = make_env(cfg, cfg.num_envs, seed)
        self.shares_weights = network is not None
        if network is None:
            network, _, _ = build_network_for_env(cfg, self.env)
            network = network.to(self.device)
        self.network = network
        self.actor = Actor(network, self.env.single_action_space.n, cfg.num_envs, self.device, seed=seed)
        self.loss_fn = None if self.shares_weights or not cfg.prioritized else make_loss(cfg)
        self.obs: np.ndarray | None = None
        self.resetting = np.zeros(cfg.num_envs, dtype=bool)  # envs whose next step is an autoreset
        self.version = -1

    def set_weights(self, weights: dict[str, torch.Tensor], version: int) -> None:
        self.network.load_state_dict(weights)
        self.version = version

    @torch.no_grad()
    def collect(self, num_steps: int, step: int) -> dict[str, Any]:
        """``num_steps`` vector steps from agent step ``step`` on.

        :returns: ``FIELDS`` as ``[T, N, ...]`` arrays, ``active bool [T, N]`` (False on autoreset
            steps, which are no transitions), ``priority float64 [T, N]`` or None, the finished
            games' ``returns``, the weight ``version`` acted with and the ``worker`` index.
        """
        N = self.cfg.num_envs
        if self.obs is None:  # first request, or the first after a resume: fresh episodes
            self.obs, _ = self.env.reset(seed=self.seed + step)
        if self.cfg.noisy and not self.shares_weights:
            nets.reset_noise(self.network)  # one noise draw per request, as the learner draws one per update
        rows: dict[str, list] = {key: [] for key in (*FIELDS, "active")}
        returns: list[float] = []
        for t in range(num_steps):
            epsilon = worker_epsilon(self.cfg, self.worker, self.num_workers, step + t * N)
            action = self.actor.act_with_epsilon(self.obs, epsilon)
            next_obs, reward, terminated, truncated, infos = self.env.step(action)
            for key, value in zip(
                (*FIELDS, "active"), (self.obs, action, reward, terminated, truncated, next_obs, ~self.resetting)
            ):
                rows[key].append(value)
            self.resetting = terminated | truncated
            self.actor.episode_ends(self.resetting)
            returns += finished_game_returns(infos)
            self.obs = next_obs
        chunk = {key: np.stack(values) for key, values in rows.items()}
        priority = self._priority(chunk) if self.loss_fn is not None and not self.actor.recurrent else None
        return {**chunk, "priority": priority, "returns": returns, "version": self.version, "worker": self.worker}

    def _priority(self, chunk: dict[str, np.ndarray]) -> np.ndarray:
        """One-step priorities ``float64 [T, N]`` under this worker's network, by the learner's own loss."""
        T, N = chunk["action"].shape
        flat = lambda key: torch.as_tensor(chunk[key].reshape(T * N, *chunk[key].shape[2:]), device=self.device)
        discount = self.cfg.gamma * (1.0 - flat("terminated").float())
        ones = torch.ones(T * N, device=self.device)
        batch = Batch(
            obs=flat("obs"), action=flat("action").long(), reward=flat("reward").float(), discount=discount,
            next_obs=flat("next_obs"), weight=ones, index=torch.zeros(T * N, dtype=torch.long),
        )  # fmt: skip
        _, priority, _ = self.loss_fn(self.network, self.network, batch)
        return (priority + self.cfg.per_eps).double().cpu().numpy().reshape(T, N)

    def get_state(self) -> dict[str, Any]:
        """The exploration stream (emulator state cannot be saved: a resumed worker starts new episodes)."""
        return self.actor.state_dict()

    def set_state(self, state: dict[str, Any]) -> None:
        self.actor.load_state_dict(state)

    def close(self) -> None:
        self.env.close()
