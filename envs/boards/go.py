"""Go (OpenSpiel `go(board_size=9)`): area scoring, komi 7.5, simple ko, positional superko ends a game drawn.

Actions: `row * size + column` with row 0 the bottom rank ("a1" is action 0, as in
OpenSpiel), `size * size` = pass. `state.board[:, r, c]` holds the point of rank r + 1, so
the board is stored bottom-up and `render` turns it over for people. Black (player 0,
'X') moves first.

Rules, as OpenSpiel plays them:
- a move must be on an empty point, must not be suicide, and must not retake a ko at once
  (simple ko: a single stone that just captured exactly one stone, playing into an eye,
  cannot be recaptured on the very next move); pass is always legal;
- a non-pass move that recreates any earlier board (positional superko) is legal but ends
  the game as a draw;
- the game ends after two consecutive passes or after 2 * size * size moves, and is then
  scored Tromp-Taylor: stones plus empty regions that touch only one colour, minus komi
  for Black; the higher score wins (a 0 score is a draw).

Each move analyses the new board once (`GroupInfo`): connected same-colour components,
empty regions included, by batched label propagation with root hooking and pointer
jumping (4-6 rounds on 9x9 boards, checked for convergence every CHECK_EVERY rounds).
Per-group minimum and maximum liberty indices, scatter-reduced over the labels, tell a
group with no liberty, exactly one (in atari) or more apart without counting them; they
give the next player's legal moves, the captures of the next move, and the score.
Earlier positions are kept as additive Zobrist hashes (int64 per move), so superko is one
comparison against the game's history.
"""

from __future__ import annotations

import math

import torch

from rlkit.errors import RlkitError

from .base import BoardGame, State
from .notation import column_letters, square_action, square_name

__all__ = ["Go", "GroupInfo"]

OFF_BOARD_COLOUR = 3
"""Colour of the sentinel point past the edge: equal to no stone colour and not empty."""

HISTORY = 4
"""Board positions (current and 3 before it) in the observation."""

CHECK_EVERY = 2
"""Label-propagation rounds between convergence checks (each check is a host sync on GPUs)."""


def neighbour_table(size: int) -> torch.Tensor:
    """long [4, size*size]: the 4 orthogonal neighbours of each point, size*size past the edge."""
    cells = size * size
    table = torch.full((4, cells), cells, dtype=torch.long)
    for cell in range(cells):
        r, c = divmod(cell, size)
        for k, (dr, dc) in enumerate(((-1, 0), (1, 0), (0, -1), (0, 1))):
            if 0 <= r + dr < size and 0 <= c + dc < size:
                table[k, cell] = (r + dr) * size + c + dc
    return table


def fold4(x: torch.Tensor, op=torch.logical_or) -> torch.Tensor:
    """[B, P]: `op` folded over the 4 neighbours of x [B, 4, P].

    Written out because torch's CPU reductions over a dimension of 4 are slow (int64 min
    and max by two orders of magnitude), while elementwise ops on [B, P] slices are fast.
    """
    return op(op(x[:, 0], x[:, 1]), op(x[:, 2], x[:, 3]))


