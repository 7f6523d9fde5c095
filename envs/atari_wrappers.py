"""Single-environment Gymnasium wrappers for the Atari protocols of `envs.gym_envs`.

Gymnasium 1.x has no FIRE-on-reset wrapper, no life-loss signal that leaves the game running, and its
`AtariPreprocessing` needs OpenCV; these wrappers fill the gaps and keep the per-step cost low (the
preprocessing budget is 30% of the raw emulator's speed, see `scripts/bench_envs.py`).

They expect the ALE env underneath to be made with `frameskip=1, obs_type="grayscale"`; the order in
which `envs.gym_envs` stacks them (inner to outer) is

    AtariEnv -> NoopStarts -> MaxPoolFrameSkip -> ResizeFrame -> EpisodeStatistics
             -> LifeLossSignal -> FireOnReset -> ClipRewardSign -> FrameStack

so no-ops are single frames, the statistics see every real reward and agent step of a whole game, and
FIRE is pressed again after each lost life.
"""

from __future__ import annotations

import math
import time
from typing import Any

import gymnasium as gym
import numpy as np

__all__ = [
    "AreaResize",
    "ClipRewardSign",
    "EpisodeStatistics",
    "FireOnReset",
    "FrameStack",
    "LifeLossSignal",
    "MaxPoolFrameSkip",
    "NoopStarts",
    "ResizeFrame",
    "needs_fire",
]

NOOP = 0
FIRE = 1


def needs_fire(env: gym.Env) -> bool:
    """Whether the game has a FIRE action, the CleanRL/baselines test for "waits for FIRE to start"."""
    return "FIRE" in env.unwrapped.get_action_meanings()


class NoopStarts(gym.Wrapper):
    """After each reset, play a uniformly random number of no-op frames in [1, noop_max].

    The start state then varies between episodes even without sticky actions (Mnih et al. 2015). The
    count comes from the env's own seeded `np_random`. Rewards of these frames (none in practice in
    the first 30 frames of a game) are not part of the episode's score.
    """

    def __init__(self, env: gym.Env, noop_max: int = 30):
        super().__init__(env)
        if env.unwrapped.get_action_meanings()[NOOP] != "NOOP":
            raise ValueError(f"action {NOOP} of {env.spec.id if env.spec else env} is not NOOP")
        self.noop_max = noop_max

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        for _ in range(int(self.np_random.integers(1, self.noop_max + 1))):
            obs, _, terminated, truncated, info = self.env.step(NOOP)
            if terminated or truncated:
                obs, info = self.env.reset()
        return obs, info


class MaxPoolFrameSkip(gym.Wrapper):
    """Repeat each action for `skip` emulator frames; observe the max of the last two grayscale screens.

    The max removes the flicker of sprites that the Atari draws on alternate frames. Rewards of the
    `skip` frames are summed. The loop drives the emulator directly (`ale.act`), which is what keeps the
    wrapper cheap; sticky actions still apply because the ALE implements them inside `act`. If the game
    ends before the last frame, the observation is the final screen alone.

    Observation: uint8 [210, 160]. Info: empty (the ALE's `lives()` is one call away).
    """

    def __init__(self, env: gym.Env, skip: int = 4):
        super().__init__(env)
        if skip < 2:
            raise ValueError(f"skip must be at least 2 to max-pool two frames, got {skip}")
        self.skip = skip
        self._ale = env.unwrapped.ale
        self._action_set = env.unwrapped._action_set
        height, width = env.observation_space.shape
        self._screens = np.zeros((2, height, width), dtype=np.uint8)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        obs, _ = self.env.reset(seed=seed, options=options)
        return obs, {}  # no per-step info: each key costs the vector env a merge per step

    def step(self, action: int):
        ale, screens = self._ale, self._screens
        ale_action = self._action_set[action]
        reward = 0.0
        for frame in range(self.skip):
            reward += ale.act(ale_action)
            if frame == self.skip - 2:
                ale.getScreenGrayscale(screens[0])
            if ale.game_over():
                break
        ale.getScreenGrayscale(screens[1])
        obs = np.maximum(screens[0], screens[1]) if frame == self.skip - 1 else screens[1].copy()
        terminated = ale.game_over(with_truncation=False)
        truncated = ale.game_truncated()
        return obs, reward, terminated, truncated, {}


def _area_weights(n_in: int, n_out: int) -> np.ndarray:
    """float32 [n_in, n_out]: the share of input pixel i in output pixel o when n_in pixels shrink to n_out."""
    scale = n_in / n_out
    weights = np.zeros((n_in, n_out), dtype=np.float64)
    for o in range(n_out):
        start, end = o * scale, (o + 1) * scale
        for i in range(math.floor(start), math.ceil(end)):
            weights[i, o] = (min(end, i + 1) - max(start, i)) / scale
    return weights.astype(np.float32)


