"""DQN over Ray, Ape-X style: N acting actors with fixed epsilons; learner and replay in the driver.

The same classes as the local loop (``agents.dqn.train``): each worker steps its own vector env
with an ``Actor`` over a copy of the Q-network; the driver owns the ``Learner`` and one
``ReplayBuffer`` with a ring per env of every worker (worker ``w``'s env ``j`` is ring
``w * num_envs + j``; ``add(..., active=...)`` writes only that worker's rings), and writes
checkpoints in the local loop's format.

Flow. Workers return ``rollout_steps`` vector steps per request. The driver adds them row by row
and applies the local loop's rule per row: after ``learning_starts_steps`` agent steps (and once
the replay holds a batch), ``num_envs / train_every_steps`` updates per vector step
(``UpdateSchedule``), so both backends make the same number of updates for a ``total_steps``
budget. Rows past the budget are dropped. Weights are published after every request's updates.

Exploration (Horgan et al. 2018): worker ``i`` of ``N`` acts with ``eps_i = 0.4 ** (1 + 7 i / (N - 1))``
throughout, instead of the local loop's decaying schedule; a single worker uses ``eps_end``;
noisy networks use no epsilon. Until ``learning_starts_steps`` every worker acts uniformly at
random, as the local loop does. Initial priorities (prioritised replay) are the worker's one-step
``|TD error|`` under its own network, a cheap stand-in for Ape-X's n-step error (the replay forms
the n-step targets itself, on the learner's side); recurrent networks leave them to the replay.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections import deque
from typing import Any

import numpy as np
import torch

import nets
from agents.dqn import DQNConfig
from agents.dqn.actor import Actor, make_env, resolve_device
from agents.dqn.config import check_config
from agents.dqn.evaluate import evaluate_network
from agents.dqn.learner import Learner
from agents.dqn.networks import build_network_for_env
from agents.dqn.train import (
    SHOW,
    checkpoint_state,
    finished_game_returns,
    make_replay,
    restore_checkpoint,
    rollout_metrics,
    sample_batch,
)
from rlkit.backend import ParameterStore, RayOptions, UpdateSchedule, WorkerGroup, set_worker_threads
from rlkit.metrics import MetricsLogger
from rlkit.plots import plot_metrics
from rlkit.replay import ReplayBuffer
from rlkit.runs import Run, seed_everything

__all__ = ["ActingActor", "apex_epsilon", "train_dqn"]

FIELDS = ("obs", "action", "reward", "terminated", "truncated", "next_obs")


def apex_epsilon(cfg: DQNConfig, worker: int, num_workers: int) -> float:
    """Worker ``worker``'s fixed exploration rate (module docstring)."""
    if cfg.noisy:
        return 0.0
    if num_workers == 1:
        return cfg.eps_end
    return 0.4 ** (1 + 7 * worker / (num_workers - 1))