class GroupInfo:
    """Connected same-colour components of a batch of flat boards (empty regions included).

    Fields, all over B boards of P points: `colour` int8 [B, P], `neighbour_colour` int8
    [B, 4, P], `label` int32 [B, P] (smallest point of the component), `liberty_lo` /
    `liberty_hi` int32 [B, P]: smallest / largest empty point next to the point's component
    (P / -1 when there is none), `rounds`: propagation rounds it took.

    Values are int32 and only gather/scatter indices int64: torch's CPU kernels for int64
    scatter_reduce and min are about ten times slower than for int32.
    """

    def __init__(self, colour: torch.Tensor, neighbours: torch.Tensor):
        cells = colour.shape[1]
        self.colour = colour
        self._size = math.isqrt(cells)
        self.neighbour_colour = self.around(colour, OFF_BOARD_COLOUR)
        self.label, self.rounds = self._propagate((self.neighbour_colour != colour[:, None]).int() * cells)
        self._label_index = self.label.long()
        # masks enter as 0/1 factors: torch.where is ~100x slower than int32 arithmetic on CPU
        empty_next = (self.neighbour_colour == 0).int()
        neighbours = neighbours.int()
        lo = fold4(cells + (neighbours - cells) * empty_next, torch.minimum)
        hi = fold4((neighbours + 1) * empty_next - 1, torch.maximum)
        self.liberty_lo = self.per_component(lo, "amin", cells)
        self.liberty_hi = self.per_component(hi, "amax", -1)

    def _propagate(self, apart: torch.Tensor) -> tuple[torch.Tensor, int]:
        """int32 component labels; apart: int32 [B, 4, P], 0 where the neighbour has the point's colour,
        P (larger than any label) where it has not.

        Each label points at a smaller-or-equal point of the same component (a forest). A round
        takes the smallest label around each point, hooks the point's root onto it too (so one
        find reaches the whole tree at once), and halves paths by jumping to the label's label:
        O(log P) rounds in practice instead of one per point of the longest chain.
        """
        batch, _, cells = apart.shape
        label = torch.arange(cells, dtype=torch.int32, device=apart.device).expand(batch, cells)
        rounds = 0
        while rounds < cells:
            for _ in range(CHECK_EVERY):
                previous = label
                best = self._smallest_around(label, apart)
                label = label.scatter_reduce(1, label.long(), best, "amin")  # hook each root onto its tree's best
                label = torch.minimum(label, best)
                label = label.gather(1, label.long())
            rounds += CHECK_EVERY
            # every step only lowers labels, so a round that changed nothing is a fixed point
            if torch.equal(label, previous):
                break
        return label, rounds

    def per_component(self, values: torch.Tensor, reduce: str, fill: int) -> torch.Tensor:
        """int32 [B, P]: `reduce` ("amin"/"amax") of values int32 [B, P] over each point's component."""
        out = torch.full_like(values, fill).scatter_reduce(1, self._label_index, values, reduce)
        return out.gather(1, self._label_index)

    def around(self, values: torch.Tensor, fill: int) -> torch.Tensor:
        """[B, 4, P]: values [B, P] at each point's neighbours (`fill` past the edge), in the order
        of `neighbour_table`: the row below, the row above, the column left, the column right."""
        return torch.stack(self._shifted(values, fill), dim=1).view(values.shape[0], 4, -1)

    def _smallest_around(self, label: torch.Tensor, apart: torch.Tensor) -> torch.Tensor:
        """int32 [B, P]: the smallest of a point's label and its same-colour neighbours' labels."""
        n = self._size
        best = label.view(-1, n, n)
        for k, shifted in enumerate(self._shifted(label, label.shape[1])):
            best = torch.minimum(best, shifted + apart[:, k].view(-1, n, n))
        return best.reshape(label.shape)

    def _shifted(self, values: torch.Tensor, fill: int) -> list[torch.Tensor]:
        """4 x [B, n, n]: values [B, P] of the neighbour below, above, left and right, as shifted
        slices of a padded board (plain copies, far faster than gathering 4P indices)."""
        n = self._size
        padded = torch.nn.functional.pad(values.view(-1, n, n), (1, 1, 1, 1), value=fill)
        return [padded[:, :-2, 1:-1], padded[:, 2:, 1:-1], padded[:, 1:-1, :-2], padded[:, 1:-1, 2:]]


