"""The AlphaZero learner side, written once: replay window, update ratio, evaluation, checkpoints.

    from agents.alphazero import make_config, train
    cfg = make_config("connect4", ["num_simulations=100"])
    train(cfg, Run.create("runs", "c4", to_dict(cfg)))       # or AlphaZero("connect4").learn(300)

Self-play workers (``agents.alphazero.worker.SelfPlayActor``) feed it through a worker group:
in this process (``backend="local"``: one worker, one iteration's games per request) or on Ray
(N workers, ``games_per_request`` games each). After each returned request the learner catches up
to ``games * updates_per_iteration // games_per_iteration`` updates, so every backend makes exactly
``iterations * updates_per_iteration`` updates. An iteration ends whenever another
``games_per_iteration`` games have arrived: metrics, evaluation, checkpoint and (every
``weights_sync_iterations``) new weights for the workers, versioned by the iteration they start.
"""

from __future__ import annotations

import math
import time
from typing import Any

import torch

from rlkit.callbacks import Callback, wants_to_stop
from rlkit.checkpoints import get_rng_state, read_checkpoint, set_rng_state, stamp
from rlkit.config import to_dict
from rlkit.errors import RlkitError
from rlkit.metrics import MetricsLogger
from rlkit.plots import plot_metrics
from rlkit.runs import Run
from rlkit.workers import LocalParameterStore, LocalWorkerGroup, open_feeders

from .config import AlphaZeroConfig, check_config
from .evaluate import CheckpointEvaluator, elo_intervals, plot_elo_table
from .learner import Learner
from .selfplay import ReplayWindow, replay_capacity
from .worker import SelfPlayActor, worker_seed

__all__ = ["COUNTERS", "SHOW", "Trainer", "train"]

# Beside the progress bar (which shows iterations/s); brief labels so that the bar fits 80 columns.
# eval/ keys go to a second line (rlkit.metrics): the latest evaluation, W/D/L per opponent.
SHOW = {"train/policy_loss": "pi", "train/value_loss": "v", "eval/elo": "elo"}


def short_player(name: str) -> str:
    """A reference player's name for the progress bar: alphabeta:4 -> ab4, one_ply -> 1ply."""
    return (
        name.replace("alphabeta:", "ab").replace("alphabeta", "ab").replace("one_ply", "1ply").replace("random", "rand")
    )


COUNTERS = ("iteration", "games", "positions", "simulations", "updates")
ARCHITECTURE = ("game", "game_size", "channels", "blocks")


