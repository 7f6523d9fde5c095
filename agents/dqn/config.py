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
    "PRESET_ENVS",
    "TORSOS",
    "DQNConfig",
    "check_checkpoint",
    "check_compatible",
    "is_atari",
    "make_config",
]


TORSOS = ("auto", "nature_cnn", "small_cnn", "mlp", "lstm")
# Images up to this side (MinAtar's 10x10) get the small conv torso; larger ones other than 84x84 fit no torso.
SMALL_IMAGE_MAX = 32


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


# MinAtar (Young & Tian 2019): 10x10xC binary grids, no frame skip, so one agent step is one frame.
def minatar_dqn(env_id: str) -> DQNConfig:
    """MinAtar paper's DQN (Young & Tian 2019): conv 16 -> 128 units, centred RMSProp, one update per frame.

    Settings (the paper's table and its ``examples/dqn.py``): network one 3x3 conv of 16 channels (stride 1,
    no padding) -> ReLU -> 128 ReLU units -> linear Q; batch 32; replay 100k; replay start 5,000 frames of
    uniform random acting; one update per frame; target copy every 1,000 frames (= 1,000 updates); epsilon
    1 -> 0.1 linearly over the first 100k frames; gamma 0.99; Huber loss; no gradient clipping; 5M frames;
    the full action set of 6 (``full_action_space``; MinAtar's gym ``-v1`` ids default to the minimal set);
    MinAtar's own sticky actions (0.1) and difficulty ramping stay on.

    Optimiser: ``torch.optim.RMSprop(lr=2.5e-4, alpha=0.95, eps=0.01, centered=True)``, exactly the call of
    MinAtar's original ``dqn.py``: with g the gradient, ``v = 0.95 v + 0.05 g^2`` ("squared gradient momentum
    0.95"), ``m = 0.95 m + 0.05 g`` (centred: "gradient momentum 0.95" in the DeepMind sense) and
    ``theta -= lr * g / (sqrt(v - m^2) + 0.01)``: the "min squared gradient" 0.01 is added outside the root
    (DeepMind's Lua RMSProp adds it inside). A later revision of MinAtar's script also passes torch's
    heavy-ball ``momentum=0.95``; the published curves predate it, so it is not used here.

    Deviation: rlkit's epsilon decays from step 0 (1 -> 0.955 during the 5,000 random frames), MinAtar's
    from the end of the replay start; 100 learning-phase frames apart at most 4.5% in epsilon.
    """
    return DQNConfig(
        env_id=env_id,
        full_action_space=True,
        num_envs=1,
        vectorization="sync",
        torch_threads=1,
        total_steps=5_000_000,
        torso="auto",  # small_cnn on MinAtar's grids
        mlp_hidden=[128],
        head_hidden=0,
        loss="huber",
        optimizer="rmsprop",
        lr=2.5e-4,
        adam_eps=0.01,
        max_grad_norm=0.0,
        batch_size=32,
        train_every_steps=1,
        target_update_steps=1_000,
        learning_starts_steps=5_000,
        buffer_size=100_000,
        eps_start=1.0,
        eps_end=0.1,
        eps_decay_steps=100_000,
        gamma=0.99,
        checkpoint_every_steps=500_000,
        log_every_steps=10_000,
    )


