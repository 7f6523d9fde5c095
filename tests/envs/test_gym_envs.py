"""envs.make: shapes, presets, errors, next-step autoreset and the real-episode statistics."""

import sys

import gymnasium as gym
import numpy as np
import pytest

import envs
from envs.gym_envs import PRESETS
from envs.video import grab_frame, grab_frames, record_episodes
from rlkit.errors import RlkitError

EPISODE_KEYS = {
    "episode_done": np.bool_,
    "episode_return": np.float64,
    "episode_length": np.int64,
    "episode_terminated": np.bool_,
    "episode_truncated": np.bool_,
}


def assert_episode_keys(infos: dict, num_envs: int) -> None:
    for key, dtype in EPISODE_KEYS.items():
        assert infos[key].shape == (num_envs,), key
        assert infos[key].dtype == dtype, key


def random_actions(env, seed: int = 0):
    rng = np.random.default_rng(seed)
    while True:
        yield rng.integers(0, env.single_action_space.n, size=env.num_envs)


def test_cartpole_shapes_and_episode_statistics():
    env = envs.make("CartPole-v1", num_envs=3, seed=1)
    obs, infos = env.reset()
    assert obs.shape == (3, 4) and obs.dtype == np.float32
    assert_episode_keys(infos, 3)
    assert env.metadata["autoreset_mode"] == gym.vector.AutoresetMode.NEXT_STEP
    lengths = np.zeros(3, dtype=np.int64)
    restarting = np.zeros(3, dtype=bool)
    finished = 0
    actions = random_actions(env)
    while finished < 5:
        obs, reward, terminated, truncated, infos = env.step(next(actions))
        assert_episode_keys(infos, 3)
        # next-step autoreset: the step after a done is a reset with reward 0 and no flags
        assert np.all(reward[restarting] == 0) and not np.any((terminated | truncated)[restarting])
        lengths = np.where(restarting, 0, lengths + 1)
        done = terminated | truncated
        np.testing.assert_array_equal(infos["episode_done"], done)
        for i in np.flatnonzero(done):
            assert infos["episode_length"][i] == lengths[i]
            assert infos["episode_return"][i] == lengths[i]  # CartPole pays 1 per step
            assert infos["episode_terminated"][i] and not infos["episode_truncated"][i]
            finished += 1
        restarting = done


def test_truncation_is_reported_apart_from_termination():
    env = envs.make("CartPole-v1", num_envs=1, max_episode_steps=5)
    for _ in range(5):
        _, _, terminated, truncated, infos = env.step(np.array([0]))
    assert truncated[0] and not terminated[0]
    assert infos["episode_done"][0] and infos["episode_truncated"][0] and not infos["episode_terminated"][0]
    assert infos["episode_length"][0] == 5


@pytest.mark.parametrize("preset", ["dqn", "machado"])
def test_pong_presets_shapes(preset):
    env = envs.make("ALE/Pong-v5", num_envs=2, preset=preset, seed=3)
    obs, infos = env.reset()
    assert obs.shape == (2, 4, 84, 84) and obs.dtype == np.uint8
    assert env.single_action_space == gym.spaces.Discrete(6)
    obs, reward, terminated, truncated, infos = env.step(np.array([0, 1]))
    assert obs.shape == (2, 4, 84, 84) and obs.dtype == np.uint8
    assert reward.shape == (2,) and terminated.dtype == np.bool_ and truncated.dtype == np.bool_
    assert_episode_keys(infos, 2)
    assert obs.max() > 0  # a real screen, not a blank buffer


def test_native_vectorization_serves_the_same_layout():
    env = envs.make("ALE/Pong-v5", num_envs=2, preset="dqn", vectorization="native")
    obs, infos = env.reset()
    assert obs.shape == (2, 4, 84, 84) and obs.dtype == np.uint8
    _, reward, _, _, infos = env.step(np.array([0, 1]))
    assert reward.dtype == np.float64
    assert_episode_keys(infos, 2)


def test_async_vectorization_steps():
    env = envs.make("ALE/Pong-v5", num_envs=2, preset="dqn", vectorization="async")
    try:
        obs, _, _, _, infos = env.step(np.array([2, 3]))
        assert obs.shape == (2, 4, 84, 84)
        assert_episode_keys(infos, 2)
    finally:
        env.close()


def test_presets_are_the_documented_protocols():
    dqn, machado = PRESETS["dqn"], PRESETS["machado"]
    assert (dqn.repeat_action_probability, dqn.noop_max, dqn.life_loss, dqn.fire_reset, dqn.clip_rewards) == (
        0.0, 30, True, True, True,
    )  # fmt: skip
    assert (machado.repeat_action_probability, machado.noop_max, machado.life_loss, machado.clip_rewards) == (
        0.25, 0, False, False,
    )  # fmt: skip
    for protocol in (dqn, machado):
        assert (protocol.frame_skip, protocol.screen_size, protocol.frame_stack) == (4, 84, 4)
        assert protocol.max_episode_frames == 108_000
    env = envs.make("ALE/Pong-v5", preset="machado")
    assert env.unwrapped.envs[0].unwrapped.ale.getFloat("repeat_action_probability") == pytest.approx(0.25)


