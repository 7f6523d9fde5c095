"""The probe: a table of bad inputs through the CLI, each one line on stderr, exit status 2, no
traceback, and no file created or changed (a refused start leaves nothing behind)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import torch

from rlkit.cli import main

DQN_SMALL = ["--set", "total_steps=200", "--set", "learning_starts_steps=50", "--set", "batch_size=16",
             "--set", "buffer_size=500", "--set", "num_envs=2", "--set", "vectorization=sync",
             "--set", "mlp_hidden=[8]", "--set", "eval_every_steps=0", "--no-progress"]  # fmt: skip
AZ_SMALL = ["--set", "games_per_iteration=4", "--set", "parallel_games=4", "--set", "num_simulations=2",
            "--set", "updates_per_iteration=1", "--set", "batch_size=8", "--set", "eval_every_iterations=0",
            "--set", "channels=8", "--set", "blocks=1", "--no-progress"]  # fmt: skip


@pytest.fixture(scope="module")
def place(tmp_path_factory) -> Path:
    """A folder with a finished tiny DQN run, a tiny AlphaZero run and a few foreign files."""
    root = tmp_path_factory.mktemp("probe")
    cwd = os.getcwd()
    os.chdir(root)
    try:
        torch.set_num_threads(1)
        assert main(["train", "dqn", "--name", "dqn", "--steps", "200", *DQN_SMALL]) == 0
        assert main(["train", "alphazero", "--game", "tictactoe", "--name", "az", "--steps", "1", *AZ_SMALL]) == 0
    finally:
        os.chdir(cwd)
    (root / "zero.pt").write_bytes(b"")
    (root / "junk.pt").write_bytes(b"not a checkpoint at all")
    torch.save({"model": torch.nn.Linear(2, 2)}, root / "pickle.pt")  # a whole module: a code-running pickle
    (root / "notes.txt").write_text("hello\n")
    (root / "afile").write_text("a regular file where a folder should be\n")
    dqn_ckpt = max((root / "runs/dqn/checkpoints").glob("*.pt"))
    state = torch.load(dqn_ckpt, weights_only=True)
    for key in state["learner"]["online"]:
        state["learner"]["online"][key] = torch.zeros(3, 3)  # right keys, wrong shapes
    bad = root / "runs/dqn-badshape/checkpoints"
    bad.mkdir(parents=True)
    shutil.copy(root / "runs/dqn/config.json", bad.parent / "config.json")
    torch.save(state, bad / dqn_ckpt.name)
    return root


AZ_RUN, DQN_RUN = "runs/az", "runs/dqn"
ROWS = [
    (["train", "dqn", "--steps", "nan"], "--steps must be a whole number >= 1"),
    (["train", "dqn", "--steps", "inf"], "--steps must be a whole number >= 1"),
    (["train", "dqn", "--steps", "-5"], "--steps must be a whole number >= 1"),
    (["train", "dqn", "--steps", "0"], "--steps must be a whole number >= 1"),
    (["train", "dqn", "--steps", "2.5"], "--steps must be a whole number >= 1"),
    (["train", "alphazero", "--steps", "-5"], "--steps must be a whole number >= 1"),
    (["train", "dqn", "--seed", "-1"], "seed must be >= 0"),
    (["train", "alphazero", "--seed", "-1"], "seed must be >= 0"),
    (["train", "dqn", "--set", "lrr=1"], "unknown config key 'lrr' (did you mean 'lr'?)"),
    (["train", "dqn", "--set", "eps_start=2"], "eps_start must lie in [0, 1]"),
    (["train", "dqn", "--set", "eval_epsilon=-0.1"], "eval_epsilon must lie in [0, 1]"),
    (["train", "dqn", "--set", "gamma=1.5"], "gamma must lie in [0, 1]"),
    (["train", "dqn", "--set", "lr=0"], "lr must be > 0"),
    (["train", "dqn", "--set", "batch_size=0"], "batch_size must be >= 1"),
    (["train", "dqn", "--set", "num_atoms=2"], "num_atoms must be 1"),
    (["train", "dqn", "--set", "loss=l1"], "loss"),
    (["train", "dqn", "--set", "num_envs=two"], "cannot read 'two' as int"),
    (["train", "dqn", "--set", "noequals"], "must look like key=value"),
    (["train", "dqn", "--set", "batch_size=64", "--set", "buffer_size=32"], "batch_size 64 exceeds buffer_size 32"),
    (["train", "dqn", "--preset", "rainbowz"], "unknown DQN preset 'rainbowz'"),
    (["train", "dqn", "--env", "CartPole-v9"], "CartPole-v1"),
    (["train", "dqn", "--env", "NoSuchEnv-v0"], "NoSuchEnv"),
    (["train", "dqn", "--device", "tpu"], "'tpu' is not valid; choose from: auto, cpu, cuda"),
    (["train", "dqn", "--backend", "ray", "--num-workers", "0"], "num_workers=0 is invalid"),
    (["train", "dqn", "--backend", "ray", "--cpus-per-worker", "-1"], "cpus_per_worker=-1.0 is invalid"),
    (["train", "alphazero", "--game", "chess"], "chess"),
    (["train", "alphazero", "--set", "lr=0"], "'lr' must be > 0"),
    (["train", "alphazero", "--set", "dirichlet_fraction=2"], "'dirichlet_fraction' must lie in [0, 1]"),
    (["train", "alphazero", "--set", "num_simulations=0"], "'num_simulations' must be >= 1"),
    (["train", "alphazero", "--set", "search=mcts"], "search"),
    (["train", "alphazero", "--set", "eval_opponents=minimax"], "unknown player 'minimax'"),
    (["train", "alphazero", "--game", "tictactoe", "--set", "eval_opponents=solver"], "only plays connect4"),
    (["train", "alphazero", "--set", "inference_dtype=float8"], "inference_dtype"),
    (["train", "dqn", "--resume", "no/such/run"], "does not exist"),
    (["train", "dqn", "--resume", AZ_RUN], "is an AlphaZero run, not DQN"),
    (["train", "alphazero", "--resume", DQN_RUN], "is a DQN run, not AlphaZero"),
    (["train", "alphazero", "--resume", AZ_RUN, "--set", "channels=16"], "another architecture: channels=8"),
    (["train", "dqn", "--resume", DQN_RUN, "--set", "dueling=true"], "another architecture: dueling=False"),
    (["train", "dqn", "--resume", DQN_RUN, "--steps", "100"], "already at 200 steps"),
    (["train", "alphazero", "--resume", AZ_RUN, "--steps", "1"], "already at 1 iterations"),
    (["train", "dqn", "--resume", "notes.txt"], "'notes.txt' is not a readable rlkit checkpoint"),
    (["train", "dqn", "--resume", "zero.pt"], "is empty (0 bytes"),
    (["train", "dqn", "--resume", "runs/dqn-badshape", "--steps", "400"], "do not fit the network"),
    (["train", "dqn", "--runs-dir", "afile", "--steps", "10"], "cannot create run directory"),
    (["train", "dqn", "--name", "dqn", "--steps", "10"], "already exists"),
    (["train", "dqn", "--name", "../escape", "--steps", "10"], "must be one folder name"),
    (["train", "dqn", "--name", "a/b", "--steps", "10"], "must be one folder name"),
    (["train", "dqn", "--name", "", "--steps", "10"], "must be one folder name"),
    (["train", "alphazero", "--name", "..", "--steps", "1"], "must be one folder name"),
    (["train", "dqn", "--address", "127.0.0.1:1", "--steps", "10"], "add --backend ray"),
    (["eval", "dqn", "no/such/run"], "does not exist"),
    (["eval", "dqn", "zero.pt"], "is empty (0 bytes"),
    (["eval", "dqn", "junk.pt"], "'junk.pt' is not a readable rlkit checkpoint"),
    (["eval", "dqn", "pickle.pt"], "'pickle.pt' is not a readable rlkit checkpoint"),
    (["eval", "dqn", AZ_RUN], "is an AlphaZero run, not DQN"),
    (["eval", "dqn", DQN_RUN, "--episodes", "0"], "--episodes must be >= 1"),
    (["eval", "dqn", "runs/dqn-badshape"], "do not fit the network"),
    (["eval", "alphazero", DQN_RUN], "is a DQN run, not AlphaZero"),
    (["eval", "alphazero", AZ_RUN, "--sims", "0"], "--sims must be >= 1"),
    (["eval", "alphazero", AZ_RUN, "--opponents", "minimax"], "unknown player 'minimax'"),
    (["eval", "alphazero", AZ_RUN, "--games", "1"], "games must be a whole number >= 2"),
    (["play", "--game", "chess"], "chess"),
    (["play", "--game", "tictactoe", "--sims", "-3"], "--sims must be >= 1"),
    (["play", "--game", "tictactoe", "--sims", "0"], "--sims must be >= 1"),
    (["play", "--game", "tictactoe", "--opponent", "minimax"], "unknown player 'minimax'"),
    (["play", "--game", "connect4", "--checkpoint", AZ_RUN], "plays tictactoe, not connect4"),
    (["arena", "random", "random", "--game", "tictactoe", "--sims", "-3"], "--sims must be >= 1"),
    (["arena", "random", "random", "--game", "tictactoe", "--games", "-4"], "--games must be >= 2"),
    (["arena", "alphabeta:0", "random", "--game", "connect4"], "depth must be >= 1"),
    (["arena", "random", "random", "--game", "tictactoe", "--seed", "-1"], "--seed must be >= 0"),
    (["arena", "alphabeta:x", "random", "--game", "connect4"], "whole-number depth"),
    (["arena", "perfect", "random", "--game", "connect4"], "'perfect' only plays tictactoe"),
    (["arena", "minimax", "random", "--game", "tictactoe"], "unknown player 'minimax'"),
    (["arena", "zero.pt", "random", "--game", "tictactoe"], "is empty (0 bytes"),
    (["arena", DQN_RUN, "random", "--game", "tictactoe"], "is a DQN"),
]


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")}


@pytest.mark.parametrize(("argv", "message"), ROWS, ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_bad_input_is_one_line_exit_2_and_leaves_no_trace(argv, message, place, capsys, monkeypatch):
    monkeypatch.chdir(place)
    before = _snapshot(place)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("rlkit: error:") and "\n" not in err and "Traceback" not in err and "\x1b[" not in err
    assert message in err
    assert _snapshot(place) == before


def test_the_table_covers_the_probe():
    assert len(ROWS) >= 60
