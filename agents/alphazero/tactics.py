"""One-ply tactics for the search: immediate wins and the opponent's immediate wins, batched.

A position where the player to move can win at once is a proven win; one where it cannot
but the opponent threatens to win at two places is a proven loss; with one threat, the only
move that does not lose at once is the block. The search uses these facts at every node it
evaluates (`tactical_evaluator` wraps the network), so a move that lets the opponent win next is seen as lost on its
first visit instead of after the opponent's reply happens to be searched (issue 12: Gumbel's
deterministic interior selection starved such replies).

"Block" means occupying the threatened cell, which holds in placement games (a move only adds
a stone): tic-tac-toe, Connect Four, Gomoku, Hex. Connect Four has a bitboard fast path (about
25 tensor ops on [B], for both players and the four line directions at once); the other games
step every legal move once.
"""

from __future__ import annotations

import functools

import torch

from envs.boards import NO_ACTION, BoardGame, State

from .agent import network_evaluator
from .config import TACTICAL_GAMES, AlphaZeroConfig
from .mcts import Evaluator

__all__ = ["TACTICAL_GAMES", "immediate_wins", "search_evaluator", "tactical_evaluator"]


_H1 = 7  # Connect Four bitboard: 7 bits per column (6 rows and a spare), bit 7 * column + height
_BOTTOM = sum(1 << (c * _H1) for c in range(7))
_BOARD = _BOTTOM * ((1 << 6) - 1)
_COLUMNS = [((1 << 6) - 1) << (c * _H1) for c in range(7)]
_LINES = (1, _H1, _H1 - 1, _H1 + 1)  # bitboard steps up a column, along a row and along both diagonals


@functools.cache
def _connect4_tables(device: torch.device) -> dict[str, torch.Tensor]:
    tensor = functools.partial(torch.tensor, dtype=torch.long, device=device)
    steps = tensor(_LINES)
    return {
        "steps": steps, "steps2": 2 * steps, "steps3": 3 * steps, "bottom": tensor(_BOTTOM), "board": tensor(_BOARD),
        "columns": tensor(_COLUMNS), "order": tensor([[0, 1], [1, 0]]),  # by player to move: mover first
    }  # fmt: skip


def _connect4_winning_cells(me: torch.Tensor, steps: dict[str, torch.Tensor]) -> torch.Tensor:
    """long [..., 4]: per line direction, the cells that would complete four for the stones `me` (long [..., 1]):
    three stones in a row beside the cell, or two on one side and one on the other. Not masked to empty cells;
    a cell above three stacked stones is the only vertical case (nothing lies above an empty cell).

    Shifts past bit 63 wrap or drop bits that the final mask with the playable cells removes."""
    up1, up2, up3 = me << steps["steps"], me << steps["steps2"], me << steps["steps3"]
    down1, down2, down3 = me >> steps["steps"], me >> steps["steps2"], me >> steps["steps3"]
    return (up1 & up2 & (up3 | down1)) | (down1 & down2 & (up1 | down3))


def _connect4(state: State) -> tuple[torch.Tensor, torch.Tensor]:
    tables = _connect4_tables(state.bits.device)
    mask = state.bits.sum(dim=1)  # long [B]: every stone (the players' stones are disjoint)
    playable = (mask + tables["bottom"]) & tables["board"]  # the lowest empty cell of every column that has one
    bits = state.bits.gather(1, tables["order"].index_select(0, state.to_play))  # [B, 2]: mover, then opponent
    cells = _connect4_winning_cells(bits[:, :, None], tables) & playable[:, None, None]  # [B, 2, 4]
    columns = ((cells[:, :, :, None] & tables["columns"]) != 0).any(dim=2)  # bool [B, 2, 7]
    return columns[:, 0], columns[:, 1]


def _by_stepping(game: BoardGame, state: State, player: torch.Tensor, legal: torch.Tensor) -> torch.Tensor:
    """bool [B, A]: legal moves that would win at once for `player` (long [B]) if it were their turn."""
    batch, actions = state.batch_size, game.num_actions
    as_player = state.replace(to_play=player)
    parents = as_player.map(lambda t: t.repeat_interleave(actions, dim=0))
    flat_legal = legal.reshape(-1)
    parents = parents.replace(done=parents.done | ~flat_legal)  # illegal moves: NO_ACTION on a "finished" copy
    moves = torch.where(flat_legal, torch.arange(actions, device=game.device).repeat(batch), NO_ACTION)
    children = game.step(parents, moves, validate=False)
    won = children.done & (children.winner == player.repeat_interleave(actions)) & flat_legal
    return won.view(batch, actions)


def immediate_wins(game: BoardGame, state: State, legal: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(wins, threats), bool [B, A] each: moves that win at once for the player to move, and moves that
    would win at once for the opponent if it were their turn (the cells to block). Finished games: all False."""
    if game.name == "connect4":
        wins, threats = _connect4(state)
    else:
        wins = _by_stepping(game, state, state.to_play, legal)
        threats = _by_stepping(game, state, 1 - state.to_play, legal)
    return wins & legal, threats & legal


def tactical_evaluator(game: BoardGame, evaluator: Evaluator) -> Evaluator:
    """`evaluator` corrected by one-ply facts: where the player to move can win at once, the prior keeps only
    the winning moves and the value is +1; else where the opponent threatens a win, the prior keeps only the
    blocks, and with two or more threats the value is -1 (the position is lost). Elsewhere nothing changes.

    Inside the search this makes a move that hands the opponent an immediate win worth -1 as soon as it is
    expanded, and at the root it plays wins and forced blocks whatever the network believes."""
    if game.name not in TACTICAL_GAMES:
        raise ValueError(f"one-ply tactics need a placement game ({', '.join(TACTICAL_GAMES)}), not {game.name}")

    def evaluate(states: State) -> tuple[torch.Tensor, torch.Tensor]:
        logits, value = evaluator(states)
        legal = game.legal_mask(states)
        wins, threats = immediate_wins(game, states, legal)
        has_win = wins.any(dim=1, keepdim=True)
        has_threat = threats.any(dim=1, keepdim=True)
        forced = torch.where(has_win, wins, torch.where(has_threat, threats, legal))
        logits = logits.masked_fill(~forced, -1e9)  # finite: rows with no legal move stay well defined
        lost = ~has_win[:, 0] & (threats.sum(dim=1) >= 2)
        value = torch.where(has_win[:, 0], 1.0, torch.where(lost, -1.0, value))
        return logits, value

    return evaluate


def search_evaluator(net: torch.nn.Module, game: BoardGame, config: AlphaZeroConfig) -> Evaluator:
    """The evaluator every search of an agent uses: the network in `config.inference_dtype`, with one-ply
    tactics when `config.tactics` is on."""
    evaluator = network_evaluator(net, game, config.inference_dtype)
    return tactical_evaluator(game, evaluator) if config.tactics else evaluator
