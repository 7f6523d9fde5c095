"""Learning checks (``-m slow``): DQN and Rainbow solve CartPole-v1 within 50k agent steps.

Solved: an evaluation round of 20 episodes (epsilon 0.001 / noise off) averages >= 475. Rounds
run every 5k agent steps; a seed succeeds when any round within the 50k steps reaches 475.
Both presets x 3 seeds took 6.4 minutes on the shared 2-core VM (DQN solved 2/3 seeds, Rainbow 3/3).
"""

import pytest
import torch

from agents import dqn
from rlkit.config import to_dict
from rlkit.metrics import read_metrics
from rlkit.runs import Run

SEEDS = (0, 1, 2)
SOLVED = 475.0


def best_evaluation(preset: str, seed: int, root) -> float:
    cfg = dqn.make_config(
        preset, "CartPole-v1", [f"seed={seed}", "total_steps=50000", "eval_every_steps=5000", "eval_episodes=20"]
    )
    run = Run.create(root, f"{preset}-{seed}", to_dict(cfg))
    dqn.train(cfg, run)
    return max(r["eval/return_mean"] for r in read_metrics(run.metrics_path) if "eval/return_mean" in r)


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["dqn", "rainbow"])
def test_solves_cartpole_within_50k_steps(tmp_path, preset):
    torch.set_num_threads(1)
    best = [best_evaluation(preset, seed, tmp_path) for seed in SEEDS]
    solved = sum(b >= SOLVED for b in best)
    print(f"{preset}: best 20-episode evaluation per seed {best}; solved {solved}/{len(SEEDS)}")
    assert solved >= 2, f"{preset} solved CartPole in only {solved}/{len(SEEDS)} seeds: {best}"
