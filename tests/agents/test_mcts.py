"""Batched PUCT search: tactics against an exact oracle, agreement with the recursive reference,
batch independence, a golden tree, sign handling and move selection."""

from __future__ import annotations

import pytest
import torch

import envs.boards
from agents.alphazero.matches import make_openings, play_match
from agents.alphazero.mcts import UNVISITED, dirichlet_noise, puct_search, select_actions
from agents.alphazero.naive_mcts import naive_puct_search
from envs.boards import State
from envs.players import PerfectTicTacToePlayer
from tests.agents.alphazero_helpers import (
    move_values,
    perfect_evaluator,
    random_net_evaluator,
    uniform_evaluator,
    winning_moves,
)

torch.set_num_threads(1)

# Actions: a1=0 b1=1 c1=2 / a2=3 b2=4 c2=5 / a3=6 b3=7 c3=8 (row 1 at the top).
WIN_IN_1 = ["a1", "a2", "b1", "b2"]  # X to move: c1 completes the top row
MUST_BLOCK = ["a1", "b2", "b1"]  # O to move: only c1 avoids losing
WIN_IN_3 = ["a1", "b1", "b2", "c3"]  # X to move: no immediate win, but a fork (a2 or a3) wins


@pytest.fixture(scope="module")
def game():
    return envs.boards.make("tictactoe")


def test_positions_are_what_the_tests_claim(game):
    assert game.step(game.from_moves(WIN_IN_1), torch.tensor([2])).winner.tolist() == [0]
    values = move_values(game.from_moves(MUST_BLOCK))
    assert [a for a, v in values.items() if v >= 0] == [2]
    win3 = game.from_moves(WIN_IN_3)
    assert winning_moves(win3)
    assert all(int(game.step(win3, torch.tensor([a])).winner[0]) < 0 for a in move_values(win3))


@pytest.mark.parametrize("make_evaluator, sims", [(perfect_evaluator, 30), (uniform_evaluator, 200)])
def test_finds_wins_and_blocks(game, make_evaluator, sims):
    evaluator = make_evaluator(game)
    for moves, good in (
        (WIN_IN_1, {2}),
        (MUST_BLOCK, {2}),
        (WIN_IN_3, set(winning_moves(game.from_moves(WIN_IN_3)))),
    ):
        out = puct_search(game, evaluator, game.from_moves(moves), sims)
        assert int(out.action[0]) in good, (moves, out.visit_counts)


def test_win_in_one_has_value_one(game):
    out = puct_search(game, uniform_evaluator(game), game.from_moves(WIN_IN_1), 100)
    child = int(out.tree.children[0, 0, 2])
    assert bool(out.tree.terminal[0, child])
    # Terminal values come from the game: X (player 0) won, so player 0's view is +1.
    assert float(out.tree.raw_value[0, child]) == 1.0
    assert float(out.root_value[0]) > 0.8


def test_terminal_values_ignore_a_lying_network(game):
    def liar(states: State):  # claims the player to move always wins
        return torch.zeros(states.batch_size, 9), torch.ones(states.batch_size)

    out = puct_search(game, liar, game.from_moves(WIN_IN_1), 50)
    assert int(out.action[0]) == 2


def test_matches_recursive_reference(game):
    evaluator = random_net_evaluator(game, seed=3)
    openings = [[], ["b2"], ["a1", "c3"], WIN_IN_1, MUST_BLOCK, WIN_IN_3]
    batched = puct_search(game, evaluator, State.cat([game.from_moves(m) for m in openings]), 64)
    for i, moves in enumerate(openings):
        reference = naive_puct_search(game, evaluator, game.from_moves(moves), 64)
        assert batched.visit_counts[i].long().tolist() == reference, moves


@pytest.mark.parametrize("sims", [1, 7, 50])
def test_visit_counts_sum_to_simulations(game, sims):
    roots = State.cat([game.from_moves(m) for m in ([], WIN_IN_1, ["a1", "b1", "c1", "a2", "b2", "c2", "b3"])])
    out = puct_search(game, uniform_evaluator(game), roots, sims)
    assert out.visit_counts.sum(dim=1).tolist() == [sims] * 3
    assert torch.allclose(out.policy_target.sum(dim=1), torch.ones(3))


def test_game_alone_equals_game_in_batch(game):
    evaluator = random_net_evaluator(game, seed=1)
    openings = [["a1"], ["b2", "c1"], WIN_IN_3, [], MUST_BLOCK]
    batch = puct_search(game, evaluator, State.cat([game.from_moves(m) for m in openings]), 40)
    alone = puct_search(game, evaluator, game.from_moves(WIN_IN_3), 40)
    assert torch.equal(batch.visit_counts[2], alone.visit_counts[0])
    assert torch.equal(batch.tree.children[2], alone.tree.children[0])
    # Same tree; values agree to float rounding (conv kernels sum in a batch-size-dependent order).
    assert torch.allclose(batch.tree.value_sum[2], alone.tree.value_sum[0], atol=1e-5)


def test_root_noise_is_seeded(game):
    evaluator = random_net_evaluator(game, seed=2)
    roots = State.cat([game.reset(1), game.from_moves(["b2"])])

    def run(seed):
        out = puct_search(
            game, evaluator, roots, 30, dirichlet_fraction=0.25, generator=torch.Generator().manual_seed(seed)
        )
        return out.visit_counts

    assert torch.equal(run(0), run(0))
    assert not torch.equal(run(0), run(1))


