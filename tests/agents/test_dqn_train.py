"""DQN training loop: every preset runs, resume is exact, replay targets are exact, bad input is caught."""

import dataclasses

import gymnasium as gym
import numpy as np
import pytest
import torch

from agents import dqn
from agents.dqn.learner import Learner
from agents.dqn.networks import build_q_network
from rlkit.checkpoints import load_checkpoint
from rlkit.config import to_dict
from rlkit.errors import RlkitError
from rlkit.replay import ReplayBuffer
from rlkit.runs import Run

CHAIN_ID = "rlkit-test/DQNChain-v0"


class ChainEnv(gym.Env):
    """Deterministic 3-step episodes: obs one-hot(t) of width 4, reward 1 when action == t % 2."""

    metadata = {"render_modes": ["rgb_array"]}  # noqa: RUF012  (Gymnasium reads it as a class attribute)
    observation_space = gym.spaces.Box(0.0, 1.0, (4,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, render_mode=None):
        self.render_mode = render_mode

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self._obs(), {}

    def step(self, action):
        reward = float(action == self.t % 2)
        self.t += 1
        return self._obs(), reward, self.t == 3, False, {}

    def _obs(self):
        return np.eye(4, dtype=np.float32)[self.t]


if CHAIN_ID not in gym.registry:
    gym.register(CHAIN_ID, entry_point=ChainEnv)


def small(preset, env_id="CartPole-v1", *extra):
    return dqn.make_config(
        preset,
        env_id,
        [
            "total_steps=300",
            "learning_starts_steps=100",
            "batch_size=32",
            "buffer_size=2000",
            "log_every_steps=100",
            *extra,
        ],
    )


@pytest.mark.parametrize("preset", sorted(dqn.PRESETS))
def test_every_preset_trains_on_cartpole(tmp_path, preset):
    cfg = small(preset)
    summary = dqn.train(cfg, Run.create(tmp_path, preset, to_dict(cfg)))
    assert summary["steps"] == 300 and summary["episodes"] > 5
    run = Run.open(tmp_path / preset)
    assert (run.plots_dir / "learning_curve.png").is_file()
    records = [line for line in run.metrics_path.read_text().splitlines() if "train/loss" in line]
    assert records, "no update was logged"
    weights = load_checkpoint(run.latest_checkpoint())["learner"]["online"]
    assert all(torch.isfinite(w).all() for w in weights.values())


def test_lstm_torso_trains_on_sequences(tmp_path):
    cfg = small(
        "double",
        "CartPole-v1",
        "torso=lstm",
        "seq_len=4",
        "burn_in_steps=2",
        "total_steps=200",
        "lstm_hidden=32",
        "mlp_hidden=[32]",
    )
    summary = dqn.train(cfg, Run.create(tmp_path, "drqn", to_dict(cfg)))
    assert summary["steps"] == 200
    assert summary["mean_return"] is not None


@pytest.mark.parametrize("preset", ["dqn", "rainbow"])
def test_atari_smoke(tmp_path, preset):
    cfg = small(
        preset, "ALE/Pong-v5", "num_envs=2", "vectorization=sync", "total_steps=200", "learning_starts_steps=120"
    )
    summary = dqn.train(cfg, Run.create(tmp_path, preset, to_dict(cfg)))
    assert summary["steps"] == 200
    state = load_checkpoint(Run.open(tmp_path / preset).latest_checkpoint())
    assert state["learner"]["num_updates"] == (200 - 120) // 4  # one update per 4 agent steps after step 120


@pytest.mark.parametrize("preset", ["dqn", "rainbow"])
def test_resume_continues_exactly_like_an_uninterrupted_run(tmp_path, preset):
    # The chain env is deterministic and its envs end episodes together every 4 vector steps, so
    # a run resumed at step 152 (19 cycles of 2 envs) sees the same data as an uninterrupted one.
    cfg = dqn.make_config(
        preset,
        "CartPole-v1",
        [
            "env_id=" + CHAIN_ID,
            "num_envs=2",
            "total_steps=320",
            "learning_starts_steps=40",
            "checkpoint_every_steps=152",
            "save_replay=true",
            "buffer_size=1000",
            "batch_size=16",
            "eps_decay_steps=200",
            "target_update_steps=50",
            "log_every_steps=100",
        ],
    )
    run = Run.create(tmp_path, "run", to_dict(cfg))
    dqn.train(cfg, run)
    uninterrupted = load_checkpoint(run.latest_checkpoint())
    for path in run.checkpoints():
        if not path.name.endswith("0000000152.pt"):
            path.unlink()  # as if the run had been killed after its step-152 checkpoint
    summary = dqn.train(cfg, run, resume=True)
    resumed = load_checkpoint(run.latest_checkpoint())
    assert summary["steps"] == resumed["step"] == uninterrupted["step"] == 320
    for key in ("online", "target"):
        for name, value in uninterrupted["learner"][key].items():
            torch.testing.assert_close(resumed["learner"][key][name], value, rtol=0, atol=0)
    assert resumed["learner"]["num_updates"] == uninterrupted["learner"]["num_updates"]
    assert resumed["workers"][0]["rng"] == uninterrupted["workers"][0]["rng"]
    assert resumed["episodes"] == uninterrupted["episodes"] == 2 * 320 // 8
    optim_a, optim_b = resumed["learner"]["optimizer"]["state"], uninterrupted["learner"]["optimizer"]["state"]
    for index in optim_b:
        for name, value in optim_b[index].items():
            torch.testing.assert_close(optim_a[index][name], value, rtol=0, atol=0)


def test_learner_targets_from_replay_n_step_batch_are_exact():
    # One env, rewards 1, 2, 4 then termination: the 3-step return from s0 is 1 + g*2 + g^2*4, no bootstrap;
    # from s1 the window stops at the termination too.
    gamma = 0.5
    cfg = dqn.make_config("dqn", "CartPole-v1", [f"gamma={gamma}", "n_step=3", "loss=mse", "double=false"])
    buf = ReplayBuffer(100, (4,), num_envs=1, obs_dtype=torch.float32, n_step=3, gamma=gamma)
    obs = np.eye(4, dtype=np.float32)
    for t, (r, term) in enumerate([(1.0, False), (2.0, False), (4.0, True)]):
        buf.add(obs[t : t + 1], np.array([0]), np.array([r]), np.array([term]), np.array([False]), obs[t + 1 : t + 2])
    batch = buf.sample(64)
    network = build_q_network(cfg, (4,), 2)
    learner = Learner(cfg, network, torch.device("cpu"))
    with torch.no_grad():
        q_tm1 = network(batch.obs).gather(1, batch.action[:, None]).squeeze(1)
    _, priority, _ = learner.loss_fn(learner.online, learner.target, batch)
    start = batch.obs.argmax(1)
    expected_return = torch.tensor([1 + gamma * 2 + gamma**2 * 4, 2 + gamma * 4, 4.0])[start]
    torch.testing.assert_close(batch.discount, torch.zeros(64))
    torch.testing.assert_close(priority, (expected_return - q_tm1).abs())


def test_bad_inputs_raise_clear_errors(tmp_path):
    with pytest.raises(RlkitError, match="unknown DQN preset 'rainbo'"):
        dqn.make_config("rainbo", "CartPole-v1")
    with pytest.raises(RlkitError, match="lrr"):
        dqn.make_config("dqn", "CartPole-v1", ["lrr=1"])
    with pytest.raises(RlkitError, match="loss"):
        dqn.make_config("dqn", "CartPole-v1", ["loss=l1"])
    with pytest.raises(RlkitError, match="gamma"):
        dqn.make_config("dqn", "CartPole-v1", ["gamma=1.5"])
    cfg = dqn.make_config("dqn", "CartPole-v1", ["torso=nature_cnn"])
    with pytest.raises(RlkitError, match=r"shape \(4,\).*'mlp', 'lstm'"):
        dqn.train(cfg, Run.create(tmp_path, "cnn", to_dict(cfg)))
    cfg = dqn.make_config("dqn", "NoSuchEnv-v0")
    with pytest.raises(RlkitError, match="NoSuchEnv"):
        dqn.train(cfg, Run.create(tmp_path, "env", to_dict(cfg)))
    cfg = small("dqn")
    with pytest.raises(RlkitError, match="no readable checkpoint"):
        dqn.train(cfg, Run.create(tmp_path, "empty", to_dict(cfg)), resume=True)
    with pytest.raises(RlkitError, match="lstm"):
        dqn.make_config("rainbow", "CartPole-v1", ["torso=lstm"])


def test_checkpoint_of_another_architecture_is_refused(tmp_path):
    cfg = small("dqn", "CartPole-v1", "total_steps=200")
    run = Run.create(tmp_path, "run", to_dict(cfg))
    dqn.train(cfg, run)
    with pytest.raises(RlkitError, match="another architecture: dueling=False"):
        dqn.train(dataclasses.replace(cfg, dueling=True), run, resume=True)
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(RlkitError, match="junk.pt"):
        dqn.evaluate(tmp_path / "junk.pt")
    summary = dqn.evaluate(run.path, episodes=3)
    assert summary["episodes"] == 3 and "human_normalized" not in summary
    assert summary["min"] <= summary["median"] <= summary["max"]


@pytest.mark.parametrize("kind", ["dae", "dbn"])
def test_pretrained_torso_starts_from_the_saved_encoder(tmp_path, kind):
    import nets

    info = dqn.pretrain("CartPole-v1", tmp_path / f"{kind}.pt", kind=kind, num_obs=256, hidden=[16], latent=8, epochs=1)
    cfg = dqn.make_config("dqn", "CartPole-v1", [f"pretrained_torso={info['path']}"])
    network = build_q_network(cfg, (4,), 2)
    saved = nets.load(info["path"])
    encoder = saved.torso() if kind == "dbn" else saved.encoder
    obs = torch.randn(5, 4)
    torch.testing.assert_close(network.torso(obs), encoder(obs))
    assert network(obs).shape == (5, 2)
    with pytest.raises(RlkitError, match=r"encodes 4 inputs.*shape \(4, 84, 84\)"):
        build_q_network(dataclasses.replace(cfg, env_id="ALE/Pong-v5", torso="mlp"), (4, 84, 84), 6)
    with pytest.raises(RlkitError, match="pretrained_torso"):
        build_q_network(dataclasses.replace(cfg, pretrained_torso=str(tmp_path / "missing.pt")), (4,), 2)


def test_resume_without_saved_replay_refills_before_learning(tmp_path):
    cfg = small("dqn", "CartPole-v1", "total_steps=200", "learning_starts_steps=100")
    run = Run.create(tmp_path, "run", to_dict(cfg))
    dqn.train(cfg, run)
    before = load_checkpoint(run.latest_checkpoint())

    def updates(first_step, last_step):  # 4 envs: 2 updates at every vector step from first_step on
        return ((last_step - first_step) // 4 + 1) * 2

    assert "replay" not in before and before["learner"]["num_updates"] == updates(100, 200)
    dqn.train(dataclasses.replace(cfg, total_steps=340), run, resume=True)
    after = load_checkpoint(run.latest_checkpoint())
    # learning waits for 100 fresh steps (200 -> 300) before it starts again
    assert after["step"] == 340
    assert after["learner"]["num_updates"] == before["learner"]["num_updates"] + updates(300, 340)
