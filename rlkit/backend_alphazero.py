"""AlphaZero over Ray: N self-play actors; learner, replay window, evaluation and checkpoints in the driver.

The same classes as the local loop (``agents.alphazero.train``): each worker wraps a
``SelfPlayWorker``; the driver owns the ``Learner``, the ``ReplayWindow`` and the
``CheckpointEvaluator`` and writes checkpoints in the local loop's format (a Ray checkpoint
resumes locally and the other way round).

Flow. The budget is ``iterations * games_per_iteration`` games, asked of the workers in requests
of ``games_per_request`` games (default: one iteration's games split over the workers). After each
returned request the learner catches up to ``games * updates_per_iteration // games_per_iteration``
updates, the local loop's ratio, so both backends make exactly ``iterations * updates_per_iteration``
updates. An iteration ends whenever another ``games_per_iteration`` games have arrived: metrics,
evaluation, checkpoint, and (every ``weights_sync_iterations``) new weights for the workers.
"""

from __future__ import annotations

import math
import os
import time
from typing import Any

import torch

from agents.alphazero import AlphaZeroConfig, CheckpointEvaluator, Learner, ReplayWindow, SelfPlayWorker
from agents.alphazero.config import check_config
from agents.alphazero.train import COUNTERS, SHOW, checkpoint_state, draw_plots, end_iteration, restore_checkpoint
from rlkit.backend import ParameterStore, RayOptions, WorkerGroup, set_worker_threads
from rlkit.metrics import MetricsLogger
from rlkit.runs import Run

__all__ = ["SelfPlayActor", "train_alphazero", "worker_seed"]


def worker_seed(config: AlphaZeroConfig, worker: int) -> int:
    """Seed of worker ``worker``'s self-play stream; worker 0 plays the local loop's stream."""
    return config.seed + 1 + 1000 * worker


class SelfPlayActor:
    """A ``SelfPlayWorker`` as a Ray actor: torch threads match its CPU reservation, results carry provenance.

    :param cpus: CPUs Ray reserved for this worker.
    """

    def __init__(self, config: AlphaZeroConfig, seed: int, worker: int, cpus: float) -> None:
        set_worker_threads(cpus)
        self.worker = worker
        self.selfplay = SelfPlayWorker(config, seed=seed)

    def set_weights(self, weights: dict[str, torch.Tensor], version: int) -> None:
        self.selfplay.set_weights(weights, version)

    def play(self, num_games: int) -> dict[str, Any]:
        """``num_games`` self-play games: their ``samples`` and ``stats``, the weight ``version`` that
        played them, and the ``worker`` index and ``pid`` that did."""
        samples, stats = self.selfplay.play(num_games)
        return {
            "samples": samples,
            "stats": stats,
            "version": self.selfplay.weights_version,
            "worker": self.worker,
            "pid": os.getpid(),
        }


class _PublishedSelfPlay:
    """The self-play entry of a local checkpoint: the newest published weights and a fresh stream,
    so a local run can resume a Ray run (the remote workers' own streams are not saved)."""

    def __init__(self, config: AlphaZeroConfig, store_weights: dict[str, torch.Tensor], version: int) -> None:
        self.config, self.weights, self.version = config, store_weights, version

    def get_state(self) -> dict:
        rng = torch.Generator().manual_seed(worker_seed(self.config, 0)).get_state()
        return {"weights": self.weights, "version": self.version, "rng": rng}

    def set_state(self, state: dict) -> None:
        """Restored workers take the learner's weights instead."""


