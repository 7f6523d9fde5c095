"""Unsupervised pretraining of a Q-network torso on observations from random play.

The lectures' pretrain-then-fine-tune recipe: collect observations with a uniform random policy,
fit a (denoising) autoencoder or a deep belief network from ``nets`` on them, save it with
``nets.save``; ``pretrained_torso=<file>`` then makes its encoder the Q-network's torso, which
Q-learning fine-tunes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

import nets
from agents.dqn.config import DQNConfig, is_atari
from agents.dqn.train import make_env
from rlkit.errors import RlkitError

__all__ = ["KINDS", "collect_random_observations", "pretrain"]

KINDS = ("ae", "dae", "dbn")


def collect_random_observations(env_id: str, num_obs: int, seed: int = 0, num_envs: int = 4) -> torch.Tensor:
    """``float32 [num_obs, D]``: flattened observations of uniform random play (pixels scaled to [0, 1])."""
    env = make_env(DQNConfig(env_id=env_id), num_envs, seed, vectorization="sync")
    rng = np.random.default_rng(seed)
    obs, _ = env.reset(seed=seed)
    chunks, collected = [], 0
    try:
        while collected < num_obs:
            chunks.append(obs.reshape(num_envs, -1).copy())
            collected += num_envs
            obs = env.step(rng.integers(env.single_action_space.n, size=num_envs))[0]
    finally:
        env.close()
    data = torch.from_numpy(np.concatenate(chunks)[:num_obs])
    return data.float().div_(255.0) if data.dtype == torch.uint8 else data.float()


def build_model(kind: str, in_features: int, hidden: Sequence[int], latent: int, pixels: bool) -> torch.nn.Module:
    """An untrained AE (undercomplete), DAE (masking noise on pixels, Gaussian on vectors) or DBN."""
    if kind == "dbn":
        return nets.build(
            {
                "type": "dbn",
                "layers": [in_features, *hidden, latent],
                "visible_type": "bernoulli" if pixels else "gaussian",
            }
        )
    spec = {
        "type": "autoencoder",
        "in_features": in_features,
        "hidden": list(hidden),
        "latent": latent,
        "output": "sigmoid" if pixels else "linear",
    }
    if kind == "dae":
        corruption, level = ("mask", 0.25) if pixels else ("gaussian", 0.1)
        spec.update(corruption=corruption, noise_level=level)
    return nets.build(spec)


def pretrain(
    env_id: str,
    out: str | Path,
    kind: str = "dae",
    num_obs: int = 20_000,
    hidden: Sequence[int] = (128,),
    latent: int = 128,
    epochs: int = 20,
    seed: int = 0,
    progress: bool = False,
) -> dict[str, Any]:
    """Fit an unsupervised torso on random-play observations of ``env_id`` and save it to ``out``.

    :param kind: "ae", "dae" or "dbn" (``KINDS``).
    :param hidden, latent: encoder widths; the torso's output width is ``latent``.
    :returns: ``path`` of the saved model, ``kind``, ``num_obs``, ``final_loss``.
    :raises RlkitError: unknown kind, or an AE whose code is not narrower than the observation.
    """
    if kind not in KINDS:
        raise RlkitError(f"unknown pretraining model {kind!r}; choose one of {list(KINDS)}")
    torch.manual_seed(seed)
    data = collect_random_observations(env_id, num_obs, seed)
    try:
        model = build_model(kind, data.shape[1], list(hidden), latent, pixels=is_atari(env_id))
    except ValueError as error:
        raise RlkitError(f"pretrain {kind}: {error}") from None
    if kind == "dbn":
        histories = model.pretrain(data, epochs=epochs, seed=seed, progress=progress)
        final = histories[-1]
    else:
        final = nets.fit(model, data, epochs=epochs, seed=seed, progress=progress)
    nets.save(model, out)
    losses = final.get("train/loss", [math.nan])
    return {"path": str(out), "kind": kind, "num_obs": int(data.shape[0]), "final_loss": float(losses[-1])}
