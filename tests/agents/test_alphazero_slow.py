"""Learning check: AlphaZero learns perfect tic-tac-toe from scratch in a few minutes on two CPU cores.

Run with `python -m pytest tests/agents/test_alphazero_slow.py -m slow -s`.
"""

from __future__ import annotations

import time

import pytest
import torch

from agents.alphazero import MCTSPlayer, load_agent, make_config, make_openings, train
from rlkit.config import to_dict
from rlkit.runs import Run
from tests.agents.alphazero_helpers import agent_mistakes

pytestmark = pytest.mark.slow


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
