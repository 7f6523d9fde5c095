"""The Atari protocol wrappers: life loss without reset, FIRE, no-ops, max-pooling, resizing, clipping."""

import gymnasium as gym
import numpy as np
import pytest

import envs
from envs.atari_wrappers import AreaResize, FrameStack, MaxPoolFrameSkip
from envs.gym_envs import _register_ale


def ale_of(env, i: int = 0):
    """The emulator of sub-env i of a sync vector env from envs.make."""
    return env.unwrapped.envs[i].unwrapped.ale


def step_until(env, condition, actions, max_steps: int = 5000):
    """Step until condition(terminated, infos) is true for sub-env 0; return that step's results."""
    for _ in range(max_steps):
        result = env.step(next(actions))
        if condition(result[2], result[4]):
            return result
    raise AssertionError(f"condition not met in {max_steps} steps")


def random_actions(env, seed: int = 0):
    rng = np.random.default_rng(seed)
    while True:
        yield rng.integers(0, env.single_action_space.n, size=env.num_envs)


def constant_actions(env, action: int):
    while True:
        yield np.full(env.num_envs, action)


def life_lost(terminated, infos) -> bool:
    return bool(terminated[0] and not infos["episode_done"][0])


@pytest.mark.parametrize("vectorization", ["sync", "native"])
def test_life_loss_signals_without_resetting_the_game(vectorization):
    env = envs.make("ALE/Breakout-v5", preset="dqn", seed=0, vectorization=vectorization)
    actions = random_actions(env)
    _, _, _, _, infos = step_until(env, life_lost, actions)
    frame = infos["episode_frame_number"][0] if vectorization == "native" else ale_of(env).getEpisodeFrameNumber()
    assert frame > 50
    _, reward, terminated, truncated, infos = env.step(next(actions))
    assert not (terminated[0] or truncated[0] or infos["episode_done"][0])
    if vectorization == "sync":
        assert reward[0] == 0  # the next-step "reset" after a life loss, which continues the game
        ale = ale_of(env)
        assert ale.lives() == 4 and ale.getEpisodeFrameNumber() > frame
    else:
        assert infos["lives"][0] == 4 and infos["episode_frame_number"][0] > frame


@pytest.mark.parametrize("vectorization", ["sync", "native"])
def test_life_losses_and_one_episode_per_game(vectorization):
    env = envs.make("ALE/Breakout-v5", num_envs=2, preset="dqn", seed=1, vectorization=vectorization)
    actions = random_actions(env)
    life_losses = np.zeros(2, dtype=int)
    games = np.zeros(2, dtype=int)
    while games.min() < 1:
        _, _, terminated, _, infos = env.step(next(actions))
        life_losses += (terminated & ~infos["episode_done"]) * (games == 0)
        games += infos["episode_done"]
    np.testing.assert_array_equal(life_losses, [4, 4])  # 5 lives: 4 losses signalled, the 5th is game over


def test_machado_has_no_life_loss_signal():
    env = envs.make("ALE/Breakout-v5", preset="machado", seed=0)
    actions = random_actions(env)
    infos = step_until(env, lambda term, infos: term[0], actions)[4]
    assert infos["episode_done"][0] and ale_of(env).lives() == 0


@pytest.mark.parametrize(("fire_reset", "loses_a_life"), [(True, True), (False, False)])
def test_fire_on_reset_serves_the_ball(fire_reset, loses_a_life):
    # Breakout serves only after FIRE: standing still loses lives only if the wrapper fires
    env = envs.make("ALE/Breakout-v5", preset="dqn", fire_reset=fire_reset)
    noops = constant_actions(env, 0)
    losses = 0
    for _ in range(400):
        _, _, terminated, _, _ = env.step(next(noops))
        losses += int(terminated[0])
    assert (losses >= 2) == loses_a_life  # >= 2: FIRE again after the soft reset of a lost life
    assert (losses == 0) == (not loses_a_life)


def test_noop_starts_vary_the_first_frame():
    env = envs.make("ALE/Pong-v5", preset="dqn", seed=0)
    starts = []
    for _ in range(25):
        env.reset()
        starts.append(ale_of(env).getEpisodeFrameNumber())
    noops = np.array(starts) - 2 * 4  # FIRE and action 2 on reset, 4 frames each
    assert noops.min() >= 1 and noops.max() <= 30
    assert len(set(noops)) >= 10
    machado = envs.make("ALE/Pong-v5", preset="machado")
    assert ale_of(machado).getEpisodeFrameNumber() == 0


