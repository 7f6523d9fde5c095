"""One-ply tactics: the fast Connect Four check matches stepping every move, and a search whose network
lies still takes wins and blocks one-move losses (PUCT and Gumbel)."""

from __future__ import annotations

import random

import pytest
import torch

import envs.boards
from agents.alphazero.gumbel import gumbel_search
from agents.alphazero.mcts import puct_search
from agents.alphazero.tactics import _by_stepping, immediate_wins, tactical_evaluator
from envs.boards import State

torch.set_num_threads(1)


def random_positions(game, count: int, seed: int) -> State:
    rng, found = random.Random(seed), []
    for _ in range(count):
        state = game.reset(1)
        for _ in range(rng.randint(0, 30)):
            if bool(state.done[0]):
                break
            state = game.step(state, torch.tensor([rng.choice(game.legal_actions(state))]))
        found.append(state)
    return State.cat(found)


@pytest.mark.parametrize("name", ["connect4", "tictactoe"])
def test_wins_and_threats_match_stepping_every_move(name):
    game = envs.boards.make(name)
    states = random_positions(game, 200, seed=1)
    legal = game.legal_mask(states)
    wins, threats = immediate_wins(game, states, legal)
    assert torch.equal(wins, _by_stepping(game, states, states.to_play, legal))
    assert torch.equal(threats, _by_stepping(game, states, 1 - states.to_play, legal))
    assert int(wins.sum()) > 0 and int(threats.sum()) > 0


def liar(game, favourite: int):
    """A network that loves one column and calls every position a win for the player to move."""

    def evaluate(states):
        logits = torch.zeros(states.batch_size, game.num_actions)
        logits[:, favourite] = 8.0
        return logits, torch.ones(states.batch_size)

    return evaluate


# Connect Four columns a..g = 0..6. X has three in column d: X wins at d; O to move must block d.
WIN = ["d", "a", "d", "a", "d", "b"]
BLOCK = ["d", "a", "d", "a", "d"]
# X threatens c1-d1-e1 + b1 or f1 (an open three on the bottom row): O is lost whatever it does.
DOUBLE_THREAT = ["c", "c", "d", "d", "e"]


@pytest.mark.parametrize("search", ["puct", "gumbel"])
@pytest.mark.parametrize("moves, good", [(WIN, {3}), (BLOCK, {3})])
def test_lying_network_still_wins_and_blocks(search, moves, good):
    game = envs.boards.make("connect4")
    evaluator = tactical_evaluator(game, liar(game, favourite=6))
    root = game.from_moves(moves)
    if search == "puct":
        out = puct_search(game, evaluator, root, 16)
    else:
        out = gumbel_search(game, evaluator, root, 16, gumbel_scale=0.0)
    assert int(out.action[0]) in good, out.visit_counts


def test_without_tactics_the_liar_misses_the_block():
    game = envs.boards.make("connect4")
    out = gumbel_search(game, liar(game, favourite=6), game.from_moves(BLOCK), 4, gumbel_scale=0.0)
    assert int(out.action[0]) != 3  # the failure the check exists for


def test_moves_that_allow_a_win_next_are_lost_on_first_visit():
    game = envs.boards.make("connect4")
    evaluator = tactical_evaluator(game, liar(game, favourite=6))
    _, value = evaluator(game.from_moves(DOUBLE_THREAT))
    assert float(value[0]) == -1.0  # two open threats: lost
    out = gumbel_search(game, evaluator, game.from_moves(["d", "d", "e", "e", "c"]), 32, gumbel_scale=0.0)
    # X threatens b1 and f1 after c; O must block one (both lose eventually), the values say lost
    assert float(out.root_value[0]) < -0.9


def test_config_rejects_tactics_where_blocking_is_not_a_move():
    from agents.alphazero.config import make_config
    from rlkit.errors import RlkitError

    assert make_config("connect4", ["tactics=true"]).tactics
    with pytest.raises(RlkitError, match="placement game"):
        make_config("othello", ["tactics=true"])