class AreaResize:
    """Area-averaging image shrink (OpenCV's INTER_AREA) for uint8 [H, W] -> uint8 [h, w], without OpenCV.

    Area weights repeat with period H / gcd(H, h) rows (210 -> 84: every 5 rows make 2), so each axis
    is one small matmul over reshaped periods instead of a dense [h, H] @ [H, W] @ [W, w] product:
    about 11x fewer multiplications, which keeps resizing near 20 us per frame.
    """

    def __init__(self, in_shape: tuple[int, int], out_shape: tuple[int, int]):
        (self.in_h, self.in_w), (self.out_h, self.out_w) = in_shape, out_shape
        if self.out_h > self.in_h or self.out_w > self.in_w:
            raise ValueError(f"AreaResize only shrinks, got {in_shape} -> {out_shape}")
        gh, gw = math.gcd(self.in_h, self.out_h), math.gcd(self.in_w, self.out_w)
        self._row_periods, self._col_periods = gh, gw
        self._row_weights = _area_weights(self.in_h // gh, self.out_h // gh).T.copy()  # [p_out, p_in]
        self._col_weights = _area_weights(self.in_w // gw, self.out_w // gw)  # [p_in, p_out]

    def __call__(self, image: np.ndarray) -> np.ndarray:
        periods = image.reshape(self._row_periods, -1, self.in_w).astype(np.float32)  # [gh, p_in, W]
        rows = np.matmul(self._row_weights, periods)  # [gh, p_out, W]
        out = rows.reshape(-1, self.in_w // self._col_periods) @ self._col_weights  # [h * gw, q_out]
        out += 0.5  # round to nearest on the cast
        return out.reshape(self.out_h, self.out_w).astype(np.uint8)


class ResizeFrame(gym.ObservationWrapper):
    """Shrink uint8 [H, W] frames to uint8 [size, size] by area averaging."""

    def __init__(self, env: gym.Env, size: int = 84):
        super().__init__(env)
        self._resize = AreaResize(env.observation_space.shape, (size, size))
        self.observation_space = gym.spaces.Box(0, 255, (size, size), dtype=np.uint8)

    def observation(self, observation: np.ndarray) -> np.ndarray:
        return self._resize(observation)


class EpisodeStatistics(gym.Wrapper):
    """Report the score and length of each finished episode of the env it wraps.

    Placed below any life-loss signal and reward clipping, it sees whole games and real rewards. On the
    step that ends an episode the info gains `episode_return` (float, sum of rewards), `episode_length`
    (int, steps of this wrapper's env) and `episode_terminated` / `episode_truncated` (bool, kept apart:
    a time limit is not a game over), and Gymnasium's own `RecordEpisodeStatistics` entry
    `episode = {"r": return, "l": length, "t": seconds since the episode began}`, which vector envs
    merge into `infos["episode"]["r"]` etc. with the mask `infos["_episode"]` (what SB3/CleanRL code reads).
    """

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self._return = 0.0
        self._length = 0
        self._start = time.perf_counter()

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        self._return, self._length, self._start = 0.0, 0, time.perf_counter()
        return self.env.reset(seed=seed, options=options)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._return += float(reward)
        self._length += 1
        if terminated or truncated:
            info = {
                **info,
                "episode_return": self._return,
                "episode_length": self._length,
                "episode_terminated": bool(terminated),
                "episode_truncated": bool(truncated),
                "episode": {
                    "r": self._return,
                    "l": self._length,
                    "t": round(time.perf_counter() - self._start, 6),
                },
            }
        return obs, reward, terminated, truncated, info


class LifeLossSignal(gym.Wrapper):
    """Signal `terminated` when a life is lost, but keep playing the same game.

    The learner treats a lost life as the end of an episode (Mnih et al. 2015), while the game, its
    score and the episode statistics below run on until the real game over. The `reset` that follows
    a life-loss signal returns the current observation without touching the emulator (the game goes
    on, frame counters included); any other reset (after a game over, a time limit, or mid-game on
    request) resets the game.
    """

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self._ale = env.unwrapped.ale
        self._lives = 0
        self._life_lost = False
        self._obs: np.ndarray | None = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        if self._life_lost and seed is None:
            info = {}
        else:
            self._obs, info = self.env.reset(seed=seed, options=options)
        self._life_lost = False
        self._lives = self._ale.lives()
        return self._obs, info

    def step(self, action):
        self._obs, reward, terminated, truncated, info = self.env.step(action)
        lives = self._ale.lives()
        self._life_lost = lives < self._lives and not (terminated or truncated)
        self._lives = lives
        return self._obs, reward, terminated or self._life_lost, truncated, info


class FireOnReset(gym.Wrapper):
    """After each reset (a life-loss reset included), press FIRE then action 2 to start the game.

    Games like Breakout wait for FIRE before serving; without this a new agent can lose a whole game's
    time standing still. Action 2 as well follows the OpenAI baselines wrapper that CleanRL uses.
    """

    def __init__(self, env: gym.Env):
        super().__init__(env)
        meanings = env.unwrapped.get_action_meanings()
        if len(meanings) < 3 or meanings[FIRE] != "FIRE":
            raise ValueError(f"FireOnReset needs FIRE as action {FIRE} and 3+ actions, got {meanings}")

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        for action in (FIRE, 2):
            obs, _, terminated, truncated, info = self.env.step(action)
            if terminated or truncated:
                obs, info = self.env.reset()
        return obs, info


class ClipRewardSign(gym.RewardWrapper):
    """Reward -> its sign in {-1, 0, +1}, so one learning rate suits every game (Mnih et al. 2015)."""

    def reward(self, reward: float) -> float:
        return float(np.sign(reward))


class FrameStack(gym.Wrapper):
    """Observe the last `k` frames: uint8 [H, W] -> uint8 [k, H, W], oldest first.

    After a reset every slot holds the first frame. Gymnasium's `FrameStackObservation` deep-copies
    through a deque each step; a shifted buffer is cheaper.
    """

    def __init__(self, env: gym.Env, k: int = 4):
        super().__init__(env)
        height, width = env.observation_space.shape
        self._frames = np.zeros((k, height, width), dtype=np.uint8)
        self.observation_space = gym.spaces.Box(0, 255, self._frames.shape, dtype=np.uint8)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        self._frames[:] = obs
        return self._frames.copy(), info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._frames[:-1] = self._frames[1:]
        self._frames[-1] = obs
        return self._frames.copy(), reward, terminated, truncated, info
