"""Tic-tac-toe (OpenSpiel `tic_tac_toe`): action = 3 * row + column, row 0 at the top.

The rules are Gomoku's on a 3x3 board with three in a row, so the game is that class with
tic-tac-toe's name and notation: "b2" style with row 1 at the top (as the board is drawn),
or a digit 1-9 counted like a phone pad.
"""

from __future__ import annotations

import torch

from .gomoku import Gomoku
from .notation import square_action, square_name

__all__ = ["TicTacToe"]


class TicTacToe(Gomoku):
    name = "tictactoe"

    def __init__(self, device: str | torch.device = "cpu"):
        super().__init__(device, size=3, connect=3)
        self.dirichlet_alpha = 1.0

    def _parse(self, text: str) -> int:
        if len(text) == 1 and text.isdigit():
            return int(text) - 1
        return square_action(text, 3)

    def _format(self, action: int) -> str:
        return square_name(action, 3)

    def _row_label(self, r: int) -> str:
        return str(r + 1)
