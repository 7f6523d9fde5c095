"""Trained agents that ship inside the package: `az:<game>` wherever a player is named.

    rlkit play --game connect4                       # plays the shipped Connect Four agent
    rlkit arena az:connect4 alphabeta:4 --game connect4
    python scripts/ship_agent.py runs/c4/checkpoints/step_0000000800.pt --notes notes.json

Each agent is two files in `agents/alphazero/weights/`: `<game>.pt`, an rlkit checkpoint slimmed to
what `load_agent` reads (config and network weights: no optimiser, replay or random streams, so it
can be played and evaluated but not resumed), and `<game>.json`, the command, seed and measured
figures that made it. Overrides given at export (e.g. `search=puct eval_simulations=200`) set how
the agent searches when it plays.
"""

from __future__ import annotations

import json
from pathlib import Path

from rlkit.checkpoints import read_checkpoint, save_checkpoint, stamp
from rlkit.config import apply_overrides, from_dict, to_dict
from rlkit.errors import RlkitError

from .config import AlphaZeroConfig, check_config

__all__ = ["PREFIX", "WEIGHTS", "export", "shipped_games", "shipped_path"]

WEIGHTS = Path(__file__).parent / "weights"
PREFIX = "az:"


def shipped_games() -> list[str]:
    """Games with a shipped agent."""
    return sorted(p.stem for p in WEIGHTS.glob("*.pt"))


def shipped_path(spec: str) -> Path:
    """The weights file of `az:<game>`.

    :raises RlkitError: no agent ships for that game (the message lists those that do)."""
    game = spec.removeprefix(PREFIX)
    path = WEIGHTS / f"{game}.pt"
    if not path.is_file():
        raise RlkitError(
            f"no shipped agent {spec!r}; shipped: {', '.join(PREFIX + g for g in shipped_games()) or 'none'}"
        )
    return path


def export(checkpoint: str | Path, overrides: list[str] = (), notes: dict | None = None, out: Path = WEIGHTS) -> Path:
    """Write `<game>.pt` (config + network weights of `checkpoint`, a file or run directory) and
    `<game>.json` (`notes` plus where the weights came from) into `out`; returns the weights path."""
    state, path = read_checkpoint(checkpoint, "alphazero")
    cfg = apply_overrides(from_dict(AlphaZeroConfig, {**state["config"], "device": "auto"}), list(overrides))
    check_config(cfg)
    slim = stamp("alphazero", {"config": to_dict(cfg), "learner": {"net": state["learner"]["net"]}})
    if "counters" in state:
        slim["counters"] = state["counters"]
    out = Path(out)
    target = save_checkpoint(out / f"{cfg.game}.pt", slim)
    info = {
        "source": f"{path.parent.parent.name}/{path.name}",
        "counters": state.get("counters"),
        "play_overrides": list(overrides),
        **(notes or {}),
    }
    (out / f"{cfg.game}.json").write_text(json.dumps(info, indent=1) + "\n")
    return target
