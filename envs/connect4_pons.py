"""Connect Four strength benchmark on Pascal Pons' six test sets.

Each set holds 1000 positions (moves as 1-based columns, then the exact score for the
side to move). A move chooser is scored by how often its move changes the position's
game-theoretic outcome (a *mistake*: win -> draw/loss, draw -> loss) and how often it
plays a move of the best exact score (*best move*: fastest win, a draw, slowest loss).

Judging a move needs the outcome of every child position. The solver is slow on early
positions, so the child outcomes are computed once with null-window probes (a weak solve
around 0, and one probe at the parent's exact score for "best") and committed as
`data/connect4_pons/labels.tsv`; `python -m envs.connect4_pons` (re)builds it. Positions
are labelled in a fixed seeded order per set, so the labelled positions of a set are
always a seeded random subsample of it (a prefix of that order); a set with fewer than
1000 labels says so in every report.

labels.tsv: one line per position, `set  index  moves  score  codes` with one code per
column (0-based): `.` illegal, `B` a best move, `k` keeps the outcome but is not best,
`m` a mistake.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from .boards.base import BoardGame, State
from .connect4_solver import BOARD, BOTTOM, CELLS, COLUMN, H1, TOP, WIDTH, Connect4Solver, _negamax, _winning_cells

__all__ = ["SETS", "Position", "load_set", "score_player", "states_of", "subsample"]

DATA = Path(__file__).parent / "data" / "connect4_pons"
LABELS = DATA / "labels.tsv"
SETS = {  # name -> Pons' file, in the order of his tutorial's table (late positions are easiest)
    "end-easy": "Test_L3_R1",
    "middle-easy": "Test_L2_R1",
    "middle-medium": "Test_L2_R2",
    "begin-easy": "Test_L1_R1",
    "begin-medium": "Test_L1_R2",
    "begin-hard": "Test_L1_R3",
}
ORDER_SEED = 12  # the seeded order in which each set's positions are labelled (and subsampled)


@dataclasses.dataclass(frozen=True)
class Position:
    """One benchmark position: `moves` as 1-based column digits, the exact `score` for the side to move,
    and `codes` (one per column: '.' illegal, 'B' best, 'k' keeps the outcome, 'm' mistake)."""

    set_name: str
    index: int
    moves: str
    score: int
    codes: str


def label_order(set_name: str) -> list[int]:
    """The fixed seeded order of a set's 1000 positions; labels and subsamples follow it."""
    order = list(range(1000))
    random.Random(f"{ORDER_SEED}:{set_name}").shuffle(order)
    return order


def _child_score(solver: Connect4Solver, me: int, mask: int, moves: int, column: int, window: int) -> int:
    """Null-window probe of the child after `column`: a value r with r <= window iff the opponent's score <= window."""
    move = (mask + (1 << (column * H1))) & int(COLUMN[column])
    cme, cmask, cmoves = me ^ mask, mask | move, moves + 1
    if cmoves == CELLS:
        return 0
    if (cmask + BOTTOM) & BOARD & int(_winning_cells(np.int64(cme), np.int64(cmask))):
        return (CELLS + 1 - cmoves) // 2  # the opponent wins at once
    return int(
        _negamax(np.int64(cme), np.int64(cmask), cmoves, window, window + 1, solver.keys, solver.values, solver._nodes)
    )


