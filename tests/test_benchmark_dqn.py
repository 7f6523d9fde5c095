"""The benchmark runner on a two-cell toy grid: outputs, skip-finished, resume-interrupted, restart-unstarted."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("benchmark_dqn", ROOT / "scripts" / "benchmark_dqn.py")
bench = importlib.util.module_from_spec(_spec)
sys.modules["benchmark_dqn"] = bench  # dataclasses look their module up there
_spec.loader.exec_module(bench)

STEPS = 240
# A tiny CartPole learner: learning starts at once, a log line (callback call) every 40 steps.
TOY = [
    "learning_starts_steps=32", "batch_size=16", "mlp_hidden=[16]", "train_every_steps=4", "log_every_steps=40",
    "checkpoint_every_steps=80", "save_replay=true",
]  # fmt: skip


def _args(tmp_path: Path, *extra: str) -> list[str]:
    return [
        "--presets", "zoo-cartpole", "--seeds", "0", "1", "--steps", str(STEPS), "--no-progress", "--json",
        "--runs-dir", str(tmp_path / "runs"), "--out", str(tmp_path / "out"), "--eval-episodes", "2",
        "--set", *TOY, *extra,
    ]  # fmt: skip


def test_runner_writes_curves_plot_table_and_skips_finished(tmp_path, capsys):
    summary = bench.main(_args(tmp_path))
    assert [c["status"] for c in summary["cells"]] == ["done", "done"]
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == json.loads(json.dumps(summary, default=str))
    out = tmp_path / "out"
    for seed in (0, 1):
        csv = (out / "curves" / f"zoo-cartpole__CartPole-v1__seed{seed}.csv").read_text().splitlines()
        assert csv[0] == "frames,return_ma100"
        assert int(csv[-1].split(",")[0]) >= STEPS
        assert (tmp_path / "runs" / "zoo-cartpole" / "CartPole-v1" / f"seed{seed}" / bench.DONE_FILE).is_file()
    assert (out / "CartPole-v1.png").stat().st_size > 1000
    table = (out / "results.md").read_text()
    assert "| CartPole-v1 | zoo-cartpole |" in table and "| 2 of 2 |" in table and "500 (rl-zoo target)" in table
    (row,) = summary["table"]
    assert row["seeds_done"] == 2 and row["frames"] >= STEPS and math.isfinite(row["mean"])
    # The greedy evaluation of each final network beside the training moving average (rl-zoo's protocol).
    for cell in summary["cells"]:
        record = json.loads((out / "evals" / f"zoo-cartpole__CartPole-v1__seed{cell['seed']}.json").read_text())
        assert record == cell["greedy_eval"] and record["episodes"] == 2 and record["epsilon"] == 0.0
        assert record["steps"] >= STEPS and record["min"] <= record["mean"] <= record["max"]
    assert row["eval_seeds"] == 2 and math.isfinite(row["eval_mean"]) and "2 episodes each" in table

    assert "Machine: " in table

    again = bench.main(_args(tmp_path))
    assert [c["status"] for c in again["cells"]] == ["skipped", "skipped"]
    assert [c["greedy_eval"] for c in again["cells"]] == [c["greedy_eval"] for c in summary["cells"]]
    report = bench.main(["--report-only", "--runs-dir", str(tmp_path / "runs"), "--out", str(out), "--no-progress"])
    assert report["cells"] == [] and report["table"] == again["table"]


def test_interrupted_cell_resumes_from_its_checkpoint(tmp_path):
    cell = bench.Cell("zoo-cartpole", "CartPole-v1", 0, STEPS)
    overrides = bench.parse_overrides(TOY)
    seen: list[int] = []
    # A deadline already past: the callback stops the cell at its first logged step, with a checkpoint.
    first = bench.run_cell(cell, tmp_path, overrides, time.monotonic(), seen.append)
    assert first["status"] == "stopped" and 0 < first["steps"] < STEPS and seen == [first["steps"]]
    second = bench.run_cell(cell, tmp_path, overrides, math.inf, seen.append)
    assert second["status"] == "done" and second["resumed_from"] == first["steps"] and second["steps"] >= STEPS
    steps = [json.loads(line)["step"] for line in (bench.run_dir_of(tmp_path, cell) / "metrics.jsonl").open()]
    assert steps == sorted(set(steps)), "a resumed cell logs each step once"


def test_cell_killed_before_its_first_checkpoint_starts_over(tmp_path):
    cell = bench.Cell("zoo-cartpole", "CartPole-v1", 1, 80)
    run_dir = bench.run_dir_of(tmp_path, cell)
    (run_dir / "checkpoints").mkdir(parents=True)
    (run_dir / "config.json").write_text("{}")
    result = bench.run_cell(cell, tmp_path, bench.parse_overrides(TOY), math.inf, lambda step: None)
    assert result["status"] == "done" and result["resumed_from"] == 0


def test_budget_of_zero_starts_nothing(tmp_path):
    summary = bench.main(_args(tmp_path, "--budget-minutes", "0"))
    assert summary["stopped_by_budget"] and {c["status"] for c in summary["cells"]} == {"not started"}


def test_bad_override_is_one_line():
    with pytest.raises(bench.RlkitError, match="key=value"):
        bench.parse_overrides(["lr"])
