"""DQN beyond CartPole: networks for every observation kind, the MinAtar and RL Zoo presets, one-line refusals."""

import numpy as np
import pytest
import torch

import envs
from agents import dqn
from agents.dqn.actor import make_env
from agents.dqn.networks import SmallConvTorso, build_network_for_env, build_q_network
from agents.dqn.presets import PRESET_ENVS, PRESETS
from rlkit.errors import RlkitError

TOY = "tests.envs.toy_envs"


@pytest.mark.parametrize(
    ("env_id", "torso"),
    [("ToyVector-v0", "Sequential"), ("ToyHWC-v0", "SmallConvTorso"), ("ToyCHW-v0", "SmallConvTorso"),
     ("ToyGray-v0", "SmallConvTorso"), ("ToyDiscrete-v0", "Sequential"), ("ToyDict-v0", "Sequential")],
)  # fmt: skip
def test_network_fits_every_observation_kind(env_id, torso):
    cfg = dqn.make_config("dqn", f"{TOY}:{env_id}")
    env = make_env(cfg, 2, seed=0)
    network, _, num_actions = build_network_for_env(cfg, env)
    assert type(network.torso).__name__ == torso and num_actions == 3
    obs, _ = env.reset(seed=0)
    assert network.q_values(torch.as_tensor(obs)).shape == (2, 3)


def test_small_conv_torso_is_minatars_network():
    torso = SmallConvTorso((4, 10, 10), hidden=[128])
    assert torso.conv.out_channels == 16 and torso.conv.kernel_size == (3, 3) and torso.conv.stride == (1, 1)
    assert torso(torch.zeros(5, 4, 10, 10, dtype=torch.bool)).shape == (5, 128)
    assert SmallConvTorso((4, 10, 10), hidden=[])(torch.zeros(1, 4, 10, 10)).shape == (1, 1024)
    cfg = dqn.make_config("minatar-dqn", "MinAtar/Breakout-v1")
    network = build_q_network(cfg, (4, 10, 10), 6)
    # conv 4*16*9+16, fc 1024*128+128, out 128*6+6: the MinAtar paper's parameter count
    assert sum(p.numel() for p in network.parameters()) == 592 + 131_200 + 774


def test_refusals_are_one_line():
    cfg = dqn.make_config("dqn", f"{TOY}:ToyContinuous-v0")
    with pytest.raises(RlkitError, match=r"needs a Discrete action space; .* has Box\(") as error:
        build_network_for_env(cfg, make_env(cfg, 1, seed=0))
    assert "\n" not in str(error.value)
    with pytest.raises(RlkitError, match=r"shape \(3, 210, 160\).*84x84"):
        build_q_network(dqn.make_config("dqn", "ALE/Pong-v5"), (3, 210, 160), 6)


def test_task_presets_are_listed_and_default_to_their_env():
    for name in ("minatar-dqn", "minatar-rainbow", "zoo-cartpole", "zoo-acrobot", "zoo-mountaincar", "zoo-lunarlander"):
        assert name in PRESETS and PRESETS[name].__doc__
        assert dqn.make_config(name).env_id == PRESET_ENVS[name]
    cfg = dqn.make_config("minatar-dqn")
    assert (cfg.optimizer, cfg.lr, cfg.adam_eps, cfg.batch_size, cfg.buffer_size) == (
        "rmsprop",
        2.5e-4,
        0.01,
        32,
        100_000,
    )
    assert (cfg.learning_starts_steps, cfg.target_update_steps, cfg.train_every_steps) == (5_000, 1_000, 1)
    assert (cfg.eps_end, cfg.eps_decay_steps, cfg.gamma, cfg.full_action_space) == (0.1, 100_000, 0.99, True)
    rainbow = dqn.make_config("minatar-rainbow")
    assert (rainbow.n_step, rainbow.num_atoms, rainbow.v_max, rainbow.lr, rainbow.train_every_steps) == (
        3,
        51,
        100.0,
        1e-4,
        4,
    )


# rl-baselines3-zoo hyperparams/dqn.yml (every key it sets; policy MlpPolicy with net_arch [256, 256] throughout):
# n_timesteps, learning_rate, batch_size, buffer_size, learning_starts, gamma, target_update_interval, train_freq,
# gradient_steps, exploration_fraction, exploration_final_eps. LunarLander-v2 there is LunarLander-v3 here.
ZOO_DQN_YML = {
    "zoo-cartpole": (50_000, 2.3e-3, 64, 100_000, 1_000, 0.99, 10, 256, 128, 0.16, 0.04),
    "zoo-mountaincar": (120_000, 4e-3, 128, 10_000, 1_000, 0.98, 600, 16, 8, 0.2, 0.07),
    "zoo-lunarlander": (100_000, 6.3e-4, 128, 50_000, 0, 0.99, 250, 4, -1, 0.12, 0.1),
    "zoo-acrobot": (100_000, 6.3e-4, 128, 50_000, 0, 0.99, 250, 4, -1, 0.12, 0.1),
}


