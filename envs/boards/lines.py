"""Win detection for k-in-a-row games by a precomputed table of lines (as in pgx).

`line_table(h, w, k)` lists every straight segment of k cells (rows, columns and both
diagonals) as flat cell indices; a player has won when every cell of some line holds
their stone, which is a gather and an `all` over the whole batch at once.
"""

from __future__ import annotations

import torch

__all__ = ["line_table", "lines_won"]


def line_table(height: int, width: int, k: int) -> torch.Tensor:
    """long [L, k]: flat indices (row * width + col) of all k-cell lines on a height x width board."""
    lines = []
    for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
        for r in range(height):
            for c in range(width):
                cells = [(r + i * dr, c + i * dc) for i in range(k)]
                if all(0 <= rr < height and 0 <= cc < width for rr, cc in cells):
                    lines.append([rr * width + cc for rr, cc in cells])
    return torch.tensor(lines, dtype=torch.long)


def lines_won(flat_board: torch.Tensor, lines: torch.Tensor, stone: torch.Tensor) -> torch.Tensor:
    """bool [B]: some line is full of `stone` (int8 [B]) on flat_board int8 [B, H*W]."""
    cells = flat_board[:, lines]  # [B, L, k]
    return (cells == stone.view(-1, 1, 1)).all(dim=2).any(dim=1)