class Go(BoardGame):
    """Go on a size x size board with area scoring and `komi` points for White.

    State fields besides board/to_play/done/winner (all [B, ...]): num_moves, passes
    (consecutive passes) and ko (the point the player to move may not take, -1 for none),
    long; legal bool [B, A] and atari_liberty int32 [B, P] (each stone's group's only
    liberty, else -1), both cached from the last move's group analysis; hashes long
    [B, max_moves + 1] of every position so far (-1 past the last); history int8
    [B, HISTORY - 1, H, W], the boards before the current one, newest first.
    """

    name = "go"
    symmetry_group = "d4"

    def __init__(self, size: int = 9, komi: float = 7.5, device="cpu"):
        if not isinstance(size, int) or not 2 <= size <= 19:
            raise RlkitError(f"go: size must be an integer from 2 to 19 (as in OpenSpiel), got {size!r}")
        self.height = self.width = size
        self.cells = size * size
        self.num_actions = self.cells + 1
        self.pass_action = self.cells
        self.komi = float(komi)
        self.max_moves = 2 * self.cells
        self.dirichlet_alpha = 10.0 / self.cells  # about 0.03 on 19x19, as AlphaZero used
        super().__init__(device)
        self._neighbours = neighbour_table(size).to(self.device)
        # additive Zobrist keys below 2**54, so a sum over 361 points cannot overflow int64
        keys = torch.randint(1, 2**54, (2, self.cells), generator=torch.Generator().manual_seed(2765481))
        self._keys = keys.to(self.device)

    # ----------------------------------------------------------------------- rules
    def from_board(self, board: torch.Tensor, to_play: torch.Tensor | int = 0) -> State:
        """Positions to play from: boards int8 [B, size, size] laid out as `state.board` (0 empty, 1 black,
        2 white; row 0 is rank 1) with `to_play` to move, no ko and no earlier positions."""
        board = torch.as_tensor(board, dtype=torch.int8, device=self.device).reshape(-1, self.height, self.width)
        batch = board.shape[0]
        to_play = torch.as_tensor(to_play, dtype=torch.long, device=self.device).expand(batch).clone()
        flat = board.flatten(1)
        if bool(((flat < 0) | (flat > 2)).any()):
            raise RlkitError("go: board points must be 0 (empty), 1 (black) or 2 (white)")
        groups = GroupInfo(flat, self._neighbours)
        dead = (flat != 0) & (groups.liberty_lo == self.cells)
        if bool(dead.any()):
            i, point = (int(x) for x in torch.nonzero(dead)[0])
            raise RlkitError(f"go: board {i} has a group without liberties at {self._format(point)}")
        zeros = torch.zeros(batch, dtype=torch.long, device=self.device)
        legal, atari_liberty = self._moves(groups, (to_play + 1).to(torch.int8)[:, None], zeros - 1)
        hashes = torch.full((batch, self.max_moves + 1), -1, dtype=torch.long, device=self.device)
        hashes[:, 0] = self._hash(flat)
        return State(
            board=board,
            to_play=to_play,
            done=zeros.bool(),
            winner=zeros - 1,
            num_moves=zeros,
            passes=zeros,
            ko=zeros - 1,
            atari_liberty=atari_liberty,
            legal=legal,
            hashes=hashes,
            history=board.new_zeros(batch, HISTORY - 1, self.height, self.width),
        )

    def _initial(self, batch_size: int) -> State:
        return self.from_board(torch.zeros(batch_size, self.height, self.width, dtype=torch.int8))

    def _legal(self, state: State) -> torch.Tensor:
        # computed once per move in `_apply` from the group analysis that captures need anyway
        return state.legal

    def _apply(self, state: State, actions: torch.Tensor) -> State:
        batch = actions.shape[0]
        is_pass = actions == self.pass_action
        mover = (state.to_play + 1).to(torch.int8)[:, None]  # [B, 1]
        enemy = 3 - mover
        flat = state.board.flatten(1)
        # a group in atari on its only liberty dies when the opponent fills it
        captured = (flat == enemy) & (state.atari_liberty == actions[:, None])
        placed = torch.nn.functional.one_hot(actions, self.num_actions)[:, : self.cells].bool()
        new_flat = flat * (~captured).to(torch.int8) + placed.to(torch.int8) * mover

        around_move = torch.cat([flat, flat.new_full((batch, 1), OFF_BOARD_COLOUR)], dim=1).gather(
            1, self._neighbours[:, actions.clamp(max=self.cells - 1)].T
        )  # [B, 4]
        into_eye = ((around_move == enemy) | (around_move == OFF_BOARD_COLOUR)).all(1) & ~is_pass
        takes_ko = into_eye & (captured.sum(1) == 1)
        ko = torch.where(takes_ko, captured.to(torch.int8).argmax(1), -1)

        groups = GroupInfo(new_flat, self._neighbours)
        position = self._hash(new_flat)
        superko = (state.hashes == position[:, None]).any(1) & ~is_pass
        num_moves = state.num_moves + 1
        passes = torch.where(is_pass, state.passes + 1, 0)
        done = superko | (passes >= 2) | (num_moves >= self.max_moves)
        score = self._score(groups)
        winner = torch.where(score > 0, 0, torch.where(score < 0, 1, -1))
        legal, atari_liberty = self._moves(groups, enemy, ko)
        return State(
            board=new_flat.view_as(state.board),
            to_play=1 - state.to_play,
            done=done,
            winner=torch.where(done & ~superko, winner, -1),
            num_moves=num_moves,
            passes=passes,
            ko=ko,
            atari_liberty=atari_liberty,
            legal=legal,
            # clamped: `step` also runs finished games (at the move cap) through here, then discards them
            hashes=state.hashes.scatter(1, num_moves[:, None].clamp(max=self.max_moves), position[:, None]),
            history=torch.cat([state.board[:, None], state.history[:, :-1]], dim=1),
        )

    def _moves(self, groups: GroupInfo, stone: torch.Tensor, ko: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """What the next move needs: legal bool [B, A] for `stone` (int8 [B, 1]) to move with ko point
        `ko` (long [B], -1 for none), and atari_liberty int32 [B, P]: the only liberty of each stone's
        group where it has just one, else -1 (the captures of the next move).

        A placement is legal on an empty point other than the ko point if the stone touches an
        empty point, joins a group of its colour that keeps another liberty, or captures an
        enemy group in atari (whose last liberty is this point). Passing is always legal.
        """
        colours = groups.neighbour_colour  # [B, 4, P]
        lo = groups.around(groups.liberty_lo, self.cells)
        hi = groups.around(groups.liberty_hi, -1)
        breathes = fold4(colours == 0)
        joins_safe = fold4((colours == stone[..., None]) & (lo < hi))
        captures = fold4((colours == 3 - stone[..., None]) & (lo == hi))
        not_ko = torch.arange(self.cells, device=self.device) != ko[:, None]
        placements = (groups.colour == 0) & not_ko & (breathes | joins_safe | captures)
        legal = torch.cat([placements, placements.new_ones(placements.shape[0], 1)], dim=1)
        in_atari = (groups.colour != 0) & (groups.liberty_lo == groups.liberty_hi)
        return legal, (groups.liberty_lo + 1) * in_atari - 1

    def _score(self, groups: GroupInfo) -> torch.Tensor:
        """float32 [B]: Tromp-Taylor area of Black minus White's, minus komi."""
        colour = groups.colour
        reaches_black = groups.per_component(fold4(groups.neighbour_colour == 1).int(), "amax", 0)
        reaches_white = groups.per_component(fold4(groups.neighbour_colour == 2).int(), "amax", 0)
        empty = colour == 0
        black = (colour == 1) | (empty & (reaches_black > reaches_white))
        white = (colour == 2) | (empty & (reaches_white > reaches_black))
        return black.sum(1).float() - white.sum(1).float() - self.komi

    def _hash(self, flat: torch.Tensor) -> torch.Tensor:
        """long [B]: additive Zobrist hash of flat boards int8 [B, P] (the empty board hashes to 0)."""
        return ((flat == 1) * self._keys[0] + (flat == 2) * self._keys[1]).sum(1)

    def _any_action(self, state: State) -> torch.Tensor:
        return torch.full((state.batch_size,), self.pass_action, dtype=torch.long, device=self.device)

    # ------------------------------------------------------------------ observation
    def observation(self, state: State) -> torch.Tensor:
        """float32 [B, 2 * HISTORY + 1, H, W] for the player to move: own stones now and in the 3
        positions before (planes 0-3, newest first), the opponent's likewise (planes 4-7), and a
        plane of ones when Black (player 0, who pays komi) is to move (plane 8)."""
        boards = torch.cat([state.board[:, None], state.history], dim=1)  # [B, HISTORY, H, W]
        me = (state.to_play + 1).view(-1, 1, 1, 1).to(boards.dtype)
        own = boards == me
        opp = (boards != 0) & ~own
        black = (state.to_play == 0).view(-1, 1, 1, 1).expand(-1, 1, self.height, self.width)
        return torch.cat([own, opp, black], dim=1).float()

    # -------------------------------------------------------------- human interface
    def render(self, state: State, i: int = 0) -> str:
        # rows are stored bottom-up (rank 1 first); people read Go boards with rank 1 at the bottom
        return super().render(state.replace(board=state.board.flip(1)), i)

    def _row_label(self, r: int) -> str:
        return str(self.height - r)

    def _skip_i(self) -> bool:
        return True

    def notation_help(self) -> str:
        last = column_letters(self.width, skip_i=True)[-1]
        return f"moves look like c3 (column a-{last} without i, row 1-{self.height} from the bottom) or pass"

    def _parse(self, text: str) -> int:
        if text == "pass":
            return self.pass_action
        return square_action(text, self.width, skip_i=True)  # the board is stored with rank 1 first

    def _format(self, action: int) -> str:
        if action == self.pass_action:
            return "pass"
        return square_name(action, self.width, skip_i=True)
