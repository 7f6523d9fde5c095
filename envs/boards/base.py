"""The batched board-game contract shared by every game in `envs.boards`.

A game is a stateless object holding its rules; a *state* is a batch of B positions
stored as tensors on `game.device`. Every rule is a tensor function over the whole batch,
so one implementation serves an interactive game on the CPU and thousands of self-play
games on a GPU.

Conventions (shared with OpenSpiel, the rules oracle of the tests):
- player 0 moves first; `state.to_play` is the player to move, long [B] in {0, 1};
- boards are int8 [B, H, W] with 0 empty, 1 a stone of player 0, 2 a stone of player 1;
- actions are long [B]; `legal_mask` is True where an action is legal (one mask
  direction everywhere);
- `returns` is +1 for the winner, -1 for the loser, 0 for a draw or an unfinished game.

Finished games: `step` raises if asked to move in a finished game, unless the action is
`NO_ACTION` (-1), which leaves that game unchanged. Batched loops (self-play, arenas)
pass `NO_ACTION` for games that are over.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Sequence

import torch

from rlkit.errors import RlkitError

from .notation import column_letters

__all__ = ["NO_ACTION", "BoardGame", "IllegalMoveError", "State", "column_letters"]

NO_ACTION = -1
"""Action for a game that is already over: `step` leaves it unchanged."""

# Symmetry groups: names of the transforms of a [.., H, W] board, in a fixed order.
# "rot{k}" rotates by k*90 degrees, "flip" mirrors left-right, "rot{k}_flip" does both.
_D4 = ("id", "rot1", "rot2", "rot3", "flip", "rot1_flip", "rot2_flip", "rot3_flip")
SYMMETRY_GROUPS = {"none": ("id",), "mirror": ("id", "flip"), "rot180": ("id", "rot2"), "d4": _D4}


class IllegalMoveError(RlkitError):
    """An action that the rules do not allow in the given position."""


class State:
    """A batch of game states: named tensors that share the leading batch dimension(s).

    Index with `state[idx]` (any tensor index over the batch), combine with
    `State.where(mask, a, b)` and `State.cat([...])`, read fields as attributes.
    """

    __slots__ = ("_fields",)

    def __init__(self, **fields: torch.Tensor):
        object.__setattr__(self, "_fields", dict(fields))

    def __getattr__(self, name: str) -> torch.Tensor:
        try:
            return self._fields[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name, value):
        raise AttributeError("State is immutable; use state.replace(field=...)")

    def __getitem__(self, idx) -> State:
        return State(**{k: v[idx] for k, v in self._fields.items()})

    def __len__(self) -> int:
        return self.batch_size

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k}={tuple(v.shape)}" for k, v in self._fields.items())
        return f"State({shapes})"

    @property
    def batch_size(self) -> int:
        return next(iter(self._fields.values())).shape[0]

    @property
    def device(self) -> torch.device:
        return next(iter(self._fields.values())).device

    def keys(self) -> Iterable[str]:
        return self._fields.keys()

    def items(self):
        return self._fields.items()

    def replace(self, **fields: torch.Tensor) -> State:
        return State(**{**self._fields, **fields})

    def map(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> State:
        return State(**{k: fn(v) for k, v in self._fields.items()})

    def clone(self) -> State:
        return self.map(torch.clone)

    def to(self, device) -> State:
        return self.map(lambda t: t.to(device))

    @staticmethod
    def where(mask: torch.Tensor, a: State, b: State) -> State:
        """Per-game select: game i comes from `a` where mask[i] (bool [B]) else from `b`."""

        def pick(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            m = mask.reshape(mask.shape + (1,) * (x.dim() - mask.dim()))
            if x.dtype == torch.bool:
                return (x & m) | (y & ~m)
            if not x.is_floating_point():
                # integer blend: measured ~6x faster than torch.where on broadcast int8 boards (CPU)
                return y + (x - y) * m
            return torch.where(m, x, y)

        return State(**{k: pick(a._fields[k], b._fields[k]) for k in a._fields})

    @staticmethod
    def cat(states: Sequence[State]) -> State:
        keys = states[0]._fields.keys()
        return State(**{k: torch.cat([s._fields[k] for s in states]) for k in keys})


class BoardGame(abc.ABC):
    """Rules of a two-player, alternating, perfect-information board game, batched.

    Subclasses set the class attributes and implement `_initial`, `_legal`, `_apply`,
    `_parse` and `_format`; the base class does validation, returns, observations,
    symmetries, notation and rendering once for every game.
    """

    name: str
    height: int
    width: int
    num_actions: int
    symmetry_group: str = "none"
    dirichlet_alpha: float = 0.3
    """Root-noise concentration for self-play, about 10 / (typical number of legal moves)."""

    def __init__(self, device: str | torch.device = "cpu"):
        self.device = torch.device(device)
        # returns of each player indexed by winner + 1: no winner, player 0, player 1
        self._results = torch.tensor([[0.0, 0.0], [1.0, -1.0], [-1.0, 1.0]], device=self.device)
        self._perms = {t: self._action_permutation(t) for t in SYMMETRY_GROUPS[self.symmetry_group]}

    # ----------------------------------------------------------------- game-specific
    @abc.abstractmethod
    def _initial(self, batch_size: int) -> State:
        """Start positions; must hold at least board, to_play, done, winner."""

    @abc.abstractmethod
    def _legal(self, state: State) -> torch.Tensor:
        """bool [B, A] legal actions of unfinished games (finished games are masked by the base)."""

    @abc.abstractmethod
    def _apply(self, state: State, actions: torch.Tensor) -> State:
        """Play legal `actions` (long [B]) in unfinished games; update done/winner/to_play."""

    @abc.abstractmethod
    def _parse(self, text: str) -> int:
        """Action index of a move written in the game's notation (lower-cased, stripped)."""

    @abc.abstractmethod
    def _format(self, action: int) -> str:
        """The game's notation for an action index."""

    # ------------------------------------------------------------------ the contract
    @property
    def observation_shape(self) -> tuple[int, int, int]:
        return tuple(self.observation(self.reset(1)).shape[1:])

    def reset(self, batch_size: int) -> State:
        """B start positions, player 0 to move in each."""
        if batch_size < 1:
            raise RlkitError(f"batch_size must be >= 1, got {batch_size}")
        return self._initial(batch_size)

    def legal_mask(self, state: State) -> torch.Tensor:
        """bool [B, A]: True where the action is legal; all False in finished games."""
        return self._legal(state) & ~state.done[:, None]

    def current_player(self, state: State) -> torch.Tensor:
        """long [B] in {0, 1}: the player to move."""
        return state.to_play

    def terminal(self, state: State) -> torch.Tensor:
        """bool [B]: the game is over."""
        return state.done

    def returns(self, state: State) -> torch.Tensor:
        """float32 [B, 2]: +1 win, -1 loss, 0 draw or unfinished, for players 0 and 1."""
        return self._results.index_select(0, state.winner.long() + 1)  # one lookup: search calls this per step

    def step(self, state: State, actions: torch.Tensor, validate: bool = True) -> State:
        """Play one move in every game. `actions`: long [B]; NO_ACTION leaves a finished game as it is.

        With `validate=True` (default) an illegal action, a move in a finished game or a
        NO_ACTION in an unfinished one raises IllegalMoveError naming the game index and the
        action. Search code that only picks legal actions may pass `validate=False` to skip
        the host synchronisation the check costs.
        """
        if isinstance(actions, torch.Tensor) and (actions.is_floating_point() or actions.is_complex()):
            raise RlkitError(f"{self.name}: actions must be whole numbers (a long tensor), got dtype {actions.dtype}")
        actions = torch.as_tensor(actions, dtype=torch.long, device=self.device).reshape(-1)
        if actions.shape[0] != state.batch_size:
            raise RlkitError(f"{self.name}: got {actions.shape[0]} actions for a batch of {state.batch_size} games")
        active = ~state.done
        if validate:
            self._check(state, actions, active)
        return self._play(state, actions, active)

    def observation(self, state: State) -> torch.Tensor:
        """float32 [B, 3, H, W] from the view of the player to move: own stones, opponent stones,
        and a plane of ones when player 0 is to move (games with more history override this)."""
        me = (state.to_play + 1).view(-1, 1, 1).to(state.board.dtype)
        own = state.board == me
        opp = (state.board != 0) & ~own
        first = (state.to_play == 0).view(-1, 1, 1).expand_as(own)
        return torch.stack([own, opp, first], dim=1).float()

    def symmetries(self, obs: torch.Tensor, policy: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The board symmetries of the game applied to `obs` float [B, C, H, W] and a policy over
        actions float [B, A], permuted consistently; the identity comes first."""
        return [(self._transform_planes(obs, t), policy[:, self._perms[t]]) for t in self._perms]

    def transform_actions(self, actions: torch.Tensor, transform: str) -> torch.Tensor:
        """Where each action (long [..]) lands under a symmetry transform (name from `symmetry_names`)."""
        inverse = torch.argsort(self._perms[transform])
        return inverse.to(actions.device)[actions]

    @property
    def symmetry_names(self) -> tuple[str, ...]:
        return SYMMETRY_GROUPS[self.symmetry_group]

    # --------------------------------------------------------------- human interface
    def action_to_string(self, action: int) -> str:
        return self._format(int(action))

    def string_to_action(self, text: str) -> int:
        """Parse a move in the game's notation (an action index is accepted too)."""
        clean = text.strip().lower()
        try:
            action = int(clean) if clean.lstrip("-").isdigit() and self._digits_are_indices() else self._parse(clean)
        except (ValueError, IndexError, KeyError):
            action = None
        if action is None or not 0 <= action < self.num_actions:
            raise IllegalMoveError(f"{self.name}: cannot read move {text!r}; {self.notation_help()}")
        return action

    def notation_help(self) -> str:
        examples = ", ".join(self._format(a) for a in (0, self.num_actions - 1))
        return f"moves look like {examples}"

    def _digits_are_indices(self) -> bool:
        return False

    def from_moves(self, moves: Sequence[str | int]) -> State:
        """A single game (B = 1) after the given moves, in notation or as action indices."""
        state = self.reset(1)
        for move in moves:
            action = self.string_to_action(move) if isinstance(move, str) else int(move)
            state = self.step(state, torch.tensor([action], device=self.device))
        return state

    def legal_actions(self, state: State, i: int = 0) -> list[int]:
        return torch.nonzero(self.legal_mask(state[i : i + 1])[0]).flatten().tolist()

    def render(self, state: State, i: int = 0) -> str:
        """A board a person can read, with coordinates, whose turn it is or the result."""
        board = state.board[i].cpu()
        letters = column_letters(self.width, skip_i=self._skip_i())
        marks = {0: ".", 1: "X", 2: "O"}
        rows = []
        for r in range(self.height):
            label = self._row_label(r)
            rows.append(f"{label:>2} " + " ".join(marks[int(v)] for v in board[r]))
        rows.append("   " + " ".join(letters))
        if bool(state.done[i]):
            w = int(state.winner[i])
            rows.append("game over: " + ("draw" if w < 0 else f"{'XO'[w]} (player {w}) wins"))
        else:
            p = int(state.to_play[i])
            rows.append(f"{'XO'[p]} (player {p}) to move")
        return "\n".join(rows)

    def _row_label(self, r: int) -> str:
        """Row label printed beside board row r (row 0 is drawn first, at the top)."""
        return str(r + 1)

    def _skip_i(self) -> bool:
        return False

    # ---------------------------------------------------------------------- helpers
    def _play(self, state: State, actions: torch.Tensor, active: torch.Tensor) -> State:
        """`_apply` in the games where `active` (bool [B]), whose `actions` are legal; the other games come back
        unchanged, whatever their action. Games that can leave a game unchanged for less than a blend of every
        field (a move that adds nothing) override this: search steps B games at once many times per move."""
        safe = torch.where(active, actions, self._any_action(state))
        return State.where(active, self._apply(state, safe), state)

    def _any_action(self, state: State) -> torch.Tensor:
        """Some action for finished games (their result is discarded by `step`)."""
        return torch.zeros(state.batch_size, dtype=torch.long, device=self.device)

    def _check(self, state: State, actions: torch.Tensor, active: torch.Tensor) -> None:
        in_range = (actions >= 0) & (actions < self.num_actions)
        legal = self._legal(state).gather(1, actions.clamp(0, self.num_actions - 1)[:, None])[:, 0] & in_range
        bad = torch.where(active, ~legal, actions != NO_ACTION)
        if bool(bad.any()):
            i = int(torch.nonzero(bad)[0])
            a = int(actions[i])
            if not bool(active[i]):
                raise IllegalMoveError(f"{self.name}: game {i} is over; pass NO_ACTION (-1) for it, not {a}")
            shown = self._format(a) if 0 <= a < self.num_actions else "out of range"
            legal_moves = ", ".join(self._format(x) for x in self.legal_actions(state, i)[:20])
            raise IllegalMoveError(f"{self.name}: illegal action {a} ({shown}) in game {i}; legal moves: {legal_moves}")

    def _board_cells_permutation(self, transform: str) -> torch.Tensor:
        index = torch.arange(self.height * self.width).view(1, self.height, self.width)
        return self._transform_planes(index, transform).reshape(-1)

    def _action_permutation(self, transform: str) -> torch.Tensor:
        """perm such that policy[:, perm] is the policy of the transformed board.

        Default: one action per cell (row-major), extra actions (e.g. pass) stay fixed.
        """
        cells = self.height * self.width
        perm = self._board_cells_permutation(transform)
        extra = torch.arange(cells, self.num_actions)
        return torch.cat([perm, extra]).to(self.device)

    def _transform_planes(self, x: torch.Tensor, transform: str) -> torch.Tensor:
        """Apply a named symmetry to the last two dims of x [.., H, W]."""
        if transform == "id":
            return x
        k = int(transform[3]) if transform.startswith("rot") else 0
        out = torch.rot90(x, k, dims=(-2, -1)) if k else x
        return torch.flip(out, dims=(-1,)) if transform.endswith("flip") else out
