"""The DQN training loop: act in N envs, store transitions, learn, log, checkpoint.

Step counting: ``step`` counts agent steps, N per vector-env step. A checkpoint holds the
networks, optimiser, counters, the actor's and the global RNG streams and (optionally) the
replay buffer. Emulator state cannot be saved through Gymnasium, so a resumed run starts fresh
episodes, seeded from ``seed + step`` (SB3 and CleanRL do not restore it either).
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

import numpy as np
import torch

from agents.dqn.actor import Actor, linear_schedule, make_env, resolve_device
from agents.dqn.config import CHECKPOINT_FORMAT, DQNConfig, check_checkpoint, check_config
from agents.dqn.evaluate import evaluate_network
from agents.dqn.learner import Learner
from agents.dqn.networks import build_network_for_env
from rlkit.config import to_dict
from rlkit.errors import RlkitError
from rlkit.metrics import MetricsLogger
from rlkit.plots import plot_metrics
from rlkit.replay import ReplayBuffer
from rlkit.runs import Run, get_rng_state, seed_everything, set_rng_state

__all__ = [
    "SHOW",
    "checkpoint_state",
    "finished_game_returns",
    "make_replay",
    "restore_checkpoint",
    "rollout_metrics",
    "sample_batch",
    "train",
]

SHOW = ["rollout/return", "rollout/episodes", "rollout/epsilon", "train/loss", "train/steps_per_s"]


def make_replay(cfg: DQNConfig, obs_shape: tuple[int, ...], obs_dtype: np.dtype) -> ReplayBuffer:
    pixels = len(obs_shape) == 3
    return ReplayBuffer(
        cfg.buffer_size,
        obs_shape,
        num_envs=cfg.num_envs,
        frame_stack=obs_shape[0] if pixels else 1,
        obs_dtype=torch.uint8 if obs_dtype == np.uint8 else torch.float32,
        n_step=cfg.n_step,
        gamma=cfg.gamma,
        prioritized=cfg.prioritized,
        alpha=cfg.per_alpha,
        eps=cfg.per_eps,
        seed=cfg.seed,
    )


def train(cfg: DQNConfig, run: Run, resume: bool = False) -> dict[str, Any]:
    """Train the agent ``cfg`` describes, writing metrics, checkpoints and plots into ``run``.

    :param resume: continue from the newest checkpoint of ``run`` (same step counter, epsilon,
        optimiser, RNG and, if it was saved, replay).
    :returns: summary with ``steps``, ``episodes``, ``mean_return`` (last 100 episodes), ``wall_s``.
    :raises RlkitError: bad config, unknown env, incompatible network, missing/foreign checkpoint.
    """
    check_config(cfg)
    device = resolve_device(cfg.device)
    if cfg.torch_threads:
        torch.set_num_threads(cfg.torch_threads)
    seed_everything(cfg.seed)
    env = make_env(cfg, cfg.num_envs, cfg.seed)
    network, obs_shape, num_actions = build_network_for_env(cfg, env)
    learner = Learner(cfg, network.to(device), device)
    actor = Actor(
        network,
        num_actions,
        cfg.num_envs,
        device,
        seed=cfg.seed,
        eps_start=cfg.eps_start,
        eps_end=cfg.eps_end,
        eps_decay_steps=cfg.eps_decay_steps,
        random_until_steps=cfg.learning_starts_steps,
    )
    replay = make_replay(cfg, obs_shape, env.single_observation_space.dtype)
    # updates_due: fractional updates owed (N agent steps per vector step, one update per train_every_steps)
    step, episodes, updates_due, returns = 0, 0, 0.0, deque(maxlen=100)
    if resume:
        step, episodes, updates_due, returned = restore_checkpoint(run, cfg, learner, actor, replay)
        returns.extend(returned)
    # A checkpoint without its replay resumes with an empty memory: refill it before learning again.
    learn_from = cfg.learning_starts_steps if len(replay) > 0 or not resume else step + cfg.learning_starts_steps

    log = MetricsLogger(run.path, total=cfg.total_steps, unit="step", desc=f"dqn {cfg.env_id}", show=SHOW, start=step)
    obs, _ = env.reset(seed=cfg.seed + step)
    # Gymnasium's next-step autoreset: the step after an episode end only resets that env, no transition
    resetting = np.zeros(cfg.num_envs, dtype=bool)
    losses, qs = [], []
    t0, step0, last_log = time.perf_counter(), step, step
    try:
        while step < cfg.total_steps:
            actions = actor.act(obs, step)
            next_obs, reward, terminated, truncated, infos = env.step(actions)
            replay.add(obs, actions, reward, terminated, truncated, next_obs, active=~resetting)
            resetting = terminated | truncated
            actor.episode_ends(resetting)
            obs = next_obs
            step += cfg.num_envs
            for game_return in finished_game_returns(infos):
                episodes += 1
                returns.append(game_return)

            if step >= learn_from and len(replay) >= cfg.batch_size:
                updates_due += cfg.num_envs / cfg.train_every_steps
                while updates_due >= 1.0:
                    updates_due -= 1.0
                    batch = sample_batch(replay, cfg, step, device)
                    out = learner.update(batch)
                    if cfg.prioritized:
                        replay.update_priorities(batch.index, out["priority"])
                    losses.append(out["loss"])
                    qs.append(out["q"])

            if step - last_log >= cfg.log_every_steps or step >= cfg.total_steps:
                rate = (step - step0) / (time.perf_counter() - t0)
                log.log(step, rollout_metrics(actor, step, episodes, returns, losses, qs, rate))
                losses, qs, last_log = [], [], step
            else:
                log.update(step)
            if cfg.eval_every_steps and step % cfg.eval_every_steps < cfg.num_envs:
                scores = evaluate_network(cfg, learner.online, cfg.eval_episodes, seed=cfg.seed + 10**6 + step)
                log.log(step, {"eval/return_mean": float(np.mean(scores)), "eval/return_std": float(np.std(scores))})
            if cfg.checkpoint_every_steps and step % cfg.checkpoint_every_steps < cfg.num_envs:
                run.save_checkpoint(
                    step, checkpoint_state(cfg, learner, actor, replay, (step, episodes, updates_due), returns)
                )
    except KeyboardInterrupt:
        # Ctrl-C keeps what was learnt: --resume continues from this step.
        run.save_checkpoint(step, checkpoint_state(cfg, learner, actor, replay, (step, episodes, updates_due), returns))
        raise
    finally:
        log.close()
        env.close()

    wall_s = time.perf_counter() - t0
    run.save_checkpoint(step, checkpoint_state(cfg, learner, actor, replay, (step, episodes, updates_due), returns))
    plot_metrics(
        run.metrics_path,
        ["rollout/return", "eval/return_mean", "train/loss", "train/q"],
        run.plots_dir / "learning_curve.png",
    )
    return {
        "steps": step,
        "episodes": episodes,
        "mean_return": float(np.mean(returns)) if returns else None,
        "wall_s": wall_s,
        "steps_per_s": (step - step0) / wall_s,
    }


def sample_batch(replay: ReplayBuffer, cfg: DQNConfig, step: int, device: torch.device):
    """One replay batch on ``device``; PER's beta anneals linearly to 1 over the run (Schaul et al. 2016)."""
    if cfg.torso == "lstm":
        return replay.sample_sequences(cfg.batch_size, cfg.burn_in_steps + cfg.seq_len).to(device, non_blocking=True)
    beta = linear_schedule(cfg.per_beta0, 1.0, cfg.total_steps, step)
    return replay.sample(cfg.batch_size, beta).to(device, non_blocking=True)


