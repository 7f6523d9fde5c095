"""The hook a user passes to ``learn``: ``callback(metrics) -> bool | None``.

It is called with the metrics of every logged step or iteration and of every evaluation
(``metrics["step"]`` holds the counter they belong to). Returning ``False`` stops training
cleanly: the loop writes a checkpoint and ``learn`` returns. Any other return value continues.

    def stop_when_solved(metrics):
        return metrics.get("eval/return_mean", 0) < 475

    DQN("CartPole-v1").learn(100_000, callback=stop_when_solved)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["Callback", "wants_to_stop"]

Callback = Callable[[dict[str, Any]], "bool | None"]


def wants_to_stop(callback: Callback | None, step: int, metrics: Mapping[str, Any]) -> bool:
    """Call ``callback`` with ``{"step": step, **metrics}``; True when it returned ``False``."""
    if callback is None:
        return False
    return callback({"step": step, **metrics}) is False
