"""DQN configuration, the named presets of the Rainbow ablation, and compatibility checks.

Units: every ``*_steps`` field counts *agent steps*, i.e. transitions summed over all vector
envs (one vector step of N envs is N agent steps). On Atari one agent step is 4 frames
(frameskip 4), so the papers' frame counts are divided by 4 here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rlkit.config import apply_overrides, from_dict, param, validate
from rlkit.errors import RlkitError

__all__ = [
    "PRESETS",
    "TORSOS",
    "DQNConfig",
    "check_checkpoint",
    "check_compatible",
    "is_atari",
    "make_config",
]


TORSOS = ("auto", "nature_cnn", "mlp", "lstm")


@dataclass
class DQNConfig:
    """Every knob of the DQN family; presets below fill it for each paper's agent."""

    # environment
    env_id: str = param("CartPole-v1", "Gymnasium env id, e.g. ALE/Pong-v5 or CartPole-v1")
    env_preset: str = param(
        "auto",
        "Atari preprocessing: dqn (Mnih 2015), machado (sticky actions), none; auto = dqn for Atari",
        choices=["auto", "dqn", "machado", "none"],
    )
    vectorization: str = param(
        "auto",
        "envs.make vectorisation; auto = sync for one env, async (processes) else",
        choices=["auto", "sync", "async", "native"],
    )
    num_envs: int = param(4, "vectorised environments stepped together (one batched network call per step)")
    seed: int = param(0, "seed for envs, network init, replay sampling and exploration")
    total_steps: int = param(50_000, "agent steps to train for (summed over envs)")
    device: str = param("auto", "torch device for the learner and actor", choices=["auto", "cpu", "cuda"])
    torch_threads: int = param(
        0,
        "CPU threads for torch in this process (set process-wide); 0 keeps torch's default. Small nets run "
        "fastest on 1: extra threads only contend for busy cores",
    )

    # network
    torso: str = param(
        "auto", "feature extractor; auto = nature_cnn for image observations, mlp otherwise", choices=list(TORSOS)
    )
    # param() gives list defaults a default_factory, which ruff cannot see
    mlp_hidden: list[int] = param([128, 128], "hidden widths of the mlp torso")  # noqa: RUF009
    lstm_hidden: int = param(128, "hidden size of the lstm torso (DRQN)")
    head_hidden: int = param(512, "hidden width inside the Q head (0 = linear head)")
    dueling: bool = param(False, "dueling head: Q = V + A - mean(A) (Wang et al. 2016)")
    noisy: bool = param(False, "noisy linear layers in the head replace epsilon-greedy (Fortunato et al. 2018)")
    noisy_sigma0: float = param(0.5, "initial noise scale of the noisy layers")
    num_atoms: int = param(1, "atoms of the return distribution; 1 = expected Q, 51 = C51 (Bellemare et al. 2017)")
    v_min: float = param(-10.0, "lowest atom of the C51 support")
    v_max: float = param(10.0, "highest atom of the C51 support")
    pretrained_torso: str = param(
        "", "AE/DAE/DBN file (agents.dqn.pretrain) whose encoder becomes the torso, fine-tuned by Q-learning"
    )

    # learning
    double: bool = param(False, "double Q-learning: online net picks the next action, target net scores it")
    n_step: int = param(1, "multi-step return length")
    gamma: float = param(0.99, "discount factor")
    loss: str = param("huber", "TD loss for expected-Q agents", choices=["huber", "mse"])
    optimizer: str = param(
        "adam", "optimiser; rmsprop is the Nature DQN's centred RMSProp", choices=["adam", "rmsprop"]
    )
    lr: float = param(1e-4, "learning rate")
    adam_eps: float = param(1.5e-4, "epsilon of Adam / RMSProp")
    max_grad_norm: float = param(10.0, "gradient clipping by global norm; 0 disables it")
    batch_size: int = param(32, "transitions per update")
    train_every_steps: int = param(4, "agent steps between updates (the replay ratio)")
    target_update_steps: int = param(8_000, "agent steps between hard target-network copies (when target_tau == 1)")
    target_tau: float = param(1.0, "Polyak factor applied to the target net every update; 1.0 = hard copies")
    learning_starts_steps: int = param(20_000, "agent steps of random acting before learning starts")

    # replay
    buffer_size: int = param(1_000_000, "replay capacity in transitions")
    prioritized: bool = param(False, "proportional prioritised replay (Schaul et al. 2016)")
    per_alpha: float = param(0.5, "priority exponent")
    per_beta0: float = param(0.4, "initial importance-sampling exponent, annealed linearly to 1 over training")
    per_eps: float = param(1e-6, "added to |TD error| so no transition gets priority 0")
    save_replay: bool = param(False, "store the replay buffer in checkpoints (large) so resumes keep their memory")

    # exploration
    eps_start: float = param(1.0, "initial epsilon of epsilon-greedy acting")
    eps_end: float = param(0.01, "final epsilon")
    eps_decay_steps: int = param(250_000, "agent steps over which epsilon decays linearly")
    eval_epsilon: float = param(0.001, "epsilon while evaluating (noisy nets evaluate with noise off instead)")

    # recurrent (torso = lstm)
    seq_len: int = param(16, "trained time steps per sampled sequence (DRQN)")
    burn_in_steps: int = param(8, "leading steps per sequence that only warm up the LSTM state (R2D2)")

    # bookkeeping
    log_every_steps: int = param(1_000, "agent steps between metric records")
    checkpoint_every_steps: int = param(50_000, "agent steps between checkpoints; 0 = only at the end")
    eval_every_steps: int = param(0, "agent steps between evaluation rounds during training; 0 = none")
    eval_episodes: int = param(10, "episodes per evaluation round during training")


