"""Pons' benchmark sets: the committed child labels agree with the solver, and a player is scored right."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from envs import boards
from envs.connect4_pons import SETS, load_set, score_player, states_of, subsample
from envs.connect4_solver import Connect4Solver, Connect4SolverPlayer
from envs.players import RandomPlayer

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def game():
    return boards.make("connect4")


def test_every_set_has_a_labelled_subsample():
    for name in SETS:
        positions = load_set(name)
        assert len(positions) >= 5, name
        assert len({p.index for p in positions}) == len(positions)
        assert all(len(p.codes) == 7 and "B" in p.codes for p in positions)


@pytest.mark.parametrize("name", ["end-easy", "middle-easy"])
def test_labels_agree_with_exact_move_scores(name):
    solver = Connect4Solver()
    for p in load_set(name)[:8]:
        scores = solver.move_scores(*solver.from_moves(p.moves))
        assert max(scores.values()) == p.score
        value = (p.score > 0) - (p.score < 0)
        for column, code in enumerate(p.codes):
            if column not in scores:
                assert code == "."
            elif scores[column] == p.score:
                assert code == "B"
            else:
                s = scores[column]
                assert code == ("k" if (s > 0) - (s < 0) == value else "m"), (p.moves, column)


def test_states_replay_the_moves(game):
    positions = load_set("middle-easy")[:5] + load_set("begin-hard")[:3]
    state = states_of(game, positions)
    for i, p in enumerate(positions):
        alone = game.from_moves([int(ch) - 1 for ch in p.moves])
        assert torch.equal(state.board[i], alone.board[0])
        assert "".join("." if not legal else "x" for legal in game.legal_mask(alone)[0].tolist()) == "".join(
            "." if c == "." else "x" for c in p.codes
        )


def test_solver_is_perfect_and_random_is_not(game):
    positions = {name: items[:6] for name, items in subsample(6).items() if name in ("end-easy", "middle-easy")}
    perfect = score_player(game, Connect4SolverPlayer(seed=0), positions)
    assert all(row["mistake_pct"] == 0 and row["best_pct"] == 100 for row in perfect.values())
    many = {"middle-medium": subsample(60)["middle-medium"]}
    random_report = score_player(game, RandomPlayer(seed=0), many, batch_size=16)["middle-medium"]
    assert random_report["positions"] == 60 and random_report["mistake_pct"] > 10


def test_eval_script_end_to_end():
    out = subprocess.run(
        [sys.executable, "scripts/eval_connect4.py", "one_ply", "--per-set", "3", "--quiet", "--json"],
        cwd=ROOT, capture_output=True, text=True, check=True, env={"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"},
    )  # fmt: skip
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    assert summary["player"] == "one_ply" and set(summary["sets"]) == set(SETS)
    assert all(row["positions"] == 3 for row in summary["sets"].values())


def test_eval_script_scores_a_run_against_training_time(tmp_path):
    from agents.alphazero import AlphaZero
    from tests.agents.test_agent_api import TINY_AZ

    model = AlphaZero("connect4", runs_dir=str(tmp_path), seed=0, **{**TINY_AZ, "tactics": False}).learn(
        3, progress=False
    )
    out = subprocess.run(
        [sys.executable, "scripts/eval_connect4.py", "--run", str(model.run.path), "--every", "2", "--per-set", "2",
         "--sets", "end-easy", "--simulations", "2", "--quiet", "--json"],
        cwd=ROOT, capture_output=True, text=True, check=True, env={"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"},
    )  # fmt: skip
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    records = summary["checkpoints"]
    assert [r["iteration"] for r in records] == [1, 3]  # every 2nd checkpoint and the last
    assert all(r["minutes"] is not None and r["minutes"] >= 0 for r in records)
    assert records[0]["minutes"] <= records[1]["minutes"] and Path(summary["plot"]).is_file()
