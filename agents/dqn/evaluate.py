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

from agents.dqn.actor import Actor, make_env, resolve_device
from agents.dqn.atari_scores import human_normalized
from agents.dqn.config import DQNConfig, check_checkpoint, is_atari
from agents.dqn.networks import build_network_for_env
from envs.video import record_episodes
from rlkit.errors import RlkitError
from rlkit.runs import Run, load_checkpoint

__all__ = ["evaluate", "evaluate_network", "load_agent"]

MAX_EVAL_ENVS = 8


def load_agent(checkpoint_or_run_dir: str | Path, device: str = "auto") -> tuple[DQNConfig, torch.nn.Module]:
    """(config, online Q-network) from a checkpoint file or the newest checkpoint of a run directory.

    :raises RlkitError: no such file, no checkpoint in the run, or not a DQN checkpoint.
    """
    path = Path(checkpoint_or_run_dir)
    if path.is_dir():
        latest = Run.open(path).latest_checkpoint()
        if latest is None:
            raise RlkitError(f"run {str(path)!r} has no checkpoint to evaluate")
        path = latest
    state = load_checkpoint(path)
    cfg = check_checkpoint(state, None, path)
    env = make_env(cfg, 1, cfg.seed)
    network, _, _ = build_network_for_env(cfg, env)
    env.close()
    try:
        network.load_state_dict(state["learner"]["online"])
    except RuntimeError as error:
        raise RlkitError(f"weights in {str(path)!r} do not fit the network its config describes: {error}") from None
    return cfg, network.to(resolve_device(device))


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


def evaluate(
    checkpoint_or_run_dir: str | Path,
    episodes: int = 30,
    video_dir: str | Path | None = None,
    seed: int = 0,
    device: str = "auto",
) -> dict[str, Any]:
    """Play ``episodes`` games with the agent of a checkpoint (or a run's newest) and summarise the scores.

    :param video_dir: if given, one more game is recorded there as an MP4.
    :returns: ``episodes``, ``mean``, ``median``, ``std``, ``min``, ``max`` of the game scores,
        ``human_normalized`` (mean score; Atari games with reference scores, else None), ``env_id``.
    :raises RlkitError: bad path or checkpoint, ``episodes < 1``.
    """
    if episodes < 1:
        raise RlkitError(f"episodes must be >= 1, got {episodes}")
    cfg, network = load_agent(checkpoint_or_run_dir, device)
    scores = np.array(evaluate_network(cfg, network, episodes, seed))
    summary = {
        "env_id": cfg.env_id,
        "episodes": len(scores),
        "mean": float(scores.mean()),
        "median": float(np.median(scores)),
        "std": float(scores.std()),
        "min": float(scores.min()),
        "max": float(scores.max()),
        "human_normalized": human_normalized(cfg.env_id, float(scores.mean())) if is_atari(cfg.env_id) else None,
    }
    if video_dir is not None:
        summary["video"] = str(record_video(cfg, network, Path(video_dir), seed))
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