def is_atari(env_id: str) -> bool:
    """True for ALE ids (``ALE/Pong-v5``, ``PongNoFrameskip-v4``), which get the pixel presets."""
    return env_id.startswith("ALE/") or "NoFrameskip" in env_id


# Presets. Atari values are the papers' (frames / 4 = agent steps); vector-observation envs
# (CartPole) get a small-scale variant tuned to solve CartPole-v1 within 50k agent steps.
def _base(env_id: str) -> DQNConfig:
    if is_atari(env_id):
        # Nature DQN (Mnih et al. 2015): 1M replay, 50k random steps, target copy every 10k
        # agent steps (DeepMind's Lua code counts agent steps here), epsilon 1 -> 0.1 over 1M.
        return DQNConfig(
            env_id=env_id,
            num_envs=4,
            total_steps=10_000_000,
            head_hidden=512,
            loss="huber",
            optimizer="rmsprop",
            lr=2.5e-4,
            adam_eps=0.01,
            max_grad_norm=0.0,
            batch_size=32,
            train_every_steps=4,
            target_update_steps=10_000,
            learning_starts_steps=50_000,
            buffer_size=1_000_000,
            eps_start=1.0,
            eps_end=0.1,
            eps_decay_steps=1_000_000,
            checkpoint_every_steps=500_000,
            log_every_steps=10_000,
        )
    # CartPole scale, after the RL Baselines3 Zoo's tuned DQN: 256x256 MLP, lr 2.3e-3, one update of
    # 64 per 2 agent steps, target copy every 128 updates, epsilon down to 0.04 over 8k steps.
    return DQNConfig(
        env_id=env_id,
        num_envs=4,
        vectorization="sync",
        torch_threads=1,
        total_steps=50_000,
        mlp_hidden=[256, 256],
        head_hidden=0,
        loss="huber",
        optimizer="adam",
        lr=2.3e-3,
        adam_eps=1e-8,
        max_grad_norm=10.0,
        batch_size=64,
        train_every_steps=2,
        target_update_steps=256,
        learning_starts_steps=1_000,
        buffer_size=50_000,
        eps_start=1.0,
        eps_end=0.04,
        eps_decay_steps=8_000,
        checkpoint_every_steps=0,
        log_every_steps=1_000,
    )


def dqn(env_id: str) -> DQNConfig:
    """Nature DQN (Mnih et al. 2015): 79% median human-normalised in the Rainbow ablation."""
    return _base(env_id)


def double(env_id: str) -> DQNConfig:
    """Double DQN (van Hasselt et al. 2016): the DQN preset with decoupled action selection."""
    return dataclasses.replace(_base(env_id), double=True)


def _adam_atari(cfg: DQNConfig) -> DQNConfig:
    # The later papers (dueling, PER, C51, Rainbow) swap RMSProp for Adam at a smaller step.
    if not is_atari(cfg.env_id):
        return cfg
    return dataclasses.replace(cfg, optimizer="adam", lr=6.25e-5, adam_eps=1.5e-4, max_grad_norm=10.0)


