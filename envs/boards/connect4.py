"""Connect Four (OpenSpiel `connect_four`): 6 rows x 7 columns, action = column 0..6.

The board is stored with row 0 at the TOP, as it is drawn; stones fall to the lowest empty
row. Moves are written as a column letter "a".."g" or a number "1".."7" (both left to
right); rows are labelled 1..6 from the bottom in `render`.

Speed: the state keeps the number of stones per column, so a move is one scatter, and each
player's stones as a 64-bit bitboard (7 bits per column, bit 7 * column + height, the
seventh bit of each column always empty), so a win is 12 shifts and ANDs per game instead
of gathering the lines through the new stone (which measured several times slower).
"""

from __future__ import annotations

import torch

from .base import BoardGame, State

__all__ = ["ConnectFour"]

_COLUMNS = "abcdefg"
_COLUMN_INDEX = {letter: i for i, letter in enumerate(_COLUMNS)}
# bitboard distance between neighbours: up a column, along a row, and the two diagonals
_DIRECTIONS = (1, 7, 6, 8)


class ConnectFour(BoardGame):
    """Players drop stones into columns; four or more in a row (any direction) wins, a full
    board is a draw. Player 0 (X) moves first."""

    name = "connect4"
    height = 6
    width = 7
    num_actions = 7
    symmetry_group = "mirror"
    dirichlet_alpha = 1.4  # 10 / 7 legal moves

    def _initial(self, batch_size: int) -> State:
        zeros = torch.zeros(batch_size, dtype=torch.long, device=self.device)
        return State(
            board=torch.zeros(batch_size, self.height, self.width, dtype=torch.int8, device=self.device),
            heights=torch.zeros(batch_size, self.width, dtype=torch.long, device=self.device),
            bits=torch.zeros(batch_size, 2, dtype=torch.long, device=self.device),
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
        flat = state.board.flatten(1).scatter(1, row * self.width + column, stone[:, None])
        mover = state.to_play[:, None]
        stones = state.bits.gather(1, mover)[:, 0] | (1 << (column[:, 0] * (self.height + 1) + filled[:, 0]))
        won = torch.zeros_like(state.done)
        for shift in _DIRECTIONS:
            pairs = stones & (stones >> shift)
            won |= (pairs & (pairs >> 2 * shift)) != 0
        num_moves = state.num_moves + 1
        return State(
            board=flat.view_as(state.board),
            heights=state.heights.scatter(1, column, filled + 1),
            bits=state.bits.scatter(1, mover, stones[:, None]),
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
