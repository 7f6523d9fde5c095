"""What each `rlkit` subcommand does: thin handlers over the agent objects (`agents.dqn.DQN`,
`agents.alphazero.AlphaZero`), the reference players and the demos. `rlkit.cli` parses the
arguments and calls one of these with the parsed namespace; each returns the exit status."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Callable
from typing import Any

from rlkit.errors import RlkitError

__all__ = ["arena", "demo", "eval_alphazero", "eval_dqn", "play", "train_alphazero", "train_dqn"]


# --------------------------------------------------------------------------- helpers
def _overrides(args: argparse.Namespace) -> dict[str, str]:
    """``--set key=value`` (and --seed/--device) as ``{key: value}``, in the order given."""
    extra: dict[str, str] = {}
    for item in args.overrides:
        if "=" not in item:
            raise RlkitError(f"--set {item!r} must look like key=value (e.g. --set lr=3e-4)")
        key, value = item.split("=", 1)
        extra[key.strip()] = value.strip()
    if args.seed is not None:
        extra["seed"] = str(args.seed)
    if args.device is not None:
        extra["device"] = args.device
    return extra


def _budget(args: argparse.Namespace) -> int | None:
    """``--steps`` as a whole number >= 1 (None when not given)."""
    if args.steps is None:
        return None
    if not math.isfinite(args.steps) or args.steps < 1 or int(args.steps) != args.steps:
        raise RlkitError(f"--steps must be a whole number >= 1, got {args.steps:g}")
    return int(args.steps)


def _print_presets(presets: dict[str, Callable], key: str, describe: Callable[[Any], str]) -> None:
    for name, fn in presets.items():
        print(f"  {name:<12} {describe(fn)}")
    print(f"\nuse one with --{key} NAME; list its keys with --show-config")


def _first_doc_line(fn: Callable) -> str:
    return (fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else ""


def _alphazero_preset_line(fn: Callable) -> str:
    cfg = fn()
    size = f" {cfg.game_size}x{cfg.game_size}" if cfg.game_size else ""
    return (
        f"{cfg.game}{size}: {cfg.blocks}x{cfg.channels} residual net, {cfg.search} search with {cfg.num_simulations} "
        f"simulations, {cfg.iterations} iterations x {cfg.games_per_iteration} games"
    )


def _report(args: argparse.Namespace, agent) -> None:
    """The end of `rlkit train`: the JSON object with --json, else a short summary and the next commands."""
    summary, run = agent.last_summary, agent.run
    if args.json:
        print(json.dumps({"run": str(run.path), **summary}, default=str))
        return
    path = _shell_path(run.path)
    done = f"{agent.num_done} {agent.counter}{'' if agent.num_done == 1 else 's'}"
    if agent.name == "dqn":
        ret = summary.get("mean_return")
        ret = (
            f", mean return {ret:.1f} over the last {min(summary['episodes'], 100)} episodes" if ret is not None else ""
        )
        print(f"dqn {agent.config.env_id}: {done}, {summary['episodes']} episodes{ret}, {summary['updates']} updates, "
              f"{summary['wall_s']:.0f} s ({summary['steps_per_s']:.0f} steps/s)")  # fmt: skip
        nxt = [f"rlkit eval dqn {path}"]
    else:
        game = agent.config.game
        results = [f"{k[5:-4]} {v}" for k, v in summary.items() if k.startswith("eval/") and k.endswith("/wdl")]
        elo = summary.get("eval/elo")
        print(f"alphazero {game}: {done}, {summary.get('counters/games', 0)} self-play games, "
              f"{summary.get('counters/updates', 0)} updates")  # fmt: skip
        evaluation = [f"Elo {elo:+.0f} (random = 0)"] if isinstance(elo, (int, float)) else []
        evaluation += [f"W/D/L {', '.join(results)}"] if results else []
        if evaluation:
            print(f"last evaluation: {'; '.join(evaluation)}")
        nxt = [f"rlkit eval alphazero {path}", f"rlkit play --game {game} --checkpoint {path}"]
    nxt.append(f"rlkit train {agent.name} --resume {path} --steps {2 * agent.num_done}")
    print(f"run: {path} (metrics.jsonl, checkpoints/, plots/)")
    print("next:\n" + "\n".join(f"  {command}" for command in nxt))


def _shell_path(path) -> str:
    """``path`` relative to the working directory when it lies below it, quoted for a shell."""
    import shlex

    try:
        path = os.path.relpath(path) if not os.path.relpath(path).startswith("..") else str(path)
    except ValueError:  # another drive (Windows)
        path = str(path)
    return shlex.quote(path)


# -------------------------------------------------------------------------- handlers
def _train_agent(args: argparse.Namespace, agent_cls: type, make_new: Callable[[dict[str, str]], Any]) -> int:
    """The shared body of `rlkit train AGENT`: an agent object (new or resumed), then `learn`."""
    from rlkit.config import format_config
    from rlkit.runs import check_run_name

    overrides = _overrides(args)
    budget = _budget(args)
    if args.name is not None:
        check_run_name(args.name)
    if args.address is not None and args.backend != "ray":
        raise RlkitError("--address joins a Ray cluster: add --backend ray (or leave --address out)")
    if args.resume:
        agent = agent_cls.load(args.resume, **overrides)
        total = budget or getattr(agent.config, agent.budget_key)
        if total <= agent.num_done:
            raise RlkitError(
                f"{args.resume!r} is already at {agent.num_done} {agent.counter}s; pass --steps above that to extend it"
            )
        budget = total - agent.num_done
    else:
        if budget is not None:
            overrides[agent_cls.budget_key] = str(budget)
        agent = make_new(overrides)
        agent.runs_dir, agent.run_name = args.runs_dir, args.name
        budget = getattr(agent.config, agent.budget_key)
    if args.show_config:
        print(format_config(agent.config))
        return 0
    ray = {}
    if args.backend == "ray":
        ray = {"num_workers": args.num_workers, "address": args.address, "gpus_per_worker": args.gpus_per_worker,
               "cpus_per_worker": args.cpus_per_worker}  # fmt: skip
    try:
        agent.learn(budget, backend=args.backend, progress=not args.no_progress, **ray)
    except KeyboardInterrupt:
        if agent.run is None:
            raise
        path = _shell_path(agent.run.path)
        print(f"rlkit: interrupted; continue with: rlkit train {agent.name} --resume {path}", file=sys.stderr)
        return 130
    _report(args, agent)
    return 0


def train_dqn(args: argparse.Namespace) -> int:
    from agents import dqn

    if args.list_presets:
        _print_presets(dqn.PRESETS, "preset", _first_doc_line)
        return 0
    return _train_agent(args, dqn.DQN, lambda overrides: dqn.DQN(args.env, preset=args.preset, **overrides))


def train_alphazero(args: argparse.Namespace) -> int:
    from agents import alphazero

    if args.list_presets:
        _print_presets(alphazero.PRESETS, "game", _alphazero_preset_line)
        return 0
    return _train_agent(args, alphazero.AlphaZero, lambda overrides: alphazero.AlphaZero(args.game, **overrides))


def eval_dqn(args: argparse.Namespace) -> int:
    from agents.dqn import DQN

    _at_least(args.episodes, 1, "--episodes")
    result = DQN.load(args.checkpoint).evaluate(episodes=args.episodes, seed=args.seed, video_dir=args.video)
    if args.json:
        print(json.dumps(result, default=str))
    else:
        for key, value in result.items():
            print(f"{key:>24}: {value}")
    return 0


def eval_alphazero(args: argparse.Namespace) -> int:
    from agents.alphazero import AlphaZero

    _at_least(args.sims, 1, "--sims")
    opponents = args.opponents.split(",") if args.opponents else None
    agent = AlphaZero.load(args.checkpoint)
    result = {"checkpoint": args.checkpoint, **agent.evaluate(opponents, games=args.games, num_simulations=args.sims)}
    print(json.dumps(result, default=str) if args.json else "\n".join(f"{k:>28}: {v}" for k, v in result.items()))
    return 0


def _at_least(value: int | None, low: int, flag: str) -> None:
    if value is not None and value < low:
        raise RlkitError(f"{flag} must be >= {low}, got {value}")


def play(args: argparse.Namespace) -> int:
    from agents.alphazero import play

    _at_least(args.sims, 1, "--sims")
    opponent = args.checkpoint or args.opponent
    play(args.game, opponent, human_color=0 if args.color == "first" else 1, sims=args.sims)
    return 0


def arena(args: argparse.Namespace) -> int:
    from agents.alphazero import arena

    _at_least(args.sims, 1, "--sims")
    _at_least(args.games, 2, "--games")
    _at_least(args.seed, 0, "--seed")
    result = arena(args.game, args.player_a, args.player_b, num_openings=max(1, args.games // 2), num_simulations=args.sims, seed=args.seed)
    elo, low, high = result.elo()
    summary = {
        "game": args.game,
        "player_a": args.player_a,
        "player_b": args.player_b,
        "wins": result.wins,
        "draws": result.draws,
        "losses": result.losses,
        "score": round(result.score, 4),
        "elo": round(elo, 1),
        "elo_95": [round(low, 1), round(high, 1)],
    }
    if args.json:
        print(json.dumps(summary))
    else:  # W/D/L written as everywhere else (progress bar, eval, README)
        print(f"{args.player_a} vs {args.player_b}: W/D/L {result.wins}/{result.draws}/{result.losses}, "
              f"score {result.score:.3f}, Elo {elo:+.0f} (95% interval {low:+.0f} to {high:+.0f})")  # fmt: skip
    return 0


def demo(args: argparse.Namespace) -> int:
    from rlkit.demos import run_digits_demo

    summary = run_digits_demo(
        args.model, seed=args.seed, dataset=args.dataset, epochs=args.epochs, runs_dir=args.runs_dir,
        progress=not args.no_progress, threads=args.threads,
    )  # fmt: skip
    if args.json:
        print(json.dumps(summary, default=str))
    else:
        print("\n".join(f"{key:>24}: {value}" for key, value in summary.items()))
    return 0


