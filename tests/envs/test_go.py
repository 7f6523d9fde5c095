"""Go rules as ASCII positions and move lists: captures, suicide, ko, superko, scoring, game end.

Boards are written as people read them, rank `size` at the top and column a at the left;
`position` turns them into the bottom-up layout of `state.board`. The conformance suite
(tests/envs/test_boards_conformance.py) plays uniform random games against OpenSpiel; the
last test here plays games that rarely pass, which reach ko, superko and the move cap.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from envs.boards import NO_ACTION, IllegalMoveError, make
from envs.boards.go import Go, GroupInfo, neighbour_table
from rlkit.errors import RlkitError

pyspiel = pytest.importorskip("pyspiel")

STONES = {".": 0, "X": 1, "O": 2}


def position(game: Go, text: str, to_play: int = 0):
    rows = [[STONES[c] for c in line.split()] for line in text.strip().splitlines()]
    return game.from_board(torch.tensor(rows, dtype=torch.int8).flip(0)[None], to_play)


def ascii_board(text: str) -> str:
    return "\n".join(line.strip() for line in text.strip().splitlines())


def drawn(game: Go, state) -> str:
    """The board part of `render` (rank `size` first), without coordinates."""
    lines = game.render(state).splitlines()[: game.height]
    return "\n".join(line[3:] for line in lines)


def play(game: Go, state, *moves: str):
    for move in moves:
        state = game.step(state, torch.tensor([game.string_to_action(move)]))
    return state


def test_numbering_notation_and_render():
    game = make("go")
    assert game.num_actions == 82 and game.max_moves == 162 and game.komi == 7.5
    names = [game.action_to_string(a) for a in (0, 8, 9, 80, 81)]
    assert names == ["a1", "j1", "a2", "j9", "pass"]  # OpenSpiel: row-major from a1, no letter i
    assert "pass" in game.notation_help()
    state = play(game, game.reset(1), "c3", "h7")
    lines = game.render(state).splitlines()
    assert lines[2] == " 7 . . . . . . . O ." and lines[6] == " 3 . . X . . . . . ."
    assert lines[9] == "   a b c d e f g h j"
    with pytest.raises(RlkitError, match="size must be an integer from 2 to 19"):
        make("go", size=21)


def test_single_and_multi_stone_captures():
    game = make("go", size=5)
    # c3 takes the last liberty of two white groups at once: b4-c4 and c2
    state = position(
        game,
        """
        . X X . .
        X O O X .
        . X . . .
        . X O X .
        . . X . .
        """,
    )
    state = play(game, state, "c3")
    assert drawn(game, state) == ascii_board(
        """
        . X X . .
        X . . X .
        . X X . .
        . X . X .
        . . X . .
        """
    )
    assert int(state.ko[0]) == -1  # three stones taken: no ko

    state = play(game, position(game, "\n".join([". . . . ."] * 2 + [". . X . .", ". X O . .", ". . X . ."])), "d2")
    assert int((state.board == 2).sum()) == 0


SUICIDES = """
O X . . .
. X . . .
X . . . .
. . . X .
. . X . X
"""


def test_suicide_is_illegal_unless_it_captures():
    game = make("go", size=5)
    a4, d1 = game.string_to_action("a4"), game.string_to_action("d1")
    white = position(game, SUICIDES, to_play=1)
    # a4 would leave a5-a4 without liberties, d1 is a one-point eye of black's
    assert not game.legal_mask(white)[0, a4] and not game.legal_mask(white)[0, d1]
    with pytest.raises(IllegalMoveError, match=r"illegal action 15 \(a4\)"):
        game.step(white, torch.tensor([a4]))
    black = position(game, SUICIDES, to_play=0)
    assert game.legal_mask(black)[0, d1]  # filling one's own eye is legal (the group keeps liberties)
    assert game.legal_mask(black)[0, a4]  # and a4 takes the last liberty of a5
    after = play(game, black, "a4")
    assert int((after.board == 2).sum()) == 0 and int(after.ko[0]) == -1  # not into an eye: no ko


KO = """
. . . . .
. X O . .
X O . O .
. X O . .
. . . . .
"""


def test_ko_forbids_the_immediate_retake_only():
    game = make("go", size=5)
    state = play(game, position(game, KO), "c3")  # black captures b3 into white's eye
    b3, c3 = game.string_to_action("b3"), game.string_to_action("c3")
    assert int(state.ko[0]) == b3 and not game.legal_mask(state)[0, b3]
    with pytest.raises(IllegalMoveError, match=r"\(b3\)"):
        game.step(state, torch.tensor([b3]))
    state = play(game, state, "e5", "e1")  # a ko threat elsewhere and an answer
    assert game.legal_mask(state)[0, b3]
    state = play(game, state, "b3")  # white retakes: now black may not retake at once
    assert int((state.board == 1).flatten()[c3]) == 0 and not game.legal_mask(state)[0, c3]


def test_positional_superko_ends_the_game_drawn():
    # 3x3: white a3 captures a1-a2 (two stones: no ko), black a2 retakes a3 and recreates
    # the board after move 4: OpenSpiel ends the game there as a draw
    game, spiel = make("go", size=3), pyspiel.load_game("go(board_size=3)")
    moves = ["a2", "b2", "b3", "b1", "a1", "a3"]
    state = play(game, game.reset(1), *moves)
    assert not bool(state.done[0]) and game.legal_mask(state)[0, game.string_to_action("a2")]
    state = play(game, state, "a2")
    assert bool(state.done[0]) and game.returns(state)[0].tolist() == [0.0, 0.0]
    spiel_state = spiel.new_initial_state()
    for move in moves + ["a2"]:
        spiel_state.apply_action(game.string_to_action(move))
    assert spiel_state.is_terminal() and spiel_state.returns() == [0.0, 0.0]


WALL = """
. . X O .
. . X O .
. . X O .
. . X O .
. . X O .
"""


@pytest.mark.parametrize(
    ("text", "komi", "returns"),
    [
        (WALL, 7.5, [-1.0, 1.0]),  # black 15 (5 stones, 10 territory), white 10: 15 - 10 - 7.5 < 0
        (WALL, 5.0, [0.0, 0.0]),  # 15 - 10 - 5 = 0: a draw
        (WALL, 4.5, [1.0, -1.0]),
        # c3 touches both colours and counts for nobody: black 10, white 5 + 9 = 14
        (". X O . .\n. X O . .\n. X . O .\n. X O . .\n. X O . .", -3.5, [-1.0, 1.0]),
        (". X O . .\n. X O . .\n. X . O .\n. X O . .\n. X O . .", -4.5, [1.0, -1.0]),
    ],
)
def test_area_scoring_after_two_passes(text, komi, returns):
    game = Go(size=5, komi=komi)
    state = play(game, position(game, text), "pass")
    assert not bool(state.done[0])
    state = play(game, state, "pass")
    assert bool(state.done[0]) and game.returns(state)[0].tolist() == returns


def test_only_consecutive_passes_end_the_game():
    game = make("go", size=5)
    state = play(game, game.reset(1), "pass", "c3", "pass")
    assert not bool(state.done[0]) and int(state.passes[0]) == 1
    state = play(game, state, "pass")
    assert bool(state.done[0]) and game.legal_mask(state).sum() == 0


def test_game_stops_at_the_move_cap():
    # 2x2 (cap 8 = 2 * 4): white a2 captures b1-b2, black b1 captures a1-a2, passes never paired
    game = make("go", size=2)
    moves = ["b1", "a1", "b2", "a2", "b2", "pass", "b1"]
    state = play(game, game.reset(1), *moves)
    assert not bool(state.done[0]) and int(state.num_moves[0]) == 7
    state = play(game, state, "pass")
    assert bool(state.done[0]) and game.max_moves == 8
    assert drawn(game, state) == ". X\n. X"
    assert game.returns(state)[0].tolist() == [-1.0, 1.0]  # black's whole board, 4 - 7.5 < 0


def test_observation_history_planes():
    game = make("go", size=5)
    state = play(game, game.reset(1), "c3", "d4")  # black to move again
    obs = game.observation(state)[0]
    assert obs.shape == (9, 5, 5)
    c3, d4 = (2, 2), (3, 3)  # (row from the bottom, column)
    own_now, own_before, own_start = obs[0], obs[1], obs[2]
    assert own_now[c3] == 1 and own_before[c3] == 1 and own_start.sum() == 0
    assert obs[4][d4] == 1 and obs[5].sum() == 0 and obs[4].sum() == 1
    assert torch.all(obs[8] == 1)  # black to move
    assert torch.all(game.observation(play(game, state, "pass"))[0, 8] == 0)


def test_from_board_rejects_dead_groups_and_bad_points():
    game = make("go", size=3)
    with pytest.raises(RlkitError, match="without liberties at a1"):
        position(game, ". . .\nO . .\nX O .")
    with pytest.raises(RlkitError, match="0 .empty., 1 .black. or 2"):
        game.from_board(torch.full((1, 3, 3), 3, dtype=torch.int8))


def groups_by_search(board: list[int], size: int) -> tuple[list[int], list[int], list[int]]:
    """Reference for GroupInfo, by breadth-first search: for every point, the smallest point of its
    component and the smallest / largest empty point next to that component (size**2 / -1 if none)."""
    cells = size * size
    label, lo, hi = [0] * cells, [0] * cells, [0] * cells
    seen = set()
    for start in range(cells):
        if start in seen:
            continue
        component, frontier, liberties = [start], [start], set()
        seen.add(start)
        while frontier:
            r, c = divmod(frontier.pop(), size)
            for rr, cc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
                near = rr * size + cc
                if not (0 <= rr < size and 0 <= cc < size):
                    continue
                if board[near] == 0:
                    liberties.add(near)
                if board[near] == board[start] and near not in seen:
                    seen.add(near)
                    component.append(near)
                    frontier.append(near)
        for point in component:
            label[point] = min(component)
            lo[point], hi[point] = min(liberties, default=cells), max(liberties, default=-1)
    return label, lo, hi


def snake(size: int) -> torch.Tensor:
    """int8 [size, size]: one black path winding through every other row, white elsewhere."""
    board = torch.full((size, size), 2, dtype=torch.int8)
    board[0::2] = 1
    for k, r in enumerate(range(1, size, 2)):
        board[r, size - 1 if k % 2 == 0 else 0] = 1
    return board


@pytest.mark.parametrize("size", [2, 5, 9, 19])
def test_group_analysis_matches_a_search(size):
    generator = torch.Generator().manual_seed(size)
    random_boards = torch.multinomial(torch.tensor([0.4, 0.3, 0.3]), 8 * size * size, True, generator=generator)
    boards = torch.cat([random_boards.view(8, -1), snake(size).view(1, -1).long()]).to(torch.int8)
    groups = GroupInfo(boards, neighbour_table(size))
    for i, board in enumerate(boards.tolist()):
        label, lo, hi = groups_by_search(board, size)
        assert groups.label[i].tolist() == label, f"board {i}"
        assert groups.liberty_lo[i].tolist() == lo and groups.liberty_hi[i].tolist() == hi, f"board {i}"
    # root hooking and pointer jumping: a 19x19 snake of 190 points converges in a handful of rounds
    assert groups.rounds <= 10


def test_rarely_passing_games_agree_with_openspiel():
    """3x3 games that pass with probability 1/20: they end by superko, passes and the move cap,
    and take kos on the way; legal actions, player, terminal flags and returns match OpenSpiel."""
    game, spiel_game = make("go", size=3), pyspiel.load_game("go(board_size=3)")
    num_games, rng = 150, random.Random(0)
    state = game.reset(num_games)
    spiel = [spiel_game.new_initial_state() for _ in range(num_games)]
    kos = 0
    while not all(s.is_terminal() for s in spiel):
        mask, actions = game.legal_mask(state).numpy(), []
        for i, s in enumerate(spiel):
            assert bool(state.done[i]) == s.is_terminal(), f"game {i}: {s.history()}"
            if s.is_terminal():
                np.testing.assert_array_equal(game.returns(state)[i].numpy(), s.returns())
                actions.append(NO_ACTION)
                continue
            assert int(state.to_play[i]) == s.current_player()
            np.testing.assert_array_equal(mask[i], np.asarray(s.legal_actions_mask(), dtype=bool), err_msg=str(i))
            placements = [a for a in s.legal_actions() if a != game.pass_action]
            action = rng.choice(placements) if placements and rng.random() > 0.05 else game.pass_action
            actions.append(action)
            s.apply_action(action)
        state = game.step(state, torch.tensor(actions))
        kos += int((state.ko >= 0).sum())
    assert bool(state.done.all())
    np.testing.assert_array_equal(game.returns(state).numpy(), [s.returns() for s in spiel])
    ends = [
        "superko" if s.returns() == [0.0, 0.0] else "cap" if len(s.history()) == game.max_moves else "passes"
        for s in spiel
    ]
    assert kos > 0 and {"superko", "cap", "passes"} <= set(ends), (kos, sorted(set(ends)))