@pytest.mark.parametrize("preset", sorted(ZOO_DQN_YML))
def test_zoo_presets_are_rl_zoos_settings_under_sb3_semantics(preset):
    steps, lr, batch, buffer, starts, gamma, target, train_freq, gradient_steps, fraction, final_eps = ZOO_DQN_YML[
        preset
    ]
    cfg = dqn.make_config(preset)
    assert (cfg.total_steps, cfg.lr, cfg.batch_size, cfg.buffer_size) == (steps, lr, batch, buffer)
    assert (cfg.learning_starts_steps, cfg.gamma, cfg.eps_start, cfg.eps_end) == (starts, gamma, 1.0, final_eps)
    # SB3 DQN: Adam (eps 1e-8), Huber, grad norm 10, hard copies, no double/dueling/n-step/PER/noise, one env.
    assert (cfg.optimizer, cfg.adam_eps, cfg.loss, cfg.max_grad_norm, cfg.target_tau) == ("adam", 1e-8, "huber", 10, 1)
    assert not (cfg.double or cfg.dueling or cfg.prioritized or cfg.noisy) and (cfg.n_step, cfg.num_atoms) == (1, 1)
    assert (cfg.num_envs, cfg.mlp_hidden, cfg.head_hidden, cfg.mlp_init) == (1, [256, 256], 0, "torch")
    # gradient_steps updates every train_freq env steps (-1: one per env step), spread evenly.
    assert cfg.train_every_steps == (1 if gradient_steps == -1 else train_freq // gradient_steps)
    assert cfg.eps_decay_steps == round(fraction * steps)
    # SB3 checks target_update_interval after every env step, but the online net only moves in its bursts of
    # updates: an interval shorter than train_freq copies once per burst.
    assert cfg.target_update_steps == max(target, train_freq if gradient_steps != -1 else 1)


def test_zoo_networks_start_from_pytorchs_default_init():
    """SB3's QNetwork keeps nn.Linear's init: uniform weights and biases of bound 1/sqrt(fan_in). The
    variance-preserving init (zero biases, normal weights) left zoo-cartpole at a greedy 253 instead of 500."""
    network = build_q_network(dqn.make_config("zoo-cartpole"), (4,), 2)
    first, second = network.torso[1].layers[0], network.torso[1].layers[2]
    for layer, fan_in in ((first, 4), (second, 256)):
        bound = fan_in**-0.5
        assert layer.bias.abs().min() > 0 and layer.bias.abs().max() <= bound
        assert layer.weight.abs().max() <= bound
    default = build_q_network(dqn.make_config("dqn"), (4,), 2)
    assert (default.torso[1].layers[0].bias == 0).all()  # the other presets keep the variance-preserving init


@pytest.mark.parametrize("preset", ["minatar-dqn", "minatar-rainbow"])
def test_minatar_presets_smoke(tmp_path, preset):
    pytest.importorskip("minatar")
    from rlkit.config import to_dict
    from rlkit.runs import Run

    cfg = dqn.make_config(
        preset, "MinAtar/Breakout-v1",
        ["total_steps=300", "learning_starts_steps=100", "buffer_size=1000", "log_every_steps=100"],
    )  # fmt: skip
    env = make_env(cfg, 1, seed=0)
    assert env.single_action_space.n == 6 and env.single_observation_space.dtype == np.bool_
    summary = dqn.train(cfg, Run.create(tmp_path, preset, to_dict(cfg)))
    assert summary["steps"] == 300


def test_replay_stores_minatar_grids_as_bool():
    from rlkit.replay.buffer import ReplayBuffer, storage_dtype

    pytest.importorskip("minatar")
    env = envs.make("MinAtar/Breakout-v1", num_envs=2)
    space = env.single_observation_space
    buf = ReplayBuffer(1000, space.shape, num_envs=2, frame_stack=envs.gym_envs.frame_stack(env),
                       obs_dtype=storage_dtype(space.dtype))  # fmt: skip
    obs, _ = env.reset(seed=0)
    for _ in range(40):
        next_obs, reward, terminated, truncated, _ = env.step(np.zeros(2, dtype=np.int64))
        buf.add(obs, np.zeros(2), reward, terminated, truncated, next_obs)
        obs = next_obs
    batch = buf.sample(16)
    assert batch.obs.dtype == torch.bool and batch.obs.shape == (16, 4, 10, 10)
    assert buf.nbytes < 1000 * (400 + 40)  # one byte per cell
