"""Othello rules as ASCII positions: flips, passes, the end of the game and its score.

Agreement with OpenSpiel over hundreds of random games lives in the conformance suite
(tests/envs/test_boards_conformance.py); these tests pin the rules one at a time.
"""

from __future__ import annotations

import pytest
import torch

from envs.boards import IllegalMoveError, State, make

STONES = {".": 0, "X": 1, "O": 2}


@pytest.fixture(scope="module")
def game():
    return make("othello")


def board(text: str) -> torch.Tensor:
    """int8 [1, 8, 8] from 8 rows of 'X' (black, player 0), 'O' (white) and '.', row 1 first."""
    rows = [line.split() for line in text.strip().splitlines()]
    return torch.tensor([[[STONES[c] for c in row] for row in rows]], dtype=torch.int8)


def moves(game, state: State, i: int = 0) -> list[str]:
    return [game.action_to_string(a) for a in game.legal_actions(state, i)]


EIGHT_WAYS = """
X . . . X . . .
. O . . O . . O
. . X . X . X .
. . . X X X . .
. O X X . X X O
. . . X X X . .
. . X . X . X .
. O . . O . . O
"""
# White plays e5: two black discs flip in each of the 8 directions; the black discs on a1 and
# e1 lie beyond the closing white discs and stay black.
EIGHT_WAYS_AFTER = """
X . . . X . . .
. O . . O . . O
. . O . O . O .
. . . O O O . .
. O O O O O O O
. . . O O O . .
. . O . O . O .
. O . . O . . O
"""


def test_start_position_numbering_and_notation(game):
    state = game.reset(2)
    assert game.legal_actions(state) == [19, 26, 37, 44]  # OpenSpiel's numbering: 8 * row + column
    assert moves(game, state) == ["d3", "c4", "f5", "e6"]
    assert game.current_player(state).tolist() == [0, 0]
    assert game.action_to_string(64) == "pass" and game.string_to_action("PASS") == 64
    assert "pass" in game.notation_help()
    assert game.render(state, 1).splitlines()[3] == " 4 . . . O X . . ."


def test_flips_in_all_eight_directions_in_a_batch(game):
    # the start position rides along in the same batch: its move must not leak into the other game
    state = State.cat([game.from_board(board(EIGHT_WAYS), to_play=1), game.reset(1)])
    after = game.step(state, torch.tensor([game.string_to_action("e5"), game.string_to_action("d3")]))
    assert torch.equal(after.board[0], board(EIGHT_WAYS_AFTER)[0])
    # black keeps two discs but neither side can move: the game is over, 18 to 2 for white
    assert after.done.tolist() == [True, False]
    assert game.returns(after)[0].tolist() == [-1.0, 1.0]
    assert "O (player 1) wins" in game.render(after, 0)
    expected_start = game.from_moves(["d3"])
    assert torch.equal(after.board[1], expected_start.board[0])
    assert moves(game, after, 1) == moves(game, expected_start)


def test_a_move_must_flip(game):
    state = game.from_board(board(EIGHT_WAYS), to_play=1)
    legal = moves(game, state)
    assert "e5" in legal and "a8" not in legal and "h1" not in legal and "pass" not in legal
    with pytest.raises(IllegalMoveError, match=r"illegal action 7 \(h1\) in game 0"):
        game.step(state, torch.tensor([7]))
    with pytest.raises(IllegalMoveError, match="pass"):
        game.step(game.reset(1), torch.tensor([64]))


FORCED_PASS = """
X O . . . . . .
. . . . . . . .
. . . . . . . .
. . . . . . . .
. . . . . . . .
. . . . . . . .
. . . . . . . .
. . . . . . . .
"""


def test_forced_pass_then_win_by_wiping_out(game):
    state = game.from_board(board(FORCED_PASS), to_play=1)
    assert moves(game, state) == ["pass"]  # white has no flip anywhere, black has c1
    state = game.step(state, torch.tensor([64]))
    assert not bool(state.done[0]) and int(state.to_play[0]) == 0
    assert torch.equal(state.board, board(FORCED_PASS))
    assert moves(game, state) == ["c1"]
    state = game.step(state, torch.tensor([game.string_to_action("c1")]))
    assert bool(state.done[0]) and game.returns(state)[0].tolist() == [1.0, -1.0]
    assert game.legal_mask(state).sum() == 0


FULL_BUT_ONE = """
X X X X X X X X
X X X X X X X X
X X X X X X X X
X X X X X X X X
O O O O O O O O
O O O O O O O O
O O O O O O O O
O O O O O O X .
"""


@pytest.mark.parametrize(
    ("to_play", "returns"),
    [(1, [0.0, 0.0]), (0, [1.0, -1.0])],
    ids=["white-fills-32-32-draw", "black-fills-40-24-win"],
)
def test_full_board_ends_the_game_and_counts_discs(game, to_play, returns):
    # white on h8 flips g8 (32 each); black on h8 flips three discs up and three up-left (40 to 24)
    state = game.from_board(board(FULL_BUT_ONE), to_play=to_play)
    assert moves(game, state) == ["h8"]
    state = game.step(state, torch.tensor([63]))
    discs = [int((state.board == s).sum()) for s in (1, 2)]
    assert sum(discs) == 64 and bool(state.done[0])
    assert discs == ([32, 32] if to_play == 1 else [40, 24])
    assert game.returns(state)[0].tolist() == returns
    assert ("draw" in game.render(state)) == (returns == [0.0, 0.0])


def test_from_board_agrees_with_from_moves(game):
    played = game.from_moves(["d3", "c3", "c4", "e3"])
    rebuilt = game.from_board(played.board, to_play=played.to_play)
    for key, value in played.items():
        assert torch.equal(value, getattr(rebuilt, key)), key
