"""Benchmark the DQN agent against a plain textbook loop at the same replay ratio: Pong, or MinAtar with --env.

Both loops use the Nature DQN settings: ``dqn`` preprocessing, Nature CNN, one update of batch 32
per 4 agent steps, a hard target copy, and (like CleanRL) Adam. Only the learning phase is timed
(after the replay warm-up).

    python scripts/bench_dqn.py --json [--steps 2000] [--num-envs 8] [--vectorization async]

Also reports replay bytes per million transitions and the prioritised-replay sample+update time
(batch 32 from 1M entries), and both loops acting without learning (``acting_*``: what vectorised
envs and batched acting buy once the update is not the bottleneck, e.g. on a GPU). The JSON object
on the last line holds ``steps_per_s``, ``baseline_steps_per_s``, ``speedup``, the ``acting_*``
figures, ``replay_bytes_per_million`` and ``per_sample_update_ms``.

    python scripts/bench_dqn.py --env MinAtar/Breakout-v1 --json [--frames 1000] [--rounds 3] [--num-envs 8]

runs ``minatar-dqn``'s settings on one core instead: MinAtar's network (3x3 conv of 16 -> 128 -> 6), centred
RMSProp (lr 2.5e-4, alpha 0.95, eps 0.01), Huber loss, one update of batch 32 per frame, target copy every
1,000 updates, epsilon 0.1, timed after a warm-up of random frames that fills both replays, the two sides
alternating ``--rounds`` times in one process (medians reported; the JSON also goes to ``docs/benchmarks/``):

- ``textbook_frames_per_s``: the loop of MinAtar's own ``examples/dqn.py``, written out here: one env,
  per-frame tensors, replay as a Python list of transition tuples sampled with ``random.sample``, a batch
  built by ``torch.cat`` per field, the target net run on the non-terminal next states;
- ``rlkit_frames_per_s``: ``envs.make`` (N sync envs), ``Actor`` (one batched forward for N envs),
  ``ReplayBuffer`` (bool frames, vectorised sampling) and ``Learner`` (N updates per vector step: the same
  replay ratio).
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from collections import namedtuple
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

import envs
import nets
from agents import dqn
from agents.dqn.actor import Actor, make_env
from agents.dqn.learner import Learner
from agents.dqn.networks import build_network_for_env
from rlkit.config import to_dict
from rlkit.metrics import read_metrics
from rlkit.replay import ReplayBuffer
from rlkit.replay.buffer import storage_dtype
from rlkit.runs import Run

ENV_ID = "ALE/Pong-v5"
RESULTS_DIR = Path(__file__).resolve().parents[1] / "docs" / "benchmarks"


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


Transition = namedtuple("Transition", "state next_state action reward is_terminal")
EPSILON = 0.1


class TextbookQNetwork(torch.nn.Module):
    """MinAtar's QNetwork: conv 3x3x16 -> ReLU -> 128 -> ReLU -> one output per action."""

    def __init__(self, in_channels: int, num_actions: int) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(in_channels, 16, kernel_size=3, stride=1)
        self.fc_hidden = torch.nn.Linear(16 * 8 * 8, 128)
        self.output = torch.nn.Linear(128, num_actions)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv(x))
        return self.output(F.relu(self.fc_hidden(x.view(x.size(0), -1))))


class TextbookLoop:
    """The single-env loop of MinAtar's `examples/dqn.py` (replay as a Python list), advanced in chunks."""

    def __init__(self, env_id: str, seed: int) -> None:
        import gymnasium as gym

        envs.make(env_id)  # registers the MinAtar ids
        self.env = gym.make(env_id, use_minimal_action_set=False).unwrapped.game  # the raw minatar.Environment
        self.env.seed(seed)
        self.num_actions = self.env.num_actions()
        in_channels = self.env.state_shape()[2]
        self.policy_net = TextbookQNetwork(in_channels, self.num_actions)
        self.target_net = TextbookQNetwork(in_channels, self.num_actions)
        self.target_net.load_state_dict(self.policy_net.state_dict())
        self.optimizer = torch.optim.RMSprop(
            self.policy_net.parameters(), lr=2.5e-4, alpha=0.95, centered=True, eps=0.01
        )
        self.buffer: list[Transition] = []
        self.location, self.updates, self.frames = 0, 0, 0
        random.seed(seed)
        self.env.reset()
        self.state = self._get_state()

    def _get_state(self) -> torch.Tensor:
        return torch.tensor(self.env.state()).permute(2, 0, 1).unsqueeze(0).float()

    def run(self, frames: int, learn: bool) -> None:
        for _ in range(frames):
            if not learn or np.random.binomial(1, EPSILON) == 1:
                action = torch.tensor([[random.randrange(self.num_actions)]])
            else:
                with torch.no_grad():
                    action = self.policy_net(self.state).max(1)[1].view(1, 1)
            reward, terminated = self.env.act(action)
            next_state = self._get_state()
            transition = Transition(
                self.state, next_state, action, torch.tensor([[reward]]).float(), torch.tensor([[terminated]])
            )
            if len(self.buffer) < 100_000:
                self.buffer.append(transition)
            else:
                self.buffer[self.location] = transition
            self.location = (self.location + 1) % 100_000
            self.state = next_state
            if terminated:
                self.env.reset()
                self.state = self._get_state()
            self.frames += 1
            if learn:
                self._train(random.sample(self.buffer, 32))

    def _train(self, sample: list[Transition]) -> None:
        batch = Transition(*zip(*sample))
        states, next_states = torch.cat(batch.state), torch.cat(batch.next_state)
        actions, rewards, is_terminal = torch.cat(batch.action), torch.cat(batch.reward), torch.cat(batch.is_terminal)
        q_s_a = self.policy_net(states).gather(1, actions)
        live = torch.tensor([i for i, term in enumerate(is_terminal) if term == 0], dtype=torch.int64)
        q_next = torch.zeros(len(sample), 1)
        if len(live) != 0:
            q_next[live] = self.target_net(next_states.index_select(0, live)).detach().max(1)[0].unsqueeze(1)
        loss = F.smooth_l1_loss(rewards + 0.99 * q_next, q_s_a)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        self.updates += 1
        if self.updates % 1000 == 0:
            self.target_net.load_state_dict(self.policy_net.state_dict())