def dueling(env_id: str) -> DQNConfig:
    """Dueling double DQN (Wang et al. 2016)."""
    return _adam_atari(dataclasses.replace(double(env_id), dueling=True))


def prioritized(env_id: str) -> DQNConfig:
    """Prioritised double DQN (Schaul et al. 2016), proportional variant, alpha 0.6, beta 0.4 -> 1."""
    return _adam_atari(dataclasses.replace(double(env_id), prioritized=True, per_alpha=0.6, per_beta0=0.4))


def c51(env_id: str) -> DQNConfig:
    """Distributional DQN (Bellemare et al. 2017): 51 atoms on [-10, 10], Adam eps 0.01/32."""
    cfg = dataclasses.replace(_base(env_id), num_atoms=51)
    if is_atari(env_id):
        return dataclasses.replace(cfg, optimizer="adam", lr=2.5e-4, adam_eps=3.125e-4, eps_end=0.01)
    # CartPole returns reach 500, so the support must cover 1/(1-gamma) ~ 100.
    return dataclasses.replace(cfg, v_min=0.0, v_max=100.0)


def noisy(env_id: str) -> DQNConfig:
    """Noisy DQN (Fortunato et al. 2018): noisy head, no epsilon-greedy."""
    return dataclasses.replace(_base(env_id), noisy=True, eps_start=0.0, eps_end=0.0)


def rainbow(env_id: str) -> DQNConfig:
    """Rainbow (Hessel et al. 2018): double + dueling + PER + 3-step + C51 + noisy."""
    cfg = dataclasses.replace(
        _base(env_id),
        double=True,
        dueling=True,
        prioritized=True,
        per_alpha=0.5,
        per_beta0=0.4,
        n_step=3,
        num_atoms=51,
        noisy=True,
        noisy_sigma0=0.5,
        eps_start=0.0,
        eps_end=0.0,
    )
    if is_atari(env_id):
        # Hessel et al. 2018, table 1: target every 32k frames, learning starts at 80k frames.
        return dataclasses.replace(
            cfg,
            optimizer="adam",
            lr=6.25e-5,
            adam_eps=1.5e-4,
            max_grad_norm=10.0,
            target_update_steps=8_000,
            learning_starts_steps=20_000,
            v_min=-10.0,
            v_max=10.0,
        )
    return dataclasses.replace(cfg, v_min=0.0, v_max=100.0)


PRESETS: dict[str, Callable[[str], DQNConfig]] = {
    "dqn": dqn,
    "double": double,
    "dueling": dueling,
    "prioritized": prioritized,
    "c51": c51,
    "noisy": noisy,
    "rainbow": rainbow,
}


def make_config(preset: str = "dqn", env_id: str = "CartPole-v1", overrides: list[str] | None = None) -> DQNConfig:
    """Build a preset for ``env_id``, apply ``key=value`` overrides and validate the result.

    :raises RlkitError: unknown preset, unknown key or invalid value.
    """
    if preset not in PRESETS:
        raise RlkitError(f"unknown DQN preset {preset!r}; choose one of {sorted(PRESETS)}")
    cfg = apply_overrides(PRESETS[preset](env_id), list(overrides or []))
    check_config(cfg)
    return cfg


