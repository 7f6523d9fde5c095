"""Toy Gymnasium envs, one per observation-space kind, registered on import (`tests.envs.toy_envs:ToyHWC-v0`)."""

import gymnasium as gym
import numpy as np
from gymnasium import spaces

SPACES = {
    "ToyVector-v0": spaces.Box(-1.0, 1.0, (3,), dtype=np.float64),
    "ToyIntVector-v0": spaces.Box(0, 9, (5,), dtype=np.int64),
    "ToyHWC-v0": spaces.Box(0, 1, (10, 10, 4), dtype=bool),
    "ToyCHW-v0": spaces.Box(0, 255, (3, 12, 12), dtype=np.uint8),
    "ToyGray-v0": spaces.Box(0, 255, (16, 16), dtype=np.uint8),
    "ToyDiscrete-v0": spaces.Discrete(7),
    "ToyTuple-v0": spaces.Tuple((spaces.Discrete(3), spaces.Discrete(2))),
    "ToyDict-v0": spaces.Dict({"position": spaces.Box(-1, 1, (2,)), "key": spaces.Discrete(2)}),
    "ToyText-v0": spaces.Text(5),
}


class ToyEnv(gym.Env):
    """Random observations of `observation_space`; reward 1 per step; terminates after `length` steps."""

    def __init__(self, observation_space: spaces.Space, action_space: spaces.Space | None = None, length: int = 5):
        self.observation_space = observation_space
        self.action_space = action_space if action_space is not None else spaces.Discrete(3)
        self.length = length
        self._t = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.observation_space.seed(int(self.np_random.integers(2**31)))
        self._t = 0
        return self.observation_space.sample(), {}

    def step(self, action):
        self._t += 1
        return self.observation_space.sample(), 1.0, self._t >= self.length, False, {}


for env_id, space in SPACES.items():
    if env_id not in gym.registry:
        gym.register(env_id, entry_point=ToyEnv, kwargs={"observation_space": space})
if "ToyContinuous-v0" not in gym.registry:
    gym.register(
        "ToyContinuous-v0",
        entry_point=ToyEnv,
        kwargs={"observation_space": spaces.Box(-1, 1, (3,)), "action_space": spaces.Box(-1, 1, (2,))},
    )