class Trainer:
    """The learner side of one AlphaZero run: learner, replay window, evaluator, counters, checkpoints.

    :param num_workers: ignored (any number of self-play workers can feed it); kept for the agent API.
    """

    def __init__(self, config: AlphaZeroConfig, num_workers: int = 1) -> None:
        check_config(config)
        self.cfg, self.num_workers = config, num_workers
        torch.manual_seed(config.seed)
        self.learner = Learner(config)
        self.replay = ReplayWindow(config.replay_games)
        self.evaluator = CheckpointEvaluator(config) if config.eval_every_iterations > 0 else None
        self.sampler = torch.Generator().manual_seed(config.seed + 2)
        self.counters = dict.fromkeys(COUNTERS, 0)
        self.published = (self.learner.get_weights(), 0)  # the weights self-play plays with, and their version
        self.worker_states: list[dict] | None = None

    @property
    def iteration(self) -> int:
        return self.counters["iteration"]

    # ------------------------------------------------------------------ state
    def get_state(self) -> dict[str, Any]:
        """Everything a resumed run needs, as plain dicts and tensors (loadable with weights_only=True)."""
        return stamp("alphazero", {
            "config": to_dict(self.cfg),
            "counters": dict(self.counters),
            "learner": self.learner.state_dict(),
            "published": {"weights": self.published[0], "version": self.published[1]},
            "workers": self.worker_states,
            "replay": self.replay.state_dict(),
            "evaluator": self.evaluator.state_dict() if self.evaluator is not None else None,
            "sampler_rng": self.sampler.get_state(),
            "rng": get_rng_state(),
        })  # fmt: skip

    def set_state(self, state: dict[str, Any]) -> None:
        """:raises RlkitError: weights that do not fit this config's network."""
        try:
            self.learner.load_state_dict(state["learner"])
        except RuntimeError:
            raise RlkitError("the checkpoint's weights do not fit the network its config describes") from None
        self.published = (state["published"]["weights"], int(state["published"]["version"]))
        self.worker_states = state.get("workers")
        self.replay.load_state_dict(state["replay"])
        if self.evaluator is not None and state["evaluator"] is not None:
            self.evaluator.load_state_dict(state["evaluator"], self.learner.net)
        self.sampler.set_state(state["sampler_rng"].cpu())
        set_rng_state(state["rng"])
        self.counters = {k: int(state["counters"][k]) for k in COUNTERS}

    def local_workers(self) -> LocalWorkerGroup:
        """The in-process feeder: one self-play worker (its stream restored on a resume)."""
        worker = SelfPlayActor(self.cfg, worker_seed(self.cfg, 0))
        if self.worker_states:
            worker.set_state(self.worker_states[0])
        return LocalWorkerGroup([worker], LocalParameterStore())

    # ------------------------------------------------------------------ the loop
    def run(
        self,
        run: Run,
        total_iterations: int,
        backend: str = "local",
        options=None,
        callback: Callback | None = None,
        progress: bool = True,
        workers=None,
    ) -> dict[str, Any]:
        """Train until ``total_iterations`` (or until ``callback`` returns False); returns the last
        logged metrics (plus ``backend/games_worker<i>`` on Ray)."""
        cfg, counters = self.cfg, self.counters
        group = open_feeders(
            backend, options, SelfPlayActor, lambda i: (cfg, worker_seed(cfg, i), i, options.cpus_per_worker),
            *self.published, f"rlkit-{run.path.name}", lambda: workers or self.local_workers(),
        )  # fmt: skip
        store = group.store
        per_request = cfg.games_per_iteration
        if backend == "ray":
            per_request = options.games_per_request or math.ceil(cfg.games_per_iteration / options.num_workers)
        budget = total_iterations * cfg.games_per_iteration
        in_flight = 0

        def next_request(worker: int) -> tuple[int] | None:
            nonlocal in_flight
            games = min(per_request, budget - counters["games"] - in_flight)
            if games <= 0:
                return None
            in_flight += games
            return (games,)

        # the latest arena results, shown as "W/D/L rand 16/0/0 ab4 3/4/9"
        show = {**SHOW, **{f"eval/{name}/wdl": short_player(name) for name in cfg.eval_opponents}}
        if backend == "ray":
            show["backend/restarts"] = "restarts"
        suffix = " (ray)" if backend == "ray" else ""
        log = MetricsLogger(
            run.path, total=total_iterations, unit="iter", desc=f"az {cfg.game}{suffix}", show=show,
            start=self.iteration, progress=progress,
        )  # fmt: skip
        train_metrics: dict[str, float] = {}
        stop = False
        try:
            with log:
                group.wait_ready()
                window = _Window(options.num_workers if backend == "ray" else 1)  # rates exclude worker start-up
                while counters["games"] < budget and not stop:
                    group.fill("play", next_request)
                    for done in group.wait():
                        in_flight -= done.request[0]
                        if done.error is not None:
                            log.write(f"self-play request lost, worker restarting: {done.error}")
                            continue
                        result, stats = done.value, done.value["stats"]
                        self.replay.capacity_games = replay_capacity(cfg, counters["games"] + stats["games"])
                        self.replay.add(result["samples"], stats["games"])
                        for key in ("games", "positions", "simulations"):
                            counters[key] += stats[key]
                        window.add(result, store.version - result["version"])
                        # The update ratio over the whole run, so restarts and resumes keep it exact.
                        due = min(counters["games"], budget) * cfg.updates_per_iteration // cfg.games_per_iteration
                        learn_start = time.perf_counter()
                        while self.learner.num_updates < due:
                            train_metrics = self.learner.update(self.replay.sample(cfg.batch_size, self.sampler))
                        window.learn_seconds += time.perf_counter() - learn_start
                        counters["updates"] = self.learner.num_updates
                        while counters["games"] >= (counters["iteration"] + 1) * cfg.games_per_iteration and not stop:
                            counters["iteration"] += 1
                            if counters["iteration"] % cfg.weights_sync_iterations == 0:  # before the checkpoint
                                self.published = (self.learner.get_weights(), counters["iteration"])
                                store.publish(*self.published)
                            metrics = {
                                **train_metrics, **window.metrics(), **group.metrics(),
                                "replay/positions": len(self.replay), **{f"counters/{k}": v for k, v in counters.items()},
                            }  # fmt: skip
                            stop = self._end_iteration(run, log, metrics, total_iterations, group, callback)
                        if stop:
                            break
        finally:
            if group is not workers:
                group.close()
        self._draw_plots(run, f"AlphaZero {cfg.game}" + (f" (Ray, {options.num_workers} workers)" if suffix else ""))
        return {**log.latest, **(window.totals() if backend == "ray" else {})}

    def _end_iteration(self, run, log, metrics, total_iterations, group, callback) -> bool:
        """Close the iteration: evaluate when due (and after the last), log, checkpoint when due.
        Returns True when the callback asked to stop (a checkpoint is then written too)."""
        iteration, cfg = self.iteration, self.cfg
        last = iteration == total_iterations
        if self.evaluator is not None and (iteration % cfg.eval_every_iterations == 0 or last):
            log.status("starting")
            on_match = lambda opponent: log.status(f"vs {short_player(opponent)}")
            metrics.update(self.evaluator.evaluate(self.learner.net, f"iter_{iteration}", on_match=on_match))
            log.status(None)
        log.log(iteration, metrics)
        stop = wants_to_stop(callback, iteration, metrics)
        if iteration % cfg.checkpoint_every_iterations == 0 or last or stop:
            states = group.states()
            if states is not None:
                self.worker_states = states
            run.save_checkpoint(iteration, self.get_state(), keep=cfg.keep_checkpoints)
        return stop

    def _draw_plots(self, run: Run, title: str) -> None:
        """Training curves and, when checkpoints were evaluated, the Elo table, into the run's plots/."""
        title = f"{title}, run {run.path.name}"
        plot_metrics(
            run.metrics_path,
            ["eval/elo", "train/policy_loss", "train/value_loss", "rollout/sims_per_s"],
            run.plots_dir / "training.png",
            title=title,
            xlabel="iteration",
        )
        if self.evaluator is not None and self.evaluator.elo.records:
            ratings = self.evaluator.elo.ratings()
            intervals = elo_intervals(self.evaluator.elo, ratings)
            plot_elo_table(ratings, run.plots_dir / "elo.png", intervals, title=f"Elo of the checkpoints: {title}")


