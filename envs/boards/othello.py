"""Othello (OpenSpiel `othello`): 8x8, action = 8 * row + column with row 0 ("1") at the top, 64 = pass.

Black (player 0, 'X') moves first from the standard start (white on d4 and e5, black on
e4 and d5). A move must flip at least one opposing line; passing is legal only when no
placement is, and the game ends when neither player can place a stone (a full board
included). The player with more discs wins; equal counts are a draw.

Flips are found with a precomputed table of rays (pgx style): for every cell and each of
the 8 directions, the up-to-7 cells met walking that way (a sentinel cell past the edge).
Gathering the board along all rays at once gives, for the whole batch, how many opposing
discs each ray starts with and whether one's own disc closes it.
"""

from __future__ import annotations

import torch

from .base import BoardGame, State

__all__ = ["Othello"]

SIZE = 8
CELLS = SIZE * SIZE
PASS = CELLS
OFF_BOARD = CELLS
"""Index of the sentinel cell appended to a flat board: always empty, absorbs writes past the edge."""

_DIRECTIONS = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))


def ray_table() -> torch.Tensor:
    """long [65, 8, 7]: cell met k+1 steps from `cell` in direction d, OFF_BOARD past the edge.

    Row 64 (the pass action) is all OFF_BOARD, so passing flips nothing.
    """
    rays = torch.full((CELLS + 1, len(_DIRECTIONS), SIZE - 1), OFF_BOARD, dtype=torch.long)
    for cell in range(CELLS):
        r, c = divmod(cell, SIZE)
        for d, (dr, dc) in enumerate(_DIRECTIONS):
            for k in range(1, SIZE):
                rr, cc = r + k * dr, c + k * dc
                if 0 <= rr < SIZE and 0 <= cc < SIZE:
                    rays[cell, d, k - 1] = rr * SIZE + cc
    return rays


def flip_lengths(seen: torch.Tensor, stone: torch.Tensor) -> torch.Tensor:
    """long [B, ..., 8]: discs a move flips along each ray.

    seen: int8 [B, ..., 8, 7] contents of the rays from the move's cell; stone: int8 [B] the mover.
    A ray flips its leading run of opposing discs when the mover's own disc ends the run.
    """
    shape = (-1,) + (1,) * (seen.dim() - 1)
    mine = stone.view(shape)
    theirs = (3 - stone).view(shape)
    run = (seen == theirs).to(torch.uint8).cumprod(-1).sum(-1, dtype=torch.long)  # [B, ..., 8]
    closer = seen.gather(-1, run.clamp(max=SIZE - 2).unsqueeze(-1)).squeeze(-1)
    closed = (closer == mine[..., 0]) & (run > 0) & (run < SIZE - 1)
    return torch.where(closed, run, 0)


class Othello(BoardGame):
    name = "othello"
    height = width = SIZE
    num_actions = CELLS + 1
    symmetry_group = "d4"
    dirichlet_alpha = 1.0

    def __init__(self, device="cpu"):
        super().__init__(device)
        self._rays = ray_table().to(self.device)
        self._steps = torch.arange(SIZE - 1, device=self.device)

    def _initial(self, batch_size: int) -> State:
        board = torch.zeros(batch_size, SIZE, SIZE, dtype=torch.int8, device=self.device)
        board[:, 3, 3] = board[:, 4, 4] = 2
        board[:, 3, 4] = board[:, 4, 3] = 1
        zeros = torch.zeros(batch_size, dtype=torch.long, device=self.device)
        placements = self._placements(board, (zeros + 1).to(torch.int8))
        return State(
            board=board,
            to_play=zeros,
            done=zeros.bool(),
            winner=zeros - 1,
            legal=torch.cat([placements, placements.new_zeros(batch_size, 1)], dim=1),
        )

    def _legal(self, state: State) -> torch.Tensor:
        # computed once per move in `_apply`, where the end-of-game test needs it anyway
        return state.legal

    def _apply(self, state: State, actions: torch.Tensor) -> State:
        batch = actions.shape[0]
        mover = (state.to_play + 1).to(torch.int8)
        flat = torch.cat([state.board.flatten(1), state.board.new_zeros(batch, 1)], dim=1)  # [B, 65]
        rays = self._rays[actions]  # [B, 8, 7]
        seen = flat.gather(1, rays.flatten(1)).view_as(rays)
        flipped = self._steps < flip_lengths(seen, mover).unsqueeze(-1)  # [B, 8, 7]
        targets = torch.cat([torch.where(flipped, rays, OFF_BOARD).flatten(1), actions[:, None]], dim=1)
        flat = flat.scatter(1, targets, mover[:, None].expand_as(targets))
        board = flat[:, :CELLS].view_as(state.board)

        nxt = 1 - state.to_play
        next_moves = self._placements(board, (nxt + 1).to(torch.int8))
        mover_moves = self._placements(board, mover)
        next_can, mover_can = next_moves.any(1), mover_moves.any(1)
        done = ~(next_can | mover_can)
        black = (board == 1).flatten(1).sum(1)
        white = (board == 2).flatten(1).sum(1)
        winner = torch.where(black > white, 0, torch.where(white > black, 1, -1))
        return State(
            board=board,
            to_play=nxt,
            done=done,
            winner=torch.where(done, winner, -1),
            legal=torch.cat([next_moves, (~next_can & mover_can)[:, None]], dim=1),
        )

    def _placements(self, board: torch.Tensor, stone: torch.Tensor) -> torch.Tensor:
        """bool [B, 64]: empty cells where `stone` (int8 [B]) would flip something on board int8 [B, 8, 8]."""
        flat = torch.cat([board.flatten(1), board.new_zeros(board.shape[0], 1)], dim=1)
        seen = flat[:, self._rays[:CELLS]]  # [B, 64, 8, 7]
        flips = flip_lengths(seen, stone).any(-1)
        return flips & (flat[:, :CELLS] == 0)

    def _any_action(self, state: State) -> torch.Tensor:
        return torch.full((state.batch_size,), PASS, dtype=torch.long, device=self.device)

    def notation_help(self) -> str:
        return "moves look like d3 (column a-h, row 1-8 from the top) or pass"

    def _parse(self, text: str) -> int:
        if text == "pass":
            return PASS
        col, row = "abcdefgh".index(text[0]), int(text[1:]) - 1
        return SIZE * row + col if 0 <= row < SIZE else -1

    def _format(self, action: int) -> str:
        if action == PASS:
            return "pass"
        return "abcdefgh"[action % SIZE] + str(action // SIZE + 1)