def finished_game_returns(infos: dict) -> list[float]:
    """Scores of real games that ended this step (whole games, not lives, unclipped)."""
    return [float(r) for r in infos["episode_return"][infos["episode_done"]]]


def rollout_metrics(actor, step, episodes, returns, losses, qs, rate) -> dict[str, Any]:
    metrics = {"rollout/episodes": episodes, "rollout/epsilon": actor.epsilon(step), "train/steps_per_s": rate}
    if returns:
        metrics["rollout/return"] = float(np.mean(returns))
    if losses:
        metrics["train/loss"] = torch.stack(losses).mean().item()  # the only host sync of the loop's learner side
        metrics["train/q"] = torch.stack(qs).mean().item()
    return metrics


def checkpoint_state(cfg, learner, actor, replay, counters, returns) -> dict[str, Any]:
    step, episodes, updates_due = counters
    state = {
        "format": CHECKPOINT_FORMAT,
        "config": to_dict(cfg),
        "step": step,
        "episodes": episodes,
        "updates_due": updates_due,
        "returns": list(returns),
        "learner": learner.state_dict(),
        "actor": actor.state_dict(),
        "rng": get_rng_state(),
    }
    if cfg.save_replay:
        state["replay"] = replay.state_dict()
    return state


def restore_checkpoint(run: Run, cfg: DQNConfig, learner: Learner, actor: Actor, replay: ReplayBuffer):
    """Load the newest checkpoint into the agent; returns (step, episodes, updates due, recent returns)."""
    loaded = run.load_latest()
    if loaded is None:
        raise RlkitError(f"cannot resume: {str(run.checkpoints_dir)!r} holds no readable checkpoint")
    state, path = loaded
    check_checkpoint(state, cfg, path)
    learner.load_state_dict(state["learner"])
    actor.load_state_dict(state["actor"])
    if "replay" in state:
        replay.load_state_dict(state["replay"])
    set_rng_state(state["rng"])
    return int(state["step"]), int(state["episodes"]), float(state["updates_due"]), state["returns"]
