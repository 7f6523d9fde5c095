"""Shipped agents (`az:<game>`): export a run's weights into the package, play them by that name."""

from __future__ import annotations

import json

import pytest
import torch

import envs.boards
from agents.alphazero import AlphaZero, load_agent, make_openings, make_player, shipped
from agents.alphazero.play import default_opponent, play
from rlkit.errors import RlkitError
from tests.agents.alphazero_helpers import agent_mistakes
from tests.agents.test_agent_api import TINY_AZ


@pytest.fixture
def exported(tmp_path, monkeypatch):
    model = AlphaZero("tictactoe", runs_dir=str(tmp_path), seed=1, **TINY_AZ).learn(2, progress=False)
    out = tmp_path / "weights"
    out.mkdir()
    path = shipped.export(model.run.path, ["eval_simulations=7"], {"command": "test"}, out=out)
    monkeypatch.setattr(shipped, "WEIGHTS", out)
    return model, path


def test_export_keeps_weights_and_play_settings_only(exported):
    model, path = exported
    state = torch.load(path, weights_only=True)
    assert set(state) == {"format", "agent", "config", "learner", "counters"} and set(state["learner"]) == {"net"}
    config, _, net = load_agent(path)
    assert config.eval_simulations == 7 and config.game == "tictactoe"
    for key, value in model.network.state_dict().items():
        assert torch.equal(net.state_dict()[key], value), key
    notes = json.loads(path.with_suffix(".json").read_text())
    assert notes["command"] == "test" and notes["counters"]["iteration"] == 2


def test_short_name_plays_the_shipped_agent(exported):
    game = envs.boards.make("tictactoe")
    player = make_player("az:tictactoe", game, num_simulations=4)
    moves = player(game, game.reset(3))
    assert moves.shape == (3,) and bool(game.legal_mask(game.reset(3)).gather(1, moves[:, None]).all())
    make_player("policy:az:tictactoe", game)  # the raw policy by the same name
    assert default_opponent("tictactoe") == "az:tictactoe" and default_opponent("othello") == "alphabeta:4"
    with pytest.raises(RlkitError, match=r"no shipped agent 'az:othello'; shipped: az:tictactoe"):
        make_player("az:othello", envs.boards.make("othello"))


def test_play_defaults_to_the_shipped_agent(exported):
    lines: list[str] = []
    moves = iter(["quit"])
    assert play("tictactoe", human_color=0, input_fn=lambda _: next(moves), print_fn=lines.append) is None
    play("tictactoe", human_color=1, input_fn=lambda _: "quit", print_fn=lines.append)
    assert any(line.startswith("az:tictactoe plays ") for line in lines), lines


def test_shipped_tictactoe_agent_plays_perfectly():
    assert "tictactoe" in shipped.shipped_games()
    game = envs.boards.make("tictactoe")
    player = make_player("az:tictactoe", game)  # its evaluation search, as `rlkit play` uses it
    assert agent_mistakes(game, player, make_openings(game, 1)) == []  # from the empty board, either colour


def test_shipped_connect4_agent_beats_the_easy_pons_positions():
    """The shipped agent's raw policy and a short search, on the easy Pons sets (measured figures in
    agents/alphazero/weights/connect4.json; the bounds leave room for other machines' rounding)."""
    from envs.connect4_pons import score_player, subsample

    assert "connect4" in shipped.shipped_games()
    game = envs.boards.make("connect4")
    positions = {name: subsample(100)[name] for name in ("end-easy", "middle-easy")}
    policy = score_player(game, make_player("policy:az:connect4", game), positions)
    assert all(row["mistake_pct"] <= 8 for row in policy.values()), policy  # measured 1 and 5; one_ply: 9 and 20
    search = score_player(game, make_player("az:connect4", game, num_simulations=32), positions)
    assert all(row["mistake_pct"] <= 2 for row in search.values()), search  # measured 0 and 0
