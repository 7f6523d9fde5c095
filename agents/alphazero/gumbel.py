"""Gumbel AlphaZero search (Danihelka et al. 2022, "Policy improvement by planning with Gumbel").

At the root, Gumbel-top-k sampling picks up to `max_considered` actions and sequential
halving spends the simulations on them, keeping the better half after each phase; inside
the tree actions follow the improved policy deterministically. The policy target is
softmax(logits + sigma(completed Q)), which improves on the prior even with a handful of
simulations, so training works at 2-16 simulations per move where PUCT needs hundreds.
Defaults follow mctx: 16 considered actions, value scale 0.1, maxvisit_init 50.
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch

from envs.boards import BoardGame, State

from .mcts import (
    ILLEGAL_PENALTY,
    ROOT,
    Evaluator,
    SearchOutput,
    Tree,
    child_stats,
    edge_stats,
    first_argmax,
    masked_softmax,
    new_tree,
    node_rows,
    run_simulations,
)

__all__ = ["completed_qvalues", "considered_visit_sequence", "gumbel_search"]


@lru_cache(maxsize=64)
def considered_visit_sequence(num_considered: int, num_simulations: int) -> tuple[int, ...]:
    """The visit count an action must have to be chosen at each root simulation under sequential halving.

    Each phase gives every remaining action the same number of extra visits, about
    num_simulations / (log2(k) * remaining), then halves the remaining actions (never below 2).
    """
    if num_considered <= 1:
        return tuple(range(num_simulations))
    phases = math.ceil(math.log2(num_considered))
    sequence: list[int] = []
    remaining, visits = num_considered, 0
    while len(sequence) < num_simulations:
        extra = max(1, num_simulations // (phases * remaining))
        for _ in range(extra):
            sequence.extend([visits] * remaining)
            visits += 1
        remaining = max(2, remaining // 2)
    return tuple(sequence[:num_simulations])


def _visit_table(max_considered: int, num_simulations: int, device) -> torch.Tensor:
    """long [max_considered + 1, num_simulations]: row k is the sequence for k considered actions."""
    rows = [considered_visit_sequence(k, num_simulations) for k in range(max_considered + 1)]
    return torch.tensor(rows, dtype=torch.long, device=device)


def completed_qvalues(
    tree: Tree, node: torch.Tensor, value_scale: float = 0.1, maxvisit_init: float = 50.0
) -> torch.Tensor:
    """float32 [B, A]: sigma(completed Q) at `node` (long [B]), the bonus added to the prior logits.

    Unvisited actions get the mixed value v_mix (the network value blended with the prior-weighted
    Q of the visited actions); Q is rescaled to [0, 1] over the legal actions, then multiplied by
    (maxvisit_init + max visits) * value_scale.
    """
    return _completed_q(tree, tree.flat(node), value_scale, maxvisit_init)


def _completed_q(tree: Tree, flat: torch.Tensor, value_scale: float, maxvisit_init: float) -> torch.Tensor:
    """`completed_qvalues` at the flat node indices `flat` (long [M]): float32 [M, A]."""
    visits, q = edge_stats(tree, flat)
    prior, legal = node_rows(tree.prior, flat), node_rows(tree.legal, flat)
    return _completed_from(tree, flat, visits, q, prior, legal, value_scale, maxvisit_init)


def _completed_from(
    tree: Tree,
    flat: torch.Tensor,
    visits: torch.Tensor,
    q: torch.Tensor,
    prior: torch.Tensor,
    legal: torch.Tensor,
    value_scale: float,
    maxvisit_init: float,
) -> torch.Tensor:
    """`_completed_q` from the edge statistics, prior and legality (float/bool [M, A]) already read at `flat`."""
    raw_value = tree.sign_at(flat) * tree.raw_value.view(-1).index_select(0, flat)
    visited = visits > 0
    total_visits = visits.sum(dim=-1)
    visited_prior = prior.clamp(min=torch.finfo(prior.dtype).tiny) * visited
    weighted_q = (visited_prior * q).sum(dim=-1) / visited_prior.sum(dim=-1).clamp(min=1e-12)
    mixed_value = (raw_value + total_visits * weighted_q) / (total_visits + 1)
    completed = torch.where(visited, q, mixed_value[:, None])
    # min and max over the legal actions: a penalty that keeps illegal ones out (finite, unlike masked_fill's
    # infinities, which cost several times more on CPUs; rows without a legal action come out 0 either way)
    penalty = ~legal * ILLEGAL_PENALTY
    low = (completed + penalty).amin(dim=-1, keepdim=True)
    high = (completed - penalty).amax(dim=-1, keepdim=True)
    rescaled = (completed - low) / (high - low).clamp(min=1e-8) * legal
    return (maxvisit_init + visits.amax(dim=-1, keepdim=True)) * value_scale * rescaled


def _log_prior(prior: torch.Tensor, legal: torch.Tensor) -> torch.Tensor:
    """float32 [M, A]: log of `prior`, a very low finite number on illegal actions."""
    return torch.log(prior.clamp(min=1e-30)).masked_fill(~legal, -1e9)


def _interior_choice(
    visits: torch.Tensor, log_prior: torch.Tensor, sigma_q: torch.Tensor, legal: torch.Tensor
) -> torch.Tensor:
    """long [M]: the action whose visit share lags the improved policy the most (deterministic), from the
    child visits, log prior, sigma(completed Q) and legality (float/bool [M, A]) of M nodes."""
    improved = masked_softmax(log_prior + sigma_q, legal)
    scores = improved - visits / (1 + visits.sum(dim=-1, keepdim=True))
    return first_argmax(scores, legal)


def _score_considered(
    considered_visit: torch.Tensor,
    gumbel: torch.Tensor,
    logits: torch.Tensor,
    sigma_q: torch.Tensor,
    visits: torch.Tensor,
    legal: torch.Tensor,
) -> torch.Tensor:
    """float32 [B, A]: g + logits + sigma(q) for legal actions with exactly `considered_visit` (long [B]) visits."""
    scores = (gumbel + logits + sigma_q).clamp(min=-1e9)
    eligible = (visits == considered_visit[:, None].float()) & legal
    return scores.masked_fill(~eligible, -math.inf)


def gumbel_search(
    game: BoardGame,
    evaluator: Evaluator,
    roots: State,
    num_simulations: int,
    *,
    max_considered: int = 16,
    gumbel_scale: float = 1.0,
    value_scale: float = 0.1,
    maxvisit_init: float = 50.0,
    generator: torch.Generator | None = None,
) -> SearchOutput:
    """Gumbel AlphaZero search from B root positions.

    :param gumbel_scale: 1 samples actions for self-play; 0 makes the search deterministic (evaluation).
    Returns the chosen action (the surviving action of sequential halving), the improved-policy target
    softmax(logits + sigma(completed Q)) and the root visit counts.
    """
    tree = new_tree(game, evaluator, roots, num_simulations)
    root = torch.zeros_like(tree.rows)
    legal = tree.legal[:, ROOT]
    logits = _log_prior(tree.prior[:, ROOT], legal)
    gumbel = torch.zeros_like(logits)
    if gumbel_scale > 0:
        if generator is None:
            raise ValueError("Gumbel sampling needs a torch.Generator for reproducibility")
        uniform = torch.rand(logits.shape, generator=generator).clamp(min=1e-20)
        gumbel = gumbel_scale * -torch.log(-torch.log(uniform)).to(logits.device)
    table = _visit_table(max_considered, num_simulations, logits.device)
    num_considered = legal.sum(dim=-1).clamp(max=max_considered)

    def select(t: Tree, nodes: torch.Tensor) -> torch.Tensor:
        # one pass over the statistics of every node, roots included; the roots then follow sequential halving
        flat, batch = nodes.view(-1), nodes.shape[1]
        visits, q = edge_stats(t, flat)
        prior, node_legal = node_rows(t.prior, flat), node_rows(t.legal, flat)
        sigma_q = _completed_from(t, flat, visits, q, prior, node_legal, value_scale, maxvisit_init)
        interior = _interior_choice(visits, _log_prior(prior, node_legal), sigma_q, node_legal)
        root_visits = visits[:batch]
        done = root_visits.sum(dim=-1).long().clamp(max=num_simulations - 1)
        at_root = _score_considered(table[num_considered, done], gumbel, logits, sigma_q[:batch], root_visits, legal)
        # a path repeats its root where a game's descent stopped there: those copies get the root's choice too
        return torch.where(nodes == nodes[:1], at_root.argmax(dim=1), interior.view_as(nodes)).view(-1)

    run_simulations(tree, game, evaluator, select)
    visits, _ = child_stats(tree, root)
    sigma_q = completed_qvalues(tree, root, value_scale, maxvisit_init)
    target = torch.softmax(logits + sigma_q, dim=-1) * legal
    most_visited = visits.max(dim=-1).values.long()
    action = _score_considered(most_visited, gumbel, logits, sigma_q, visits, legal).argmax(dim=1)
    return SearchOutput(action, target, visits, tree.root_value(), tree)
