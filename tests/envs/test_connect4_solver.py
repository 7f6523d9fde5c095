from __future__ import annotations

import functools
import random

import pytest
import torch

from envs import boards
from envs.boards import NO_ACTION
from envs.connect4_solver import Connect4Solver, Connect4SolverPlayer
from envs.players import OnePlyPlayer

pytest.importorskip("envs.boards.connect4")


@pytest.fixture(scope="module")
def game():
    return boards.make("connect4")


@pytest.fixture(scope="module")
def solver():
    return Connect4Solver()


def random_unfinished(game, stones: int, rng: random.Random):
    while True:
        state = game.reset(1)
        for _ in range(stones):
            legal = game.legal_actions(state)
            if not legal:
                break
            state = game.step(state, torch.tensor([rng.choice(legal)]))
            if bool(state.done[0]):
                break
        if not bool(state.done[0]):
            return state


def exhaustive_value(game, state) -> int:
    """Plain minimax over the game API (no pruning, no bitboards): value for the player to move."""

    @functools.cache
    def value(key) -> int:
        s = cache[key]
        best = -2
        for a in game.legal_actions(s):
            child = game.step(s, torch.tensor([a]))
            if bool(child.done[0]):
                v = int(game.returns(child)[0, int(s.to_play[0])])
            else:
                k = child.board.numpy().tobytes()
                cache[k] = child
                v = -value(k)
            best = max(best, v)
        return best

    cache = {state.board.numpy().tobytes(): state}
    return value(state.board.numpy().tobytes())


def test_values_agree_with_exhaustive_minimax_on_late_positions(game, solver):
    rng = random.Random(0)
    for _ in range(25):
        state = random_unfinished(game, rng.randint(31, 35), rng)
        value, optimal, scores = solver.solve(game, state)
        assert value == exhaustive_value(game, state)
        assert set(optimal) <= set(game.legal_actions(state)) and optimal
        assert set(scores) == set(game.legal_actions(state))


def test_known_position_and_bitboard_conversion(game, solver):
    moves = "2252576253462244111563365343671351441"  # a published test position with score -1
    assert solver.score(*solver.from_moves(moves)) == -1
    state = game.from_moves([int(ch) - 1 for ch in moves])
    assert solver.from_state(state) == solver.from_moves(moves)


def test_immediate_win_and_forced_block(game, solver):
    win = game.from_moves(["d", "a", "d", "a", "d", "a"])  # X has three in column d
    value, optimal, scores = solver.solve(game, win)
    # d wins now (the highest score); blocking at a still wins later, so it keeps the value too
    assert value == 1 and 3 in optimal and scores[3] > max(v for c, v in scores.items() if c != 3)
    block = game.from_moves(["d", "a", "d", "a", "d"])  # O must block column d
    value, optimal, _ = solver.solve(game, block)
    assert 3 in optimal and (value < 0 or optimal == [3])


def test_solver_player_converts_a_won_position(game):
    rng = random.Random(3)
    solver = Connect4Solver()
    won = []
    while len(won) < 4:
        state = random_unfinished(game, 16, rng)
        if solver.solve(game, state)[0] == 1:
            won.append(state)
    state = boards.State.cat(won)
    first = state.to_play.clone()
    perfect, opponent = Connect4SolverPlayer(seed=0, solver=solver), OnePlyPlayer(seed=1)
    while not bool(state.done.all()):
        a = torch.where(state.to_play == first, perfect(game, state), opponent(game, state))
        state = game.step(state, torch.where(state.done, NO_ACTION, a))
    assert bool((game.returns(state).gather(1, first[:, None]) == 1).all())
