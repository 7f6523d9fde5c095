"""Run DQN presets x envs x seeds and write learning curves, plots and a results table.

Each cell (preset, env, seed) trains in its own run directory ``<runs-dir>/<preset>/<env>/seed<k>`` with
the ``agents.dqn.DQN`` API. A finished cell is skipped; an interrupted one resumes from its newest
checkpoint (``DQN.load(run_dir).learn(remaining)``); a cell killed before its first checkpoint starts
over. ``--budget-minutes`` stops cleanly between cells or inside one (``learn``'s callback returns
False, which writes a checkpoint), so the next invocation continues where this one stopped.

    python scripts/benchmark_dqn.py                                  # the classic-control zoo presets, 3 seeds
    python scripts/benchmark_dqn.py --presets minatar-dqn minatar-rainbow --envs MinAtar/Breakout-v1 \\
        --steps 1000000 --seeds 0 1 --budget-minutes 60 --json

Outputs under ``--out`` (default ``docs/benchmarks/dqn``, small enough to commit):

- ``curves/<preset>__<env>__seed<k>.csv``: ``frames,return_ma100`` (the moving average of the last 100
  episode returns, ``rollout/return``, at each logged step; frames = env steps, x4 on ALE ids);
- ``<env>.png``: mean over seeds and a band of +-1 std, one line per preset, the yardstick dashed;
- ``evals/<preset>__<env>__seed<k>.json``: the greedy evaluation of a finished cell's final network
  (``--eval-episodes`` whole episodes, epsilon 0, noisy layers at their means);
- ``results.md``: per preset x env the training moving average at the end and the greedy evaluation
  (mean +- std over seeds), seeds done, frames, the published yardstick beside them.

Two figures, because they measure different things: the moving average of training episodes is taken with
exploration on and, at the end of a short run, still averages in episodes from before the agent learnt (100
CartPole episodes of 500 steps are the whole 50k-step budget), while the published rl-zoo scores (the
yardsticks of classic control) are deterministic evaluations of the final agent.

With ``--json`` the last line of output is one JSON object: every cell's status, steps, final score
and wall time, and whether the time budget stopped the run.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agents.dqn import DQN
from agents.dqn.config import is_atari
from agents.dqn.presets import PRESET_ENVS, make_config
from rlkit.errors import RlkitError
from rlkit.metrics import read_metrics
from rlkit.runs import write_text_atomic

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PRESETS = ["zoo-cartpole", "zoo-acrobot", "zoo-mountaincar", "zoo-lunarlander"]
DONE_FILE = "benchmark_cell.json"  # written into a run directory once its cell reached its budget
EVAL_SEED = 10**6  # + the cell's seed: evaluation episodes never replay a training seed's starts
MAX_CURVE_POINTS = 500

# Published yardsticks: (value, what it is). Classic control: the rl-zoo targets of issue 10;
# MinAtar: the MinAtar paper's DQN (Young & Tian 2019, mean of 30 seeds), read off its curves at 1M frames.
YARDSTICKS: dict[str, tuple[float, str]] = {
    "CartPole-v1": (500.0, "500 (rl-zoo target)"),
    "Acrobot-v1": (-100.0, ">= -100 (rl-zoo target)"),
    "MountainCar-v0": (-110.0, ">= -110 (rl-zoo target)"),
    "LunarLander-v3": (200.0, ">= 200 (rl-zoo target)"),
    "MinAtar/Breakout-v1": (9.5, "~9.5 at 1M frames (MinAtar paper DQN; ~10 at 5M)"),
    "MinAtar/Asterix-v1": (11.0, "~11 at 1M frames (MinAtar paper DQN; ~17 at 5M)"),
    "MinAtar/Freeway-v1": (48.0, "~48 at 1M frames (MinAtar paper DQN; ~50 at 5M)"),
    "MinAtar/SpaceInvaders-v1": (30.0, "~30 at 1M frames (MinAtar paper DQN; ~43 at 5M)"),
    "MinAtar/Seaquest-v1": (1.0, "~1 at 1M frames (MinAtar paper DQN, pre-v1.0.11; ~20 at 5M)"),
}


@dataclass
class Cell:
    """One preset x env x seed run of ``steps`` agent steps."""

    preset: str
    env_id: str
    seed: int
    steps: int

    @property
    def slug(self) -> str:
        return f"{self.preset}__{env_slug(self.env_id)}__seed{self.seed}"


def env_slug(env_id: str) -> str:
    """A file-name form of an env id: ``MinAtar/Breakout-v1`` -> ``MinAtar_Breakout-v1``."""
    return env_id.replace("/", "_").replace(":", "_")


def frames_per_step(env_id: str) -> int:
    """Emulator frames per agent step: 4 on ALE ids (frameskip 4), 1 elsewhere (MinAtar, classic control)."""
    return 4 if is_atari(env_id) else 1


def make_cells(presets: list[str], env_ids: list[str] | None, seeds: list[int], steps: int | None) -> list[Cell]:
    """The grid: every preset on every env of ``env_ids`` (default: the env each preset was tuned for).

    :param steps: agent steps per cell; default each preset's own ``total_steps``.
    :raises RlkitError: an unknown preset, or a preset with no default env and no ``env_ids``.
    """
    cells = []
    for preset in presets:
        targets = env_ids or [PRESET_ENVS.get(preset)]
        for env_id in targets:
            if env_id is None:
                raise RlkitError(f"preset {preset!r} has no default env; pass --envs")
            budget = steps or make_config(preset, env_id).total_steps
            cells.extend(Cell(preset, env_id, seed, budget) for seed in seeds)
    return cells


def run_dir_of(runs_dir: Path, cell: Cell) -> Path:
    return runs_dir / cell.preset / env_slug(cell.env_id) / f"seed{cell.seed}"


def steps_done(run_dir: Path) -> int:
    """Agent steps a cell's run directory holds: its finish record, else its newest checkpoint, else 0."""
    done = run_dir / DONE_FILE
    if done.is_file():
        return int(json.loads(done.read_text())["steps"])
    try:
        return DQN.load(run_dir).num_done
    except RlkitError:
        return 0


