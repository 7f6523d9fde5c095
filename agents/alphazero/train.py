"""The AlphaZero training loop: self-play, replay, learning and evaluation, in one readable function.

    from agents.alphazero import make_config, train
    from rlkit.runs import Run
    cfg = make_config("connect4", ["num_simulations=100"])
    train(cfg, Run.create("runs", "c4", to_dict(cfg)))

Each iteration: copy the learner's weights to self-play (every `weights_sync_iterations`),
play `games_per_iteration` games, add them to the replay window, take
`updates_per_iteration` learner steps, evaluate every `eval_every_iterations`, checkpoint.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

from rlkit.config import to_dict
from rlkit.errors import RlkitError
from rlkit.metrics import MetricsLogger
from rlkit.plots import plot_metrics
from rlkit.runs import Run, get_rng_state, set_rng_state

from .config import AlphaZeroConfig, check_config
from .evaluate import CheckpointEvaluator, plot_elo_table
from .learner import Learner
from .selfplay import ReplayWindow, SelfPlayWorker

__all__ = [
    "COUNTERS",
    "SHOW",
    "checkpoint_state",
    "draw_plots",
    "end_iteration",
    "restore_checkpoint",
    "train",
]

SHOW = ["rollout/games_per_s", "rollout/sims_per_s", "train/policy_loss", "train/value_loss", "eval/elo"]
COUNTERS = ("iteration", "games", "positions", "simulations", "updates")


def train(config: AlphaZeroConfig, run: Run, resume: bool = False, progress: bool = True) -> dict[str, float]:
    """Train an AlphaZero agent into `run`; with `resume`, continue from the run's newest checkpoint
    (counters, weights, optimiser, replay, evaluation history and random streams restored).
    Returns the last logged metrics."""
    check_config(config)
    torch.manual_seed(config.seed)
    learner = Learner(config)
    worker = SelfPlayWorker(config, seed=config.seed + 1)
    replay = ReplayWindow(config.replay_games)
    evaluator = CheckpointEvaluator(config) if config.eval_every_iterations > 0 else None
    sampler = torch.Generator().manual_seed(config.seed + 2)
    counters = dict.fromkeys(COUNTERS, 0)
    if resume:
        counters = restore_checkpoint(run, learner, worker, replay, evaluator, sampler)

    log = MetricsLogger(
        run.path,
        total=config.iterations,
        unit="iter",
        desc=f"alphazero {config.game}",
        show=SHOW + [f"eval/{name}/wdl" for name in config.eval_opponents],  # the latest arena results
        start=counters["iteration"],
        progress=progress,
    )
    with log:
        for iteration in range(counters["iteration"], config.iterations):
            if iteration % config.weights_sync_iterations == 0:
                worker.set_weights(learner.get_weights(), version=iteration)

            samples, stats = worker.play(config.games_per_iteration)
            replay.add(samples, stats["games"])

            learn_start = time.perf_counter()
            for _ in range(config.updates_per_iteration):
                train_metrics = learner.update(replay.sample(config.batch_size, sampler))
            learn_seconds = time.perf_counter() - learn_start

            counters["iteration"] = iteration + 1
            for key in ("games", "positions", "simulations"):
                counters[key] += stats[key]
            counters["updates"] = learner.num_updates
            metrics = {
                **train_metrics,
                "rollout/games_per_s": stats["games"] / stats["seconds"],
                "rollout/sims_per_s": stats["simulations"] / stats["seconds"],
                "rollout/game_length": stats["game_length"],
                "rollout/first_player_wins": stats["first_player_wins"],
                "rollout/draws": stats["draws"],
                "train/updates_per_s": config.updates_per_iteration / learn_seconds,
                "replay/positions": len(replay),
                **{f"counters/{k}": v for k, v in counters.items()},
            }
            end_iteration(
                config, run, log, counters, metrics, learner.net, evaluator,
                lambda: checkpoint_state(config, counters, learner, worker, replay, evaluator, sampler),
            )  # fmt: skip
    draw_plots(config, run, evaluator, title=f"AlphaZero {config.game}")
    return log.latest


def end_iteration(
    config: AlphaZeroConfig,
    run: Run,
    log: MetricsLogger,
    counters: dict[str, int],
    metrics: dict,
    net: torch.nn.Module,
    evaluator: CheckpointEvaluator | None,
    make_checkpoint: Callable[[], dict],
) -> None:
    """Close iteration `counters["iteration"]`: evaluate the network when due (and after the last
    iteration), log `metrics`, and save `make_checkpoint()` when due."""
    iteration = counters["iteration"]
    last = iteration == config.iterations
    if evaluator is not None and (iteration % config.eval_every_iterations == 0 or last):
        metrics.update(evaluator.evaluate(net, f"iter_{iteration}"))
    log.log(iteration, metrics)
    if iteration % config.checkpoint_every_iterations == 0 or last:
        run.save_checkpoint(iteration, make_checkpoint())


def draw_plots(config: AlphaZeroConfig, run: Run, evaluator: CheckpointEvaluator | None, title: str) -> None:
    """Training curves and, when checkpoints were evaluated, the Elo table, into the run's plots/."""
    plot_metrics(
        run.metrics_path,
        ["eval/elo", "train/policy_loss", "train/value_loss", "rollout/sims_per_s"],
        run.plots_dir / "training.png",
        title=title,
    )
    if evaluator is not None and evaluator.elo.records:
        plot_elo_table(evaluator.elo.ratings(), run.plots_dir / "elo.png")


def checkpoint_state(config, counters, learner, worker, replay, evaluator, sampler) -> dict:
    """Everything a resumed run needs, as plain dicts and tensors (loadable with weights_only=True)."""
    return {
        "agent": "alphazero",
        "config": to_dict(config),
        "counters": dict(counters),
        "learner": learner.state_dict(),
        "selfplay": worker.get_state(),
        "replay": replay.state_dict(),
        "evaluator": evaluator.state_dict() if evaluator is not None else None,
        "sampler_rng": sampler.get_state(),
        "rng": get_rng_state(),
    }


def restore_checkpoint(run, learner, worker, replay, evaluator, sampler) -> dict[str, int]:
    loaded = run.load_latest(map_location="cpu")
    if loaded is None:
        raise RlkitError(f"nothing to resume: {str(run.checkpoints_dir)!r} holds no readable checkpoint")
    state, _ = loaded
    learner.load_state_dict(state["learner"])
    worker.set_state(state["selfplay"])
    replay.load_state_dict(state["replay"])
    if evaluator is not None and state["evaluator"] is not None:
        evaluator.load_state_dict(state["evaluator"], learner.net)
    sampler.set_state(state["sampler_rng"].cpu())
    set_rng_state(state["rng"])
    return {k: int(state["counters"][k]) for k in COUNTERS}
