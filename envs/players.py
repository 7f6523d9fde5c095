"""Reference players for evaluation, tests and people.

A player is anything callable as `player(game, state) -> actions` (long [B]) choosing a
move for the player to move in each of B games, and `NO_ACTION` for finished games. The
agents' players (MCTS, raw policy) share this interface, so anything can play anything
in an arena.

- `RandomPlayer`: uniform over legal moves.
- `OnePlyPlayer`: wins at once when it can, else blocks the opponent's immediate win,
  else plays at random.
- `AlphaBetaPlayer`: depth-limited negamax with alpha-beta pruning and a simple
  heuristic, for any game.
- `PerfectTicTacToePlayer`: exact minimax over the whole tic-tac-toe tree.
- `Connect4SolverPlayer` (in `envs.connect4_solver`): perfect Connect Four.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Protocol

import torch

from rlkit.errors import RlkitError

from .boards.base import NO_ACTION, BoardGame, State
from .boards.lines import line_table

__all__ = [
    "REFERENCE_PLAYERS",
    "AlphaBetaPlayer",
    "OnePlyPlayer",
    "PerfectTicTacToePlayer",
    "Player",
    "RandomPlayer",
    "heuristic_value",
    "reference_player",
]


class Player(Protocol):
    def __call__(self, game: BoardGame, state: State) -> torch.Tensor: ...


def _sample_legal(mask: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A uniform legal action per row of mask bool [B, A]; NO_ACTION where no action is legal."""
    has_move = mask.any(dim=1)
    weights = torch.where(has_move[:, None], mask.float(), 1.0).cpu()
    actions = torch.multinomial(weights, 1, generator=generator)[:, 0].to(mask.device)
    return torch.where(has_move, actions, NO_ACTION)


class RandomPlayer:
    """Uniformly random legal moves."""

    def __init__(self, seed: int = 0):
        self.generator = torch.Generator().manual_seed(seed)

    def __call__(self, game: BoardGame, state: State) -> torch.Tensor:
        return _sample_legal(game.legal_mask(state), self.generator)


def _expand(game: BoardGame, state: State) -> tuple[State, torch.Tensor, torch.Tensor]:
    """Every (game, action) pair: children states [B*A], action long [B*A], legal bool [B*A]."""
    B, A = state.batch_size, game.num_actions
    legal = game.legal_mask(state).reshape(-1)
    parents = state.map(lambda t: t.repeat_interleave(A, dim=0))
    actions = torch.arange(A, device=game.device).repeat(B)
    # illegal children are "played" as NO_ACTION on a finished copy so one step call serves all
    parents = parents.replace(done=parents.done | ~legal)
    children = game.step(parents, torch.where(legal, actions, NO_ACTION), validate=False)
    return children, actions, legal


def _winning_moves(game: BoardGame, state: State, player: torch.Tensor) -> torch.Tensor:
    """bool [B, A]: moves that end the game with a win for `player` (long [B]) at once."""
    children, _, legal = _expand(game, state)
    won = (children.winner == player.repeat_interleave(game.num_actions)) & legal & children.done
    return won.view(state.batch_size, game.num_actions)


class OnePlyPlayer:
    """Takes an immediate win; otherwise blocks a cell where the opponent would win next move;
    otherwise plays a random legal move.

    Blocking looks at the opponent's immediate wins as if it were their turn, which is what
    "block" means in placement games (tic-tac-toe, Connect Four, Gomoku, Hex).
    """

    def __init__(self, seed: int = 0):
        self.generator = torch.Generator().manual_seed(seed)

    def __call__(self, game: BoardGame, state: State) -> torch.Tensor:
        legal = game.legal_mask(state)
        me = state.to_play
        wins = _winning_moves(game, state, me)
        swapped = state.replace(to_play=1 - me)
        threats = _winning_moves(game, swapped, 1 - me) & legal
        choice = torch.where(wins.any(1, keepdim=True), wins, torch.where(threats.any(1, keepdim=True), threats, legal))
        return _sample_legal(choice, self.generator)


