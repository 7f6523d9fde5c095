"""The DQN learner side, written once: replay, learn gate, replay ratio, updates, priorities,
target upkeep, log / eval / checkpoint cadence and the end-of-run summary.

It is fed by acting workers (``agents.dqn.worker.ActingWorker``) through a worker group: in this
process (``backend="local"``: one worker acting with the learner's own network, one vector step
per request) or on Ray (``backend="ray"``: N workers with published copies, ``rollout_steps``
vector steps per request). Each row (one vector step of one worker) goes through ``_add_row``,
so both backends make the same number of updates for a step budget and write the same checkpoints.

Step counting: ``step`` counts agent steps, N per vector step. A checkpoint holds the networks,
optimiser, counters, the global RNG, the in-process workers' exploration streams and
(``save_replay``) the replay. Emulator state cannot be saved through Gymnasium, so a resumed run
starts fresh episodes, seeded from ``seed + step`` (SB3 and CleanRL do not restore it either).
"""

from __future__ import annotations

import math
import time
import warnings
from collections import deque
from typing import Any

import numpy as np
import torch

from agents.dqn.actor import linear_schedule, make_env
from agents.dqn.config import DQNConfig, check_checkpoint, check_config
from agents.dqn.evaluate import evaluate_network
from agents.dqn.learner import Learner
from agents.dqn.networks import build_network_for_env
from agents.dqn.worker import FIELDS, ActingWorker, worker_epsilon, worker_seed
from envs.gym_envs import frame_stack
from rlkit.callbacks import Callback, wants_to_stop
from rlkit.checkpoints import get_rng_state, read_checkpoint, set_rng_state, stamp
from rlkit.config import to_dict
from rlkit.devices import resolve_device
from rlkit.errors import RlkitError
from rlkit.metrics import MetricsLogger
from rlkit.plots import plot_metrics
from rlkit.replay import ReplayBuffer
from rlkit.replay.buffer import storage_dtype
from rlkit.runs import Run, seed_everything
from rlkit.workers import LocalParameterStore, LocalWorkerGroup, UpdateSchedule, open_feeders

__all__ = ["SHOW", "Trainer", "make_replay", "train"]

# Beside the progress bar, which has the rate already; brief labels so that the bar fits 80 columns.
SHOW = {
    "rollout/return": "ret100",  # mean return of the last 100 episodes
    "rollout/episodes": "ep",
    "rollout/epsilon": "eps",
    "train/loss": "loss",
    "eval/return_mean": "return",  # the latest evaluation's mean return (on the bar's second line)
}
CURVES = ["rollout/return", "eval/return_mean", "train/loss", "train/q"]


def make_replay(cfg: DQNConfig, env, num_rings: int) -> ReplayBuffer:
    """The replay of ``cfg`` for observations like ``env``'s, with ``num_rings`` rings (one per env of
    every worker): frames of a stack stored once, bool/uint8 observations kept one byte per value."""
    return ReplayBuffer(
        cfg.buffer_size,
        env.single_observation_space.shape,
        num_envs=num_rings,
        frame_stack=frame_stack(env),
        obs_dtype=storage_dtype(env.single_observation_space.dtype),
        n_step=cfg.n_step,
        gamma=cfg.gamma,
        prioritized=cfg.prioritized,
        alpha=cfg.per_alpha,
        eps=cfg.per_eps,
        seed=cfg.seed,
    )


