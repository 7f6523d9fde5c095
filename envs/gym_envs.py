"""Vectorised Gymnasium environments with the standard Atari protocols: `envs.make`.

    env = envs.make("CartPole-v1", num_envs=8)
    env = envs.make("ALE/Pong-v5", num_envs=8, preset="dqn", seed=1)
    obs, infos = env.reset()                  # the env is seeded: sub-env i draws from seed + i
    obs, reward, terminated, truncated, infos = env.step(actions)      # actions: int64 [N]

Any Gymnasium id works without a preset: a registered one, `module:EnvId` (imports `module` first, which
registers the id: Gymnasium's own syntax for custom envs), `MinAtar/<Game>-v1` (imports the optional `minatar`
package, `pip install 'rlkit[minatar]'`; `full_action_space=True` plays all 6 actions instead of the game's
minimal set, as the MinAtar paper did). Observations of every kind come out as one array per env
(`envs.observations`: bool planes / one-hot codes, uint8 pixels or float32; images channels first; Discrete,
Tuple and Dict spaces flattened). A render mode is set only when asked (`render_mode="rgb_array"` for videos).
A missing optional dependency (box2d, minatar, ale-py) is one `RlkitError` line naming what to pip install.
Atari ids (`ALE/<Game>-v5`) also take a preset,
an exact preprocessing protocol (keyword arguments named like `AtariProtocol` fields override it,
the rest go to `gymnasium.make`, e.g. `full_action_space=True`, `mode=`):

`dqn`: Nature DQN (Mnih et al. 2015) as in CleanRL's `dqn_atari.py`
    - no sticky actions (repeat_action_probability=0); minimal action set;
    - at every game start, a uniform random 1..30 no-op frames;
    - each action repeated for 4 frames; rewards of the 4 frames summed; the observed frame is the
      pixel-wise max of the last two grayscale screens (a game that ends early shows its last screen);
    - frames shrunk from 210x160 to 84x84 by area averaging; the last 4 frames stacked:
      observations uint8 [N, 4, 84, 84] (raw pixel values; the network scales them);
    - a lost life sets `terminated` for learning; the game is NOT reset, it goes on to its game over;
    - in games with a FIRE action, FIRE then action 2 after every reset, a life-loss reset included;
    - `reward` is the sign of the game reward in {-1, 0, 1}; the episode statistics hold the real score;
    - games are cut at 108,000 frames (30 minutes of play): `truncated`.
`machado`: Machado et al. (2018), as Dopamine implements it
    - sticky actions with probability 0.25 (the ALE repeats the previous action on each frame);
    - no no-op starts, no FIRE on reset, no life-loss signal: `terminated` only at game over;
    - rewards unclipped; same frame skip 4 with max-pooling, 84x84 grayscale, 4-frame stack and
      108,000-frame cap as `dqn`. Minimal action set (the paper evaluated with all 18 actions:
      pass `full_action_space=True`).

Step semantics (every env from `make`): `gymnasium.vector.AutoresetMode.NEXT_STEP`, the Gymnasium
1.x default. When sub-env i reports terminated or truncated at step t, the action given for it at
step t+1 is ignored and step t+1 returns its reset observation with reward 0 and both flags False;
do not store (obs_t, a_t+1, r_t+1, obs_t+1) for that env as a transition. With the `dqn` preset a
life loss counts as `terminated` here too, and the "reset" after it continues the same game (its
observation is the current frame repeated 4 times, after FIRE where the game has it). Exception:
with vectorization="native" the step after a life loss plays its action (see `NativeAtariProtocol`).

Episode statistics of REAL episodes (whole games, real unclipped score), in `infos` of every step
and every reset, each an array of shape [N]:
    infos["episode_done"]        bool    a real episode of sub-env i ended at this step
    infos["episode_return"]      float64 its score, sum of the real rewards (0 where not done)
    infos["episode_length"]      int64   its length in agent steps (0 where not done)
    infos["episode_terminated"]  bool    it ended by game over / the env's terminal state
    infos["episode_truncated"]   bool    it ended by a time limit (Atari: 108,000 frames)
The same episodes also appear in Gymnasium's own `RecordEpisodeStatistics` layout, where one ended:
`infos["episode"]["r"]`, `["l"]`, `["t"]` (return, length, seconds) with the mask `infos["_episode"]`.
Each real episode is reported exactly once, at the step whose `terminated | truncated` ends it; a
life loss (`terminated` with `episode_done` False) is never reported as an episode. No-op start frames
are not counted in the length (agent steps only); FIRE-on-reset steps are, and their rewards are part
of the score although the learner never receives them (the score is the game's, not the learner's).

Vectorisation (`vectorization=`): "sync" (a leaner `gymnasium.vector.SyncVectorEnv`, one process), "async"
(`AsyncVectorEnv`, one process per env), "native" (ale-py's C++ `AtariVectorEnv`, presets only) and
"auto". See `choose_vectorization` for the measurements behind "auto".
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import os
from functools import partial
from typing import Any

import gymnasium as gym
from gymnasium.vector import AsyncVectorEnv, AutoresetMode, VectorEnv

from envs.atari_wrappers import (
    ClipRewardSign,
    EpisodeStatistics,
    FireOnReset,
    FrameStack,
    LifeLossSignal,
    MaxPoolFrameSkip,
    NoopStarts,
    ResizeFrame,
    needs_fire,
)
from envs.observations import adapt_observations
from envs.vector_wrappers import EpisodeKeys, LeanSyncVectorEnv, NativeAtariProtocol
from rlkit.errors import RlkitError

__all__ = ["PRESETS", "VECTORIZATIONS", "AtariProtocol", "choose_vectorization", "frame_stack", "is_atari", "make"]

ATARI_ENTRY_POINT = "ale_py.env:AtariEnv"
# entry-point substring -> the pip requirement that provides what `gymnasium.make` found missing
EXTRAS = {"box2d": "'rlkit[box2d]' (gymnasium[box2d])", "minatar": "'rlkit[minatar]'", "ale_py": "ale-py"}
VECTORIZATIONS = ("auto", "sync", "async", "native")
# AtariEnv arguments a preset sets, and the AtariProtocol field that overrides each
PRESET_FIELD_FOR = {
    "frameskip": "frame_skip",
    "max_num_frames_per_episode": "max_episode_frames",
    "obs_type": "nothing (presets observe grayscale frames)",
}


@dataclasses.dataclass(frozen=True)
class AtariProtocol:
    """One Atari preprocessing protocol; see the module docstring for the presets in words."""

    repeat_action_probability: float
    """Sticky actions: the chance, per frame, that the ALE repeats the previous action."""
    noop_max: int
    """Up to this many no-op frames at the start of each game (0: none)."""
    life_loss: bool
    """Signal `terminated` on each lost life (without resetting the game)."""
    fire_reset: bool
    """Press FIRE (then action 2) after each reset in games that have FIRE."""
    clip_rewards: bool
    """Learn from sign(reward); the episode statistics keep the real score."""
    frame_skip: int = 4
    """Emulator frames per agent step; the observation is the max of the last two."""
    screen_size: int = 84
    """Observed frames are screen_size x screen_size grayscale."""
    frame_stack: int = 4
    """Number of most recent frames in each observation."""
    max_episode_frames: int = 108_000
    """Emulator frames after which a game is truncated."""


PRESETS: dict[str, AtariProtocol] = {
    "dqn": AtariProtocol(
        repeat_action_probability=0.0, noop_max=30, life_loss=True, fire_reset=True, clip_rewards=True
    ),
    "machado": AtariProtocol(
        repeat_action_probability=0.25, noop_max=0, life_loss=False, fire_reset=False, clip_rewards=False
    ),
}


def is_atari(env_id: str) -> bool:
    """Whether `env_id` is an ALE game (ale-py's ids are registered first if the id is not known yet)."""
    if env_id not in gym.registry and ":" not in env_id and not env_id.startswith("MinAtar/"):
        _register_ale()
    spec = gym.registry.get(env_id)
    return spec is not None and spec.entry_point == ATARI_ENTRY_POINT


def make(
    env_id: str,
    num_envs: int = 1,
    preset: str | None = None,
    seed: int = 0,
    vectorization: str = "auto",
    **kwargs: Any,
) -> VectorEnv:
    """Build `num_envs` copies of `env_id` as one vector env (next-step autoreset), seeded and reset once.

    :param env_id: a registered Gymnasium id, e.g. "CartPole-v1" or "ALE/Pong-v5".
    :param num_envs: N, the number of sub-environments.
    :param preset: None (the env as registered), or "dqn" / "machado" for Atari ids.
    :param seed: sub-env i is seeded with seed + i; the action space with seed.
    :param vectorization: "auto", "sync", "async" or "native" (ale-py's vector env; presets only).
    :param kwargs: `AtariProtocol` fields override the preset; the rest go to `gymnasium.make`.
    :return: a `VectorEnv` whose infos carry the episode statistics of the module docstring.
    """
    if num_envs < 1:
        raise RlkitError(f"num_envs must be at least 1, got {num_envs}")
    if vectorization not in VECTORIZATIONS:
        raise RlkitError(f"unknown vectorization {vectorization!r}; choose from: {', '.join(VECTORIZATIONS)}")
    _ensure_registered(env_id)
    protocol, gym_kwargs = _resolve_protocol(env_id, preset, kwargs)
    mode = choose_vectorization(vectorization, num_envs, protocol)
    if mode == "native":
        env: VectorEnv = _make_native(env_id, num_envs, protocol, gym_kwargs)
    else:
        env_fns = [partial(_make_single, env_id, protocol, gym_kwargs) for _ in range(num_envs)]
        if mode == "sync":
            env = EpisodeKeys(LeanSyncVectorEnv(env_fns))
        else:
            env = EpisodeKeys(AsyncVectorEnv(env_fns, autoreset_mode=AutoresetMode.NEXT_STEP))
    env.metadata = {**env.metadata, "frame_stack": protocol.frame_stack if protocol is not None else 1}
    env.reset(seed=seed)
    env.action_space.seed(seed)
    return env


def frame_stack(env: VectorEnv) -> int:
    """k where the observations of an env from `make` are stacks of its last k frames (Atari presets), else 1.

    Replay stores each frame of a stack once (`rlkit.replay.ReplayBuffer(frame_stack=k)`); the channels of
    other images (MinAtar's object planes) are not a frame stack.
    """
    return int(env.metadata.get("frame_stack", 1))


def _register_ale() -> None:
    # ale-py registers its ~100 ids on import; done only when an Atari id (or a bad id) is asked for.
    try:
        import ale_py
    except ImportError:
        raise RlkitError("Atari ids need ale-py: pip install ale-py (it ships the ROMs)") from None
    gym.register_envs(ale_py)


def _register_minatar() -> None:
    try:
        import minatar.gym as minatar_gym
    except ImportError:
        raise RlkitError("MinAtar ids need the minatar package: pip install 'rlkit[minatar]'") from None
    if "MinAtar/Breakout-v1" not in gym.registry:  # minatar 1.0.15 registers its ids only when asked
        minatar_gym.register_envs()


def _ensure_registered(env_id: str) -> None:
    """Register the id's package if needed (`module:EnvId` imports `module`, `MinAtar/` ids minatar, else ale-py).

    :raises RlkitError: the module or package is missing, or the id is unknown (with close matches).
    """
    if ":" in env_id:
        module, env_id = env_id.split(":", 1)
        try:
            importlib.import_module(module)
        except ImportError as error:
            raise RlkitError(f"cannot import {module!r} for environment id {module}:{env_id}: {error}") from None
    if env_id in gym.registry:
        return
    if env_id.startswith("MinAtar/"):
        _register_minatar()
    else:
        _register_ale()
    if env_id in gym.registry:
        return
    close = difflib.get_close_matches(env_id, list(gym.registry), n=5, cutoff=0.6)
    hint = f"; did you mean: {', '.join(close)}?" if close else "; see gymnasium.pprint_registry() for all ids"
    raise RlkitError(f"unknown environment id {env_id!r}{hint}")


def _gym_make(env_id: str, **kwargs: Any) -> gym.Env:
    """`gymnasium.make`, with a missing optional dependency as one `RlkitError` line naming the pip extra."""
    try:
        return gym.make(env_id, **kwargs)
    except gym.error.DependencyNotInstalled as error:
        name = env_id.split(":")[-1]
        spec = gym.registry.get(name)
        entry = str(spec.entry_point) if spec is not None else ""
        extra = next((extra for key, extra in EXTRAS.items() if key in entry), None)
        hint = f"pip install {extra}" if extra else str(error).strip().splitlines()[0]
        raise RlkitError(f"{env_id} needs a package that is not installed: {hint}") from None


def _resolve_protocol(env_id: str, preset: str | None, kwargs: dict[str, Any]) -> tuple[AtariProtocol | None, dict]:
    """The preset's protocol with overrides applied, and the kwargs left for `gymnasium.make`."""
    if preset is None:
        return None, dict(kwargs)
    if preset not in PRESETS:
        raise RlkitError(f"unknown preset {preset!r}; choose from: None, {', '.join(map(repr, PRESETS))}")
    if not is_atari(env_id):
        raise RlkitError(
            f"preset {preset!r} is an Atari protocol but {env_id!r} is not an ALE game; "
            f"use an id like 'ALE/Pong-v5' or preset=None"
        )
    fixed = {k: PRESET_FIELD_FOR[k] for k in kwargs if k in PRESET_FIELD_FOR}
    if fixed:
        raise RlkitError(
            f"{sorted(fixed)} are set by preset {preset!r}; override them as "
            + ", ".join(f"{k} -> {v}" for k, v in fixed.items())
        )
    field_names = {f.name for f in dataclasses.fields(AtariProtocol)}
    overrides = {k: v for k, v in kwargs.items() if k in field_names}
    gym_kwargs = {k: v for k, v in kwargs.items() if k not in field_names}
    return dataclasses.replace(PRESETS[preset], **overrides), gym_kwargs


def _make_single(env_id: str, protocol: AtariProtocol | None, gym_kwargs: dict[str, Any]) -> gym.Env:
    """One sub-environment: the registered env, or an ALE game wrapped as `protocol` says."""
    _ensure_registered(env_id)  # an async worker started by spawn begins with an empty registry
    if protocol is None:
        if env_id.startswith("MinAtar/") and "full_action_space" in gym_kwargs:
            gym_kwargs = dict(gym_kwargs)
            gym_kwargs["use_minimal_action_set"] = not gym_kwargs.pop("full_action_space")
        return EpisodeStatistics(adapt_observations(_gym_make(env_id, **gym_kwargs)))
    # .unwrapped: the frame-skip wrapper drives the emulator directly, so the checker wrappers only cost time
    env = gym.make(
        env_id,
        frameskip=1,
        obs_type="grayscale",
        repeat_action_probability=protocol.repeat_action_probability,
        max_num_frames_per_episode=protocol.max_episode_frames,
        **gym_kwargs,
    ).unwrapped
    if protocol.noop_max > 0:
        env = NoopStarts(env, protocol.noop_max)
    env = MaxPoolFrameSkip(env, protocol.frame_skip)
    env = ResizeFrame(env, protocol.screen_size)
    env = EpisodeStatistics(env)
    if protocol.life_loss:
        env = LifeLossSignal(env)
    if protocol.fire_reset and needs_fire(env):
        env = FireOnReset(env)
    if protocol.clip_rewards:
        env = ClipRewardSign(env)
    return FrameStack(env, protocol.frame_stack)


def _make_native(env_id: str, num_envs: int, protocol: AtariProtocol, gym_kwargs: dict[str, Any]) -> VectorEnv:
    from ale_py.vector_env import AtariVectorEnv

    unsupported = set(gym_kwargs) - {"full_action_space", "num_threads"}
    if unsupported:
        raise RlkitError(f"vectorization='native' does not take {sorted(unsupported)}; use 'sync' or 'async'")
    env = AtariVectorEnv(
        gym.registry[env_id].kwargs["game"],
        num_envs,
        repeat_action_probability=protocol.repeat_action_probability,
        noop_max=protocol.noop_max,
        frameskip=protocol.frame_skip,
        img_height=protocol.screen_size,
        img_width=protocol.screen_size,
        stack_num=protocol.frame_stack,
        max_num_frames_per_episode=protocol.max_episode_frames,
        use_fire_reset=protocol.fire_reset,
        # the adapter derives these three from raw rewards and lives, to report the real score
        reward_clipping=False,
        episodic_life=False,
        life_loss_info=False,
        autoreset_mode=AutoresetMode.NEXT_STEP,
        **gym_kwargs,
    )
    return NativeAtariProtocol(env, life_loss=protocol.life_loss, clip_rewards=protocol.clip_rewards)


def choose_vectorization(vectorization: str, num_envs: int, protocol: AtariProtocol | None) -> str:
    """The vectorisation `make` uses: `vectorization` itself unless it is "auto".

    "auto" never picks "native": ale-py's `AtariVectorEnv` is fast (C++ preprocessing, envs stepped in
    threads) but cannot run the `dqn` protocol exactly. It presses FIRE only at a game's start, not
    after a lost life, and the step after a life-loss signal plays its action instead of being the
    next-step reset every other env gives (see `NativeAtariProtocol`).

    Between sync and async, measured with `scripts/bench_envs.py` (dqn preset, Pong, thousands of
    agent steps/s in four runs on the shared 2-core VM at load 4-15 from other users, so +-50%; the
    first three ran Gymnasium's own SyncVectorEnv, before `LeanSyncVectorEnv`):

        N   sync                 async                native (for reference)
        1   1.8 1.5 1.0 2.1      1.3 1.1 0.8 1.4      1.6 1.7 0.8 2.0
        2   2.2 1.1 1.0 1.3      1.6 1.3 0.6 1.2      3.9 3.2 0.9 2.0
        4   1.7 1.2 1.0 1.9      1.9 2.5 0.9 1.5      1.1 1.9 1.8 4.2
        8   1.9 1.1 1.0 1.8      2.2 1.1 2.7 4.8      1.4 0.9 1.1 2.9

    Sync wins at N=1 and mostly at N=2 (no inter-process traffic); async (one process per env) wins
    at N=8 and splits N=4. With a single CPU there is nothing to run in parallel.
    """
    if vectorization == "native" and protocol is None:
        raise RlkitError("vectorization='native' is ale-py's preprocessed Atari env: it needs a preset")
    if vectorization != "auto":
        return vectorization
    return "async" if num_envs >= 4 and (os.cpu_count() or 1) > 1 else "sync"
