"""Gumbel AlphaZero root search: the sequential-halving schedule, completed Q-values by hand, tactics."""

from __future__ import annotations

import pytest
import torch

import envs.boards
from agents.alphazero.gumbel import completed_qvalues, considered_visit_sequence, gumbel_search
from agents.alphazero.mcts import UNVISITED, Tree
from envs.boards import State
from tests.agents.alphazero_helpers import perfect_evaluator, random_net_evaluator, uniform_evaluator

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def game():
    return envs.boards.make("tictactoe")


def test_sequential_halving_schedule():
    # k=4, n=8: log2(4)=2 phases; phase 1 gives each of 4 actions 8 // (2*4) = 1 visit,
    # phase 2 gives each of the best 2 actions 8 // (2*2) = 2 visits.
    assert considered_visit_sequence(4, 8) == (0, 0, 0, 0, 1, 1, 2, 2)
    # k=2, n=5: one phase of 5 // 2 = 2 visits each, then the pair keeps alternating.
    assert considered_visit_sequence(2, 5) == (0, 0, 1, 1, 2)
    assert considered_visit_sequence(1, 4) == (0, 1, 2, 3)


def _hand_tree() -> Tree:
    """One root (player 0 to move) with 3 legal actions; actions 0 and 1 visited once each."""
    nodes, actions = 3, 3
    children = torch.full((1, nodes, actions), UNVISITED)
    children[0, 0, :2] = torch.tensor([1, 2])
    return Tree(
        prior=torch.tensor([[[0.5, 0.3, 0.2], [0, 0, 0], [0, 0, 0]]]),
        legal=torch.tensor([[[True, True, True], [False] * 3, [False] * 3]]),
        children=children,
        parent=torch.tensor([[UNVISITED, 0, 0]]),
        action=torch.tensor([[UNVISITED, 0, 1]]),
        visits=torch.tensor([[3.0, 1.0, 1.0]]),
        value_sum=torch.tensor([[0.4, 0.5, -0.2]]),
        raw_value=torch.tensor([[0.1, 0.5, -0.2]]),
        to_play=torch.tensor([[0, 1, 1]]),
        terminal=torch.zeros(1, nodes, dtype=torch.bool),
        states=State(board=torch.zeros(1, nodes, 1)),
    )


def test_completed_qvalues_by_hand():
    tree = _hand_tree()
    # q = [0.5, -0.2, ?]; v_mix = (0.1 + 2 * (0.5 * 0.5 + 0.3 * -0.2) / 0.8) / 3 = 0.575 / 3
    # completed = [0.5, -0.2, 0.191667] -> min-max to [1, 0, 0.391667 / 0.7]; times (50 + 1) * 0.1
    expected = torch.tensor([[1.0, 0.0, (0.575 / 3 + 0.2) / 0.7]]) * 5.1
    got = completed_qvalues(tree, torch.zeros(1, dtype=torch.long), value_scale=0.1, maxvisit_init=50)
    assert torch.allclose(got, expected, atol=1e-5)


def test_completed_qvalues_take_the_view_of_the_player_to_move():
    tree = _hand_tree()
    tree.to_play[0, 0] = 1  # same numbers, but now player 1 is to move: player 0's good is their bad
    got = completed_qvalues(tree, torch.zeros(1, dtype=torch.long), value_scale=0.1, maxvisit_init=50)
    assert int(got.argmax()) == 1 and float(got[0, 0]) == 0.0


@pytest.mark.parametrize("make_evaluator, sims", [(perfect_evaluator, 8), (uniform_evaluator, 200)])
def test_finds_win_and_block(game, make_evaluator, sims):
    for moves in (["a1", "a2", "b1", "b2"], ["a1", "b2", "b1"]):
        out = gumbel_search(game, make_evaluator(game), game.from_moves(moves), sims, gumbel_scale=0.0)
        assert int(out.action[0]) == 2, (moves, out.visit_counts)
        assert int(out.policy_target[0].argmax()) == 2


def test_visits_and_targets(game):
    roots = State.cat([game.from_moves(m) for m in ([], ["b2"], ["a1", "b1", "c1", "a2", "b2", "c2", "b3"])])
    out = gumbel_search(game, random_net_evaluator(game), roots, 16, generator=torch.Generator().manual_seed(0))
    assert out.visit_counts.sum(dim=1).tolist() == [16.0] * 3
    assert torch.allclose(out.policy_target.sum(dim=1), torch.ones(3))
    legal = game.legal_mask(roots)
    assert bool((out.policy_target[~legal] == 0).all())
    assert bool(legal.gather(1, out.action[:, None]).all())


def test_considers_at_most_k_actions(game):
    out = gumbel_search(
        game, uniform_evaluator(game), game.reset(4), 8, max_considered=2, generator=torch.Generator().manual_seed(1)
    )
    assert ((out.visit_counts > 0).sum(dim=1) == 2).all()
    assert out.visit_counts.max(dim=1).values.tolist() == [4.0] * 4


def test_seeded_and_batch_independent(game):
    evaluator = random_net_evaluator(game, seed=5)
    roots = State.cat([game.from_moves(m) for m in ([], ["c3"], ["a1", "b2"])])

    def run(seed, states):
        return gumbel_search(game, evaluator, states, 12, generator=torch.Generator().manual_seed(seed))

    assert torch.equal(run(0, roots).visit_counts, run(0, roots).visit_counts)
    deterministic = gumbel_search(game, evaluator, roots, 12, gumbel_scale=0.0)
    alone = gumbel_search(game, evaluator, roots[2:3], 12, gumbel_scale=0.0)
    assert torch.equal(deterministic.visit_counts[2], alone.visit_counts[0])
