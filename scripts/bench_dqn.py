"""Benchmark the DQN agent on Pong against a plain CleanRL-style loop at the same replay ratio.

Both loops use the Nature DQN settings: ``dqn`` preprocessing, Nature CNN, one update of batch 32
per 4 agent steps, a hard target copy, and (like CleanRL) Adam. Only the learning phase is timed
(after the replay warm-up).

    python scripts/bench_dqn.py --json [--steps 2000] [--num-envs 8] [--vectorization async]

Also reports replay bytes per million transitions and the prioritised-replay sample+update time
(batch 32 from 1M entries), and both loops acting without learning (``acting_*``: what vectorised
envs and batched acting buy once the update is not the bottleneck, e.g. on a GPU). The JSON object
on the last line holds ``steps_per_s``, ``baseline_steps_per_s``, ``speedup``, the ``acting_*``
figures, ``replay_bytes_per_million`` and ``per_sample_update_ms``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F

import envs
import nets
from agents import dqn
from rlkit.config import to_dict
from rlkit.metrics import read_metrics
from rlkit.replay import ReplayBuffer
from rlkit.runs import Run

ENV_ID = "ALE/Pong-v5"


def bench_agent(steps: int, warmup: int, num_envs: int, vectorization: str, learn: bool = True) -> float:
    """Agent steps/s of ``agents.dqn.train``: over its learning phase (timestamps of metrics.jsonl), or
    with ``learn=False`` over a whole run that only acts (epsilon 0.1, network called every step)."""
    overrides = [
        "optimizer=adam",  # as the baseline (and CleanRL): the comparison is of the loops, not the optimisers
        "lr=1e-4",
        "adam_eps=1e-8",
        f"total_steps={warmup + steps}",
        f"num_envs={num_envs}",
        f"vectorization={vectorization}",
        "buffer_size=100000",
        f"log_every_steps={num_envs * 25}",
        "checkpoint_every_steps=0",
    ]
    if learn:
        overrides.append(f"learning_starts_steps={warmup}")
    else:
        overrides += ["learning_starts_steps=0", "train_every_steps=1000000000", "eps_start=0.1", "eps_end=0.1"]
    cfg = dqn.make_config("dqn", ENV_ID, overrides)
    with tempfile.TemporaryDirectory() as root:
        run = Run.create(root, "bench", to_dict(cfg))
        summary = dqn.train(cfg, run)
        records = [r for r in read_metrics(run.metrics_path) if "train/loss" in r]
    if not learn:
        return summary["steps_per_s"]
    first, last = records[0], records[-1]
    return (last["step"] - first["step"]) / (last["time"] - first["time"])


def bench_baseline(steps: int, warmup: int, learn: bool = True) -> float:
    """A plain single-env loop in the style of CleanRL's dqn_atari.py (stacked obs and next_obs stored).

    With ``learn=False`` it only acts (epsilon 0.1 from the first step, no updates)."""
    env = envs.make(ENV_ID, num_envs=1, preset="dqn", seed=0, vectorization="sync")
    num_actions = env.single_action_space.n
    q_network = torch.nn.Sequential(nets.NatureCNN(4), torch.nn.Linear(512, num_actions))
    target_network = torch.nn.Sequential(nets.NatureCNN(4), torch.nn.Linear(512, num_actions))
    target_network.load_state_dict(q_network.state_dict())
    optimizer = torch.optim.Adam(q_network.parameters(), lr=1e-4)
    capacity = warmup + steps
    rb_obs = np.zeros((capacity, 4, 84, 84), np.uint8)
    rb_next_obs = np.zeros((capacity, 4, 84, 84), np.uint8)
    rb_actions, rb_rewards = np.zeros(capacity, np.int64), np.zeros(capacity, np.float32)
    rb_dones = np.zeros(capacity, np.float32)
    rng = np.random.default_rng(0)
    obs, _ = env.reset(seed=0)
    start = 0.0
    for global_step in range(warmup + steps):
        if global_step == warmup:
            start = time.perf_counter()
        epsilon = max(0.1, 1.0 - global_step / 1e6) if learn else 0.1
        if (learn and global_step < warmup) or rng.random() < epsilon:
            actions = np.array([rng.integers(num_actions)])
        else:
            q_values = q_network(torch.Tensor(obs))
            actions = torch.argmax(q_values, dim=1).cpu().numpy()
        next_obs, rewards, terminations, _, _ = env.step(actions)
        rb_obs[global_step], rb_next_obs[global_step] = obs[0], next_obs[0]
        rb_actions[global_step], rb_rewards[global_step] = actions[0], rewards[0]
        rb_dones[global_step] = terminations[0]
        obs = next_obs
        if learn and global_step >= warmup and global_step % 4 == 0:
            idx = rng.integers(global_step, size=32)
            with torch.no_grad():
                target_max, _ = target_network(torch.Tensor(rb_next_obs[idx])).max(dim=1)
                td_target = torch.Tensor(rb_rewards[idx]) + 0.99 * target_max * (1 - torch.Tensor(rb_dones[idx]))
            old_val = (
                q_network(torch.Tensor(rb_obs[idx])).gather(1, torch.LongTensor(rb_actions[idx])[:, None]).squeeze()
            )
            loss = F.mse_loss(td_target, old_val)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if global_step % 1000 == 0:
                target_network.load_state_dict(q_network.state_dict())
    env.close()
    return steps / (time.perf_counter() - start)


def replay_bytes_per_million() -> int:
    """Bytes of a Pong replay buffer per million transitions (frames stored once)."""
    capacity = 100_000
    buf = ReplayBuffer(capacity, (4, 84, 84), num_envs=1, frame_stack=4, obs_dtype=torch.uint8)
    return int(buf.nbytes * 1_000_000 / capacity)


def per_sample_update_ms(repeats: int = 300) -> float:
    """Milliseconds to sample 32 transitions from a full 1M-entry PER buffer and update their priorities.

    Observations are 4 floats, so the figure is the sampling machinery (sum tree, n-step windows)
    without the cost of gathering Atari frame stacks.
    """
    num_envs, capacity = 1000, 1_000_000
    buf = ReplayBuffer(capacity, (4,), num_envs=num_envs, obs_dtype=torch.float32, n_step=3, prioritized=True)
    rng = np.random.default_rng(0)
    obs = np.zeros((num_envs, 4), np.float32)
    for _ in range(capacity // num_envs):
        done = rng.random(num_envs) < 0.01
        buf.add(obs, rng.integers(4, size=num_envs), rng.random(num_envs), done, np.zeros(num_envs, bool), obs)
    start = time.perf_counter()
    for _ in range(repeats):
        batch = buf.sample(32, beta=0.5)
        buf.update_priorities(batch.index, rng.random(32))
    return (time.perf_counter() - start) / repeats * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000, help="timed agent steps per loop")
    parser.add_argument("--warmup", type=int, default=1000, help="random-acting agent steps before learning")
    parser.add_argument("--num-envs", type=int, default=8)
    parser.add_argument("--vectorization", default="auto", choices=["auto", "sync", "async", "native"])
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the VM has 2 shared cores)")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    result = {
        "env_id": ENV_ID,
        "device": "cuda" if torch.cuda.is_available() else "cpu",
        "torch_threads": args.threads,
        "num_envs": args.num_envs,
        "vectorization": args.vectorization,
        "steps_per_s": bench_agent(args.steps, args.warmup, args.num_envs, args.vectorization),
        "baseline_steps_per_s": bench_baseline(args.steps, args.warmup),
        "acting_steps_per_s": bench_agent(args.steps, 0, args.num_envs, args.vectorization, learn=False),
        "baseline_acting_steps_per_s": bench_baseline(args.steps, 0, learn=False),
        "replay_bytes_per_million": replay_bytes_per_million(),
        "per_sample_update_ms": per_sample_update_ms(),
    }
    result["speedup"] = result["steps_per_s"] / result["baseline_steps_per_s"]
    result["acting_speedup"] = result["acting_steps_per_s"] / result["baseline_acting_steps_per_s"]
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>26}: {value:.3f}" if isinstance(value, float) else f"{key:>26}: {value}")


if __name__ == "__main__":
    main()