def label_position(solver: Connect4Solver, moves: str, score: int) -> str:
    """Codes of every column of a position whose exact score is `score` (see the module docstring)."""
    me, mask, n = Connect4Solver.from_moves(moves)
    wins = int(_winning_cells(np.int64(me), np.int64(mask)))
    value = (score > 0) - (score < 0)
    codes = []
    for c in range(WIDTH):
        if mask & TOP[c]:
            codes.append(".")
            continue
        if wins & ((mask + (1 << (c * H1))) & int(COLUMN[c])):
            codes.append("B" if score == (CELLS + 1 - n) // 2 else "k")
            continue
        # the mover's score is -t for the child's score t; keeps the outcome iff sign(-t) == value
        keeps = value < 0 or _child_score(solver, me, mask, n, c, -1 if value > 0 else 0) <= (-1 if value > 0 else 0)
        if not keeps:
            codes.append("m")
        else:  # no child beats the parent's score, so t <= -score means t == -score: a best move
            codes.append("B" if _child_score(solver, me, mask, n, c, -score) <= -score else "k")
    return "".join(codes)


def _read_pons(set_name: str) -> list[tuple[str, int]]:
    lines = (DATA / SETS[set_name]).read_text().split("\n")
    return [(m, int(s)) for m, s in (line.split() for line in lines if line.strip())]


def load_set(set_name: str) -> list[Position]:
    """The labelled positions of a set, in its seeded label order."""
    if set_name not in SETS:
        raise ValueError(f"unknown Pons set {set_name!r}; choose from: {', '.join(SETS)}")
    out = []
    for line in LABELS.read_text().splitlines():
        name, index, moves, score, codes = line.split("\t")
        if name == set_name:
            out.append(Position(name, int(index), moves, int(score), codes))
    return out


def subsample(per_set: int) -> dict[str, list[Position]]:
    """The first `per_set` labelled positions of every set: a fixed, seeded subsample (cheap during training)."""
    return {name: load_set(name)[:per_set] for name in SETS}


def states_of(game: BoardGame, positions: list[Position]) -> State:
    """A batched `connect4` state holding every position (moves replayed through the game's rules)."""
    if game.name != "connect4":
        raise ValueError(f"Pons' sets are Connect Four positions, not {game.name}")
    longest = max(len(p.moves) for p in positions)
    state = game.reset(len(positions))
    lengths = torch.tensor([len(p.moves) for p in positions], device=game.device)
    for t in range(longest):  # replay all games together; positions already complete keep their state
        actions = torch.tensor([int(p.moves[t]) - 1 if t < len(p.moves) else 0 for p in positions])
        moved = game.step(state, actions.to(game.device), validate=False)
        state = State.where(lengths > t, moved, state)
    return state


def score_player(
    game: BoardGame,
    player: Callable[[BoardGame, State], torch.Tensor],
    positions: dict[str, list[Position]],
    batch_size: int = 256,
    progress: Callable[[int], None] | None = None,
) -> dict[str, dict[str, float]]:
    """Mistake % and best-move % of `player` per set: {set: {"positions", "mistake_pct", "best_pct"}}.

    `progress(n)` is called after each batch of n positions."""
    report = {}
    for name, items in positions.items():
        mistakes = best = 0
        for start in range(0, len(items), batch_size):
            chunk = items[start : start + batch_size]
            actions = player(game, states_of(game, chunk)).tolist()
            for p, a in zip(chunk, actions, strict=True):
                code = p.codes[a] if 0 <= a < WIDTH else "."
                if code == ".":
                    raise ValueError(f"player chose illegal column {a} in position {p.moves!r} of {name}")
                mistakes += code == "m"
                best += code == "B"
            if progress is not None:
                progress(len(chunk))
        n = max(len(items), 1)
        report[name] = {"positions": len(items), "mistake_pct": 100.0 * mistakes / n, "best_pct": 100.0 * best / n}
    return report


def build_labels(per_set: int, seconds: float) -> None:
    """Label up to `per_set` positions of every set (resuming labels.tsv), spending at most `seconds` in total.

    Sets are labelled one after another, cheapest first (begin-hard costs ~30 s a position on one core,
    the others 0.01-3 s), each in its seeded order, so a time limit leaves every set a prefix of its order."""
    done: dict[str, set[int]] = {name: set() for name in SETS}
    if LABELS.exists():
        for line in LABELS.read_text().splitlines():
            name, index = line.split("\t")[:2]
            done[name].add(int(index))
    solver = Connect4Solver()
    deadline = time.monotonic() + seconds
    with LABELS.open("a") as out:
        for name in SETS:
            raw = _read_pons(name)
            for i in label_order(name)[:per_set]:
                if time.monotonic() > deadline:
                    return
                if i in done[name]:
                    continue
                moves, score = raw[i]
                out.write(f"{name}\t{i}\t{moves}\t{score}\t{label_position(solver, moves, score)}\n")
                out.flush()
                done[name].add(i)
                if len(done[name]) % 10 == 0:
                    print(f"{name}: {len(done[name])} labelled, {solver.nodes / 1e6:.0f}M nodes", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description="Label Pons' Connect Four sets with child outcomes (labels.tsv).")
    parser.add_argument("--per-set", type=int, default=1000, help="positions to label per set (a prefix of its order)")
    parser.add_argument("--seconds", type=float, default=3600.0, help="stop after this many seconds (resumable)")
    args = parser.parse_args()
    build_labels(args.per_set, args.seconds)


if __name__ == "__main__":
    main()