class RlkitLoop:
    """rlkit's components at the same settings: N envs, one batched act, N updates per vector step."""

    def __init__(self, env_id: str, seed: int, num_envs: int) -> None:
        self.cfg = dqn.make_config(
            "minatar-dqn", env_id, [f"num_envs={num_envs}", "eps_start=0.1", "eps_end=0.1", f"seed={seed}"]
        )
        self.env = make_env(self.cfg, num_envs, seed)
        network, obs_shape, num_actions = build_network_for_env(self.cfg, self.env)
        self.learner = Learner(self.cfg, network, torch.device("cpu"))
        self.actor = Actor(network, num_actions, num_envs, torch.device("cpu"), seed=seed, eps_start=0.1, eps_end=0.1)
        space = self.env.single_observation_space
        self.replay = ReplayBuffer(
            self.cfg.buffer_size, obs_shape, num_envs=num_envs, frame_stack=envs.gym_envs.frame_stack(self.env),
            obs_dtype=storage_dtype(space.dtype), seed=seed,
        )  # fmt: skip
        self.num_envs = num_envs
        self.obs, _ = self.env.reset(seed=seed)
        self.resetting = np.zeros(num_envs, dtype=bool)
        self.frames = 0

    def run(self, frames: int, learn: bool) -> None:
        for _ in range(max(1, frames // self.num_envs)):
            actions = self.actor.act_with_epsilon(self.obs, EPSILON if learn else 1.0)
            next_obs, reward, terminated, truncated, _ = self.env.step(actions)
            self.replay.add(self.obs, actions, reward, terminated, truncated, next_obs, active=~self.resetting)
            self.resetting = terminated | truncated
            self.obs = next_obs
            self.frames += self.num_envs
            if learn:
                for _ in range(self.num_envs):
                    self.learner.update(self.replay.sample(self.cfg.batch_size))


def bench_minatar(env_id: str, frames: int, warmup: int, rounds: int, num_envs: int, seed: int = 0) -> dict:
    """Frames/s of both loops, timed alternately in `rounds` chunks of `frames` after `warmup` random frames."""
    textbook, ours = TextbookLoop(env_id, seed), RlkitLoop(env_id, seed, num_envs)
    textbook.run(warmup, learn=False)
    ours.run(warmup, learn=False)
    times = {"textbook": [], "rlkit": []}
    for _ in range(rounds):
        for name, loop in (("textbook", textbook), ("rlkit", ours)):
            start_frames, start = loop.frames, time.perf_counter()
            loop.run(frames, learn=True)
            times[name].append((loop.frames - start_frames) / (time.perf_counter() - start))
    textbook_rate, rlkit_rate = float(np.median(times["textbook"])), float(np.median(times["rlkit"]))
    return {
        "env_id": env_id,
        "preset": "minatar-dqn",
        "num_envs": num_envs,
        "timed_frames_per_round": frames,
        "rounds": rounds,
        "textbook_frames_per_s": textbook_rate,
        "rlkit_frames_per_s": rlkit_rate,
        "textbook_rounds": times["textbook"],
        "rlkit_rounds": times["rlkit"],
        "speedup": rlkit_rate / textbook_rate,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default=ENV_ID, help="ALE/Pong-v5, or a MinAtar id such as MinAtar/Breakout-v1")
    parser.add_argument("--frames", type=int, default=1000, help="MinAtar: timed frames per loop and round")
    parser.add_argument("--rounds", type=int, default=3, help="MinAtar: alternating timed rounds per loop")
    parser.add_argument("--steps", type=int, default=2000, help="timed agent steps per loop")
    parser.add_argument("--warmup", type=int, default=1000, help="random-acting agent steps before learning")
    parser.add_argument("--num-envs", type=int, default=8)
    parser.add_argument("--vectorization", default="auto", choices=["auto", "sync", "async", "native"])
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the VM has 2 shared cores)")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.env.startswith("MinAtar/"):
        result = bench_minatar(args.env, args.frames, args.warmup, args.rounds, args.num_envs)
        result.update(torch_threads=args.threads, device="cpu")
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        out = RESULTS_DIR / f"bench_dqn_{args.env.split('/')[-1]}.json"
        out.write_text(json.dumps(result, indent=1) + "\n")
        print(json.dumps(result) if args.json else json.dumps(result, indent=1))
        return
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