def run_cell(cell: Cell, runs_dir: Path, overrides: dict[str, Any], deadline: float, on_step) -> dict[str, Any]:
    """Train one cell up to ``cell.steps``: skip it when done, resume it when interrupted.

    :param overrides: config keys for a new cell; a resumed one takes those that leave its architecture alone.
    :param deadline: ``time.monotonic()`` value after which training stops with a checkpoint.
    :param on_step: called with the cell's agent step at every logged step (the progress bar).
    :returns: ``status`` (``done``, ``skipped`` or ``stopped``), ``steps``, ``wall_s``.
    """
    run_dir = run_dir_of(runs_dir, cell)
    t0 = time.perf_counter()
    finished = steps_done(run_dir) if (run_dir / DONE_FILE).is_file() else None
    if finished is not None and finished >= cell.steps:
        return {"status": "skipped", "steps": finished, "wall_s": 0.0}
    model = None
    if run_dir.is_dir():
        try:
            model = DQN.load(run_dir, **overrides)
        except RlkitError:  # killed before its first checkpoint: nothing to continue
            shutil.rmtree(run_dir)
    if model is None:
        model = DQN(cell.env_id, preset=cell.preset, seed=cell.seed, runs_dir=str(run_dir.parent), **overrides)
        model.run_name = run_dir.name
    start = model.num_done

    def keep_going(metrics: dict[str, Any]) -> bool:
        on_step(int(metrics["step"]))
        return time.monotonic() < deadline

    if start < cell.steps:
        model.learn(cell.steps - start, progress=False, callback=keep_going)
    steps = model.num_done
    status = "done" if steps >= cell.steps else "stopped"
    if status == "done":
        (run_dir / DONE_FILE).write_text(json.dumps({"steps": steps, "summary": model.last_summary}, default=str))
    return {"status": status, "steps": steps, "resumed_from": start, "wall_s": time.perf_counter() - t0}


