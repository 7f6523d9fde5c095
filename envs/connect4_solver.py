"""A perfect-play Connect Four solver (bitboards, negamax with alpha-beta).

The position is two 49-bit integers in the usual column-major bitboard layout: bit
`7 * col + row` (row 0 at the bottom, one spare bit on top of each column). `mask` holds
every stone, `me` the stones of the player to move. The search is the classic one for
solved Connect Four:

- negamax with alpha-beta, searched with null windows and a binary search on the score
  (each probe asks "is the score above x?", which prunes far more than a full window);
- only moves that do not hand the opponent an immediate win are searched, and a position
  where the player to move can win at once is scored without search;
- moves are tried centre-first, then by how many winning cells they create;
- a transposition table keeps upper bounds of positions already searched.

Scores are from the view of the player to move: +1 if they win with their last possible
stone, +2 if one stone earlier, and so on; 0 for a draw; negative in the same way for a
loss. The game-theoretic value is the sign of the score; a larger score wins sooner.
"""

from __future__ import annotations

import numpy as np
import torch

from .boards.base import NO_ACTION, BoardGame, State

__all__ = ["Connect4Solver", "Connect4SolverPlayer"]

WIDTH, HEIGHT = 7, 6
H1 = HEIGHT + 1
CELLS = WIDTH * HEIGHT
BOTTOM = sum(1 << (c * H1) for c in range(WIDTH))
BOARD = BOTTOM * ((1 << HEIGHT) - 1)
COLUMN = np.array([((1 << HEIGHT) - 1) << (c * H1) for c in range(WIDTH)], dtype=np.int64)
TOP = [1 << (HEIGHT - 1 + c * H1) for c in range(WIDTH)]
ORDER = np.array([3, 2, 4, 1, 5, 0, 6], dtype=np.int64)
TABLE_SIZE = (1 << 22) + 15  # odd, so key % size spreads the column-major keys

try:  # numba compiles the search (~50x faster); without it the same code runs as plain Python
    from numba import njit
except ImportError:  # pragma: no cover - exercised on machines without the optional extra

    def njit(*args, **kwargs):
        return args[0] if args and callable(args[0]) else (lambda f: f)


@njit(cache=True)
def _winning_cells(me, mask):
    """Empty cells (anywhere on the board) that would complete four in a row for `me`.

    Bits shifted past the board (and past bit 63 in compiled code) are cut off by the final
    mask, so the int64 arithmetic is exact on the board."""
    r = (me << 1) & (me << 2) & (me << 3)  # vertical: three stacked stones, the cell above free
    for shift in (H1, H1 - 1, H1 + 1):  # horizontal, and the two diagonals
        p = (me << shift) & (me << 2 * shift)
        r |= p & (me << 3 * shift)
        r |= p & (me >> shift)
        p = (me >> shift) & (me >> 2 * shift)
        r |= p & (me << shift)
        r |= p & (me >> 3 * shift)
    return r & (BOARD ^ mask)


@njit(cache=True)
def _popcount(x):
    n = 0
    while x:
        x &= x - 1
        n += 1
    return n