class ActingActor:
    """Steps ``cfg.num_envs`` envs with a local copy of the Q-network; one batched network call per step.

    :param seed: seeds the env and the exploration stream.
    :param cpus: CPUs Ray reserved for this worker (its torch thread count).
    """

    def __init__(self, cfg: DQNConfig, worker: int, num_workers: int, seed: int, cpus: float) -> None:
        set_worker_threads(cpus)
        self.cfg, self.worker = cfg, worker
        self.device = resolve_device(cfg.device)
        self.env = make_env(cfg, cfg.num_envs, seed)
        network, _, num_actions = build_network_for_env(cfg, self.env)
        self.network = network.to(self.device)
        self.actor = Actor(self.network, num_actions, cfg.num_envs, self.device, seed=seed)
        self.epsilon = apex_epsilon(cfg, worker, num_workers)
        self.obs, _ = self.env.reset(seed=seed)
        self.resetting = np.zeros(cfg.num_envs, dtype=bool)  # envs whose next step is an autoreset
        self.version = -1

    def set_weights(self, weights: dict[str, torch.Tensor], version: int) -> None:
        self.network.load_state_dict(weights)
        self.version = version

    @torch.no_grad()
    def collect(self, num_steps: int, warmup: bool) -> dict[str, Any]:
        """``num_steps`` vector steps: ``FIELDS`` as ``[T, N, ...]`` arrays, ``active bool [T, N]`` (False
        on autoreset steps), ``priority float64 [T, N]`` or None, finished-game ``returns``, the weight
        ``version`` and ``worker``."""
        if self.cfg.noisy:
            nets.reset_noise(self.network)  # one noise draw per request, as the learner draws one per update
        rows: dict[str, list] = {key: [] for key in (*FIELDS, "active")}
        returns: list[float] = []
        epsilon = 1.0 if warmup else self.epsilon
        for _ in range(num_steps):
            action = self.actor.act_with_epsilon(self.obs, epsilon)
            next_obs, reward, terminated, truncated, infos = self.env.step(action)
            for key, value in zip(
                (*FIELDS, "active"), (self.obs, action, reward, terminated, truncated, next_obs, ~self.resetting)
            ):
                rows[key].append(value)
            self.actor.episode_ends(terminated | truncated)
            returns += finished_game_returns(infos)
            self.resetting = terminated | truncated
            self.obs = next_obs
        batch = {key: np.stack(values) for key, values in rows.items()}
        priority = self._td_priority(batch) if self.cfg.prioritized and not self.actor.recurrent else None
        return {**batch, "priority": priority, "returns": returns, "version": self.version, "worker": self.worker}

    def _td_priority(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        """One-step ``|r_t + gamma * max_a Q(s_t, a) - Q(s_tm1, a_tm1)|`` ``float64 [T, N]`` (module docstring)."""
        T, N = batch["action"].shape
        flat = lambda key: torch.as_tensor(batch[key].reshape(T * N, *batch[key].shape[2:]), device=self.device)
        q_tm1 = self.network.q_values(flat("obs")).gather(1, flat("action")[:, None]).squeeze(1)
        q_t = self.network.q_values(flat("next_obs")).max(dim=1).values
        discount_t = self.cfg.gamma * (1.0 - flat("terminated").float())
        td_error = flat("reward").float() + discount_t * q_t - q_tm1
        return (td_error.abs() + self.cfg.per_eps).double().cpu().numpy().reshape(T, N)


class _ApexExploration:
    """Stands in for the local loop's ``Actor`` in its checkpoint and metric helpers: the workers' mean
    epsilon; exploration streams live in the workers and are not checkpointed."""

    def __init__(self, cfg: DQNConfig, num_workers: int) -> None:
        self.cfg = cfg
        self.mean_epsilon = float(np.mean([apex_epsilon(cfg, i, num_workers) for i in range(num_workers)]))

    def epsilon(self, step: int) -> float:
        return 1.0 if step < self.cfg.learning_starts_steps else self.mean_epsilon

    def state_dict(self) -> dict[str, Any]:
        return {"rng": np.random.default_rng(self.cfg.seed).bit_generator.state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Nothing to restore: restarted workers draw fresh streams."""


class _WorkerRows:
    """Writes one worker's rows into a replay with a ring per env of every worker."""

    def __init__(self, replay: ReplayBuffer, num_envs: int) -> None:
        self.replay, self.num_envs = replay, num_envs
        self.full: dict[str, np.ndarray] = {}

    def add(self, worker: int, chunk: dict[str, np.ndarray], t: int) -> None:
        """Row ``t`` of ``chunk`` into the rings of ``worker``; the other rings stay untouched (inactive)."""
        rings = slice(worker * self.num_envs, (worker + 1) * self.num_envs)
        keys = (*FIELDS, "active") if chunk["priority"] is None else (*FIELDS, "active", "priority")
        for key in keys:
            if key not in self.full:
                row = chunk[key][t]
                self.full[key] = np.zeros((self.replay.num_envs, *row.shape[1:]), dtype=row.dtype)
            self.full[key][rings] = chunk[key][t]
        active = np.zeros(self.replay.num_envs, dtype=bool)
        active[rings] = chunk["active"][t]
        priority = self.full["priority"] if chunk["priority"] is not None else None
        self.replay.add(*(self.full[key] for key in FIELDS), priority=priority, active=active)


def train_dqn(cfg: DQNConfig, run: Run, resume: bool, options: RayOptions, ray) -> dict[str, Any]:
    """Train with ``options.num_workers`` acting actors; returns the local loop's summary plus ``updates``
    and ``backend/steps_worker<i>`` (agent steps each worker contributed in this session)."""
    check_config(cfg)
    seed_everything(cfg.seed)
    driver = _LearnerSide(cfg, run, options.num_workers)
    if resume:
        driver.restore()
    store = ParameterStore(ray)
    store.publish(driver.weights(), driver.learner.num_updates)
    group = WorkerGroup(
        ray,
        ActingActor,
        lambda i: (cfg, i, options.num_workers, cfg.seed + 1000 * (i + 1), options.cpus_per_worker),
        options,
        store,
        f"rlkit-{run.path.name}",
    )
    log = MetricsLogger(
        run.path,
        total=cfg.total_steps,
        unit="step",
        desc=f"dqn {cfg.env_id} (ray)",
        show=[*SHOW, "backend/restarts"],
        start=driver.step,
    )
    with log, group:
        group.wait_ready()
        driver.start_clock()
        while driver.step < cfg.total_steps:
            group.fill("collect", lambda worker: driver.next_request(options.rollout_steps))
            for done in group.wait():
                driver.in_flight_steps -= done.request[0] * cfg.num_envs
                if done.error is not None:
                    log.write(f"acting request lost, worker restarting: {done.error}")
                    continue
                driver.consume(done.worker, done.value, store.version, log, group)
                if driver.learner.num_updates != store.version:
                    store.publish(driver.weights(), driver.learner.num_updates)
        run.save_checkpoint(driver.step, driver.checkpoint())
    plot_metrics(
        run.metrics_path,
        ["rollout/return", "eval/return_mean", "train/loss", "train/q"],
        run.plots_dir / "learning_curve.png",
    )
    return driver.summary()


class _LearnerSide:
    """The driver's half of the run: learner, replay, counters, metrics and checkpoints, fed worker chunks
    row by row under the local loop's rules (module docstring)."""

    def __init__(self, cfg: DQNConfig, run: Run, num_workers: int) -> None:
        self.cfg, self.run, self.device = cfg, run, resolve_device(cfg.device)
        probe = make_env(cfg, 1, cfg.seed, vectorization="sync")
        network, obs_shape, _ = build_network_for_env(cfg, probe)
        obs_dtype = probe.single_observation_space.dtype
        probe.close()
        self.learner = Learner(cfg, network.to(self.device), self.device)
        self.replay = make_replay(dataclasses.replace(cfg, num_envs=num_workers * cfg.num_envs), obs_shape, obs_dtype)
        self.rows = _WorkerRows(self.replay, cfg.num_envs)
        self.exploration = _ApexExploration(cfg, num_workers)
        self.schedule = UpdateSchedule(1, cfg.train_every_steps)
        self.step, self.episodes, self.returns = 0, 0, deque(maxlen=100)
        self.in_flight_steps = 0
        self.steps_per_worker = [0] * num_workers
        self.lags: list[int] = []
        self.losses: list[torch.Tensor] = []
        self.qs: list[torch.Tensor] = []

    def restore(self) -> None:
        """Continue the run's newest checkpoint (local or Ray: the formats are the same)."""
        self.step, self.episodes, updates_due, returned = restore_checkpoint(
            self.run, self.cfg, self.learner, self.exploration, self.replay
        )
        self.returns.extend(returned)
        self.schedule = UpdateSchedule(1, self.cfg.train_every_steps, owed=updates_due)

    def start_clock(self) -> None:
        self.t0, self.step0, self.last_log = time.perf_counter(), self.step, self.step

    def next_request(self, rollout_steps: int) -> tuple[int, bool] | None:
        """(vector steps, act at random) for a worker, or None once the budget is asked for."""
        N = self.cfg.num_envs
        vector_steps = min(rollout_steps, math.ceil((self.cfg.total_steps - self.step - self.in_flight_steps) / N))
        if vector_steps <= 0:
            return None
        warmup = self.step + self.in_flight_steps < self.cfg.learning_starts_steps
        self.in_flight_steps += vector_steps * N
        return vector_steps, warmup

    def consume(self, worker: int, chunk: dict[str, Any], version: int, log: MetricsLogger, group) -> None:
        """Add a worker's chunk row by row, learning, logging, evaluating and checkpointing as the local
        loop does after each vector step; rows past the budget are dropped."""
        cfg, N = self.cfg, self.cfg.num_envs
        self.lags.append(version - chunk["version"])
        self.episodes += len(chunk["returns"])
        self.returns.extend(chunk["returns"])
        for t in range(min(len(chunk["action"]), math.ceil((cfg.total_steps - self.step) / N))):
            self.rows.add(worker, chunk, t)
            self.step += N
            self.steps_per_worker[worker] += N
            if self.step >= cfg.learning_starts_steps and len(self.replay) >= cfg.batch_size:
                for _ in range(self.schedule.add(N)):
                    self._update()
            if self.step - self.last_log >= cfg.log_every_steps or self.step >= cfg.total_steps:
                self._log(log, group)
            if cfg.eval_every_steps and self.step % cfg.eval_every_steps < N:
                scores = evaluate_network(
                    cfg, self.learner.online, cfg.eval_episodes, seed=cfg.seed + 10**6 + self.step
                )
                log.log(
                    self.step, {"eval/return_mean": float(np.mean(scores)), "eval/return_std": float(np.std(scores))}
                )
            if cfg.checkpoint_every_steps and self.step % cfg.checkpoint_every_steps < N:
                self.run.save_checkpoint(self.step, self.checkpoint())

    def _update(self) -> None:
        batch = sample_batch(self.replay, self.cfg, self.step, self.device)
        out = self.learner.update(batch)
        if self.cfg.prioritized:
            self.replay.update_priorities(batch.index, out["priority"])
        self.losses.append(out["loss"])
        self.qs.append(out["q"])

    def _log(self, log: MetricsLogger, group) -> None:
        rate = (self.step - self.step0) / (time.perf_counter() - self.t0)
        metrics = rollout_metrics(self.exploration, self.step, self.episodes, self.returns, self.losses, self.qs, rate)
        log.log(
            self.step,
            {
                **metrics,
                **group.metrics(),
                "train/updates": self.learner.num_updates,
                "backend/weight_lag": float(np.mean(self.lags)) if self.lags else 0.0,
            },
        )
        self.losses, self.qs, self.lags, self.last_log = [], [], [], self.step

    def weights(self) -> dict[str, torch.Tensor]:
        """A CPU copy of the online network's state dict, for the parameter store."""
        return {k: v.detach().to("cpu", copy=True) for k, v in self.learner.online.state_dict().items()}

    def checkpoint(self) -> dict[str, Any]:
        counters = (self.step, self.episodes, float(self.schedule.owed))
        return checkpoint_state(self.cfg, self.learner, self.exploration, self.replay, counters, self.returns)

    def summary(self) -> dict[str, Any]:
        wall = time.perf_counter() - self.t0
        return {
            "steps": self.step,
            "episodes": self.episodes,
            "mean_return": float(np.mean(self.returns)) if self.returns else None,
            "updates": self.learner.num_updates,
            "wall_s": wall,
            "steps_per_s": (self.step - self.step0) / wall,
            **{f"backend/steps_worker{i}": n for i, n in enumerate(self.steps_per_worker)},
        }