@pytest.mark.parametrize("vectorization", ["sync", "native"])
def test_reward_clipping_learns_signs_and_reports_the_real_score(vectorization):
    # Space Invaders pays 5-30 per invader; fire_reset off so that every reward reaches the learner
    def run(clip_rewards):
        env = envs.make(
            "ALE/SpaceInvaders-v5",
            preset="dqn",
            seed=2,
            fire_reset=False,
            clip_rewards=clip_rewards,
            vectorization=vectorization,
        )
        actions = random_actions(env, seed=3)
        rewards = []
        while True:
            _, reward, _, _, infos = env.step(next(actions))
            rewards.append(reward[0])
            if infos["episode_done"][0]:
                return np.array(rewards), infos["episode_return"][0], infos["episode_length"][0]

    clipped, clipped_score, length = run(clip_rewards=True)
    raw, raw_score, raw_length = run(clip_rewards=False)
    assert raw.max() > 1  # the game pays more than 1, so clipping matters
    np.testing.assert_array_equal(clipped, np.sign(raw))
    assert clipped_score == raw_score == raw.sum() != clipped.sum()
    assert length == raw_length


def test_max_pool_frame_skip_matches_the_emulator():
    _register_ale()
    base = gym.make("ALE/Pong-v5", frameskip=1, obs_type="grayscale", repeat_action_probability=0.0).unwrapped
    env = MaxPoolFrameSkip(base, skip=4)
    env.reset(seed=0)
    ale = base.ale
    for _ in range(60):  # into the rally, where sprites move
        env.step(2)
    state, start = ale.cloneState(), ale.getEpisodeFrameNumber()
    obs, reward, _, _, _ = env.step(3)
    assert ale.getEpisodeFrameNumber() == start + 4
    ale.restoreState(state)
    screens, expected_reward = [], 0
    for _ in range(4):
        expected_reward += ale.act(base._action_set[3])
        screens.append(ale.getScreenGrayscale())
    np.testing.assert_array_equal(obs, np.maximum(screens[2], screens[3]))
    assert reward == expected_reward


def test_area_resize_equals_replicate_and_average():
    image = np.random.default_rng(0).integers(0, 256, (210, 160), dtype=np.uint8)
    # exact area averaging: replicate pixels to a common multiple of both sizes, then average blocks
    fine = image.astype(np.float64).repeat(2, axis=0).repeat(21, axis=1)  # [420, 3360]
    expected = fine.reshape(84, 5, 84, 40).mean(axis=(1, 3))
    resized = AreaResize((210, 160), (84, 84))(image)
    assert resized.dtype == np.uint8 and resized.shape == (84, 84)
    assert np.abs(resized - expected).max() <= 0.5 + 1e-3  # rounded to the nearest integer


def test_frame_stack_is_oldest_first():
    class Counter(gym.Env):
        observation_space = gym.spaces.Box(0, 255, (2, 2), dtype=np.uint8)
        action_space = gym.spaces.Discrete(1)

        def reset(self, *, seed=None, options=None):
            self.t = 0
            return np.zeros((2, 2), dtype=np.uint8), {}

        def step(self, action):
            self.t += 1
            return np.full((2, 2), self.t, dtype=np.uint8), 0.0, False, False, {}

    env = FrameStack(Counter(), k=3)
    obs, _ = env.reset()
    assert obs.shape == (3, 2, 2) and not obs.any()
    env.step(0)
    obs, *_ = env.step(0)
    np.testing.assert_array_equal(obs[:, 0, 0], [0, 1, 2])
    obs[:] = 9  # the returned stack is a copy
    assert env.step(0)[0][:, 0, 0].tolist() == [1, 2, 3]


@pytest.mark.parametrize("vectorization", ["sync", "native"])
def test_frame_cap_truncates_and_is_reported_as_truncation(vectorization):
    env = envs.make("ALE/Pong-v5", preset="dqn", max_episode_frames=400, vectorization=vectorization)
    noops = constant_actions(env, 0)
    _, _, terminated, truncated, infos = step_until(env, lambda term, infos: infos["episode_done"][0], noops, 200)
    assert truncated[0] and not terminated[0]
    assert infos["episode_truncated"][0] and not infos["episode_terminated"][0]
    assert infos["episode_length"][0] <= 100  # 400 frames at 4 per step, minus the no-op start
