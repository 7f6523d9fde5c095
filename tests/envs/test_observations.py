"""envs.make on every observation-space kind: adapted shapes and dtypes, `module:EnvId`, and the one-line errors."""

import gymnasium as gym
import numpy as np
import pytest

import envs
from envs.observations import is_channels_last
from rlkit.errors import RlkitError

TOY = "tests.envs.toy_envs"

# id -> (observation shape of one env, dtype) after adaptation
EXPECTED = {
    "ToyVector-v0": ((3,), np.float32),
    "ToyIntVector-v0": ((5,), np.float32),
    "ToyHWC-v0": ((4, 10, 10), np.bool_),
    "ToyCHW-v0": ((3, 12, 12), np.uint8),
    "ToyGray-v0": ((1, 16, 16), np.uint8),
    "ToyDiscrete-v0": ((7,), np.bool_),
    "ToyTuple-v0": ((5,), np.bool_),
    "ToyDict-v0": ((4,), np.float32),
}


@pytest.mark.parametrize("env_id", sorted(EXPECTED))
def test_every_space_kind_becomes_one_array(env_id):
    shape, dtype = EXPECTED[env_id]
    env = envs.make(f"{TOY}:{env_id}", num_envs=2, seed=3)
    assert env.single_observation_space.shape == shape and env.single_observation_space.dtype == dtype
    obs, _ = env.reset(seed=3)
    assert obs.shape == (2, *shape) and obs.dtype == dtype
    assert env.single_observation_space.contains(obs[0])
    finished = 0
    for _ in range(12):
        obs, _, _, _, infos = env.step(np.zeros(2, dtype=np.int64))
        assert obs.shape == (2, *shape) and obs.dtype == dtype
        finished += int(infos["episode_done"].sum())
    assert finished >= 2 and envs.gym_envs.frame_stack(env) == 1


def test_one_hot_and_channel_moves_keep_the_values():
    from envs.observations import adapt_observations
    from tests.envs.toy_envs import ToyEnv, spaces

    env = adapt_observations(ToyEnv(spaces.Discrete(7)))
    obs, _ = env.reset(seed=0)
    assert obs.dtype == np.bool_ and obs.shape == (7,) and obs.sum() == 1  # one-hot
    hwc = adapt_observations(ToyEnv(spaces.Box(0, 1, (10, 10, 4), dtype=bool)))
    grid = np.random.default_rng(0).random((10, 10, 4)) < 0.5
    np.testing.assert_array_equal(hwc.observation(grid), grid.transpose(2, 0, 1))


def test_channel_order_rule():
    assert is_channels_last((10, 10, 4)) and is_channels_last((10, 10, 10)) and is_channels_last((210, 160, 3))
    assert not is_channels_last((4, 84, 84)) and not is_channels_last((3, 210, 160))


def test_gymnasium_episode_statistics_come_along():
    env = envs.make(f"{TOY}:ToyVector-v0", num_envs=3)
    env.reset(seed=0)
    for step in range(5):
        _, _, terminated, _, infos = env.step(np.zeros(3, dtype=np.int64))
        assert ("episode" in infos) == bool(terminated.any())
    np.testing.assert_array_equal(infos["_episode"], terminated)
    np.testing.assert_array_equal(infos["episode"]["r"], infos["episode_return"])
    np.testing.assert_array_equal(infos["episode"]["l"], [5, 5, 5])
    assert (infos["episode"]["t"] >= 0).all()


def test_render_mode_only_where_asked():
    # ToyEnv takes no render_mode argument: forcing one would crash
    assert envs.make(f"{TOY}:ToyVector-v0").render_mode is None
    assert envs.make("CartPole-v1", render_mode="rgb_array").render_mode == "rgb_array"


def test_module_ids_and_error_lines():
    with pytest.raises(RlkitError, match="cannot import 'tests.envs.no_such_module'"):
        envs.make("tests.envs.no_such_module:Foo-v0")
    with pytest.raises(RlkitError, match="unknown environment id 'ToyNope-v0'"):
        envs.make(f"{TOY}:ToyNope-v0")
    with pytest.raises(RlkitError, match="ToyText-v0 has observations of type Text") as error:
        envs.make(f"{TOY}:ToyText-v0")
    assert "\n" not in str(error.value)


def test_missing_optional_dependency_names_the_extra(monkeypatch):
    def missing(*args, **kwargs):
        raise gym.error.DependencyNotInstalled('Box2D is not installed, run `pip install "gymnasium[box2d]"`')

    monkeypatch.setattr(gym, "make", missing)
    with pytest.raises(RlkitError, match=r"LunarLander-v3 needs .*pip install 'rlkit\[box2d\]'"):
        envs.make("LunarLander-v3")


def test_missing_minatar_names_the_extra(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "minatar.gym", None)  # makes `import minatar.gym` raise ImportError
    monkeypatch.delitem(gym.registry, "MinAtar/Breakout-v1", raising=False)
    with pytest.raises(RlkitError, match=r"pip install 'rlkit\[minatar\]'"):
        envs.make("MinAtar/Breakout-v1")


def test_minatar_grids_channels_first_and_full_action_set():
    pytest.importorskip("minatar")
    env = envs.make("MinAtar/Breakout-v1", num_envs=2)
    assert env.single_observation_space.shape == (4, 10, 10) and env.single_observation_space.dtype == np.bool_
    assert env.single_action_space.n == 3  # -v1: the game's minimal action set
    assert envs.make("MinAtar/Breakout-v1", full_action_space=True).single_action_space.n == 6
