"""Connect Four rules, written as boards: wins in every direction, the draw, full columns, notation."""

from __future__ import annotations

import pytest
import torch

import envs.boards
from envs.boards import IllegalMoveError

game = envs.boards.make("connect4")


def board(text: str) -> str:
    """An ASCII board as `render` draws it, from an indented triple-quoted string."""
    return "\n".join(line.strip() for line in text.strip().splitlines())


def drawn(state) -> str:
    return board(game.render(state))


def play(moves: str):
    return game.from_moves(moves.split())


def test_horizontal_win_on_the_bottom_row():
    state = play("a a b b c c d")
    assert drawn(state) == board("""
         6 . . . . . . .
         5 . . . . . . .
         4 . . . . . . .
         3 . . . . . . .
         2 O O O . . . .
         1 X X X X . . .
           a b c d e f g
        game over: X (player 0) wins
        """)
    assert game.returns(state).tolist() == [[1.0, -1.0]]


def test_vertical_win_for_the_second_player():
    state = play("a b c b e b g b")
    assert drawn(state) == board("""
         6 . . . . . . .
         5 . . . . . . .
         4 . O . . . . .
         3 . O . . . . .
         2 . O . . . . .
         1 X O X . X . X
           a b c d e f g
        game over: O (player 1) wins
        """)
    assert game.returns(state).tolist() == [[-1.0, 1.0]]


@pytest.mark.parametrize(
    "moves, picture",
    [
        (
            "a b b c c d c d d g d",  # rising a1-d4
            """
             4 . . . X . . .
             3 . . X X . . .
             2 . X X O . . .
             1 X O O O . . O
            """,
        ),
        (
            "g f f e e d e d d a d",  # falling d4-g1
            """
             4 . . . X . . .
             3 . . . X X . .
             2 . . . O X X .
             1 O . . O O O X
            """,
        ),
    ],
    ids=["rising", "falling"],
)
def test_diagonal_wins(moves, picture):
    state = play(moves)
    assert board(picture) in drawn(state)
    assert bool(state.done[0]) and int(state.winner[0]) == 0


def test_filling_a_gap_to_make_five_wins():
    state = play("a a b b d d e e c")
    assert board("""
         2 O O . O O . .
         1 X X X X X . .
        """) in drawn(state)
    assert int(state.winner[0]) == 0


def test_three_in_a_row_and_split_fours_do_not_win():
    state = play("a a b b d d")
    assert not bool(state.done[0]) and game.returns(state).tolist() == [[0.0, 0.0]]


def test_full_board_without_four_is_a_draw():
    # columns a, b, e, f read X O X O X O from the bottom, c, d, g the reverse: no four anywhere
    moves = "a c c a " * 3 + "b d d b " * 3 + "e g g e " * 3 + "f " * 6
    state = play(moves)
    assert drawn(state) == board("""
         6 O O X X O O X
         5 X X O O X X O
         4 O O X X O O X
         3 X X O O X X O
         2 O O X X O O X
         1 X X O O X X O
           a b c d e f g
        game over: draw
        """)
    assert game.returns(state).tolist() == [[0.0, 0.0]]
    assert not game.legal_mask(state).any()


def test_a_full_column_is_illegal():
    state = play("c c c c c c")
    assert game.legal_mask(state).tolist() == [[True, True, False, True, True, True, True]]
    with pytest.raises(IllegalMoveError, match=r"illegal action 2 \(c\) in game 0"):
        game.step(state, torch.tensor([2]))


def test_columns_by_letter_or_number():
    assert [game.string_to_action(m) for m in ("a", "D", "4", " 7 ")] == [0, 3, 3, 6]
    assert [game.action_to_string(a) for a in range(7)] == list("abcdefg")
    for bad in ("h", "0", "8", "ab", "d4"):
        with pytest.raises(IllegalMoveError, match="connect4"):
            game.string_to_action(bad)


def test_mirror_symmetry_reverses_the_columns():
    state = play("a b b")
    obs, policy = game.observation(state), torch.arange(7.0)[None]
    (obs_id, policy_id), (obs_flip, policy_flip) = game.symmetries(obs, policy)
    assert torch.equal(obs_id, obs) and torch.equal(policy_id, policy)
    assert torch.equal(obs_flip, obs.flip(-1))
    assert policy_flip.tolist() == [[6.0, 5.0, 4.0, 3.0, 2.0, 1.0, 0.0]]
    mirrored = play("g f f")
    assert torch.equal(game.observation(mirrored), obs_flip)


def test_observation_planes_for_the_player_to_move():
    state = play("d c")  # X to move: own stone on d1, opponent's on c1
    obs = game.observation(state)[0]
    assert obs.shape == (3, 6, 7)
    assert obs[0].nonzero().tolist() == [[5, 3]] and obs[1].nonzero().tolist() == [[5, 2]]
    assert bool((obs[2] == 1).all())  # player 0 to move
