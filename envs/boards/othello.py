"""Othello (OpenSpiel `othello`): 8x8, action = 8 * row + column with row 0 ("1") at the top, 64 = pass.

Black (player 0, 'X') moves first from the standard start (white on d4 and e5, black on
e4 and d5). A move must flip at least one opposing line; passing is legal only when no
placement is, and the game ends when neither player can place a stone (a full board
included). The player with more discs wins; equal counts are a draw.

The rules run on bitboards: each side's discs are one int64 per game (bit 8 * row + col),
and a move generator is the classic shifted-board scan (Kogge-Stone's simpler cousin,
"dumb7fill"): shift a side's discs one step in a direction, keep what lands on opposing
discs, repeat up to 6 times, and the next step onto an empty point is a move. All 8
directions go side by side in one [B, 8] tensor, so a step is a few dozen tensor ops
whatever the batch size.
"""

from __future__ import annotations

import torch

from rlkit.errors import RlkitError

from .base import BoardGame, State
from .notation import square_action, square_name

__all__ = ["Othello"]

SIZE = 8
CELLS = SIZE * SIZE
PASS = CELLS
_FILE_A = 0x0101010101010101
_FILE_H = _FILE_A << 7
_DIRECTIONS = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))


def _signed(bits: int) -> int:
    """A 64-bit pattern as the int64 value with the same bits."""
    return bits - (1 << 64) if bits >= 1 << 63 else bits


def shift_table() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """long [8] x 3: left shift, right shift and keep-mask that move a bitboard one step per direction.

    Masks drop discs that would wrap around a side edge and, for right shifts, the bits that
    int64's arithmetic shift fills with copies of the sign bit.
    """
    left, right, keep = [], [], []
    for dr, dc in _DIRECTIONS:
        delta = dr * SIZE + dc
        mask = (1 << 64) - 1
        if dc == 1:  # a disc stepping right from file h lands on file a of the next row
            mask &= ~_FILE_A
        if dc == -1:
            mask &= ~_FILE_H
        if delta < 0:
            mask &= (1 << (64 + delta)) - 1
        left.append(max(delta, 0))
        right.append(max(-delta, 0))
        keep.append(_signed(mask))
    return torch.tensor(left), torch.tensor(right), torch.tensor(keep)