def evaluate_cell(cell: Cell, runs_dir: Path, out: Path, episodes: int) -> dict[str, Any]:
    """Greedy evaluation of a finished cell's final checkpoint, written to ``out/evals/<slug>.json``.

    Greedy as rl-zoo's deterministic evaluation: epsilon 0 (``eval_epsilon`` overridden), noisy layers at
    their mean weights; ``episodes`` whole episodes from seeds ``EVAL_SEED + cell.seed`` on.
    """
    model = DQN.load(run_dir_of(runs_dir, cell), eval_epsilon=0.0)
    scores = model.evaluate(episodes, seed=EVAL_SEED + cell.seed)
    record = {
        "steps": model.num_done,
        "episodes": scores["episodes"],
        "epsilon": 0.0,
        **{key: scores[key] for key in ("mean", "std", "min", "max")},
    }
    path = eval_path(out, cell)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1) + "\n")
    return record


def eval_path(out: Path, cell: Cell) -> Path:
    return out / "evals" / f"{cell.slug}.json"


def read_eval(out: Path, cell: Cell) -> dict[str, Any] | None:
    """A cell's greedy evaluation, if one was made of its whole budget."""
    path = eval_path(out, cell)
    if not path.is_file():
        return None
    record = json.loads(path.read_text())
    return record if record["steps"] >= cell.steps else None


# ---------------------------------------------------------------------------------------------- results
def read_curve(run_dir: Path, env_id: str) -> np.ndarray:
    """``float64 [T, 2]``: (frames, moving average of the last 100 returns) at each logged step."""
    points = [
        (r["step"] * frames_per_step(env_id), r["rollout/return"])
        for r in read_metrics(run_dir)
        if "rollout/return" in r
    ]
    curve = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(curve) > MAX_CURVE_POINTS:  # keep the committed CSVs small; the last point always stays
        keep = np.unique(np.linspace(0, len(curve) - 1, MAX_CURVE_POINTS).round().astype(int))
        curve = curve[keep]
    return curve


def write_curve(path: Path, curve: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["frames", "return_ma100"])
        writer.writerows([int(x), f"{y:.4g}"] for x, y in curve)


def load_curve(path: Path) -> np.ndarray:
    with open(path) as f:
        rows = list(csv.reader(f))[1:]
    return np.asarray([[float(x), float(y)] for x, y in rows], dtype=np.float64).reshape(-1, 2)