def test_same_seed_same_trajectory():
    def rollout(seed):
        env = envs.make("ALE/Pong-v5", num_envs=2, preset="dqn", seed=seed)
        obs, _ = env.reset()
        actions = random_actions(env, seed=7)
        frames = [obs]
        for _ in range(40):
            frames.append(env.step(next(actions))[0])
        return np.stack(frames)

    first = rollout(5)
    np.testing.assert_array_equal(first, rollout(5))
    assert not np.array_equal(first, rollout(6))  # the no-op starts differ


@pytest.mark.parametrize(("env_id", "suggestion"), [("ALE/Pongg-v5", "ALE/Pong-v5"), ("CartPol-v1", "CartPole-v1")])
def test_unknown_id_names_it_and_suggests(env_id, suggestion):
    with pytest.raises(RlkitError, match=env_id) as error:
        envs.make(env_id)
    assert suggestion in str(error.value)


def test_bad_preset_and_options_name_the_choices():
    with pytest.raises(RlkitError, match="'rainbow'.*'dqn', 'machado'"):
        envs.make("ALE/Pong-v5", preset="rainbow")
    with pytest.raises(RlkitError, match="'CartPole-v1' is not an ALE game"):
        envs.make("CartPole-v1", preset="dqn")
    with pytest.raises(RlkitError, match="'threads'.*sync, async, native"):
        envs.make("CartPole-v1", vectorization="threads")
    with pytest.raises(RlkitError, match="needs a preset"):
        envs.make("ALE/Pong-v5", vectorization="native")
    with pytest.raises(RlkitError, match="num_envs"):
        envs.make("CartPole-v1", num_envs=0)


def test_frame_grabber_returns_rgb(tmp_path):
    env = envs.make("ALE/Breakout-v5", num_envs=2, preset="dqn", render_mode="rgb_array")
    frames = grab_frames(env)
    assert frames.shape == (2, 210, 160, 3) and frames.dtype == np.uint8
    assert np.any(frames[..., 0] != frames[..., 1])  # colour, not grayscale copied three times
    single = gym.make("ALE/Pong-v5", render_mode="rgb_array")
    single.reset(seed=0)
    assert grab_frame(single).shape == (210, 160, 3)
    with pytest.raises(RlkitError, match="sync' or 'async"):
        grab_frames(envs.make("ALE/Pong-v5", preset="dqn", vectorization="native"))


def test_record_episodes_writes_mp4(tmp_path):
    pytest.importorskip("imageio_ffmpeg")
    env = envs.make("ALE/Pong-v5", num_envs=1, preset="dqn", render_mode="rgb_array")
    path = tmp_path / "videos" / "eval.mp4"
    returns = record_episodes(env, lambda obs: np.zeros(len(obs), dtype=np.int64), path, max_steps=30)
    assert returns == [] and path.stat().st_size > 1000  # 30 steps, no game finished yet


def test_lean_sync_vector_env_agrees_with_gymnasium():
    from envs.gym_envs import _make_single
    from envs.vector_wrappers import LeanSyncVectorEnv

    def make_fns():
        return [lambda: _make_single("CartPole-v1", None, {}) for _ in range(3)]

    lean = LeanSyncVectorEnv(make_fns())
    reference = gym.vector.SyncVectorEnv(make_fns(), autoreset_mode=gym.vector.AutoresetMode.NEXT_STEP)
    for env in (lean, reference):
        env.reset(seed=4)
    actions = random_actions(lean, seed=5)
    episodes = 0
    for _ in range(300):
        action = next(actions)
        ours, theirs = lean.step(action), reference.step(action)
        for mine, expected in zip(ours[:4], theirs[:4]):
            np.testing.assert_array_equal(mine, expected)
            assert mine.dtype == expected.dtype
        assert ours[4].keys() == theirs[4].keys()
        for key in ours[4]:
            if key == "episode":  # Gymnasium's statistics: same returns and lengths, wall times differ
                for stat in ("r", "l", "_r", "_l", "_t"):
                    np.testing.assert_array_equal(ours[4][key][stat], theirs[4][key][stat])
            else:
                np.testing.assert_array_equal(ours[4][key], theirs[4][key])
        episodes += int(ours[4].get("_episode_return", np.zeros(3)).sum())
    assert episodes >= 10  # the comparison crossed many autoresets


def test_preset_settings_are_overridden_by_protocol_names():
    with pytest.raises(RlkitError, match="frameskip.*frame_skip"):
        envs.make("ALE/Pong-v5", preset="dqn", frameskip=5)
    env = envs.make("ALE/Pong-v5", preset="dqn", repeat_action_probability=0.25, frame_stack=2)
    assert env.single_observation_space.shape == (2, 84, 84)
    assert env.unwrapped.envs[0].unwrapped.ale.getFloat("repeat_action_probability") == pytest.approx(0.25)


def test_video_without_imageio_says_what_to_install(tmp_path, monkeypatch):
    from envs.video import VideoWriter

    monkeypatch.setitem(sys.modules, "imageio", None)  # makes `import imageio...` raise ImportError
    monkeypatch.setitem(sys.modules, "imageio.v2", None)
    with pytest.raises(RlkitError, match=r"pip install 'rlkit\[video\]'"):
        VideoWriter(tmp_path / "x.mp4")