class Othello(BoardGame):
    """Othello. State fields besides board/to_play/done/winner: bits long [B, 2], the black and
    white bitboards the rules work on, and legal bool [B, 65], cached by the move that led here."""

    name = "othello"
    height = width = SIZE
    num_actions = CELLS + 1
    symmetry_group = "d4"
    dirichlet_alpha = 1.0

    def __init__(self, device="cpu"):
        super().__init__(device)
        self._left, self._right, self._keep = (t.to(self.device) for t in shift_table())
        self._bit_index = torch.arange(CELLS, device=self.device)

    def from_board(self, board: torch.Tensor, to_play: torch.Tensor | int = 0) -> State:
        """A batch of positions from boards int8 [B, 8, 8] (0 empty, 1 black, 2 white) and the player to move."""
        board = torch.as_tensor(board, dtype=torch.int8, device=self.device).reshape(-1, SIZE, SIZE)
        if bool(((board < 0) | (board > 2)).any()):
            raise RlkitError("othello: board cells must be 0 (empty), 1 (black) or 2 (white)")
        to_play = torch.as_tensor(to_play, dtype=torch.long, device=self.device).expand(board.shape[0]).clone()
        cells = torch.stack([board == 1, board == 2], dim=1).flatten(2).long()  # [B, 2, 64]
        # distinct powers of two add up to their OR; bit 63 wraps to the sign bit as it should
        return self._position((cells << self._bit_index).sum(-1), to_play)

    def _initial(self, batch_size: int) -> State:
        start = torch.zeros(batch_size, SIZE, SIZE, dtype=torch.int8, device=self.device)
        start[:, 3, 3] = start[:, 4, 4] = 2
        start[:, 3, 4] = start[:, 4, 3] = 1
        return self.from_board(start, 0)

    def _legal(self, state: State) -> torch.Tensor:
        # computed once per move in `_position`, where the end-of-game test needs it anyway
        return state.legal

    def _apply(self, state: State, actions: torch.Tensor) -> State:
        me = state.to_play[:, None]
        own, opp = state.bits.gather(1, me)[:, 0], state.bits.gather(1, 1 - me)[:, 0]  # [B]
        # bit arithmetic rather than torch.where, which is slow on CPU: a pass places 0 << 63
        move = (actions != PASS).long() << actions.clamp(max=CELLS - 1)
        run = self._fill(move, opp)  # [B, 8]: opposing discs in a line from the move, per direction
        closed = (self._shift(run) & own[:, None]) != 0
        flips = self._union(run & -closed.long())  # -1 has every bit set
        own, opp = own | move | flips, opp & ~flips
        bits = torch.stack([own, opp], 1).gather(1, torch.cat([me, 1 - me], 1))  # back to (black, white)
        return self._position(bits, 1 - state.to_play)

    def _position(self, bits: torch.Tensor, to_play: torch.Tensor) -> State:
        """The full state of positions given as bitboards long [B, 2] (black, white) and to_play long [B]."""
        me = to_play[:, None]
        sides = torch.cat([bits.gather(1, me), bits.gather(1, 1 - me)], dim=1)  # [B, 2]: to move, other
        moves = self._union(self._shift(self._fill(sides, sides.flip(1)))) & ~(bits[:, :1] | bits[:, 1:])
        can_move = moves != 0  # [B, 2]
        cells = self._unpack(bits)  # [B, 2, 64]
        discs = cells.sum(-1)
        done = ~can_move.any(1)
        winner = torch.where(discs[:, 0] > discs[:, 1], 0, torch.where(discs[:, 1] > discs[:, 0], 1, -1))
        return State(
            board=(cells[:, 0].to(torch.int8) + 2 * cells[:, 1].to(torch.int8)).view(-1, SIZE, SIZE),
            bits=bits,
            to_play=to_play,
            done=done,
            winner=torch.where(done, winner, -1),
            legal=torch.cat([self._unpack(moves[:, 0]), ~can_move[:, :1] & can_move[:, 1:]], dim=1),
        )

    # ------------------------------------------------------------------ bitboards
    def _shift(self, x: torch.Tensor) -> torch.Tensor:
        """long [..., 8]: bitboards x [..., 8] (or [..., 1], broadcast) moved one step in each direction."""
        return ((x << self._left) >> self._right) & self._keep

    def _fill(self, seeds: torch.Tensor, opp: torch.Tensor) -> torch.Tensor:
        """long [..., 8]: per direction, the opposing discs (opp long [...]) in an unbroken line from seeds long [...]."""
        opp = opp.unsqueeze(-1)
        run = self._shift(seeds.unsqueeze(-1)) & opp
        for _ in range(SIZE - 3):  # a line holds at most 6 discs between a move and its closing disc
            run = run | (self._shift(run) & opp)
        return run

    @staticmethod
    def _union(x: torch.Tensor) -> torch.Tensor:
        """long [...]: bitwise OR over the 8 directions of x long [..., 8] (torch has no OR-reduction)."""
        x = x[..., :4] | x[..., 4:]
        x = x[..., :2] | x[..., 2:]
        return x[..., 0] | x[..., 1]

    def _unpack(self, bits: torch.Tensor) -> torch.Tensor:
        """bool [..., 64]: the cells set in bitboards long [...]."""
        return ((bits.unsqueeze(-1) >> self._bit_index).to(torch.uint8) & 1).bool()

    def _any_action(self, state: State) -> torch.Tensor:
        return torch.full((state.batch_size,), PASS, dtype=torch.long, device=self.device)

    def notation_help(self) -> str:
        return "moves look like d3 (column a-h, row 1-8 from the top) or pass"

    def _parse(self, text: str) -> int:
        if text == "pass":
            return PASS
        return square_action(text, SIZE)

    def _format(self, action: int) -> str:
        if action == PASS:
            return "pass"
        return square_name(action, SIZE)
