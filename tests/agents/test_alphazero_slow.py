"""Learning check: AlphaZero learns perfect tic-tac-toe from scratch in a few minutes on two CPU cores.

Run with `python -m pytest tests/agents/test_alphazero_slow.py -m slow -s`.
"""

from __future__ import annotations

import time

import pytest
import torch

from agents.alphazero import MCTSPlayer, load_agent, make_config, make_openings, train
from envs.boards import State
from envs.players import perfect_tictactoe_moves
from rlkit.config import to_dict
from rlkit.runs import Run
from tests.agents.alphazero_helpers import board_of, move_values

pytestmark = pytest.mark.slow


def agent_mistakes(game, agent, openings: list[list[int]]) -> list[tuple[list[int], int]]:
    """Positions (move lists) where the agent's move throws away value, over every game the agent can
    reach from `openings` with either colour against any perfect opponent (all optimal replies)."""
    mistakes = []
    for colour in (0, 1):
        frontier = [list(o) for o in openings]
        while frontier:
            states = State.cat([game.from_moves(m) for m in frontier])
            running = [i for i in range(len(frontier)) if not bool(states.done[i])]
            agent_turn = [i for i in running if int(states.to_play[i]) == colour]
            chosen = agent(game, states[torch.tensor(agent_turn)]).tolist() if agent_turn else []
            next_frontier = []
            for i, action in zip(agent_turn, chosen):
                values = move_values(states[i : i + 1])
                if values[action] < max(values.values()):
                    mistakes.append((frontier[i], action))
                next_frontier.append(frontier[i] + [action])
            for i in running:
                if i not in agent_turn:
                    replies = perfect_tictactoe_moves(board_of(states, i), int(states.to_play[i]))
                    next_frontier += [frontier[i] + [a] for a in replies]
            frontier = [list(m) for m in {tuple(m) for m in next_frontier}]
    return mistakes


@pytest.mark.parametrize(
    "overrides, seed",
    [([], 0), ([], 1), ([], 2), (["search=gumbel", "num_simulations=8", "eval_simulations=32"], 0)],
    ids=["puct-seed0", "puct-seed1", "puct-seed2", "gumbel-8-simulations"],
)
def test_tictactoe_learns_perfect_play(tmp_path, overrides, seed):
    torch.set_num_threads(1)  # a small net on a busy machine: threads only add contention
    # float32 inference: bfloat16 ("auto" on CPUs that have it) changes the trajectory from machine to machine
    cfg = make_config("tictactoe", [*overrides, f"seed={seed}", "inference_dtype=float32"])
    run = Run.create(tmp_path, "ttt", to_dict(cfg))
    start = time.perf_counter()
    train(cfg, run, progress=False)
    print(f"trained {cfg.iterations} iterations in {time.perf_counter() - start:.0f} s")
    config, game, net = load_agent(run.latest_checkpoint())
    openings = make_openings(game, 10)  # the empty board and all nine first moves: all draws with perfect play
    mistakes = agent_mistakes(game, MCTSPlayer(net, config), openings)
    assert mistakes == [], f"the agent throws away value in {len(mistakes)} positions, e.g. {mistakes[:3]}"