def test_golden_tree(game):
    """Three simulations, uniform prior and value 0, from a position with two empty cells, by hand."""
    moves = ["b2", "a1", "c1", "a3", "a2", "c2", "b1"]  # X b2 c1 a2 b1, O a1 a3 c2; O to move, b3 and c3 empty
    root = game.from_moves(moves)
    assert move_values(root) == {7: 0, 8: -1}  # O b3 blocks X's b column (then a draw); O c3 loses to X b3
    out = puct_search(game, uniform_evaluator(game), root, 3)
    tree = out.tree
    # sim 1: tie -> b3 (7) into slot 1; O b3 leaves X to move with only c3 -> non-terminal, value 0.
    # sim 2: root N=2; Q(b3)=0 with U = c*0.5*sqrt2/2, c3 has U = c*0.5*sqrt2 -> c3 (8) into slot 2;
    #        then X plays b3 and wins: not yet, slot 2 is X to move with only b3 left, value 0.
    # sim 3: root N=3; both children N=1, Q=0 -> tie -> b3 (7) again; descend to slot 1 and expand
    #        X's only move c3 (8) into slot 3: board full, draw, value 0.
    assert tree.children[0, 0].tolist() == [UNVISITED] * 7 + [1, 2]
    assert tree.children[0, 1].tolist() == [UNVISITED] * 8 + [3]
    assert tree.parent[0].tolist() == [UNVISITED, 0, 0, 1]
    assert tree.action[0].tolist() == [UNVISITED, 7, 8, 8]
    assert tree.visits[0].tolist() == [4.0, 2.0, 1.0, 1.0]
    assert tree.value_sum[0].tolist() == [0.0, 0.0, 0.0, 0.0]
    assert tree.terminal[0].tolist() == [False, False, False, True]
    assert out.visit_counts[0].tolist() == [0.0] * 7 + [2.0, 1.0]


@pytest.mark.slow
def test_uniform_search_never_loses_to_perfect_player(game):
    def searcher(g, states):
        return puct_search(g, uniform_evaluator(g), states, 2000).action

    # Value 0 everywhere: only finished games inform the search, so it needs enough simulations
    # to see the deepest tic-tac-toe traps (after X a1, every O reply but b2 loses in 5 plies).
    result = play_match(game, searcher, PerfectTicTacToePlayer(seed=0), make_openings(game, 10))
    assert result.losses == 0, result


def test_select_actions(game):
    visits = torch.tensor([[0.0, 30.0, 10.0, 0.0], [5.0, 5.0, 0.0, 1.0]])
    legal = torch.tensor([[True, True, True, False], [True, True, True, True]])
    assert select_actions(visits, legal, 0.0).tolist() == [1, 0]
    generator = torch.Generator().manual_seed(0)
    many = torch.stack([select_actions(visits, legal, 1.0, generator) for _ in range(4000)])
    share = (many[:, 0] == 1).float().mean()
    assert abs(float(share) - 0.75) < 0.03
    assert set(many[:, 0].tolist()) <= {0, 1, 2}


def test_dirichlet_noise_lives_on_legal_moves():
    legal = torch.tensor([[True, False, True, True], [False, False, True, False]])
    noise = dirichlet_noise(legal, 0.3, torch.Generator().manual_seed(0))
    assert torch.allclose(noise.sum(dim=1), torch.ones(2))
    assert bool((noise[~legal] == 0).all())
    assert float(noise[1, 2]) == pytest.approx(1.0)


def test_subtree_reuse_keeps_the_statistics_of_the_move_played(game):
    evaluator = random_net_evaluator(game, seed=4)
    roots = State.cat([game.reset(1), game.from_moves(["b2"])])
    first = puct_search(game, evaluator, roots, 30)
    played = first.action.clone()
    first.tree.children[1, 0, played[1]] = UNVISITED  # as if game 1's move had never been searched
    after = game.step(roots, played)
    old_child = first.tree.children[0, 0, played[0]]
    old_grandchildren = first.tree.children[0, old_child]

    kept_only = puct_search(game, evaluator, after, 0, previous=(first.tree, played))
    tree = kept_only.tree
    assert tree.visits[0, 0] == first.tree.visits[0, old_child]
    assert tree.value_sum[0, 0] == first.tree.value_sum[0, old_child]
    expected = torch.where(old_grandchildren >= 0, first.tree.visits[0].gather(0, old_grandchildren.clamp(min=0)), 0)
    assert torch.equal(kept_only.visit_counts[0], expected)
    assert kept_only.visit_counts[1].sum() == 0  # fresh root for the game whose move was never searched

    more = puct_search(game, evaluator, after, 25, previous=(first.tree, played))
    assert more.visit_counts[0].sum() == expected.sum() + 25
    assert more.visit_counts[1].sum() == 25
    # the grafted tree is a consistent tree: every child points back to its parent
    tree = more.tree
    for b in range(2):
        for node in range(tree.num_nodes):
            for action, child in enumerate(tree.children[b, node].tolist()):
                if child != UNVISITED:
                    assert (int(tree.parent[b, child]), int(tree.action[b, child])) == (node, action)


def test_edge_statistics_match_the_node_statistics(game):
    out = puct_search(game, random_net_evaluator(game), State.cat([game.reset(1), game.from_moves(MUST_BLOCK)]), 40)
    tree = out.tree
    kept_visits, kept_value = tree.child_visits.clone(), tree.child_value.clone()
    tree.derive_edge_stats()
    assert torch.equal(kept_visits, tree.child_visits)
    assert torch.allclose(kept_value, tree.child_value, atol=1e-6)