def heuristic_value(game: BoardGame, state: State) -> torch.Tensor:
    """float [B] in (-1, 1): a cheap guess of the position's value for the player to move.

    Line games (with a table of winning lines): sum over lines still open to one side of
    (stones in it)^2, own minus opponent's. Other games: stone difference. Squashed by tanh
    so that it stays below a real win (+1) or loss (-1).
    """
    me = (state.to_play + 1).to(torch.int8)
    board = state.board.flatten(1)
    lines = _win_lines(game)
    if lines is not None:
        cells = board[:, lines]  # [B, L, k]
        own = (cells == me.view(-1, 1, 1)).sum(2)
        opp = ((cells != 0) & (cells != me.view(-1, 1, 1))).sum(2)
        score = torch.where(opp == 0, own.float() ** 2, 0.0).sum(1) - torch.where(own == 0, opp.float() ** 2, 0.0).sum(
            1
        )
        scale = lines.shape[1] * 4.0
    else:
        own = (board == me[:, None]).sum(1)
        opp = ((board != 0) & (board != me[:, None])).sum(1)
        score = (own - opp).float()
        scale = board.shape[1] / 4.0
    return torch.tanh(score / scale) * 0.99


_LINE_LENGTH = {"connect4": 4}


@functools.cache
def _line_table_cached(height: int, width: int, k: int, device: str) -> torch.Tensor:
    return line_table(height, width, k).to(device)


def _win_lines(game: BoardGame) -> torch.Tensor | None:
    """long [L, k] winning lines of a k-in-a-row game, None for other games."""
    k = getattr(game, "connect", None) or _LINE_LENGTH.get(game.name)
    return None if k is None else _line_table_cached(game.height, game.width, k, str(game.device))


class AlphaBetaPlayer:
    """Depth-limited negamax with alpha-beta pruning, for any game.

    Leaves are scored by the game's result or by `heuristic` (default `heuristic_value`).
    Children of a node are generated with one batched `step`; moves are ordered by their
    one-ply heuristic so that pruning cuts early. Ties between equally good moves are broken
    at random (seeded), so the player is not trivially exploitable by a fixed line.
    """

    def __init__(
        self, depth: int = 4, seed: int = 0, heuristic: Callable[[BoardGame, State], torch.Tensor] = heuristic_value
    ):
        if depth < 1:
            raise ValueError(f"AlphaBetaPlayer depth must be >= 1, got {depth}")
        self.depth = depth
        self.heuristic = heuristic
        self.generator = torch.Generator().manual_seed(seed)

    def __call__(self, game: BoardGame, state: State) -> torch.Tensor:
        actions = []
        for i in range(state.batch_size):  # reference player: one game at a time, clarity over speed
            actions.append(self._best(game, state[i : i + 1]) if not bool(state.done[i]) else NO_ACTION)
        return torch.tensor(actions, dtype=torch.long, device=game.device)

    def _children(self, game: BoardGame, state: State) -> tuple[State, list[int], torch.Tensor]:
        children, actions, legal = _expand(game, state)
        idx = torch.nonzero(legal).flatten()
        kids = children[idx]
        # value for the player who just moved: -(value for the player to move in the child)
        scores = -self._leaf_value(game, kids)
        order = torch.argsort(scores, descending=True, stable=True)
        return kids[order], actions[idx][order].tolist(), scores[order]

    def _leaf_value(self, game: BoardGame, state: State) -> torch.Tensor:
        """Value for the player to move: exact at terminal states, heuristic elsewhere."""
        returns = game.returns(state).gather(1, state.to_play[:, None])[:, 0]
        return torch.where(state.done, returns, self.heuristic(game, state))

    def _negamax(self, game: BoardGame, state: State, depth: int, alpha: float, beta: float) -> float:
        if bool(state.done[0]) or depth == 0:
            # a result reached sooner counts a little more, so wins are taken fast and losses delayed
            return float(self._leaf_value(game, state)[0]) * (1.0 + 0.01 * depth * bool(state.done[0]))
        kids, _, _ = self._children(game, state)
        best = -3.0
        for j in range(kids.batch_size):
            value = -self._negamax(game, kids[j : j + 1], depth - 1, -beta, -alpha)
            best = max(best, value)
            alpha = max(alpha, value)
            if alpha >= beta:
                break
        return best

    def _best(self, game: BoardGame, state: State) -> int:
        kids, actions, _ = self._children(game, state)
        values = []
        alpha = -3.0
        for j in range(kids.batch_size):
            # a null window just below the best so far keeps ties visible for random tie-breaking
            value = -self._negamax(game, kids[j : j + 1], self.depth - 1, -3.0, -(alpha - 1e-6))
            values.append(value)
            alpha = max(alpha, value)
        values_t = torch.tensor(values)
        best = torch.nonzero(values_t >= values_t.max() - 1e-9).flatten()
        pick = best[torch.randint(len(best), (1,), generator=self.generator)]
        return actions[int(pick)]