def minatar_rainbow(env_id: str) -> DQNConfig:
    """Revisiting Rainbow's MinAtar Rainbow (Obando-Ceron & Castro 2021): Adam 1e-4, 3-step, PER, C51 +-100, noisy.

    Source: the paper's code, github.com/JohanSamir/rainbow_extend, ``lifting_veil/Configs/rainbow_<game>.gin``
    (Dopamine JAX agent ``JaxRainbowAgentNew``): gamma 0.99; update_horizon 3; min_replay_history 1,000;
    update_period 4 (one update of batch 32 per 4 frames); target_update_period 1,000 frames; Adam lr 1e-4,
    eps 3.125e-4, no gradient clipping; noisy, dueling, double; 51 atoms on [-100, 100] (vmax 100); prioritised
    replay of 100k (Dopamine: priority sqrt(loss), new transitions at the max priority, weights 1/sqrt(P)
    over their max: alpha 0.5, beta 0.5); network ``net_conf='minatar'``, hidden_layer 0: one 3x3 conv of
    16 channels -> ReLU -> the dueling noisy C51 streams read the 1,024 features directly; with noisy nets
    Dopamine's identity_epsilon keeps epsilon at epsilon_train 0.01; the full action set of 6 (Dopamine's
    MinAtar wrapper uses ``minatar.Environment``); 10 iterations of 1M frames = 10M frames.

    Deviations: rlkit anneals PER's beta 0.5 -> 1 over the run (Dopamine keeps 0.5); noisy layers start at
    sigma0 0.5 / sqrt(fan_in) with fresh noise per update (their NoisyNetwork starts at 0.1 / sqrt(fan_in) and
    draws its noise once, a quirk of that code); PyTorch's default initialisation (theirs: Glorot uniform);
    uniform random acting for the first 1,000 frames (theirs: epsilon 0.01 from the start).
    """
    return dataclasses.replace(
        minatar_dqn(env_id),
        total_steps=10_000_000,
        mlp_hidden=[],
        head_hidden=0,
        double=True,
        dueling=True,
        noisy=True,
        noisy_sigma0=0.5,
        num_atoms=51,
        v_min=-100.0,
        v_max=100.0,
        n_step=3,
        prioritized=True,
        per_alpha=0.5,
        per_beta0=0.5,
        optimizer="adam",
        lr=1e-4,
        adam_eps=3.125e-4,
        max_grad_norm=0.0,
        train_every_steps=4,
        target_update_steps=1_000,
        learning_starts_steps=1_000,
        eps_start=0.01,
        eps_end=0.01,
        eps_decay_steps=0,
    )


# RL Baselines3 Zoo's tuned DQN (hyperparams/dqn.yml): SB3 DQN, Adam (eps 1e-8), Huber loss, gradient norm
# clipped at 10, one env. SB3's ``train_freq`` / ``gradient_steps`` become rlkit's evenly spread replay ratio
# ``train_every_steps = train_freq / gradient_steps`` (gradient_steps -1 = one update per env step); its
# exploration_fraction of the budget becomes ``eps_decay_steps``. rlkit steps 4 envs with the same ratio.
def _zoo(env_id: str, **values: Any) -> DQNConfig:
    return DQNConfig(
        env_id=env_id,
        num_envs=4,
        vectorization="sync",
        torch_threads=1,
        mlp_hidden=[256, 256],
        head_hidden=0,
        loss="huber",
        optimizer="adam",
        adam_eps=1e-8,
        max_grad_norm=10.0,
        eps_start=1.0,
        checkpoint_every_steps=0,
        log_every_steps=1_000,
        **values,
    )


def zoo_cartpole(env_id: str = "CartPole-v1") -> DQNConfig:
    """RL Zoo's CartPole-v1 DQN: 50k steps, lr 2.3e-3, batch 64, 256x256 MLP; target every 128 updates.

    Zoo values: n_timesteps 5e4, learning_rate 2.3e-3, batch_size 64, buffer_size 100k, learning_starts 1000,
    gamma 0.99, target_update_interval 10, train_freq 256, gradient_steps 128, exploration_fraction 0.16,
    exploration_final_eps 0.04, net_arch [256, 256]. SB3 checks the target interval only between its bursts
    of 128 updates, so it copies once per burst: here every 256 steps (128 updates).
    """
    return _zoo(
        env_id, total_steps=50_000, lr=2.3e-3, batch_size=64, buffer_size=100_000, learning_starts_steps=1_000,
        gamma=0.99, target_update_steps=256, train_every_steps=2, eps_end=0.04, eps_decay_steps=8_000,
    )  # fmt: skip