def plot_env(path: Path, env_id: str, curves: dict[str, list[np.ndarray]]) -> None:
    """One PNG per env: per preset the mean over seeds and a +-1 std band (seeds interpolated onto a
    common frame grid up to the shortest seed's last frame)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for preset, seeds in sorted(curves.items()):
        seeds = [c for c in seeds if len(c)]
        if not seeds:
            continue
        end = min(c[-1, 0] for c in seeds)
        grid = np.linspace(min(c[0, 0] for c in seeds), end, 200) if end > 0 else np.asarray([end])
        ys = np.stack([np.interp(grid, c[:, 0], c[:, 1]) for c in seeds])
        mean, std = ys.mean(axis=0), ys.std(axis=0)
        (line,) = ax.plot(grid, mean, label=f"{preset} ({len(seeds)} seed{'s' * (len(seeds) > 1)})")
        ax.fill_between(grid, mean - std, mean + std, color=line.get_color(), alpha=0.2)
    if env_id in YARDSTICKS:
        value, text = YARDSTICKS[env_id]
        ax.axhline(value, color="grey", linestyle="--", linewidth=1, label=text)
    unit = "emulator frames" if is_atari(env_id) else "env steps = frames"
    ax.set_xlabel(f"training {unit}")
    ax.set_ylabel("return, moving average of last 100 episodes")
    ax.set_title(f"rlkit DQN on {env_id} (mean +- 1 std over seeds)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def register_cells(out: Path, cells: list[Cell]) -> list[Cell]:
    """Add ``cells`` to ``out/cells.json``, the grid of every invocation so far; returns all of it."""
    index = out / "cells.json"
    known = (
        {c["preset"] + c["env_id"] + str(c["seed"]): c for c in json.loads(index.read_text())}
        if index.is_file()
        else {}
    )
    known.update({c.preset + c.env_id + str(c.seed): vars(c) for c in cells})
    out.mkdir(parents=True, exist_ok=True)
    # a runner started beside another (one seed each) never reads a half-written index
    write_text_atomic(index, json.dumps(list(known.values()), indent=1) + "\n")
    return [Cell(**c) for c in known.values()]


def machine() -> str:
    """This machine in words: CPU model and core count (results.md names where its figures came from)."""
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [
            line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")
        ]
        model = names[0] if names else model
    return f"{model}, {os.cpu_count()} cores, CPU only"


def write_results(out: Path, cells: list[Cell], runs_dir: Path, where: str = "") -> list[dict[str, Any]]:
    """Refresh every cell's CSV (from its run, where the run is here), the PNGs and ``results.md``.

    ``cells``: every cell of ``out/cells.json``. Cells with no run directory here keep the CSV already
    under ``out`` (results outlive the machine).
    :returns: one row per preset x env of the table.
    """
    by_env: dict[str, dict[str, list[np.ndarray]]] = {}
    groups: dict[tuple[str, str], list[tuple[Cell, np.ndarray, bool]]] = {}
    for cell in cells:
        run_dir, csv_path = run_dir_of(runs_dir, cell), out / "curves" / f"{cell.slug}.csv"
        if run_dir.is_dir():
            write_curve(csv_path, read_curve(run_dir, cell.env_id))
        curve = load_curve(csv_path) if csv_path.is_file() else np.zeros((0, 2))
        done = len(curve) > 0 and curve[-1, 0] >= cell.steps * frames_per_step(cell.env_id)
        if len(curve):
            by_env.setdefault(cell.env_id, {}).setdefault(cell.preset, []).append(curve)
        groups.setdefault((cell.env_id, cell.preset), []).append((cell, curve, done, read_eval(out, cell)))
    for env_id, curves in by_env.items():
        plot_env(out / f"{env_slug(env_id)}.png", env_id, curves)
    rows = []
    for (env_id, preset), entries in sorted(groups.items()):
        finals = [c[-1, 1] for _, c, _, _ in entries if len(c)]
        frames = [int(c[-1, 0]) for _, c, _, _ in entries if len(c)]
        evals = [e["mean"] for _, _, _, e in entries if e is not None]
        rows.append({
            "env": env_id,
            "preset": preset,
            "mean": float(np.mean(finals)) if finals else math.nan,
            "std": float(np.std(finals)) if finals else math.nan,
            "eval_mean": float(np.mean(evals)) if evals else math.nan,
            "eval_std": float(np.std(evals)) if evals else math.nan,
            "eval_seeds": len(evals),
            "eval_episodes": min((e["episodes"] for _, _, _, e in entries if e is not None), default=0),
            "seeds_done": int(sum(done for _, _, done, _ in entries)),
            "seeds_run": len(finals),
            "seeds": len(entries),
            "frames": min(frames) if frames else 0,
            "target_frames": entries[0][0].steps * frames_per_step(env_id),
            "yardstick": YARDSTICKS.get(env_id, (math.nan, "-"))[1],
        })  # fmt: skip
    header = (
        "| env | preset | training MA100 at the end (mean ± std over seeds run) "
        "| greedy evaluation of the final network (mean ± std over seeds) "
        "| seeds done | frames (min over seeds run) | published yardstick |"
    )
    lines = [
        header,
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        frames = f"{r['frames']:,}" + ("" if r["frames"] >= r["target_frames"] else f" of {r['target_frames']:,}")
        greedy = (
            f"{r['eval_mean']:.1f} ± {r['eval_std']:.1f} (n={r['eval_seeds']}, {r['eval_episodes']} episodes each)"
            if r["eval_seeds"]
            else "-"
        )
        lines.append(
            f"| {r['env']} | {r['preset']} | {r['mean']:.1f} ± {r['std']:.1f} (n={r['seeds_run']}) | {greedy} "
            f"| {r['seeds_done']} of {r['seeds']} "
            f"| {frames} | {r['yardstick']} |"
        )
    note = (
        "\nTraining MA100: `rollout/return` (moving average of the last 100 training episodes, exploration on) at "
        "the last logged step of each seed; at the end of a short run it still averages in episodes from before the "
        "agent learnt. Greedy evaluation: the final network of each finished seed, epsilon 0, whole episodes; the "
        "protocol of rl-zoo's published scores (deterministic evaluation of the final agent). "
        "Frames: env steps (MinAtar and classic control have no frame skip).\n"
        + (f"Machine: {where}.\n" if where else "")
    )
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.md").write_text("\n".join(lines) + "\n" + note)
    return rows


# ---------------------------------------------------------------------------------------------- CLI
def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """``key=value`` strings to config overrides (values parsed as JSON where they parse, else strings)."""
    overrides = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise RlkitError(f"--set takes key=value, got {pair!r}")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value
    return overrides


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="+", default=DEFAULT_PRESETS, help="DQN presets (agents.dqn.PRESETS)")
    parser.add_argument("--envs", nargs="+", default=None, help="env ids; default: the env each preset was tuned for")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2], help="seeds, one cell each")
    parser.add_argument("--steps", type=int, default=None, help="agent steps per cell; default: the preset's budget")
    parser.add_argument(
        "--budget-minutes", type=float, default=None, help="stop cleanly (with checkpoints) after this many minutes"
    )
    parser.add_argument("--runs-dir", default="runs/bench", help="root of the cells' run directories")
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks" / "dqn"), help="CSV / PNG / table folder")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="config overrides for every cell")
    parser.add_argument(
        "--machine", default=machine(), help="the machine named under the table (default: this CPU and core count)"
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="train nothing: rewrite the CSVs, PNGs and table of every cell so far",
    )
    parser.add_argument(
        "--eval-episodes",
        type=int,
        default=30,
        help="greedy evaluation episodes of each finished cell's final network (0: none)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object on the last line")
    args = parser.parse_args(argv)

    deadline = time.monotonic() + (args.budget_minutes * 60 if args.budget_minutes is not None else math.inf)
    cells = [] if args.report_only else make_cells(args.presets, args.envs, args.seeds, args.steps)
    runs_dir, out = Path(args.runs_dir), Path(args.out)
    overrides = parse_overrides(args.set)
    all_cells = register_cells(out, cells)

    from tqdm import tqdm

    bar = tqdm(total=sum(c.steps for c in cells), unit="step", desc="benchmark", disable=args.no_progress)
    results, stopped = [], False
    for i, cell in enumerate(cells):
        if time.monotonic() >= deadline:
            stopped = True
            results.append({**vars(cell), "status": "not started"})
            continue
        bar.set_description(f"[{i + 1}/{len(cells)}] {cell.preset} {cell.env_id} seed{cell.seed}")
        base = bar.n

        def on_step(step: int, base: int = base) -> None:
            bar.update(max(0, base + step - bar.n))

        result = run_cell(cell, runs_dir, overrides, deadline, on_step)
        bar.update(base + cell.steps - bar.n if result["status"] != "stopped" else 0)
        stopped |= result["status"] == "stopped"
        curve = read_curve(run_dir_of(runs_dir, cell), cell.env_id)
        final = float(curve[-1, 1]) if len(curve) else None
        greedy = None
        if result["status"] != "stopped" and args.eval_episodes > 0:
            greedy = read_eval(out, cell) or evaluate_cell(cell, runs_dir, out, args.eval_episodes)
        results.append({**vars(cell), **result, "final_return_ma100": final, "greedy_eval": greedy})
        evaluated = f", greedy evaluation {greedy['mean']:.1f}" if greedy else ""
        bar.write(f"{cell.slug}: {result['status']} at {result['steps']} steps, final MA100 {final}{evaluated}")
        write_results(out, all_cells, runs_dir, args.machine)
    bar.close()
    table = write_results(out, all_cells, runs_dir, args.machine)
    summary = {"cells": results, "table": table, "stopped_by_budget": stopped, "out": str(out)}
    if args.json:
        print(json.dumps(summary, default=str))
    else:
        print((out / "results.md").read_text())
    return summary


if __name__ == "__main__":
    try:
        main()
    except RlkitError as err:
        sys.exit(f"error: {err}")
