"""Win detection for k-in-a-row games by a precomputed table of lines (as in pgx).

`line_table(h, w, k)` lists every straight segment of k cells (rows, columns and both
diagonals) as flat cell indices; `lines_through_cells` indexes them by cell, so that after a
move `completes_line` checks only the lines through the new stone, for the whole batch at once.
"""

from __future__ import annotations

import torch

__all__ = ["completes_line", "line_table", "lines_through_cells"]


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


def lines_through_cells(height: int, width: int, k: int) -> torch.Tensor:
    """int32 [H*W, k, M]: for every cell, the M k-cell lines that contain it; entry [c, j, m] is
    the flat index of the j-th cell of the m-th line through cell c.

    Cells lying on fewer than M lines repeat one of their own lines, which leaves an `any`
    over lines unchanged, so no sentinel cell is needed. Requires k <= max(height, width).
    """
    lines = line_table(height, width, k)
    per_cell: list[list[int]] = [[] for _ in range(height * width)]
    for index, line in enumerate(lines.tolist()):
        for cell in line:
            per_cell[cell].append(index)
    most = max(len(p) for p in per_cell)
    padded = [p + [p[0]] * (most - len(p)) for p in per_cell]
    # k-major, so the "every cell of a line" test below is k - 1 ANDs of [B, M] slices,
    # measured about twice as fast as an `all` over a short trailing dimension
    return lines[torch.tensor(padded)].transpose(1, 2).int().contiguous()


def completes_line(
    flat_board: torch.Tensor, cell_lines: torch.Tensor, cells: torch.Tensor, stone: torch.Tensor
) -> torch.Tensor:
    """bool [B]: some line through `cells` (long [B]) is full of `stone` (int8 [B]).

    flat_board: int8 [B, H*W]; cell_lines: the table of `lines_through_cells`.
    """
    batch, k, m = cells.shape[0], cell_lines.shape[1], cell_lines.shape[2]
    lines = cell_lines.index_select(0, cells).view(batch, k * m)
    mine = (flat_board.gather(1, lines) == stone[:, None]).view(batch, k, m)
    full = mine[:, 0]
    for j in range(1, k):
        full = full & mine[:, j]
    return full.any(dim=1)
