"""Connect Four (OpenSpiel `connect_four`): 6 rows x 7 columns, action = column 0..6.

The board is stored with row 0 at the TOP, as it is drawn; stones fall to the lowest empty
row. Moves are written as a column letter "a".."g" or a number "1".."7" (both left to
right); rows are labelled 1..6 from the bottom in `render`.

Speed: the state keeps the number of stones per column, so a move is one scatter, and only
the lines through the new stone are checked for a win.
"""

from __future__ import annotations

import torch

from .base import BoardGame, State
from .gomoku import completes_line, lines_through_cells

__all__ = ["ConnectFour"]

_COLUMNS = "abcdefg"
_COLUMN_INDEX = {letter: i for i, letter in enumerate(_COLUMNS)}


class ConnectFour(BoardGame):
    """Players drop stones into columns; four or more in a row (any direction) wins, a full
    board is a draw. Player 0 (X) moves first."""

    name = "connect4"
    height = 6
    width = 7
    num_actions = 7
    symmetry_group = "mirror"
    dirichlet_alpha = 1.4  # 10 / 7 legal moves

    def __init__(self, device: str | torch.device = "cpu"):
        super().__init__(device)
        self._cell_lines = lines_through_cells(self.height, self.width, 4).to(self.device)

    def _initial(self, batch_size: int) -> State:
        zeros = torch.zeros(batch_size, dtype=torch.long, device=self.device)
        return State(
            board=torch.zeros(batch_size, self.height, self.width, dtype=torch.int8, device=self.device),
            heights=torch.zeros(batch_size, self.width, dtype=torch.long, device=self.device),
            to_play=zeros,
            done=zeros.bool(),
            winner=zeros - 1,
            num_moves=zeros,
        )

    def _legal(self, state: State) -> torch.Tensor:
        return state.heights < self.height

    def _apply(self, state: State, actions: torch.Tensor) -> State:
        stone = (state.to_play + 1).to(torch.int8)
        column = actions[:, None]
        filled = state.heights.gather(1, column)
        # finished games get a dummy action that may hit a full column: keep the index on the board
        row = (self.height - 1 - filled).clamp(min=0)
        cell = row * self.width + column
        flat = state.board.flatten(1).scatter(1, cell, stone[:, None])
        won = completes_line(flat, self._cell_lines, cell[:, 0], stone)
        num_moves = state.num_moves + 1
        return State(
            board=flat.view_as(state.board),
            heights=state.heights.scatter(1, column, filled + 1),
            to_play=1 - state.to_play,
            done=won | (num_moves == self.height * self.width),
            winner=torch.where(won, state.to_play, -1),
            num_moves=num_moves,
        )

    def _parse(self, text: str) -> int:
        return int(text) - 1 if text.isdigit() else _COLUMN_INDEX[text]

    def _format(self, action: int) -> str:
        return _COLUMNS[action]

    def _row_label(self, r: int) -> str:
        return str(self.height - r)

    def _action_permutation(self, transform: str) -> torch.Tensor:
        # actions are columns, so the mirror reverses them
        columns = torch.arange(self.width, device=self.device)
        return columns.flip(0) if transform == "flip" else columns
