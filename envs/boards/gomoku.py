"""Gomoku, free-style (OpenSpiel `gomoku(size=.., connect=..)`): five or more in a row wins.

Action = row * size + column with row 0 at the top, as in OpenSpiel (whose action strings
are "row,column"). Human notation follows Renju/Gomoku tradition: a column letter a, b, ...
(the letter i included) and a row number counted from the BOTTOM, so "h8" is the centre
of the 15x15 board and "a1" the bottom-left corner.

Also home of two helpers every k-in-a-row game shares (Connect Four imports them): the
table of lines through each cell, and the test "did the stone just played complete one".
Checking only the lines through the new stone costs a few dozen gathered cells per game
instead of the whole line table.
"""

from __future__ import annotations

import torch

from rlkit.errors import RlkitError

from .base import BoardGame, State, column_letters
from .lines import line_table

__all__ = ["Gomoku", "completes_line", "lines_through_cells", "square_action", "square_name"]


def lines_through_cells(height: int, width: int, k: int) -> torch.Tensor:
    """int32 [H*W, k, M]: for every cell, the M k-cell lines that contain it; entry [c, j, m] is
    the flat index of the j-th cell of the m-th line through cell c.

    Cells lying on fewer than M lines repeat one of their own lines, which leaves an `any`
    over lines unchanged, so no sentinel cell is needed. Requires k <= max(height, width).
    """
    lines = line_table(height, width, k)
    per_cell: list[list[int]] = [[] for _ in range(height * width)]
    for index, line in enumerate(lines.tolist()):
        for cell in line:
            per_cell[cell].append(index)
    most = max(len(p) for p in per_cell)
    padded = [p + [p[0]] * (most - len(p)) for p in per_cell]
    # k-major, so the "every cell of a line" test below is k - 1 ANDs of [B, M] slices,
    # measured about twice as fast as an `all` over a short trailing dimension
    return lines[torch.tensor(padded)].transpose(1, 2).int().contiguous()


def completes_line(
    flat_board: torch.Tensor, cell_lines: torch.Tensor, cells: torch.Tensor, stone: torch.Tensor
) -> torch.Tensor:
    """bool [B]: some line through `cells` (long [B]) is full of `stone` (int8 [B]).

    flat_board: int8 [B, H*W]; cell_lines: the table of `lines_through_cells`.
    """
    batch, k, m = cells.shape[0], cell_lines.shape[1], cell_lines.shape[2]
    lines = cell_lines.index_select(0, cells).view(batch, k * m)
    mine = (flat_board.gather(1, lines) == stone[:, None]).view(batch, k, m)
    full = mine[:, 0]
    for j in range(1, k):
        full = full & mine[:, j]
    return full.any(dim=1)


def square_action(text: str, size: int, rows_from_bottom: bool) -> int:
    """Action (row * size + column) of a square written "e5" on a size x size board.

    Raises ValueError for anything else; `rows_from_bottom` says whether row number 1 is
    the bottom row (Gomoku) or the top row (Hex).
    """
    col = column_letters(size).index(text[0])
    number = int(text[1:])
    if not 1 <= number <= size:
        raise ValueError(f"row {number} is off the board")
    row = size - number if rows_from_bottom else number - 1
    return row * size + col


def square_name(action: int, size: int, rows_from_bottom: bool) -> str:
    """The "e5" name of an action; inverse of `square_action`."""
    row, col = divmod(action, size)
    return column_letters(size)[col] + str(size - row if rows_from_bottom else row + 1)


class Gomoku(BoardGame):
    """Free-style Gomoku on a size x size board: the first to get `connect` or more stones in a
    row (horizontally, vertically or diagonally) wins; a full board is a draw. Black (player 0,
    X) moves first. No opening rules, no overline or double-three restrictions (as OpenSpiel)."""

    name = "gomoku"
    symmetry_group = "d4"

    def __init__(self, device: str | torch.device = "cpu", size: int = 15, connect: int = 5):
        if not 2 <= size <= 26:
            raise RlkitError(f"gomoku: size must be between 2 and 26, got {size}")
        if not 2 <= connect <= size:
            raise RlkitError(f"gomoku: connect must be between 2 and the size {size}, got {connect}")
        self.size = self.height = self.width = size
        self.connect = connect
        self.num_actions = size * size
        # about 10 / typical number of legal moves (most of the board stays empty)
        self.dirichlet_alpha = round(10 / (0.75 * self.num_actions), 3)
        super().__init__(device)
        self._cell_lines = lines_through_cells(size, size, connect).to(self.device)

    def _initial(self, batch_size: int) -> State:
        zeros = torch.zeros(batch_size, dtype=torch.long, device=self.device)
        return State(
            board=torch.zeros(batch_size, self.size, self.size, dtype=torch.int8, device=self.device),
            to_play=zeros,
            done=zeros.bool(),
            winner=zeros - 1,
            num_moves=zeros,
        )

    def _legal(self, state: State) -> torch.Tensor:
        return state.board.flatten(1) == 0

    def _apply(self, state: State, actions: torch.Tensor) -> State:
        stone = (state.to_play + 1).to(torch.int8)
        flat = state.board.flatten(1).scatter(1, actions[:, None], stone[:, None])
        won = completes_line(flat, self._cell_lines, actions, stone)
        num_moves = state.num_moves + 1
        return State(
            board=flat.view_as(state.board),
            to_play=1 - state.to_play,
            done=won | (num_moves == self.num_actions),
            winner=torch.where(won, state.to_play, -1),
            num_moves=num_moves,
        )

    def _parse(self, text: str) -> int:
        return square_action(text, self.size, rows_from_bottom=True)

    def _format(self, action: int) -> str:
        return square_name(action, self.size, rows_from_bottom=True)

    def _row_label(self, r: int) -> str:
        return str(self.size - r)
