"""Gomoku rules, written as boards: five or more in every direction, fours, overlines, the draw, notation."""

from __future__ import annotations

import pytest

import envs.boards
from envs.boards import IllegalMoveError
from rlkit.errors import RlkitError

small = envs.boards.make("gomoku", size=9)

# O's replies in the corners, far from any line X builds and never four of their own
O_REPLIES = ["i9", "i7", "g9", "i5", "e9", "g7"]


def board(text: str) -> str:
    """An ASCII board as `render` draws it, from an indented triple-quoted string."""
    return "\n".join(line.strip() for line in text.strip().splitlines())


def drawn(game, state) -> str:
    return board(game.render(state))


def play(game, moves: str):
    return game.from_moves(moves.split())


def x_plays(x_moves: list[str]):
    """X plays x_moves, O answers from O_REPLIES in between."""
    moves = [m for pair in zip(x_moves, O_REPLIES) for m in pair][: 2 * len(x_moves) - 1]
    return small.from_moves(moves)


def test_five_in_a_row_wins():
    state = x_plays(["a1", "b1", "c1", "d1", "e1"])
    assert drawn(small, state) == board("""
         9 . . . . . . O . O
         8 . . . . . . . . .
         7 . . . . . . . . O
         6 . . . . . . . . .
         5 . . . . . . . . O
         4 . . . . . . . . .
         3 . . . . . . . . .
         2 . . . . . . . . .
         1 X X X X X . . . .
           a b c d e f g h i
        game over: X (player 0) wins
        """)
    assert small.returns(state).tolist() == [[1.0, -1.0]]


@pytest.mark.parametrize(
    "line",
    [
        "e2 e3 e4 e5 e6",  # vertical
        "a1 b2 c3 d4 e5",  # rising diagonal from the corner
        "d8 e7 f6 g5 h4",  # falling diagonal
        "d8 e8 f8 g8 h8",  # next to the top edge
        "h1 h2 h3 h4 h5",  # next to the right edge
    ],
)
def test_five_in_every_direction_wins(line):
    moves = line.split()
    for played in range(1, 5):
        assert not bool(x_plays(moves[:played]).done[0])
    state = x_plays(moves)
    assert bool(state.done[0]) and int(state.winner[0]) == 0


def test_the_second_player_wins_too():
    state = play(small, "a1 b2 a3 c2 a5 d2 a7 e2 a9 f2")
    assert board("""
         3 X . . . . . . . .
         2 . O O O O O . . .
         1 X . . . . . . . .
        """) in drawn(small, state)
    assert small.returns(state).tolist() == [[-1.0, 1.0]]


def test_an_overline_of_six_wins():
    state = x_plays(["a1", "b1", "c1", "e1", "f1", "d1"])
    assert " 1 X X X X X X . . ." in small.render(state)
    assert int(state.winner[0]) == 0


def test_four_or_a_broken_five_does_not_win():
    state = x_plays(["a1", "b1", "c1", "d1", "f1"])  # X X X X . X
    assert not bool(state.done[0]) and small.returns(state).tolist() == [[0.0, 0.0]]


def test_full_board_without_a_line_is_a_draw():
    game = envs.boards.make("gomoku", size=3, connect=3)
    state = play(game, "b2 a3 a2 c2 b3 b1 c1 a1 c3")
    assert drawn(game, state) == board("""
         3 O X X
         2 X X O
         1 O O X
           a b c
        game over: draw
        """)
    assert game.returns(state).tolist() == [[0.0, 0.0]] and not game.legal_mask(state).any()


def test_an_occupied_point_is_illegal():
    state = small.from_moves(["e5"])
    with pytest.raises(IllegalMoveError, match=r"illegal action 40 \(e5\) in game 0"):
        small.from_moves(["e5", "e5"])
    assert int(small.legal_mask(state).sum()) == 80


def test_notation_counts_rows_from_the_bottom():
    game = envs.boards.make("gomoku")
    assert game.num_actions == 225 and game.observation_shape == (3, 15, 15)
    assert game.string_to_action("h8") == 7 * 15 + 7  # the centre
    assert game.string_to_action("a15") == 0 and game.string_to_action("o1") == 224
    assert game.action_to_string(14 * 15) == "a1"
    lines = game.render(game.from_moves(["a1"])).splitlines()
    assert lines[0].startswith("15 .") and lines[14] == " 1 X . . . . . . . . . . . . . ."
    assert lines[15].split() == list("abcdefghijklmno")


def test_action_numbering_matches_openspiel():
    pyspiel = pytest.importorskip("pyspiel")
    spiel = pyspiel.load_game("gomoku(size=9)").new_initial_state()
    for action in (0, 8, 40, 72, 80):
        row, col = map(int, spiel.action_to_string(0, action).split(","))
        assert small.action_to_string(action) == "abcdefghi"[col] + str(9 - row)


@pytest.mark.parametrize("options", [{"size": 1}, {"size": 27}, {"size": 9, "connect": 10}, {"connect": 1}])
def test_bad_options_are_rejected(options):
    with pytest.raises(RlkitError, match="gomoku"):
        envs.boards.make("gomoku", **options)
