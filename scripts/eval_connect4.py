"""Connect Four strength on Pascal Pons' six benchmark sets: mistake % and best-move % per set.

A mistake is a move that changes the position's game-theoretic outcome (win -> draw/loss,
draw -> loss); a best move has the best exact score (see `envs.connect4_pons`). Players:

    python scripts/eval_connect4.py alphabeta:4 --json
    python scripts/eval_connect4.py runs/c4/checkpoints/step_0000000300.pt --simulations 64
    python scripts/eval_connect4.py policy:runs/c4/checkpoints/step_0000000300.pt
    python scripts/eval_connect4.py --run runs/c4 --per-set 50      # every checkpoint, plus a plot

A checkpoint plays its training search (override with --search, --tactics) without noise,
greedily; `policy:<checkpoint>` plays the raw network; reference players are random, one_ply,
alphabeta:D and solver. With --json the last line is one JSON object:
{"player", "simulations", "search", "sets": {set: {"positions", "mistake_pct", "best_pct"}}, "seconds"}
(with --run: {"run", "checkpoints": [{"iteration", "minutes", "sets"}, ...], "plot"}, minutes of
training from the run's metrics.jsonl).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import torch
from tqdm.auto import tqdm

import envs.boards
from agents.alphazero.agent import load_agent
from agents.alphazero.players import MCTSPlayer, make_player
from agents.alphazero.shipped import PREFIX, shipped_path
from envs.connect4_pons import SETS, score_player, subsample
from rlkit.plots import pyplot, save_figure
from rlkit.runs import Run


def build_player(spec: str, game, args: argparse.Namespace):
    """The player `spec` names; checkpoints take --simulations, --search and --tactics."""
    path = shipped_path(spec) if spec.startswith(PREFIX) else Path(spec)  # az:connect4 is a checkpoint too
    if spec.startswith("policy:") or not path.is_file():
        return make_player(spec, game, seed=args.seed), None
    config, _, net = load_agent(path, device="cpu")
    changes = {"search": args.search, "tactics": None if args.tactics is None else args.tactics == "on"}
    config = dataclasses.replace(config, **{k: v for k, v in changes.items() if v is not None})
    return MCTSPlayer(net, config, args.simulations), config


def evaluate(spec: str, positions: dict, args: argparse.Namespace, desc: str) -> dict:
    game = envs.boards.make("connect4")
    player, config = build_player(spec, game, args)
    total = sum(len(items) for items in positions.values())
    start = time.perf_counter()
    with tqdm(total=total, desc=desc, unit="pos", disable=args.quiet) as bar:
        sets = score_player(game, player, positions, batch_size=args.batch_size, progress=bar.update)
    return {
        "player": spec,
        "simulations": None if config is None else (args.simulations or config.eval_simulations),
        "search": None if config is None else config.search,
        "tactics": None if config is None else config.tactics,
        "sets": sets,
        "seconds": round(time.perf_counter() - start, 1),
    }


def training_minutes(run: Run) -> dict[int, float]:
    """Wall-clock minutes since the run started at each logged iteration (from metrics.jsonl)."""
    minutes = {}
    if run.metrics_path.exists():
        for line in run.metrics_path.read_text().splitlines():
            record = json.loads(line)
            if "time" in record:
                minutes[int(record["step"])] = record["time"] / 60
    return minutes


def plot_run(records: list[dict], out_png: Path):
    """Mistake % of every set against the training time (minutes; iterations where no time was logged)."""
    fig, ax = pyplot().subplots(figsize=(7, 4))
    timed = all(r.get("minutes") is not None for r in records)
    x = [r["minutes"] if timed else r["iteration"] for r in records]
    for name in SETS:
        if name in records[0]["sets"]:
            ax.plot(x, [r["sets"][name]["mistake_pct"] for r in records], marker="o", label=name)
    ax.set_xlabel("training time (minutes)" if timed else "training iteration")
    ax.set_ylabel("mistakes (%)")
    ax.set_title("Pons benchmark sets")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save_figure(fig, out_png)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "player",
        nargs="?",
        help="checkpoint, az:connect4 (shipped), policy:<checkpoint>, random, one_ply, alphabeta:D, solver",
    )
    parser.add_argument("--run", help="a run directory: score every checkpoint in it and plot mistakes per iteration")
    parser.add_argument(
        "--simulations", type=int, help="search simulations per move (default: the config's eval_simulations)"
    )
    parser.add_argument("--search", choices=["puct", "gumbel"], help="override the checkpoint's search")
    parser.add_argument("--tactics", choices=["on", "off"], help="override the one-ply win/loss check in the tree")
    parser.add_argument(
        "--per-set", type=int, default=0, help="positions per set, a fixed seeded subsample (0 = all labelled)"
    )
    parser.add_argument("--sets", nargs="+", choices=list(SETS), default=list(SETS), help="sets to score")
    parser.add_argument("--batch-size", type=int, default=256, help="positions searched together")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random tie-breaks of reference players")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--every", type=int, default=1, help="with --run: score every N-th checkpoint (and the last)")
    parser.add_argument("--out", help="with --run: where to write the plot (default RUN/plots/pons.png)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = parser.parse_args()
    if (args.player is None) == (args.run is None):
        parser.error("give a player or --run DIR (not both)")
    if args.every < 1:
        parser.error(f"--every must be >= 1, got {args.every}")
    torch.set_num_threads(args.threads)
    positions = {name: items for name, items in subsample(args.per_set or 1000).items() if name in args.sets}

    if args.run is None:
        summary = evaluate(args.player, positions, args, desc=args.player)
        for name, row in summary["sets"].items():
            print(f"{name:<14} {row['positions']:>5} positions  mistakes {row['mistake_pct']:5.1f}%  "
                  f"best {row['best_pct']:5.1f}%")  # fmt: skip
    else:
        run = Run.open(args.run)
        minutes = training_minutes(run)
        paths = run.checkpoints()
        paths = [p for i, p in enumerate(paths) if i % args.every == 0 or i == len(paths) - 1]
        records = []
        for path in paths:
            iteration = int(path.stem.split("_")[1])
            result = evaluate(str(path), positions, args, desc=f"iteration {iteration}")
            at = minutes.get(iteration)
            records.append({"iteration": iteration, "minutes": None if at is None else round(at, 1),
                            "checkpoint": str(path), "sets": result["sets"]})  # fmt: skip
            rates = "  ".join(f"{name} {row['mistake_pct']:.1f}%" for name, row in result["sets"].items())
            print(f"iteration {iteration}" + ("" if at is None else f" ({at:.0f} min)") + f": {rates}")
        out = Path(args.out) if args.out else run.plots_dir / "pons.png"
        summary = {"run": args.run, "checkpoints": records, "plot": str(plot_run(records, out)) if records else None}
    if args.json:
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
