"""Gomoku, free-style (OpenSpiel `gomoku(size=.., connect=..)`): five or more in a row wins.

Action = row * size + column with row 0 at the top, as in OpenSpiel (whose action strings
are "row,column"). Human notation follows Renju/Gomoku tradition: a column letter a, b, ...
(the letter i included) and a row number counted from the BOTTOM, so "h8" is the centre
of the 15x15 board and "a1" the bottom-left corner.

A move checks only the lines through the new stone (`lines.completes_line`): a few dozen
gathered cells per game instead of the whole line table. Tic-tac-toe is this class on a 3x3
board with three in a row.
"""

from __future__ import annotations

import torch

from rlkit.errors import RlkitError

from .base import BoardGame, State
from .lines import completes_line, lines_through_cells
from .notation import square_action, square_name

__all__ = ["Gomoku"]


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
        return square_action(text, self.size, row1_is_index0=False)

    def _format(self, action: int) -> str:
        return square_name(action, self.size, row1_is_index0=False)

    def _row_label(self, r: int) -> str:
        return str(self.size - r)