def check_architecture(state: dict[str, Any], config: AlphaZeroConfig, path) -> None:
    """:raises RlkitError: the checkpoint's network differs from what ``config`` describes."""
    differ = [k for k in ARCHITECTURE if state["config"].get(k) != getattr(config, k)]
    if differ:
        raise RlkitError(
            f"checkpoint {str(path)!r} is from another architecture: "
            + ", ".join(f"{k}={state['config'].get(k)!r} (config says {getattr(config, k)!r})" for k in differ)
        )


class _Window:
    """Self-play statistics between two logged iterations, and games per worker over the session."""

    def __init__(self, num_workers: int) -> None:
        self.games_per_worker = [0] * num_workers
        self._reset()

    def _reset(self) -> None:
        self.start = time.perf_counter()
        self.games = self.positions = self.simulations = self.first_wins = self.draws = 0.0
        self.learn_seconds = 0.0
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
        """``rollout/`` rates over all workers (wall clock, so they measure the whole system), the
        mean weight-version lag of the games and the learner's share of the time; starts the next window."""
        seconds = time.perf_counter() - self.start
        games = max(self.games, 1.0)
        metrics = {
            "rollout/games_per_s": self.games / seconds,
            "rollout/sims_per_s": self.simulations / seconds,
            "rollout/game_length": self.positions / games,
            "rollout/first_player_wins": self.first_wins / games,
            "rollout/draws": self.draws / games,
            "train/learn_share": self.learn_seconds / seconds,
            "backend/weight_lag": sum(self.lags) / len(self.lags) if self.lags else 0.0,
        }
        self._reset()
        return metrics

    def totals(self) -> dict[str, int]:
        return {f"backend/games_worker{i}": games for i, games in enumerate(self.games_per_worker)}


def train(
    config: AlphaZeroConfig,
    run: Run,
    resume: bool = False,
    progress: bool = True,
    backend: str = "local",
    options=None,
    callback: Callback | None = None,
) -> dict[str, Any]:
    """Train an AlphaZero agent into ``run`` until ``config.iterations``; with ``resume``, continue from
    the run's newest checkpoint (counters, weights, optimiser, replay, evaluation history and random
    streams restored). Returns the last logged metrics.

    :raises RlkitError: bad config, missing/foreign checkpoint or another architecture.
    """
    if backend == "ray":
        from rlkit.backend import RayOptions

        options = options or RayOptions()
        options.check()
    trainer = Trainer(config)
    if resume:
        state, path = read_checkpoint(run.path, "alphazero")
        check_architecture(state, config, path)
        trainer.set_state(state)
    return trainer.run(run, config.iterations, backend, options, callback, progress)
