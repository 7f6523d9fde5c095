"""Tic-tac-toe (OpenSpiel `tic_tac_toe`): action = 3 * row + column, row 0 at the top."""

from __future__ import annotations

import torch

from .base import BoardGame, State
from .lines import line_table, lines_won
from .notation import square_action, square_name

__all__ = ["TicTacToe"]


class TicTacToe(BoardGame):
    name = "tictactoe"
    height = width = 3
    num_actions = 9
    symmetry_group = "d4"
    dirichlet_alpha = 1.0

    def __init__(self, device="cpu"):
        super().__init__(device)
        self._lines = line_table(3, 3, 3).to(self.device)

    def _initial(self, batch_size: int) -> State:
        zeros = torch.zeros(batch_size, dtype=torch.long, device=self.device)
        return State(
            board=torch.zeros(batch_size, 3, 3, dtype=torch.int8, device=self.device),
            to_play=zeros,
            done=zeros.bool(),
            winner=zeros - 1,
            num_moves=zeros,
        )

    def _legal(self, state: State) -> torch.Tensor:
        return state.board.flatten(1) == 0

    def _apply(self, state: State, actions: torch.Tensor) -> State:
        stone = (state.to_play + 1).to(torch.int8)
        board = state.board.flatten(1).scatter(1, actions[:, None], stone[:, None]).view_as(state.board)
        won = lines_won(board.flatten(1), self._lines, stone)
        num_moves = state.num_moves + 1
        done = won | (num_moves == 9)
        return State(
            board=board,
            to_play=1 - state.to_play,
            done=done,
            winner=torch.where(won, state.to_play, -1),
            num_moves=num_moves,
        )

    def _parse(self, text: str) -> int:
        # "b2" (column letter, row number from the top) or a digit 1-9 counted like a phone pad
        if len(text) == 1 and text.isdigit():
            return int(text) - 1
        return square_action(text, 3)

    def _format(self, action: int) -> str:
        return square_name(action, 3)