@njit(cache=True)
def _half(x):
    """x / 2 rounded toward zero (the score bounds of the search rely on it)."""
    return -((-x) // 2) if x < 0 else x // 2


@njit(cache=True)
def _negamax(me, mask, moves, alpha, beta, keys, values, nodes):
    """Score of a position in which the player to move cannot win at once, within (alpha, beta)."""
    nodes[0] += 1
    possible = (mask + BOTTOM) & BOARD
    opp_wins = _winning_cells(me ^ mask, mask)
    forced = possible & opp_wins
    safe = possible
    if forced:
        if forced & (forced - 1):  # two threats at once: lost
            return -((CELLS - moves) // 2)
        safe = forced
    safe &= ~(opp_wins >> 1)  # never play under an opponent's winning cell
    if safe == 0:
        return -((CELLS - moves) // 2)
    if moves >= CELLS - 2:
        return 0
    lower = -((CELLS - 2 - moves) // 2)
    if alpha < lower:
        alpha = lower
        if alpha >= beta:
            return alpha
    upper = (CELLS - 1 - moves) // 2
    key = me + mask
    slot = key % TABLE_SIZE
    if keys[slot] == key:
        upper = values[slot]
    if beta > upper:
        beta = upper
        if alpha >= beta:
            return beta
    # order: most winning cells created first, centre columns first among equals
    count = 0
    cand = np.empty(WIDTH, dtype=np.int64)
    score = np.empty(WIDTH, dtype=np.int64)
    for i in range(WIDTH):
        move = safe & COLUMN[ORDER[i]]
        if move:
            s = _popcount(_winning_cells(me | move, mask | move))
            j = count
            while j > 0 and score[j - 1] < s:
                cand[j], score[j] = cand[j - 1], score[j - 1]
                j -= 1
            cand[j], score[j] = move, s
            count += 1
    for i in range(count):
        move = cand[i]
        value = -_negamax(me ^ mask, mask | move, moves + 1, -beta, -alpha, keys, values, nodes)
        if value >= beta:
            return value
        alpha = max(alpha, value)
    keys[slot] = key
    values[slot] = alpha
    return alpha


@njit(cache=True)
def _score(me, mask, moves, keys, values, nodes):
    if moves == CELLS:
        return 0
    if (mask + BOTTOM) & BOARD & _winning_cells(me, mask):
        return (CELLS + 1 - moves) // 2
    lo, hi = -((CELLS - moves) // 2), (CELLS + 1 - moves) // 2
    while lo < hi:  # binary search on the score with null windows
        mid = lo + (hi - lo) // 2
        if mid <= 0 and _half(lo) < mid:
            mid = _half(lo)
        elif mid >= 0 and _half(hi) > mid:
            mid = _half(hi)
        r = _negamax(me, mask, moves, mid, mid + 1, keys, values, nodes)
        if r <= mid:
            hi = r
        else:
            lo = r
    return lo


class Connect4Solver:
    """Exact values and optimal moves of Connect Four positions.

    The transposition table (about 40 MB) is kept between calls, so solving the positions
    of one game in order reuses earlier work.
    """

    def __init__(self):
        self.keys = np.zeros(TABLE_SIZE, dtype=np.int64)
        self.values = np.zeros(TABLE_SIZE, dtype=np.int8)
        self._nodes = np.zeros(1, dtype=np.int64)

    @property
    def nodes(self) -> int:
        """Positions searched since the solver was made."""
        return int(self._nodes[0])

    def clear(self) -> None:
        self.keys[:] = 0

    # ---------------------------------------------------------------- positions
    @staticmethod
    def from_state(state: State, i: int = 0) -> tuple[int, int, int]:
        """(me, mask, moves) bitboards of game i of a `connect4` state (row 0 of the board is the top)."""
        board = state.board[i].cpu().tolist()
        to_play = int(state.to_play[i]) + 1
        me = mask = 0
        for r in range(HEIGHT):
            for c in range(WIDTH):
                if board[r][c]:
                    bit = 1 << (c * H1 + (HEIGHT - 1 - r))
                    mask |= bit
                    if board[r][c] == to_play:
                        me |= bit
        return me, mask, (mask).bit_count()

    @staticmethod
    def from_moves(moves: str) -> tuple[int, int, int]:
        """Bitboards after a sequence of 1-based column digits, e.g. "4453"."""
        me = mask = 0
        for ch in moves:
            c = int(ch) - 1
            me ^= mask
            mask |= mask + (1 << (c * H1))
        return me, mask, len(moves)

    # ---------------------------------------------------------------- search
    def score(self, me: int, mask: int, moves: int) -> int:
        """Exact score of a position that is not over (see the module docstring)."""
        return int(_score(np.int64(me), np.int64(mask), moves, self.keys, self.values, self._nodes))

    def move_scores(self, me: int, mask: int, moves: int) -> dict[int, int]:
        """Score of each legal column (0-based) for the player to move."""
        out = {}
        wins = int(_winning_cells(np.int64(me), np.int64(mask)))
        for c in range(WIDTH):
            if mask & TOP[c]:
                continue
            move = (mask + (1 << (c * H1))) & int(COLUMN[c])
            if wins & move:
                out[c] = (CELLS + 1 - moves) // 2
            else:
                out[c] = -self.score(me ^ mask, mask | move, moves + 1)
        return out

    def solve(self, game: BoardGame, state: State, i: int = 0) -> tuple[int, list[int], dict[int, int]]:
        """(value in {-1, 0, 1} for the player to move, optimal moves, score of every legal move) of game i.

        Optimal moves keep the position's game-theoretic value (win, draw or loss); among wins
        any winning move counts, not only the fastest.
        """
        if game.name != "connect4":
            raise ValueError(f"Connect4Solver solves connect4, not {game.name}")
        if bool(state.done[i]):
            raise ValueError(f"game {i} is over: nothing to solve")
        scores = self.move_scores(*self.from_state(state, i))
        best = max(scores.values())
        value = (best > 0) - (best < 0)
        optimal = [c for c, s in scores.items() if ((s > 0) - (s < 0)) == value]
        return value, optimal, scores


class Connect4SolverPlayer:
    """Perfect Connect Four: the fastest win, else a draw, else the slowest loss (random among equals)."""

    def __init__(self, seed: int = 0, solver: Connect4Solver | None = None):
        self.solver = solver or Connect4Solver()
        self.generator = torch.Generator().manual_seed(seed)

    def __call__(self, game: BoardGame, state: State) -> torch.Tensor:
        actions = []
        for i in range(state.batch_size):
            if bool(state.done[i]):
                actions.append(NO_ACTION)
                continue
            _, _, scores = self.solver.solve(game, state, i)
            best = max(scores.values())
            moves = [c for c, s in scores.items() if s == best]
            actions.append(moves[int(torch.randint(len(moves), (1,), generator=self.generator))])
        return torch.tensor(actions, dtype=torch.long, device=game.device)
