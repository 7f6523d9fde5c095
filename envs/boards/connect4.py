"""Connect Four (OpenSpiel `connect_four`): 6 rows x 7 columns, action = column 0..6.

The board is stored with row 0 at the TOP, as it is drawn; stones fall to the lowest empty
row. Moves are written as a column letter "a".."g" or a number "1".."7" (both left to
right); rows are labelled 1..6 from the bottom in `render`.

Speed: the state keeps the number of stones per column, so a move is one scatter, and each
player's stones as a 64-bit bitboard (7 bits per column, bit 7 * column + height, the
seventh bit of each column always empty), so a win is a few shifts and ANDs per game over the
four directions at once instead of gathering the lines through the new stone (which measured
several times slower), and a full board is the bitboards' sum. Search steps B games at once
many times per move, where each tensor op costs microseconds of dispatch: a move is ~25 ops.
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

    def __init__(self, device: str | torch.device = "cpu"):
        super().__init__(device)
        rows = self.height + 1  # bits per column on the bitboard
        tensor = lambda x: torch.tensor(x, dtype=torch.long, device=self.device)
        self._column_bits = tensor(rows)
        self._full = tensor(sum(((1 << self.height) - 1) << (rows * c) for c in range(self.width)))  # every cell
        self._shifts, self._double_shifts = tensor(_DIRECTIONS), tensor([2 * d for d in _DIRECTIONS])
        # board cell (row 0 at the top) of every bitboard index; the spare bit of a column maps to its top cell
        self._cell_of_bit = tensor(
            [max(self.height - 1 - h, 0) * self.width + c for c in range(self.width) for h in range(rows)]
        )

    def _initial(self, batch_size: int) -> State:
        zeros = torch.zeros(batch_size, dtype=torch.long, device=self.device)
        return State(
            board=torch.zeros(batch_size, self.height, self.width, dtype=torch.int8, device=self.device),
            heights=torch.zeros(batch_size, self.width, dtype=torch.long, device=self.device),
            bits=torch.zeros(batch_size, 2, dtype=torch.long, device=self.device),
            to_play=zeros,
            done=zeros.bool(),
            winner=zeros - 1,
        )

    def _legal(self, state: State) -> torch.Tensor:
        return state.heights < self.height

    def _apply(self, state: State, actions: torch.Tensor) -> State:
        return self._play(state, actions, torch.ones_like(state.done))

    def _play(self, state: State, actions: torch.Tensor, active: torch.Tensor) -> State:
        # A game that is over plays a move of weight 0 into column 0: every field comes back as it was, with no
        # blend of old and new fields. Operands are tensors (a Python number costs a tensor of its own per op).
        weight = active.long()[:, None]  # [B, 1]
        column = actions[:, None] * weight
        filled = state.heights.gather(1, column)
        bit = column * self._column_bits + filled  # bitboard index of the new stone
        cell = self._cell_of_bit.take(bit)  # its board cell, kept on the board when the column is full
        mover = state.to_play[:, None]
        stone = ((mover + 1) * weight).to(torch.int8)  # 1 or 2; 0 where the game is over
        bits = state.bits.scatter_add(1, mover, weight << bit)  # the new bit is not set yet: add is or
        stones = bits.gather(1, mover)  # [B, 1]
        pairs = stones & (stones >> self._shifts)  # [B, 4]: up a column, along a row, both diagonals
        won = (pairs & (pairs >> self._double_shifts)).any(dim=1) & active
        full = bits.sum(dim=1) == self._full  # the players' stones are disjoint: their sum is the union
        return State(
            board=state.board.view(-1, self.height * self.width).scatter_add(1, cell, stone).view_as(state.board),
            heights=state.heights.scatter_add(1, column, weight),
            bits=bits,
            to_play=state.to_play ^ weight[:, 0],
            done=state.done | won | full,
            winner=torch.where(won, state.to_play, state.winner),
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
