"""Hex rules, written as boards: which edges each player joins, adjacency on the rhombus, merging
groups, notation (row 1 at the top, as OpenSpiel), observation planes and the 180-degree symmetry."""

from __future__ import annotations

import pytest
import torch

import envs.boards
from rlkit.errors import RlkitError

game = envs.boards.make("hex", size=5)


def board(text: str) -> str:
    """An ASCII board as `render` draws it, from an indented triple-quoted string."""
    return "\n".join(line.strip() for line in text.strip().splitlines())


def play(moves: str):
    return game.from_moves(moves.split())


def drawn(state) -> str:
    return board(game.render(state))


def test_x_joins_top_and_bottom():
    state = play("a1 e1 a2 e2 a3 e3 a4 e4 a5")
    assert drawn(state) == board("""
           a b c d e
         1 X . . . O
         2  X . . . O
         3   X . . . O
         4    X . . . O
         5     X . . . .
        game over: X (player 0) wins
        X joins rows 1-5, O joins columns a-e
        """)
    assert game.returns(state).tolist() == [[1.0, -1.0]]


def test_o_joins_left_and_right_and_a_row_of_x_does_not_win():
    state = play("a1 a3 b1 b3 c1 c3 d1 d3 a5 e3")
    assert board("""
         1 X X X X .
         2  . . . . .
         3   O O O O O
        """) in drawn(state)
    assert game.returns(state).tolist() == [[-1.0, 1.0]]


def test_cells_touch_along_the_rising_diagonal():
    state = play("e1 a1 d2 a2 c3 a3 b4 a4 a5")
    assert board("""
         1 O . . . X
         2  O . . X .
         3   O . X . .
         4    O X . . .
         5     X . . . .
        """) in drawn(state)
    assert int(state.winner[0]) == 0


def test_cells_do_not_touch_along_the_falling_diagonal():
    state = play("a1 e1 b2 e2 c3 e3 d4 e4 e5")
    assert board("""
         1 X . . . O
         2  . X . . O
         3   . . X . O
         4    . . . X O
         5     . . . . X
        """) in drawn(state)
    assert not bool(state.done[0])


def test_one_stone_joins_three_groups():
    before = play("c1 a1 c2 a2 d3 e1 b4 e2 a5 e5")
    assert board("""
         1 O . X . O
         2  O . X . O
         3   . . . X .
         4    . X . . .
         5     X . . . O
        """) in drawn(before)
    assert not bool(before.done[0])
    after = game.step(before, torch.tensor([game.string_to_action("c3")]))
    assert int(after.winner[0]) == 0


def test_groups_built_from_both_ends_merge_in_the_middle():
    state = play("c1 a1 c5 a2 c2 e1 c4 e2")
    assert not bool(state.done[0])
    assert int(game.step(state, torch.tensor([game.string_to_action("c3")])).winner[0]) == 0


def test_notation_is_openspiels():
    assert game.string_to_action("a1") == 0 and game.string_to_action("e1") == 4
    assert game.string_to_action("a2") == 5 and game.string_to_action("e5") == 24
    pyspiel = pytest.importorskip("pyspiel")
    spiel = pyspiel.load_game("hex(board_size=5)").new_initial_state()
    assert [game.action_to_string(a) for a in range(25)] == [spiel.action_to_string(0, a) for a in range(25)]


def test_observation_shows_whose_edges_are_whose():
    state = play("c3")  # O to move
    obs = game.observation(state)[0]
    assert obs.shape == (4, 5, 5) and game.observation_shape == (4, 5, 5)
    assert obs[0].sum() == 0 and obs[1, 2, 2] == 1  # O has no stones, X's stone is the opponent's
    columns_a_e = torch.zeros(5, 5)
    columns_a_e[:, [0, 4]] = 1
    assert torch.equal(obs[2], columns_a_e) and torch.equal(obs[3], columns_a_e.T)
    x_to_move = game.observation(game.reset(1))[0]
    assert torch.equal(x_to_move[2], columns_a_e.T) and torch.equal(x_to_move[3], columns_a_e)


def test_half_turn_symmetry_reverses_the_cells():
    assert game.symmetry_names == ("id", "rot2")
    state = play("a1 b1 a2")
    obs, policy = game.observation(state), torch.arange(25.0)[None]
    (_, _), (obs_rot, policy_rot) = game.symmetries(obs, policy)
    assert torch.equal(policy_rot, policy.flip(-1))
    assert torch.equal(obs_rot, game.observation(play("e5 d5 e4")))


@pytest.mark.parametrize("size", [1, 27])
def test_bad_sizes_are_rejected(size):
    with pytest.raises(RlkitError, match="hex: size"):
        envs.boards.make("hex", size=size)
