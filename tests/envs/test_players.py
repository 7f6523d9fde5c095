from __future__ import annotations

import itertools

import pytest
import torch

from envs import boards
from envs.boards import NO_ACTION
from envs.players import AlphaBetaPlayer, OnePlyPlayer, PerfectTicTacToePlayer, RandomPlayer, _ttt_value


@pytest.fixture(scope="module")
def ttt():
    return boards.make("tictactoe")


def play_out(game, first, second, state):
    while not bool(state.done.all()):
        a = torch.where(state.to_play == 0, first(game, state), second(game, state))
        state = game.step(state, torch.where(state.done, NO_ACTION, a))
    return game.returns(state)[:, 0]


def test_random_player_plays_only_legal_moves(ttt):
    state = ttt.reset(64)
    player = RandomPlayer(seed=3)
    for _ in range(9):
        actions = player(ttt, state)
        legal = ttt.legal_mask(state)
        ok = torch.where(state.done, actions == NO_ACTION, legal.gather(1, actions.clamp(min=0)[:, None])[:, 0])
        assert bool(ok.all())
        state = ttt.step(state, actions)


@pytest.mark.parametrize("player", [OnePlyPlayer(), AlphaBetaPlayer(depth=2), PerfectTicTacToePlayer()])
def test_takes_win_and_blocks_loss(ttt, player):
    win = ttt.from_moves(["a1", "b2", "b1", "c3"])  # X completes the top row with c1
    assert player(ttt, win).tolist() == [ttt.string_to_action("c1")]
    block = ttt.from_moves(["a1", "b2", "a2"])  # O must block a3
    assert player(ttt, block).tolist() == [ttt.string_to_action("a3")]


def test_perfect_player_keeps_the_game_theoretic_value(ttt):
    # every 2-move opening, then perfect play against random: the perfect side always gets at
    # least the exact value of the position, and perfect against perfect always draws
    openings = list(itertools.permutations(range(9), 2))
    state = ttt.reset(len(openings))
    state = ttt.step(ttt.step(state, torch.tensor([o[0] for o in openings])), torch.tensor([o[1] for o in openings]))
    value_for_x = torch.tensor([_ttt_value(tuple(int(v) for v in b.flatten()), 0) for b in state.board]).sign()
    perfect, rnd = PerfectTicTacToePlayer(seed=1), RandomPlayer(seed=2)
    assert bool((play_out(ttt, perfect, rnd, state) >= value_for_x).all())  # perfect plays X
    assert bool((play_out(ttt, rnd, perfect, state) <= value_for_x).all())  # perfect plays O
    assert (value_for_x < 0).sum() == 0 and (value_for_x > 0).sum() > 0  # X is never lost; some O replies lose
    assert bool((play_out(ttt, perfect, PerfectTicTacToePlayer(seed=5), ttt.reset(8)) == 0).all())


def test_alpha_beta_full_depth_is_perfect_on_tictactoe(ttt):
    results = play_out(ttt, AlphaBetaPlayer(depth=9, seed=1), PerfectTicTacToePlayer(seed=2), ttt.reset(3))
    assert bool((results == 0).all())


def test_one_ply_beats_random_on_connect4():
    pytest.importorskip("envs.boards.connect4")
    game = boards.make("connect4")
    results = play_out(game, OnePlyPlayer(seed=0), RandomPlayer(seed=1), game.reset(100))
    assert float((results > 0).float().mean()) > 0.85


def test_alpha_beta_beats_one_ply_on_connect4():
    pytest.importorskip("envs.boards.connect4")
    game = boards.make("connect4")
    first = play_out(game, AlphaBetaPlayer(depth=4, seed=0), OnePlyPlayer(seed=1), game.reset(6))
    second = play_out(game, OnePlyPlayer(seed=2), AlphaBetaPlayer(depth=4, seed=3), game.reset(6))
    score = (first.sum() - second.sum()) / 12
    assert float(score) > 0.5


def test_reference_player_names():
    from envs.players import reference_player
    from rlkit.errors import RlkitError

    assert isinstance(reference_player("alphabeta:3"), AlphaBetaPlayer) and reference_player("alphabeta:3").depth == 3
    assert isinstance(reference_player("Random"), RandomPlayer)
    assert isinstance(reference_player("oneply"), OnePlyPlayer)
    with pytest.raises(RlkitError, match="unknown player 'minimax'.*random, one_ply"):
        reference_player("minimax")
    with pytest.raises(RlkitError, match="whole-number depth"):
        reference_player("alphabeta:deep")
    with pytest.raises(RlkitError, match="'perfect' only plays tictactoe, not connect4"):
        reference_player("perfect", game_name="connect4")
