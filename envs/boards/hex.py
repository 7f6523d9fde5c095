"""Hex (OpenSpiel `hex(board_size=..)`, no swap rule) on a size x size rhombus.

Action = row * size + column, row 0 at the top. Notation as OpenSpiel's action strings:
a column letter and a row number counted from the TOP, so "a1" is the top-left corner
(the usual Hex convention, e.g. HexGui). Each row is drawn shifted half a cell right of the
row above, so cell (r, c) touches (r, c-1), (r, c+1), (r-1, c), (r-1, c+1), (r+1, c-1)
and (r+1, c).

Player 0 (X, moves first) connects the top and bottom edges (rows 1 and size); player 1
(O) connects the left and right edges (columns a and the last). Hex has no draws.

Connection detection is incremental and batched, a one-level union-find: every cell holds
the label of its group, the cell index of the group's newest stone (an empty cell is its own
group), so the cell named by a label always holds that label. A move points the groups of
its same-coloured neighbours at the new stone with one scatter into a copy of the labels,
relabels every cell with one gather, and then looks only at the two goal edges.
"""

from __future__ import annotations

import torch

from rlkit.errors import RlkitError

from .base import BoardGame, State
from .notation import square_action, square_name

__all__ = ["Hex"]

# (row, column) steps to the six neighbours on the rhombus
_NEIGHBOUR_STEPS = ((0, -1), (0, 1), (-1, 0), (-1, 1), (1, -1), (1, 0))


class Hex(BoardGame):
    """Players take turns placing stones; the first to join their two edges with a chain of
    adjacent stones wins.

    Observation (float32 [B, 4, size, size], from the view of the player to move): own stones,
    opponent stones, the cells of the two edges the player to move must connect, and the
    cells of the two edges the opponent must connect. The edge planes make the roles explicit
    without transposing the board, so policy and board keep the same cell order.
    """

    name = "hex"
    symmetry_group = "rot180"

    def __init__(self, device: str | torch.device = "cpu", size: int = 11):
        if not 2 <= size <= 26:
            raise RlkitError(f"hex: size must be between 2 and 26, got {size}")
        self.size = self.height = self.width = size
        self.num_actions = size * size
        # about 10 / typical number of legal moves (most of the board stays empty)
        self.dirichlet_alpha = round(10 / (0.75 * self.num_actions), 3)
        super().__init__(device)
        self._neighbours = self._neighbour_table().to(self.device)
        cells = torch.arange(self.num_actions).view(size, size)
        # goal edges per player: long [2 players, 2 * size] (top+bottom rows, left+right columns)
        top_bottom, left_right = torch.cat([cells[0], cells[-1]]), torch.cat([cells[:, 0], cells[:, -1]])
        self._goal_cells = torch.stack([top_bottom, left_right]).to(self.device)
        edge_planes = torch.zeros(2, size * size, dtype=torch.float32)
        edge_planes.scatter_(1, self._goal_cells.cpu(), 1.0)
        self._edge_planes = edge_planes.view(2, size, size).to(self.device)  # float [2 players, H, W]

    def _neighbour_table(self) -> torch.Tensor:
        """long [N, 6]: the neighbours of each cell; off-board neighbours name the cell itself."""
        n = self.size
        table = []
        for r in range(n):
            for c in range(n):
                cells = [(r + dr, c + dc) for dr, dc in _NEIGHBOUR_STEPS]
                table.append([rr * n + cc if 0 <= rr < n and 0 <= cc < n else r * n + c for rr, cc in cells])
        return torch.tensor(table, dtype=torch.long)

    def _initial(self, batch_size: int) -> State:
        zeros = torch.zeros(batch_size, dtype=torch.long, device=self.device)
        return State(
            board=torch.zeros(batch_size, self.size, self.size, dtype=torch.int8, device=self.device),
            group=torch.arange(self.num_actions, dtype=torch.int32, device=self.device).repeat(batch_size, 1),
            to_play=zeros,
            done=zeros.bool(),
            winner=zeros - 1,
        )

    def _legal(self, state: State) -> torch.Tensor:
        return state.board.flatten(1) == 0

    def _apply(self, state: State, actions: torch.Tensor) -> State:
        stone = (state.to_play + 1).to(torch.int8)
        flat = state.board.flatten(1).scatter(1, actions[:, None], stone[:, None])
        neighbours = self._neighbours[actions]  # [B, 6]
        # read the board before the move, so off-board padding (the cell itself, still empty) never joins
        same = state.board.flatten(1).gather(1, neighbours) == stone[:, None]
        new_label = actions[:, None].int().expand_as(neighbours)
        # the joined groups' labels, or the new cell's own (a no-op below) where a neighbour does not join
        joined = torch.where(same, state.group.gather(1, neighbours), new_label)
        pointer = state.group.scatter(1, joined, new_label)  # label -> label, joined groups -> the new stone
        group = pointer.gather(1, state.group)
        on_goal = group.gather(1, self._goal_cells[state.to_play]) == new_label[:, :1]  # [B, 2 * size]
        won = on_goal[:, : self.size].any(1) & on_goal[:, self.size :].any(1)
        return State(
            board=flat.view_as(state.board),
            group=group,
            to_play=1 - state.to_play,
            done=won,
            winner=torch.where(won, state.to_play, -1),
        )

    def observation(self, state: State) -> torch.Tensor:
        """float32 [B, 4, size, size]: own stones, opponent stones, own goal edges, opponent goal edges."""
        me = (state.to_play + 1).view(-1, 1, 1).to(torch.int8)
        own = state.board == me
        opp = (state.board != 0) & ~own
        edges = self._edge_planes[torch.stack([state.to_play, 1 - state.to_play], dim=1)]  # [B, 2, H, W]
        return torch.cat([torch.stack([own, opp], dim=1).float(), edges], dim=1)

    def render(self, state: State, i: int = 0) -> str:
        """The rhombus with each row shifted right, column letters on top, and each player's edges."""
        lines = super().render(state, i).split("\n")
        rows, letters, status = lines[: self.size], lines[self.size], lines[self.size + 1 :]
        shifted = [row[:3] + " " * r + row[3:] for r, row in enumerate(rows)]
        goals = f"X joins rows 1-{self.size}, O joins columns {letters.split()[0]}-{letters.split()[-1]}"
        return "\n".join([letters, *shifted, *status, goals])

    def _parse(self, text: str) -> int:
        return square_action(text, self.size)

    def _format(self, action: int) -> str:
        return square_name(action, self.size)
