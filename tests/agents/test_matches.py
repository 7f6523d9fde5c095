"""Arena matches, openings and Elo maths."""

from __future__ import annotations

import math

import pytest
import torch

import envs.boards
from agents.alphazero.matches import EloTable, MatchResult, elo_from_score, make_openings, play_match
from envs.players import PerfectTicTacToePlayer, RandomPlayer

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def game():
    return envs.boards.make("tictactoe")


def lowest_legal(game, state):
    return game.legal_mask(state).float().argmax(dim=1)


def test_elo_from_score():
    assert elo_from_score(0.5) == 0.0
    assert elo_from_score(0.75) == pytest.approx(400 * math.log10(3))  # 190.85
    assert elo_from_score(0.25) == pytest.approx(-400 * math.log10(3))
    # a perfect score over 10 games is clamped to 19.5/20
    assert elo_from_score(1.0, games=10) == pytest.approx(400 * math.log10(0.95 / 0.05))


def test_match_result_interval():
    result = MatchResult(wins=6, draws=2, losses=2)
    assert result.score == pytest.approx(0.7)
    elo, low, high = result.elo()
    assert elo == pytest.approx(elo_from_score(0.7))
    # variance of per-game scores {1 x6, 0.5 x2, 0 x2} around 0.7 is (6 * 0.09 + 2 * 0.04 + 2 * 0.49) / 10 = 0.16
    half = 1.96 * math.sqrt(0.16 / 10)
    assert low == pytest.approx(elo_from_score(0.7 - half))
    assert high == pytest.approx(elo_from_score(0.7 + half))


def test_elo_table_recovers_a_known_gap():
    table = EloTable(anchor="random")
    table.add("agent", "random", MatchResult(wins=300, draws=0, losses=100))
    ratings = table.ratings()
    # one virtual draw against the anchor: (300 + 0.5) / 401
    assert ratings["random"] == 0.0
    assert ratings["agent"] == pytest.approx(elo_from_score(300.5 / 401), abs=0.5)


def test_elo_table_chains_through_opponents():
    table = EloTable(anchor="random")
    table.add("b", "random", MatchResult(3000, 0, 1000))
    table.add("c", "b", MatchResult(3000, 0, 1000))
    ratings = table.ratings()
    assert ratings["c"] - ratings["b"] == pytest.approx(ratings["b"], abs=5)
    assert ratings["c"] == pytest.approx(2 * 400 * math.log10(3), abs=10)
    restored = EloTable()
    restored.load_state_dict(table.state_dict())
    assert restored.ratings() == pytest.approx(ratings)


def test_openings(game):
    openings = make_openings(game, 14, seed=0)
    assert openings[:10] == [[]] + [[a] for a in range(9)]
    assert len(openings) == 14 and len({tuple(o) for o in openings}) == 14
    assert all(len(o) == 2 for o in openings[10:])


def test_colours_are_swapped(game):
    # Two identical deterministic players: each opening is won by the same side whoever plays it,
    # so swapping colours turns every win into a loss.
    result = play_match(game, lowest_legal, lowest_legal, make_openings(game, 5))
    assert result.games == 10 and result.wins == result.losses


def test_perfect_player_never_loses(game):
    openings = make_openings(game, 10)
    against_random = play_match(game, PerfectTicTacToePlayer(0), RandomPlayer(0), openings)
    assert against_random.losses == 0 and against_random.wins >= 10
    against_itself = play_match(game, PerfectTicTacToePlayer(1), PerfectTicTacToePlayer(2), openings)
    assert against_itself.draws == 20
