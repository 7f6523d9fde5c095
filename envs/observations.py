"""Observation adapters that turn any Gymnasium observation space into one array a Q-network can read.

`adapt_observations(env)` wraps a single env so its observations are one `Box` of one of three kinds,
each with a fixed meaning downstream (replay storage, network input scaling):

    bool     binary planes or one-hot codes (MinAtar grids, Discrete / Tuple-of-Discrete spaces): 1 byte each
    uint8    pixels 0..255 (the network scales them by 1/255)
    float32  everything else (float64 and integer boxes are cast)

Shapes: images come out channels first, `[C, H, W]` (a 3-D box whose first axis is not strictly its smallest
is taken as Gymnasium's HWC and moved to CHW: MinAtar's `[10, 10, C]` -> `[C, 10, 10]`); a 2-D uint8/bool box
is one image plane `[1, H, W]`; other boxes and every flattened space are vectors `[D]`. Discrete, MultiDiscrete,
MultiBinary, Tuple and Dict spaces are flattened with Gymnasium's own `FlattenObservation` (Discrete -> one-hot).
Spaces that cannot be flattened (Graph, Sequence, Text, ...) raise one `RlkitError` line naming the space.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rlkit.errors import RlkitError

__all__ = ["adapt_observations", "is_channels_last"]

FLATTENABLE = (spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary, spaces.Tuple, spaces.Dict)


def is_channels_last(shape: tuple[int, ...]) -> bool:
    """Whether a 3-D image shape is HWC: channels first only when axis 0 is strictly the smallest.

    Gymnasium's image observations are HWC; MinAtar's Seaquest is `[10, 10, 10]`, where only that
    convention decides. Frame stacks `[k, 84, 84]` and `[3, 210, 160]` count as CHW.
    """
    return not (shape[0] < shape[1] and shape[0] < shape[2])


def adapt_observations(env: gym.Env) -> gym.Env:
    """`env` with observations as a bool, uint8 or float32 `Box` (see the module docstring); unchanged if already so.

    :raises RlkitError: an observation space that cannot be turned into one array.
    """
    space = env.observation_space
    if isinstance(space, FLATTENABLE):
        if not _flattenable(space):
            raise RlkitError(f"cannot flatten the observation space {space} of {_name(env)} into one array")
        env = gym.wrappers.FlattenObservation(env)
        flat = env.observation_space
        binary = np.issubdtype(flat.dtype, np.integer) and np.all(flat.low == 0) and np.all(flat.high == 1)
        return _cast(env, np.bool_ if binary else np.float32)
    if not isinstance(space, spaces.Box):
        raise RlkitError(
            f"{_name(env)} has observations of type {type(space).__name__} ({space}); rlkit reads Box, Discrete, "
            "MultiDiscrete, MultiBinary, Tuple and Dict observations"
        )
    dtype = space.dtype if space.dtype in (np.bool_, np.uint8, np.float32) else np.float32
    shape = space.shape
    if len(shape) == 3 and is_channels_last(shape):
        return _transform(env, lambda obs: np.moveaxis(obs, -1, 0), (shape[2], shape[0], shape[1]), dtype)
    if len(shape) == 2 and dtype != np.float32:
        return _transform(env, lambda obs: obs[None], (1, *shape), dtype)
    return env if dtype == space.dtype else _cast(env, dtype)


def _flattenable(space: spaces.Space) -> bool:
    if isinstance(space, spaces.Tuple):
        return all(_flattenable(s) for s in space.spaces)
    if isinstance(space, spaces.Dict):
        return all(_flattenable(s) for s in space.spaces.values())
    return isinstance(space, (spaces.Box, *FLATTENABLE))


def _cast(env: gym.Env, dtype) -> gym.Env:
    return _transform(env, None, env.observation_space.shape, dtype)


def _transform(env: gym.Env, fn, shape: tuple[int, ...], dtype) -> gym.Env:
    """`env` observing `fn(obs)` cast to `dtype` in a Box of `shape` (bounds moved and cast along)."""
    space = env.observation_space
    low, high = np.broadcast_to(space.low, space.shape), np.broadcast_to(space.high, space.shape)
    if fn is not None:
        low, high = fn(low), fn(high)
    if dtype == np.bool_:
        low, high = np.zeros(shape, bool), np.ones(shape, bool)
    elif dtype == np.float32:
        big = np.finfo(np.float32).max  # float64 bounds beyond float32's range become +-inf, without a warning
        low, high = np.where(low < -big, -np.inf, low), np.where(high > big, np.inf, high)
    new_space = spaces.Box(low.astype(dtype), high.astype(dtype), shape, dtype=dtype)
    if fn is None:
        return gym.wrappers.TransformObservation(env, lambda obs: np.asarray(obs, dtype=dtype), new_space)
    return gym.wrappers.TransformObservation(env, lambda obs: np.asarray(fn(obs), dtype=dtype), new_space)


def _name(env: gym.Env) -> str:
    return env.spec.id if env.spec is not None else type(env.unwrapped).__name__
