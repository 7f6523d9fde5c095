"""Evaluate a trained DQN agent with the standard Atari protocol.

Protocol (Mnih et al. 2015; Hessel et al. 2018): epsilon-greedy with epsilon 0.001 (noisy nets:
noise off, epsilon 0), up to 30 random no-op frames at each game start and the rest of the
``dqn`` preset's preprocessing, full game scores (a lost life does not end the evaluated episode),
games cut at 108,000 frames. Vector-observation envs (CartPole) are evaluated the same way
without the Atari parts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from agents.dqn.actor import Actor, make_env
from agents.dqn.atari_scores import human_normalized
from agents.dqn.config import DQNConfig, is_atari
from envs.video import record_episodes
from rlkit.errors import RlkitError

__all__ = ["evaluate_network", "record_video", "score_summary"]

MAX_EVAL_ENVS = 8


@torch.no_grad()
def evaluate_network(
    cfg: DQNConfig, network: torch.nn.Module, episodes: int, seed: int, num_envs: int = MAX_EVAL_ENVS
) -> list[float]:
    """Scores of ``episodes`` full games played by ``network`` under the evaluation protocol."""
    num_envs = max(1, min(num_envs, episodes))
    env = make_env(cfg, num_envs, seed)
    device = next(network.parameters()).device
    actor = Actor(network, env.single_action_space.n, num_envs, device, seed=seed)
    actor.set_exploration_noise(False)
    epsilon = 0.0 if cfg.noisy else cfg.eval_epsilon
    # Each env plays a fixed share of the games: taking the first games to finish over all envs
    # would favour short games.
    quota = np.full(num_envs, episodes // num_envs) + (np.arange(num_envs) < episodes % num_envs)
    scores: list[float] = []
    obs, _ = env.reset(seed=seed)
    try:
        while (quota > 0).any():
            obs, _, terminated, truncated, infos = env.step(actor.act_with_epsilon(obs, epsilon))
            actor.episode_ends(terminated | truncated)
            for i in np.flatnonzero(infos["episode_done"] & (quota > 0)):
                scores.append(float(infos["episode_return"][i]))
                quota[i] -= 1
    finally:
        actor.set_exploration_noise(True)
        env.close()
    return scores


def score_summary(cfg: DQNConfig, scores: list[float]) -> dict[str, Any]:
    """``env_id``, ``episodes``, ``mean``, ``median``, ``std``, ``min``, ``max`` of game scores, and the
    human-normalised mean on Atari games with reference scores (absent elsewhere)."""
    scores = np.asarray(scores, dtype=np.float64)
    summary = {
        "env_id": cfg.env_id,
        "episodes": len(scores),
        "mean": float(scores.mean()),
        "median": float(np.median(scores)),
        "std": float(scores.std()),
        "min": float(scores.min()),
        "max": float(scores.max()),
    }
    if is_atari(cfg.env_id):
        summary["human_normalized"] = human_normalized(cfg.env_id, summary["mean"])
    return summary


@torch.no_grad()
def record_video(cfg: DQNConfig, network: torch.nn.Module, video_dir: Path, seed: int) -> Path:
    """Record one evaluation game (the emulator's RGB screen) as ``video_dir/<game>-seed<seed>.mp4``."""
    try:
        env = make_env(cfg, 1, seed, vectorization="sync", render_mode="rgb_array")
    except gym.error.DependencyNotInstalled as error:
        raise RlkitError(f"cannot render {cfg.env_id} for a video: {error}") from None
    actor = Actor(network, env.single_action_space.n, 1, next(network.parameters()).device, seed=seed)
    actor.set_exploration_noise(False)
    path = video_dir / f"{cfg.env_id.split('/')[-1]}-seed{seed}.mp4"
    try:
        env.reset(seed=seed)
        record_episodes(
            env, lambda obs: actor.act_with_epsilon(obs, cfg.eval_epsilon), path,
            fps=30 if is_atari(cfg.env_id) else 50,
        )  # fmt: skip
    finally:
        actor.set_exploration_noise(True)
        env.close()
    return path
