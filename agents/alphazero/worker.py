"""The self-play side of AlphaZero as a worker: one class for the local loop and for Ray.

``SelfPlayActor`` wraps a ``SelfPlayWorker`` with the worker interface of ``rlkit.workers``
(``set_weights``, ``play``, ``get_state``/``set_state``); results carry their provenance (weight
version, worker index) so the learner side can log how stale the games were.
"""

from __future__ import annotations

from typing import Any

import torch

from .config import AlphaZeroConfig
from .selfplay import SelfPlayWorker

__all__ = ["SelfPlayActor", "worker_seed"]


def worker_seed(config: AlphaZeroConfig, worker: int) -> int:
    """Seed of worker ``worker``'s self-play stream; worker 0 plays the local loop's stream."""
    return config.seed + 1 + 1000 * worker


class SelfPlayActor:
    """Plays self-play games with the newest weights it was sent.

    :param cpus: CPUs Ray reserved for this worker (its torch thread count); None in-process.
    """

    def __init__(self, config: AlphaZeroConfig, seed: int, worker: int = 0, cpus: float | None = None) -> None:
        if cpus is not None:
            torch.set_num_threads(max(1, int(cpus)))
        self.worker = worker
        self.selfplay = SelfPlayWorker(config, seed=seed)

    def set_weights(self, weights: dict[str, torch.Tensor], version: int) -> None:
        self.selfplay.set_weights(weights, version)

    def play(self, num_games: int) -> dict[str, Any]:
        """``num_games`` games: their ``samples`` and ``stats``, the weight ``version`` that played them
        and the ``worker`` index."""
        samples, stats = self.selfplay.play(num_games)
        return {"samples": samples, "stats": stats, "version": self.selfplay.weights_version, "worker": self.worker}

    def get_state(self) -> dict:
        return self.selfplay.get_state()

    def set_state(self, state: dict) -> None:
        self.selfplay.set_state(state)