class Trainer:
    """The learner side of one DQN run: learner, replay, counters, metrics and checkpoints.

    :param num_workers: acting workers that will feed it (the replay keeps a ring per env of each).
    """

    def __init__(self, cfg: DQNConfig, num_workers: int = 1) -> None:
        check_config(cfg)
        self.cfg, self.num_workers = cfg, num_workers
        self.device = resolve_device(cfg.device)
        if cfg.torch_threads:
            torch.set_num_threads(cfg.torch_threads)
        seed_everything(cfg.seed)
        probe = make_env(cfg, 1, cfg.seed, vectorization="sync")
        try:
            network, self.obs_shape, self.num_actions = build_network_for_env(cfg, probe)
            self.replay = make_replay(cfg, probe, num_workers * cfg.num_envs)
        finally:
            probe.close()
        self.learner = Learner(cfg, network.to(self.device), self.device)
        self.schedule = UpdateSchedule(1, cfg.train_every_steps)
        self.step, self.episodes, self.returns = 0, 0, deque(maxlen=100)
        self.learn_from = cfg.learning_starts_steps
        self.worker_states: list[dict] | None = None
        self._row_buffers: dict[str, np.ndarray] = {}

    # ------------------------------------------------------------------ state
    def get_state(self) -> dict[str, Any]:
        """The whole run as a checkpoint (``rlkit.checkpoints`` format)."""
        state = {
            "config": to_dict(self.cfg),
            "step": self.step,
            "episodes": self.episodes,
            "updates_due": float(self.schedule.owed),
            "learn_from": self.learn_from,
            "returns": list(self.returns),
            "learner": self.learner.state_dict(),
            "workers": self.worker_states,
            "rng": get_rng_state(),
        }
        if self.cfg.save_replay:
            state["replay"] = self.replay.state_dict()
        return stamp("dqn", state)

    def set_state(self, state: dict[str, Any]) -> None:
        """Continue from a checkpoint of the same architecture (local or Ray: the formats are the same).

        :raises RlkitError: weights that do not fit this config's network.
        """
        try:
            self.learner.load_state_dict(state["learner"])
        except (RuntimeError, ValueError, KeyError):
            raise RlkitError("the checkpoint's weights do not fit the network its config describes") from None
        self.step, self.episodes = int(state["step"]), int(state["episodes"])
        self.schedule = UpdateSchedule(1, self.cfg.train_every_steps, owed=float(state["updates_due"]))
        self.returns.extend(state["returns"])
        self.worker_states = state.get("workers")
        replay = state.get("replay")
        if replay is not None and replay["config"]["num_envs"] != self.replay.num_envs:
            warnings.warn("the saved replay has another ring count (worker count changed): refilling it", stacklevel=2)
            replay = None
        if replay is not None:
            self.replay.load_state_dict(replay)
            self.learn_from = int(state.get("learn_from", self.cfg.learning_starts_steps))
        else:
            # A checkpoint without its replay resumes with an empty memory: refill it before learning again.
            self.learn_from = self.step + self.cfg.learning_starts_steps
        set_rng_state(state["rng"])

    def weights(self) -> dict[str, torch.Tensor]:
        """A CPU copy of the online network's state dict, for remote workers."""
        return {k: v.detach().to("cpu", copy=True) for k, v in self.learner.online.state_dict().items()}

    # ------------------------------------------------------------------ the loop
    def run(
        self,
        run: Run,
        total_steps: int,
        backend: str = "local",
        options=None,
        callback: Callback | None = None,
        progress: bool = True,
        workers=None,
    ) -> dict[str, Any]:
        """Train until ``total_steps`` agent steps (or until ``callback`` returns False), then checkpoint.

        :param workers: a local worker group to reuse (continued learning keeps its episodes running).
        :returns: summary with ``steps``, ``episodes``, ``mean_return`` (last 100 episodes), ``updates``,
            ``wall_s``, ``steps_per_s`` and, on Ray, ``backend/steps_worker<i>``.
        """
        cfg, N = self.cfg, self.cfg.num_envs
        rollout_steps = options.rollout_steps if backend == "ray" else 1
        group = open_feeders(
            backend, options, ActingWorker, self._worker_args(options), self.weights, self.learner.num_updates,
            f"rlkit-{run.path.name}", lambda: workers or self.local_workers(),
        )  # fmt: skip
        store = group.store
        in_flight = 0
        steps_per_worker = [0] * self.num_workers
        lags: list[int] = []
        window = _Window()

        def next_request(worker: int) -> tuple[int, int] | None:
            nonlocal in_flight
            vector_steps = min(rollout_steps, math.ceil((total_steps - self.step - in_flight) / N))
            if vector_steps <= 0:
                return None
            request = (vector_steps, self.step + in_flight)
            in_flight += vector_steps * N
            return request

        suffix = " (ray)" if backend == "ray" else ""
        show = {**SHOW, "backend/restarts": "restarts"} if backend == "ray" else SHOW
        log = MetricsLogger(
            run.path, total=total_steps, unit="step", desc=f"dqn {cfg.env_id}{suffix}", show=show,
            start=self.step, progress=progress,
        )  # fmt: skip
        t0, step0, last_log, stop = time.perf_counter(), self.step, self.step, False
        try:
            with log:
                group.wait_ready()
                t0 = time.perf_counter()  # worker start-up excluded from the rate
                while self.step < total_steps and not stop:
                    group.fill("collect", next_request)
                    for done in group.wait():
                        in_flight -= done.request[0] * N
                        if done.error is not None:
                            log.write(f"acting request lost, worker restarting: {done.error}")
                            continue
                        chunk = done.value
                        lags.append(store.version - chunk["version"])
                        self.episodes += len(chunk["returns"])
                        self.returns.extend(chunk["returns"])
                        rows = min(len(chunk["action"]), math.ceil((total_steps - self.step) / N))
                        for t in range(rows):  # rows past the budget are dropped
                            self._add_row(done.worker, chunk, t, window)
                            steps_per_worker[done.worker] += N
                            logged = self.step - last_log >= cfg.log_every_steps or self.step >= total_steps
                            if logged:
                                rate = (self.step - step0) / (time.perf_counter() - t0)
                                metrics = self._rollout_metrics(window, rate)
                                if backend == "ray":
                                    metrics.update(group.metrics())
                                    metrics["train/updates"] = self.learner.num_updates
                                    metrics["backend/weight_lag"] = float(np.mean(lags)) if lags else 0.0
                                    lags = []
                                log.log(self.step, metrics)
                                last_log = self.step
                                stop |= wants_to_stop(callback, self.step, metrics)
                            else:
                                log.update(self.step)
                            if cfg.eval_every_steps and self.step % cfg.eval_every_steps < N:
                                metrics = self.evaluate_now()
                                log.log(self.step, metrics)
                                stop |= wants_to_stop(callback, self.step, metrics)
                            if cfg.checkpoint_every_steps and self.step % cfg.checkpoint_every_steps < N:
                                self._save(run, group)
                            if stop:
                                break
                        if backend == "ray" and self.learner.num_updates != store.version:
                            store.publish(self.weights, self.learner.num_updates)
        except KeyboardInterrupt:
            # Ctrl-C keeps what was learnt: --resume continues from this step.
            self._save(run, group)
            raise
        finally:
            if group is not workers:
                group.close()
        wall_s = time.perf_counter() - t0
        self._save(run, group)
        plot_metrics(
            run.metrics_path, CURVES, run.plots_dir / "learning_curve.png",
            title=f"DQN {cfg.env_id}, run {run.path.name}", xlabel="agent steps (env steps, summed over envs)",
        )  # fmt: skip
        summary = {
            "steps": self.step,
            "episodes": self.episodes,
            "mean_return": float(np.mean(self.returns)) if self.returns else None,
            "updates": self.learner.num_updates,
            "wall_s": wall_s,
            "steps_per_s": (self.step - step0) / max(wall_s, 1e-9),
        }
        if backend == "ray":
            summary.update({f"backend/steps_worker{i}": n for i, n in enumerate(steps_per_worker)})
        return summary

    def local_workers(self) -> LocalWorkerGroup:
        """The in-process feeder: one worker acting with the learner's own network (its stream restored)."""
        worker = ActingWorker(self.cfg, 0, 1, worker_seed(self.cfg, 0), network=self.learner.online)
        if self.worker_states:
            worker.set_state(self.worker_states[0])
        return LocalWorkerGroup([worker], LocalParameterStore())

    def _worker_args(self, options):
        """Constructor arguments of Ray worker ``i`` (its own network copy, torch threads = its CPUs)."""
        return lambda i: (self.cfg, i, options.num_workers, worker_seed(self.cfg, i), options.cpus_per_worker)

    def _add_row(self, worker: int, chunk: dict[str, Any], t: int, window: _Window) -> None:
        """Vector step ``t`` of ``worker``'s chunk into its rings; then the updates it makes due."""
        cfg, N = self.cfg, self.cfg.num_envs
        priority = chunk["priority"]
        if self.num_workers == 1:
            row = [chunk[key][t] for key in FIELDS]
            active = chunk["active"][t]
            row_priority = priority[t] if priority is not None else None
        else:  # the other workers' rings stay untouched (inactive)
            rings = slice(worker * N, (worker + 1) * N)
            keys = (*FIELDS, "priority") if priority is not None else FIELDS
            for key in keys:
                if key not in self._row_buffers:
                    value = chunk[key][t]
                    self._row_buffers[key] = np.zeros((self.replay.num_envs, *value.shape[1:]), dtype=value.dtype)
                self._row_buffers[key][rings] = chunk[key][t]
            row = [self._row_buffers[key] for key in FIELDS]
            active = np.zeros(self.replay.num_envs, dtype=bool)
            active[rings] = chunk["active"][t]
            row_priority = self._row_buffers["priority"] if priority is not None else None
        self.replay.add(*row, priority=row_priority, active=active)
        self.step += N
        if self.step >= self.learn_from and len(self.replay) >= cfg.batch_size:
            for _ in range(self.schedule.add(N)):
                batch = self._sample()
                out = self.learner.update(batch)
                if cfg.prioritized:
                    self.replay.update_priorities(batch.index, out["priority"])
                window.losses.append(out["loss"])
                window.qs.append(out["q"])

    def _sample(self):
        """One replay batch on the learner's device; PER's beta anneals linearly to 1 over the
        config's budget (Schaul et al. 2016)."""
        cfg = self.cfg
        if cfg.torso == "lstm":
            batch = self.replay.sample_sequences(cfg.batch_size, cfg.burn_in_steps + cfg.seq_len)
        else:
            batch = self.replay.sample(cfg.batch_size, linear_schedule(cfg.per_beta0, 1.0, cfg.total_steps, self.step))
        return batch.to(self.device, non_blocking=True)

    def _rollout_metrics(self, window: _Window, rate: float) -> dict[str, Any]:
        epsilons = [worker_epsilon(self.cfg, i, self.num_workers, self.step) for i in range(self.num_workers)]
        metrics = {"rollout/episodes": self.episodes, "rollout/epsilon": float(np.mean(epsilons))}
        metrics["train/steps_per_s"] = rate
        if self.returns:
            metrics["rollout/return"] = float(np.mean(self.returns))
        if window.losses:
            metrics["train/loss"] = torch.stack(window.losses).mean().item()  # the learner side's only host sync
            metrics["train/q"] = torch.stack(window.qs).mean().item()
        window.losses, window.qs = [], []
        return metrics

    def evaluate_now(self, episodes: int | None = None) -> dict[str, float]:
        """``eval/`` metrics of the online network under the evaluation protocol."""
        episodes = episodes or self.cfg.eval_episodes
        scores = evaluate_network(self.cfg, self.learner.online, episodes, seed=self.cfg.seed + 10**6 + self.step)
        return {"eval/return_mean": float(np.mean(scores)), "eval/return_std": float(np.std(scores))}

    def _save(self, run: Run, group) -> None:
        states = group.states()
        if states is not None:
            self.worker_states = states
        run.save_checkpoint(self.step, self.get_state())


class _Window:
    """Learner outputs since the last logged step (detached tensors: no host sync until logged)."""

    def __init__(self) -> None:
        self.losses: list[torch.Tensor] = []
        self.qs: list[torch.Tensor] = []


def train(
    cfg: DQNConfig,
    run: Run,
    resume: bool = False,
    backend: str = "local",
    options=None,
    callback: Callback | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Train the agent ``cfg`` describes into ``run`` until ``cfg.total_steps``.

    :param resume: continue from the newest checkpoint of ``run`` (same step counter, epsilon,
        optimiser, RNG and, if it was saved, replay).
    :param backend: ``local`` or ``ray`` (``options``: an ``rlkit.backend.RayOptions``).
    :raises RlkitError: bad config, unknown env, incompatible network, missing/foreign checkpoint.
    """
    if backend == "ray":
        from rlkit.backend import RayOptions

        options = options or RayOptions()
        options.check()
    trainer = Trainer(cfg, num_workers=options.num_workers if backend == "ray" else 1)
    if resume:
        state, path = read_checkpoint(run.path, "dqn")
        check_checkpoint(state, cfg, path)
        trainer.set_state(state)
    return trainer.run(run, cfg.total_steps, backend, options, callback, progress)