def train_alphazero(config: AlphaZeroConfig, run: Run, resume: bool, options: RayOptions, ray) -> dict[str, Any]:
    """Train with ``options.num_workers`` self-play actors; returns the last logged metrics plus
    ``backend/games_worker<i>`` (games each worker contributed in this session)."""
    check_config(config)
    torch.manual_seed(config.seed)
    learner = Learner(config)
    replay = ReplayWindow(config.replay_games)
    evaluator = CheckpointEvaluator(config) if config.eval_every_iterations > 0 else None
    sampler = torch.Generator().manual_seed(config.seed + 2)
    store = ParameterStore(ray)
    selfplay_state = _PublishedSelfPlay(config, learner.get_weights(), version=0)
    counters = dict.fromkeys(COUNTERS, 0)
    if resume:
        counters = restore_checkpoint(run, learner, selfplay_state, replay, evaluator, sampler)
    _publish(store, selfplay_state, learner, counters["iteration"])

    budget = config.iterations * config.games_per_iteration
    per_request = options.games_per_request or math.ceil(config.games_per_iteration / options.num_workers)
    in_flight_games = 0

    def next_request(worker: int) -> tuple[int] | None:
        nonlocal in_flight_games
        games = min(per_request, budget - counters["games"] - in_flight_games)
        if games <= 0:
            return None
        in_flight_games += games
        return (games,)

    group = WorkerGroup(
        ray,
        SelfPlayActor,
        lambda i: (config, worker_seed(config, i), i, options.cpus_per_worker),
        options,
        store,
        name=f"rlkit-{run.path.name}",
    )
    log = MetricsLogger(
        run.path,
        total=config.iterations,
        unit="iter",
        desc=f"alphazero {config.game} (ray)",
        show=[*SHOW, *(f"eval/{name}/wdl" for name in config.eval_opponents), "backend/restarts"],
        start=counters["iteration"],
    )
    train_metrics: dict[str, float] = {}
    with log, group:
        group.wait_ready()
        window = _Window(options.num_workers)  # rates count from here, worker start-up excluded
        while counters["games"] < budget:
            group.fill("play", next_request)
            for done in group.wait():
                in_flight_games -= done.request[0]
                if done.error is not None:
                    log.write(f"self-play request lost, worker restarting: {done.error}")
                    continue
                result, stats = done.value, done.value["stats"]
                replay.add(result["samples"], stats["games"])
                for key in ("games", "positions", "simulations"):
                    counters[key] += stats[key]
                window.add(result, store.version - result["version"])
                # The local loop's ratio, counted over the whole run so restarts and resumes keep it exact.
                target = min(counters["games"], budget) * config.updates_per_iteration // config.games_per_iteration
                while learner.num_updates < target:
                    train_metrics = learner.update(replay.sample(config.batch_size, sampler))
                counters["updates"] = learner.num_updates
                while counters["games"] >= (counters["iteration"] + 1) * config.games_per_iteration:
                    counters["iteration"] += 1
                    metrics = {
                        **train_metrics,
                        **window.metrics(),
                        **group.metrics(),
                        "replay/positions": len(replay),
                        **{f"counters/{k}": v for k, v in counters.items()},
                    }
                    end_iteration(
                        config, run, log, counters, metrics, learner.net, evaluator,
                        lambda: checkpoint_state(config, counters, learner, selfplay_state, replay, evaluator, sampler),
                    )  # fmt: skip
                    if counters["iteration"] % config.weights_sync_iterations == 0:
                        _publish(store, selfplay_state, learner, counters["iteration"])
    draw_plots(config, run, evaluator, title=f"AlphaZero {config.game} (Ray, {options.num_workers} workers)")
    return {**log.latest, **window.totals()}


def _publish(store: ParameterStore, selfplay_state: _PublishedSelfPlay, learner: Learner, iteration: int) -> None:
    """New weights for the workers, versioned by the iteration they start (the local loop's version)."""
    selfplay_state.weights, selfplay_state.version = learner.get_weights(), iteration
    store.publish(selfplay_state.weights, iteration)


class _Window:
    """Self-play statistics between two logged iterations, and games per worker over the session."""

    def __init__(self, num_workers: int) -> None:
        self.games_per_worker = [0] * num_workers
        self._reset()

    def _reset(self) -> None:
        self.start = time.perf_counter()
        self.games = self.positions = self.simulations = self.first_wins = self.draws = 0.0
        self.lags: list[int] = []

    def add(self, result: dict[str, Any], lag: int) -> None:
        stats = result["stats"]
        self.games_per_worker[result["worker"]] += stats["games"]
        self.games += stats["games"]
        self.positions += stats["positions"]
        self.simulations += stats["simulations"]
        self.first_wins += stats["first_player_wins"] * stats["games"]
        self.draws += stats["draws"] * stats["games"]
        self.lags.append(lag)

    def metrics(self) -> dict[str, float]:
        """``rollout/`` rates over all workers (wall clock, so they measure the whole system) and the
        mean weight-version lag of the games; starts the next window."""
        seconds = time.perf_counter() - self.start
        games = max(self.games, 1.0)
        metrics = {
            "rollout/games_per_s": self.games / seconds,
            "rollout/sims_per_s": self.simulations / seconds,
            "rollout/game_length": self.positions / games,
            "rollout/first_player_wins": self.first_wins / games,
            "rollout/draws": self.draws / games,
            "backend/weight_lag": sum(self.lags) / len(self.lags) if self.lags else 0.0,
        }
        self._reset()
        return metrics

    def totals(self) -> dict[str, int]:
        return {f"backend/games_worker{i}": games for i, games in enumerate(self.games_per_worker)}
