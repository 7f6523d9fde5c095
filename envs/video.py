"""RGB frames of running environments, and MP4 recording of evaluation episodes.

    frames = grab_frames(env)                         # uint8 [N, H, W, 3], one screen per sub-env
    returns = record_episodes(env, act, "videos/eval.mp4", episodes=2)

MP4 writing needs the `video` extra (`pip install rlkit[video]`: imageio and imageio-ffmpeg); grabbing
frames needs an env that renders `rgb_array` (what `envs.make` asks for; ALE envs render the emulator's
full-colour 210x160 screen, classic-control ones need pygame), with sync or async vectorisation.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import gymnasium as gym
import numpy as np
from gymnasium.vector import VectorEnv

from rlkit.errors import RlkitError

__all__ = ["VideoWriter", "grab_frame", "grab_frames", "record_episodes"]


def grab_frame(env: gym.Env) -> np.ndarray:
    """uint8 [H, W, 3]: the current screen of a single env made with render_mode="rgb_array"."""
    return _rendered(env, lambda: [env.render()])[0]


def grab_frames(env: VectorEnv) -> np.ndarray:
    """uint8 [N, H, W, 3]: the current screen of every sub-env of a vector env from `envs.make`."""
    return _rendered(env, env.render)


def _rendered(env: gym.Env | VectorEnv, render: Callable[[], list | tuple]) -> np.ndarray:
    try:
        frames = render()
    except NotImplementedError:  # ale-py's native vector env keeps no screens to render
        raise RlkitError(f"{env} cannot render frames; make it with vectorization='sync' or 'async'") from None
    except gym.error.DependencyNotInstalled as error:
        raise RlkitError(f"cannot render {env}: {error}") from None
    if env.render_mode != "rgb_array" or frames is None or any(frame is None for frame in frames):
        raise RlkitError(f"cannot grab frames of {env}: make it with render_mode='rgb_array', not {env.render_mode!r}")
    return np.stack([np.asarray(frame, dtype=np.uint8) for frame in frames])


class VideoWriter:
    """MP4 writer for uint8 [H, W, 3] frames; `close()` finishes the file (or use `contextlib.closing`)."""

    def __init__(self, path: str | Path, fps: int = 30):
        try:
            import imageio.v2 as imageio
        except ImportError:
            raise RlkitError("recording video needs imageio and imageio-ffmpeg: pip install 'rlkit[video]'") from None
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            # macro_block_size=1: keep the 210x160 Atari screen as it is instead of padding it to 16s
            self._writer = imageio.get_writer(str(path), fps=fps, codec="libx264", macro_block_size=1)
        except (ImportError, RuntimeError) as error:
            raise RlkitError(f"cannot write MP4 ({error}); pip install 'rlkit[video]' for imageio-ffmpeg") from None

    def append(self, frame: np.ndarray) -> None:
        self._writer.append_data(frame)

    def close(self) -> None:
        self._writer.close()


def record_episodes(
    env: VectorEnv,
    act: Callable[[np.ndarray], np.ndarray],
    path: str | Path,
    episodes: int = 1,
    fps: int = 30,
    max_steps: int = 108_000,
) -> list[float]:
    """Play `env` with `act` until sub-env 0 finishes `episodes` real episodes; film sub-env 0 to `path`.

    The env is reset first. One frame is written per agent step (with the `dqn` and `machado`
    presets, every 4th emulator frame: 15 frames of game time per second, hence fps=30 plays at 2x).

    :param act: observations [N, ...] -> actions [N] (e.g. a greedy policy).
    :param max_steps: stop after this many steps even if the episodes have not ended.
    :return: the real scores (`infos["episode_return"]`) of sub-env 0's finished episodes.
    """
    returns: list[float] = []
    obs, _ = env.reset()
    with closing(VideoWriter(path, fps=fps)) as video:
        video.append(grab_frames(env)[0])
        for _ in range(max_steps):
            obs, _, _, _, infos = env.step(act(obs))
            video.append(grab_frames(env)[0])
            if infos["episode_done"][0]:
                returns.append(float(infos["episode_return"][0]))
                if len(returns) == episodes:
                    break
    return returns