def zoo_acrobot(env_id: str = "Acrobot-v1") -> DQNConfig:
    """RL Zoo's Acrobot-v1 DQN: 100k steps, lr 6.3e-4, batch 128, one update per step, target every 250 steps.

    Zoo values: n_timesteps 1e5, learning_rate 6.3e-4, batch_size 128, buffer_size 50k, learning_starts 0,
    gamma 0.99, target_update_interval 250, train_freq 4, gradient_steps -1, exploration_fraction 0.12,
    exploration_final_eps 0.1, net_arch [256, 256]. Learning starts once a batch (128) is stored.
    """
    return _zoo(
        env_id, total_steps=100_000, lr=6.3e-4, batch_size=128, buffer_size=50_000, learning_starts_steps=0,
        gamma=0.99, target_update_steps=250, train_every_steps=1, eps_end=0.1, eps_decay_steps=12_000,
    )  # fmt: skip


def zoo_mountaincar(env_id: str = "MountainCar-v0") -> DQNConfig:
    """RL Zoo's MountainCar-v0 DQN: 120k steps, lr 4e-3, batch 128, gamma 0.98, target every 600 steps.

    Zoo values: n_timesteps 1.2e5, learning_rate 4e-3, batch_size 128, buffer_size 10k, learning_starts 1000,
    gamma 0.98, target_update_interval 600, train_freq 16, gradient_steps 8, exploration_fraction 0.2,
    exploration_final_eps 0.07, net_arch [256, 256].
    """
    return _zoo(
        env_id, total_steps=120_000, lr=4e-3, batch_size=128, buffer_size=10_000, learning_starts_steps=1_000,
        gamma=0.98, target_update_steps=600, train_every_steps=2, eps_end=0.07, eps_decay_steps=24_000,
    )  # fmt: skip


def zoo_lunarlander(env_id: str = "LunarLander-v3") -> DQNConfig:
    """RL Zoo's LunarLander DQN (needs box2d): 100k steps, lr 6.3e-4, batch 128, one update per step.

    Zoo values (LunarLander-v2, the same task as v3): n_timesteps 1e5, learning_rate 6.3e-4, batch_size 128,
    buffer_size 50k, learning_starts 0, gamma 0.99, target_update_interval 250, train_freq 4,
    gradient_steps -1, exploration_fraction 0.12, exploration_final_eps 0.1, net_arch [256, 256].
    """
    return zoo_acrobot(env_id)


PRESETS: dict[str, Callable[[str], DQNConfig]] = {
    "dqn": dqn,
    "double": double,
    "dueling": dueling,
    "prioritized": prioritized,
    "c51": c51,
    "noisy": noisy,
    "rainbow": rainbow,
    "minatar-dqn": minatar_dqn,
    "minatar-rainbow": minatar_rainbow,
    "zoo-cartpole": zoo_cartpole,
    "zoo-acrobot": zoo_acrobot,
    "zoo-mountaincar": zoo_mountaincar,
    "zoo-lunarlander": zoo_lunarlander,
}
# The env each task-specific preset was tuned for: make_config's default when no env id is given.
PRESET_ENVS: dict[str, str] = {
    "minatar-dqn": "MinAtar/Breakout-v1",
    "minatar-rainbow": "MinAtar/Breakout-v1",
    "zoo-cartpole": "CartPole-v1",
    "zoo-acrobot": "Acrobot-v1",
    "zoo-mountaincar": "MountainCar-v0",
    "zoo-lunarlander": "LunarLander-v3",
}


def make_config(preset: str = "dqn", env_id: str | None = None, overrides: list[str] | None = None) -> DQNConfig:
    """Build a preset for ``env_id``, apply ``key=value`` overrides and validate the result.

    :param env_id: default: the env a task-specific preset was tuned for (``PRESET_ENVS``), else CartPole-v1.

    :raises RlkitError: unknown preset, unknown key or invalid value.
    """
    if preset not in PRESETS:
        raise RlkitError(f"unknown DQN preset {preset!r}; choose one of {sorted(PRESETS)}")
    env_id = env_id or PRESET_ENVS.get(preset, "CartPole-v1")
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