def check_config(cfg: DQNConfig) -> None:
    """Range and combination checks that need no environment. :raises RlkitError:"""
    validate(cfg)
    positive = (
        "num_envs",
        "total_steps",
        "batch_size",
        "train_every_steps",
        "buffer_size",
        "n_step",
        "num_atoms",
        "target_update_steps",
        "log_every_steps",
        "seq_len",
    )
    for name in positive:
        if getattr(cfg, name) < 1:
            raise RlkitError(f"{name} must be >= 1, got {getattr(cfg, name)}")
    for name in (
        "learning_starts_steps",
        "checkpoint_every_steps",
        "eval_every_steps",
        "burn_in_steps",
        "eps_decay_steps",
        "max_grad_norm",
    ):
        if getattr(cfg, name) < 0:
            raise RlkitError(f"{name} must be >= 0, got {getattr(cfg, name)}")
    if cfg.lr <= 0 or cfg.eval_episodes < 1:
        raise RlkitError(f"lr must be > 0 and eval_episodes >= 1, got lr={cfg.lr}, eval_episodes={cfg.eval_episodes}")
    if not 0.0 <= cfg.gamma <= 1.0:
        raise RlkitError(f"gamma must lie in [0, 1], got {cfg.gamma}")
    for name in ("eps_start", "eps_end", "eval_epsilon", "per_alpha", "per_beta0"):
        if not 0.0 <= getattr(cfg, name) <= 1.0:
            raise RlkitError(f"{name} must lie in [0, 1], got {getattr(cfg, name)}")
    if cfg.seed < 0:
        raise RlkitError(f"seed must be >= 0 (Gymnasium and NumPy seeds are unsigned), got {cfg.seed}")
    if not 0.0 < cfg.target_tau <= 1.0:
        raise RlkitError(f"target_tau must lie in (0, 1], got {cfg.target_tau}")
    if cfg.num_atoms > 1 and not cfg.v_min < cfg.v_max:
        raise RlkitError(f"v_min must be below v_max for C51, got v_min={cfg.v_min}, v_max={cfg.v_max}")
    if cfg.num_atoms == 2:
        raise RlkitError("num_atoms must be 1 (expected Q) or >= 3 (distributional), got 2")
    if cfg.batch_size > cfg.buffer_size:
        raise RlkitError(f"batch_size {cfg.batch_size} exceeds buffer_size {cfg.buffer_size}")
    if cfg.torso == "lstm":
        unsupported = [f for f in ("prioritized", "noisy") if getattr(cfg, f)] + (
            ["num_atoms>1"] if cfg.num_atoms > 1 else []
        )
        if unsupported or cfg.n_step != 1:
            raise RlkitError(
                f"torso=lstm (DRQN) trains 1-step expected-Q on sequences; it does not support "
                f"{unsupported + (['n_step>1'] if cfg.n_step != 1 else [])}"
            )
    if cfg.pretrained_torso and cfg.torso not in ("auto", "mlp"):
        raise RlkitError(f"pretrained_torso gives a fully connected torso; set torso=mlp (or auto), not {cfg.torso!r}")


def check_compatible(cfg: DQNConfig, obs_shape: tuple[int, ...], num_actions: int | None) -> str:
    """Resolve ``torso='auto'`` and check the network fits the env's observations.

    :param obs_shape: one env's observation shape, e.g. ``(4, 84, 84)`` or ``(4,)``.
    :param num_actions: size of a discrete action space, ``None`` when the space is not discrete.
    :returns: the torso to build.
    :raises RlkitError: naming the observation shape and the torsos that fit it.
    """
    if num_actions is None:
        raise RlkitError(f"DQN needs a discrete action space; {cfg.env_id} has a continuous one")
    image = len(obs_shape) == 3
    # An mlp on pixels flattens the frame stack; it is what a pretrained AE/DBN torso is.
    fits = ["nature_cnn", "mlp"] if image else (["mlp", "lstm"] if len(obs_shape) == 1 else [])
    if not fits:
        raise RlkitError(
            f"{cfg.env_id} has observations of shape {tuple(obs_shape)}; DQN supports image stacks "
            "[C, H, W] (nature_cnn) and vectors [D] (mlp, lstm)"
        )
    torso = fits[0] if cfg.torso == "auto" else cfg.torso
    if torso not in fits:
        raise RlkitError(
            f"torso {torso!r} does not fit {cfg.env_id}: its observations have shape "
            f"{tuple(obs_shape)}; networks that fit: {fits}"
        )
    if torso == "nature_cnn" and tuple(obs_shape[1:]) != (84, 84):
        raise RlkitError(
            f"nature_cnn expects 84x84 frames, {cfg.env_id} gives {tuple(obs_shape)}; use env_preset=dqn or machado"
        )
    return torso


def check_checkpoint(state: dict[str, Any], cfg: DQNConfig | None, path) -> DQNConfig:
    """The config of a DQN checkpoint (``rlkit.checkpoints.read_checkpoint`` checked what it is).

    :raises RlkitError: another architecture than ``cfg``.
    """
    saved = from_dict(DQNConfig, state["config"])
    if cfg is not None:
        arch = ("env_id", "torso", "mlp_hidden", "lstm_hidden", "head_hidden", "dueling", "noisy", "num_atoms")
        differ = [k for k in arch if getattr(saved, k) != getattr(cfg, k)]
        if differ:
            raise RlkitError(
                f"checkpoint {str(path)!r} is from another architecture: "
                + ", ".join(f"{k}={getattr(saved, k)!r} (config says {getattr(cfg, k)!r})" for k in differ)
            )
    return saved
