"""A textbook one-game-at-a-time recursive PUCT search: node objects, recursion, one evaluator call per leaf.

This is how most public Python AlphaZero implementations search. rlkit keeps it as the
reference the batched search (`mcts.py`) is checked against in the tests (same rules and
tie-breaking, so the same visit counts) and measured against in `scripts/bench_mcts.py`.
It is deliberately independent of `mcts.py`: values are stored from each node's own
player-to-move view and flipped when the player changes.
"""

from __future__ import annotations

import math

import torch

from envs.boards import BoardGame, State

from .mcts import Evaluator

__all__ = ["naive_puct_search"]


class _Node:
    __slots__ = ("children", "legal", "prior", "state", "terminal", "to_play", "value", "value_sum", "visits")

    def __init__(self, game: BoardGame, evaluator: Evaluator, state: State):
        self.state = state
        self.to_play = int(game.current_player(state)[0])
        self.terminal = bool(game.terminal(state)[0])
        logits, value = evaluator(state)
        self.legal = game.legal_actions(state)
        if self.terminal:
            self.value = float(game.returns(state)[0, self.to_play])
        else:
            self.value = float(value[0])
        probs = torch.softmax(logits[0, self.legal].float(), dim=0).tolist() if self.legal else []
        self.prior = dict(zip(self.legal, probs))
        self.children: dict[int, _Node] = {}
        self.visits = 1
        self.value_sum = self.value


def _select(node: _Node, c_init: float, c_base: float) -> int:
    c = c_init + math.log((node.visits + c_base + 1) / c_base)
    best, best_score = -1, -math.inf
    for action in node.legal:  # ascending, and only a strictly better score wins: ties go to the lowest action
        child = node.children.get(action)
        visits = child.visits if child else 0
        q = 0.0
        if child:
            q = child.value_sum / child.visits * (1 if child.to_play == node.to_play else -1)
        score = q + c * node.prior[action] * math.sqrt(node.visits) / (1 + visits)
        if score > best_score:
            best, best_score = action, score
    return best


def _simulate(game: BoardGame, evaluator: Evaluator, node: _Node, c_init: float, c_base: float) -> float:
    """Run one simulation below `node`; return the backed-up value from `node`'s player's view."""
    if node.terminal:
        value = node.value
    else:
        action = _select(node, c_init, c_base)
        child = node.children.get(action)
        if child is None:
            child = _Node(game, evaluator, game.step(node.state, torch.tensor([action]), validate=False))
            node.children[action] = child
            child_value = child.value
        else:
            child_value = _simulate(game, evaluator, child, c_init, c_base)
        value = child_value if child.to_play == node.to_play else -child_value
    node.visits += 1
    node.value_sum += value
    return value


def naive_puct_search(
    game: BoardGame,
    evaluator: Evaluator,
    root: State,
    num_simulations: int,
    c_init: float = 1.25,
    c_base: float = 19652.0,
) -> list[int]:
    """Root child visit counts (length A) after `num_simulations` simulations from one position (B = 1)."""
    tree = _Node(game, evaluator, root)
    for _ in range(num_simulations):
        _simulate(game, evaluator, tree, c_init, c_base)
    return [tree.children[a].visits if a in tree.children else 0 for a in range(game.num_actions)]
