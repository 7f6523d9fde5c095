"""The `rlkit` command: help everywhere, one-line user errors with exit status 2, and small real runs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from rlkit.cli import build_parser, main

SUBCOMMANDS = [
    [],
    ["train"],
    ["train", "dqn"],
    ["train", "alphazero"],
    ["eval"],
    ["eval", "dqn"],
    ["eval", "alphazero"],
    ["play"],
    ["arena"],
    ["demo"],
]


@pytest.mark.parametrize("words", SUBCOMMANDS, ids=lambda w: " ".join(w) or "rlkit")
def test_every_subcommand_has_help(words, capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([*words, "--help"])
    assert exit_info.value.code == 0
    assert "usage: rlkit" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "dqn", "--set", "lrr=1"], "unknown config key 'lrr' (did you mean 'lr'?)"),
        (["train", "dqn", "--preset", "rainbowz"], "unknown DQN preset 'rainbowz'"),
        (["train", "dqn", "--env", "CartPole-v9", "--steps", "10"], "CartPole-v1"),
        (["train", "alphazero", "--game", "chess"], "chess"),
        (["arena", "perfect", "random", "--game", "connect4"], "'perfect' only plays tictactoe"),
        (["arena", "minimax", "random", "--game", "tictactoe"], "unknown player 'minimax'"),
        (["eval", "dqn", "no/such/run"], "does not exist"),
        (["train", "dqn", "--resume", "no/such/run"], "does not exist"),
        (["train", "dqn", "--steps", "nan"], "--steps must be a whole number >= 1"),
        (["train", "dqn", "--steps", "inf"], "--steps must be a whole number >= 1"),
        (["train", "alphazero", "--steps", "-5"], "--steps must be a whole number >= 1"),
        (["train", "dqn", "--device", "tpu"], "'tpu' is not valid; choose from: auto, cpu, cuda"),
        (["train", "dqn", "--set", "noequals"], "must look like key=value"),
    ],
)
def test_user_errors_print_one_line_and_exit_2(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("rlkit: error:") and "\n" not in err and "Traceback" not in err
    assert message in err
    assert not (tmp_path / "runs").exists()  # a refused start leaves nothing behind


def test_console_script_reports_errors_without_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "rlkit.cli", "train", "dqn", "--set", "gamma=2"],
        check=False, capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "gamma" in proc.stderr and "Traceback" not in proc.stderr


def test_list_presets_and_show_config(capsys):
    assert main(["train", "dqn", "--list-presets"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in ("dqn", "double", "dueling", "prioritized", "c51", "noisy", "rainbow"))
    assert main(["train", "alphazero", "--game", "connect4", "--show-config", "--set", "num_simulations=7"]) == 0
    out = capsys.readouterr().out
    assert "num_simulations" in out and " 7 " in out


def test_train_resume_and_arena_through_the_cli(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    base = ["train", "alphazero", "--game", "tictactoe", "--name", "t", "--no-progress"]
    small = ["--set", "games_per_iteration=8", "--set", "parallel_games=8", "--set", "num_simulations=4",
             "--set", "updates_per_iteration=2", "--set", "eval_every_iterations=0"]  # fmt: skip
    assert main([*base, "--steps", "1", *small]) == 0  # without --json: a summary and the next commands
    out = capsys.readouterr().out
    assert out.startswith("alphazero tictactoe: 1 iteration, 8 self-play games, 2 updates")
    assert "run: runs/t " in out and "  rlkit eval alphazero runs/t\n" in out
    assert "  rlkit play --game tictactoe --checkpoint runs/t\n" in out
    assert "  rlkit train alphazero --resume runs/t --steps 2\n" in out
    assert main(["train", "alphazero", "--resume", "runs/t", "--steps", "2", "--no-progress", "--json"]) == 0
    resumed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert resumed["counters/iteration"] == 2 and resumed["counters/games"] == 16
    assert main(["arena", "runs/t", "random", "--game", "tictactoe", "--games", "2", "--sims", "4", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["wins"] + result["draws"] + result["losses"] == 2


def test_a_budget_shorter_than_exploration_is_warned_about(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tiny = ["--set", "num_envs=1", "--set", "vectorization=sync", "--set", "mlp_hidden=[8]", "--set", "buffer_size=100"]
    assert main(["train", "dqn", "--steps", "40", "--no-progress", "--json", *tiny]) == 0
    out, err = capsys.readouterr()
    assert err.count("rlkit: warning:") == 1 and "before learning starts (learning_starts_steps=" in err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["steps"] == 40 and summary["run"].endswith(tuple("0123456789"))
    assert main(["train", "dqn", "--steps", "40", "--no-progress", "--set", "learning_starts_steps=10", *tiny]) == 0
    out, err = capsys.readouterr()
    assert "before exploration has decayed (eps_decay_steps=" in err
    assert out.startswith("dqn CartPole-v1: 40 steps, ") and "  rlkit eval dqn runs/dqn-CartPole-v1-" in out


def test_set_takes_several_overrides_per_flag():
    args = build_parser().parse_args(["train", "alphazero", "--set", "lr=3e-4", "batch_size=64", "--set", "seed=2"])
    assert args.overrides == ["lr=3e-4", "batch_size=64", "seed=2"]
