"""The named DQN presets: the Rainbow ablation on Atari (CartPole-scale on vector envs), MinAtar's DQN and
Revisiting Rainbow's MinAtar agent, and RL Baselines3 Zoo's tuned classic-control DQNs; ``make_config``.

Units: every ``*_steps`` field counts agent steps (``agents.dqn.config``); on Atari one agent step is 4 frames.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from agents.dqn.config import DQNConfig, check_config, is_atari
from rlkit.config import apply_overrides
from rlkit.errors import RlkitError

__all__ = ["PRESETS", "PRESET_ENVS", "make_config"]


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
    MinAtar's own sticky actions (0.1) and difficulty ramping stay on; every layer keeps PyTorch's default init
    (``mlp_init="torch"``), as ``dqn.py`` builds them with ``nn.Conv2d`` / ``nn.Linear`` and no init of its own.

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
        mlp_init="torch",
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


# RL Baselines3 Zoo's tuned DQN (hyperparams/dqn.yml, checked against the file): SB3 DQN, Adam (eps 1e-8),
# Huber loss, gradient norm clipped at 10, no double Q, no dueling, one env (zoo's default n_envs), PyTorch's
# default nn.Linear initialisation (SB3's QNetwork does not re-initialise). SB3's ``train_freq`` /
# ``gradient_steps`` become rlkit's evenly spread replay ratio ``train_every_steps = train_freq / gradient_steps``
# (gradient_steps -1 = one update per env step; spreading SB3's bursts changed nothing measurable on CartPole);
# SB3 counts ``target_update_interval`` in env steps, as rlkit's ``target_update_steps`` does; its
# exploration_fraction of the budget becomes ``eps_decay_steps``.
#
# The initialisation matters: with nets.MLP's variance-preserving init (normal weights, zero biases: every
# first-layer ReLU kink through the origin of CartPole's centred state) zoo-cartpole reached a training MA100 of
# 134 and a greedy score of 253 (seed 0, 4 envs), 173 with one env; with PyTorch's default init, 320 and 500.
def _zoo(env_id: str, **values: Any) -> DQNConfig:
    return DQNConfig(
        env_id=env_id,
        num_envs=1,
        vectorization="sync",
        torch_threads=1,
        mlp_hidden=[256, 256],
        mlp_init="torch",
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