@functools.cache
def _ttt_value(board: tuple[int, ...], to_play: int) -> float:
    """Exact value of a tic-tac-toe position for the player to move: the sign is the game-theoretic
    result (+ win, 0 draw, - loss); a result reached with more empty cells left counts more, so
    the player wins as fast as it can and loses as late as it can."""
    lines = ((0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6))
    for a, b, c in lines:
        if board[a] and board[a] == board[b] == board[c]:
            bonus = 1.0 + 0.01 * board.count(0)
            return bonus if board[a] == to_play + 1 else -bonus
    empty = [i for i, v in enumerate(board) if v == 0]
    if not empty:
        return 0
    return max(-_ttt_value(board[:i] + (to_play + 1,) + board[i + 1 :], 1 - to_play) for i in empty)


def perfect_tictactoe_moves(board: tuple[int, ...], to_play: int) -> list[int]:
    """All optimal moves of a tic-tac-toe position (board: 9 cells, 0 empty, 1/2 stones)."""
    empty = [i for i, v in enumerate(board) if v == 0]
    values = {i: -_ttt_value(board[:i] + (to_play + 1,) + board[i + 1 :], 1 - to_play) for i in empty}
    best = max(values.values())
    return [i for i, v in values.items() if v == best]


class PerfectTicTacToePlayer:
    """Plays an optimal tic-tac-toe move (random among the optimal ones, seeded)."""

    def __init__(self, seed: int = 0):
        self.generator = torch.Generator().manual_seed(seed)

    def __call__(self, game: BoardGame, state: State) -> torch.Tensor:
        if game.name != "tictactoe":
            raise ValueError(f"PerfectTicTacToePlayer plays tictactoe, not {game.name}")
        actions = []
        for i in range(state.batch_size):
            if bool(state.done[i]):
                actions.append(NO_ACTION)
                continue
            board = tuple(int(v) for v in state.board[i].flatten())
            moves = perfect_tictactoe_moves(board, int(state.to_play[i]))
            actions.append(moves[int(torch.randint(len(moves), (1,), generator=self.generator))])
        return torch.tensor(actions, dtype=torch.long, device=game.device)


REFERENCE_PLAYERS: dict[str, str | None] = {
    "random": None,
    "one_ply": None,
    "alphabeta": None,
    "perfect": "tictactoe",
    "solver": "connect4",
}
"""Reference player names -> the only game the player plays (None: any game). "alphabeta:DEPTH" sets the depth."""

_ALIASES = {"oneply": "one_ply", "one-ply": "one_ply", "alpha-beta": "alphabeta"}


def _parse_spec(spec: str, game_name: str | None) -> tuple[str, int | None]:
    name, _, arg = spec.strip().lower().partition(":")
    name = _ALIASES.get(name, name)
    if name not in REFERENCE_PLAYERS:
        raise RlkitError(
            f"unknown player {spec!r}; reference players: {', '.join(REFERENCE_PLAYERS)} (alphabeta:DEPTH sets the depth)"
        )
    if arg and not (name == "alphabeta" and arg.isdigit()):
        raise RlkitError(f"player {spec!r}: only alphabeta takes an argument, a whole-number depth (e.g. alphabeta:4)")
    if arg and int(arg) < 1:
        raise RlkitError(f"player {spec!r}: the alpha-beta depth must be >= 1 (e.g. alphabeta:4)")
    only = REFERENCE_PLAYERS[name]
    if game_name is not None and only not in (None, game_name):
        raise RlkitError(f"player {name!r} only plays {only}, not {game_name}")
    return name, int(arg) if arg else None


def is_reference_player(spec: str) -> bool:
    name = spec.strip().lower().partition(":")[0]
    return _ALIASES.get(name, name) in REFERENCE_PLAYERS


def check_reference_player(spec: str, game_name: str | None = None) -> None:
    """Raise RlkitError unless `spec` names a reference player that plays `game_name`."""
    _parse_spec(spec, game_name)


def reference_player(spec: str, seed: int = 0, game_name: str | None = None) -> Player:
    """A reference player by name: random, one_ply, alphabeta[:DEPTH] (default 4), perfect
    (tic-tac-toe) or solver (Connect Four); `game_name` checks that the player plays that game."""
    name, depth = _parse_spec(spec, game_name)
    if name == "random":
        return RandomPlayer(seed)
    if name == "one_ply":
        return OnePlyPlayer(seed)
    if name == "alphabeta":
        return AlphaBetaPlayer(depth=4 if depth is None else depth, seed=seed)
    if name == "perfect":
        return PerfectTicTacToePlayer(seed)
    from .connect4_solver import Connect4SolverPlayer  # numba-compiled search: imported only when asked for

    return Connect4SolverPlayer(seed)
