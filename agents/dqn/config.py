"""DQN configuration and its checks (the named presets live in ``agents.dqn.presets``).

Units: every ``*_steps`` field counts *agent steps*, i.e. transitions summed over all vector
envs (one vector step of N envs is N agent steps). On Atari one agent step is 4 frames
(frameskip 4), so the papers' frame counts are divided by 4 here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rlkit.config import from_dict, param, validate
from rlkit.errors import RlkitError

__all__ = ["TORSOS", "DQNConfig", "check_checkpoint", "check_compatible", "check_config", "is_atari"]


TORSOS = ("auto", "nature_cnn", "small_cnn", "mlp", "lstm")
# Images up to this side (MinAtar's 10x10) get the small conv torso; larger ones other than 84x84 fit no torso.
SMALL_IMAGE_MAX = 32


@dataclass
class DQNConfig:
    """Every knob of the DQN family; ``agents.dqn.presets`` fills it for each paper's agent."""

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
    full_action_space: bool = param(
        False,
        "play every action of the console (18 on Atari, 6 on MinAtar) instead of the game's minimal set; "
        "other envs have one action set",
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
        "auto",
        "feature extractor; auto = nature_cnn for 84x84 image stacks, small_cnn (MinAtar's one 3x3 conv of 16 "
        "channels, then the mlp_hidden layers) for small images, mlp for vectors",
        choices=list(TORSOS),
    )
    # param() gives list defaults a default_factory, which ruff cannot see
    mlp_hidden: list[int] = param([128, 128], "hidden widths of the mlp torso")  # noqa: RUF009
    mlp_init: str = param(
        "variance",
        "initialisation of the torso's fully connected layers: variance (variance-preserving normal weights, zero "
        "biases) or torch (nn.Linear's default uniform weights and biases, as SB3 and MinAtar's code use)",
        choices=["variance", "torch"],
    )
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
    small = image and max(obs_shape[1:]) <= SMALL_IMAGE_MAX
    # An mlp on pixels flattens the frame stack; it is what a pretrained AE/DBN torso is.
    if image:
        fits = ["nature_cnn", "mlp"] if tuple(obs_shape[1:]) == (84, 84) else (["small_cnn", "mlp"] if small else [])
    else:
        fits = ["mlp", "lstm"] if len(obs_shape) == 1 else []
    if not fits:
        hint = (
            "DQN reads 84x84 image stacks (nature_cnn; env_preset=dqn or machado for ALE ids), images up to "
            f"{SMALL_IMAGE_MAX}x{SMALL_IMAGE_MAX} [C, H, W] (small_cnn) and vectors [D] (mlp, lstm)"
        )
        raise RlkitError(f"{cfg.env_id} has observations of shape {tuple(obs_shape)}; {hint}")
    torso = fits[0] if cfg.torso == "auto" else cfg.torso
    if torso not in fits:
        raise RlkitError(
            f"torso {torso!r} does not fit {cfg.env_id}: its observations have shape "
            f"{tuple(obs_shape)}; networks that fit: {fits}"
        )
    return torso


def check_checkpoint(state: dict[str, Any], cfg: DQNConfig | None, path) -> DQNConfig:
    """The config of a DQN checkpoint (``rlkit.checkpoints.read_checkpoint`` checked what it is).

    :raises RlkitError: another architecture than ``cfg``.
    """
    saved = from_dict(DQNConfig, state["config"])
    if cfg is not None:
        arch = (
            "env_id", "full_action_space", "torso", "mlp_hidden", "lstm_hidden", "head_hidden", "dueling", "noisy",
            "num_atoms",
        )  # fmt: skip
        differ = [k for k in arch if getattr(saved, k) != getattr(cfg, k)]
        if differ:
            raise RlkitError(
                f"checkpoint {str(path)!r} is from another architecture: "
                + ", ".join(f"{k}={getattr(saved, k)!r} (config says {getattr(cfg, k)!r})" for k in differ)
            )
    return saved
