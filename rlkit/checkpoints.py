"""Durable checkpoints for every agent: atomic writes, safe loads, the newest valid one of a run.

A checkpoint is a plain nested dict of tensors, numbers and strings, stamped with one format
marker and the agent that wrote it::

    {"format": FORMAT, "agent": "dqn" | "alphazero", "config": {...}, <each role's get_state()>}

It is written to a temporary file and renamed into place (a crash never leaves a half-written
file under the real name; leftovers of interrupted writes are removed by ``remove_partial_writes``),
and loaded with ``torch.load(weights_only=True)`` so that loading never runs pickled code.
``read_checkpoint`` is the one reader behind resume, ``load``, eval, arena and play: a run
directory gives its newest readable checkpoint (empty, truncated or foreign newer files are
skipped with a warning), and the marker check names what a file is when it is not what the
caller wanted. ``get_rng_state``/``set_rng_state`` capture Python's, NumPy's and torch's
generators so that a resumed run continues the same random stream.
"""

from __future__ import annotations

import os
import random
import re
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rlkit.errors import RlkitError

__all__ = [
    "AGENT_NAMES",
    "FORMAT",
    "get_rng_state",
    "list_checkpoints",
    "load_checkpoint",
    "read_checkpoint",
    "remove_partial_writes",
    "save_checkpoint",
    "set_rng_state",
    "stamp",
]

FORMAT = "rlkit.checkpoint/1"
AGENT_NAMES = {"dqn": "DQN", "alphazero": "AlphaZero"}
FILE_MODE = 0o644  # checkpoints share the permissions of the rest of a run directory
_STEP_FILE = re.compile(r"step_(\d+)\.pt$")


def stamp(agent: str, state: dict[str, Any]) -> dict[str, Any]:
    """``state`` with the format marker and the agent's name in front."""
    return {"format": FORMAT, "agent": agent, **state}


def save_checkpoint(path: str | os.PathLike, obj: dict[str, Any]) -> Path:
    """Write ``obj`` to ``path`` atomically: temporary file in the same folder, fsync, rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device | None = "cpu") -> dict[str, Any]:
    """Load a file written by ``save_checkpoint`` without executing pickled code.

    :raises RlkitError: missing, empty, truncated or foreign file (one line naming it).
    """
    path = Path(path)
    if not path.is_file():
        raise RlkitError(f"checkpoint {str(path)!r} does not exist")
    if path.stat().st_size == 0:
        raise RlkitError(f"checkpoint {str(path)!r} is empty (0 bytes: an interrupted write?)")
    try:
        with warnings.catch_warnings():  # torch warns about foreign pickles before refusing them
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # noqa: BLE001 (corrupt file, foreign pickle, truncated write: all mean unreadable)
        reason = _plain(str(err).strip().splitlines()[0] if str(err).strip() else "")[:160]
        raise RlkitError(f"{str(path)!r} is not a readable rlkit checkpoint ({type(err).__name__}: {reason})") from None
    if not isinstance(state, dict):
        raise RlkitError(f"{str(path)!r} is not an rlkit checkpoint (it holds a {type(state).__name__})")
    return state


def list_checkpoints(folder: str | os.PathLike) -> list[Path]:
    """``step_<N>.pt`` files of ``folder``, oldest first."""
    found = [(int(m.group(1)), p) for p in Path(folder).glob("step_*.pt") if (m := _STEP_FILE.search(p.name))]
    return [p for _, p in sorted(found)]


def remove_partial_writes(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporary files interrupted checkpoint writes left in ``folder``; returns them."""
    leftovers = list(Path(folder).glob("*.pt.*.tmp"))
    for path in leftovers:
        path.unlink(missing_ok=True)
    return leftovers


def read_checkpoint(
    path: str | os.PathLike, agent: str, map_location: str | torch.device | None = "cpu"
) -> tuple[dict[str, Any], Path]:
    """The checkpoint of ``agent`` at ``path``: a file, or the newest readable one of a run directory.

    :returns: (state, the file it came from).
    :raises RlkitError: nothing readable there, or a checkpoint of another agent or of no agent.
    """
    path = Path(path)
    if path.is_dir():
        folder = path / "checkpoints" if (path / "checkpoints").is_dir() else path
        for candidate in reversed(list_checkpoints(folder)):
            try:
                state = load_checkpoint(candidate, map_location)
            except RlkitError as err:
                warnings.warn(f"skipping unreadable checkpoint: {err}", stacklevel=2)
                continue
            check_agent(state, agent, path)
            return state, candidate
        if not (path / "config.json").is_file() and not list_checkpoints(folder):
            raise RlkitError(f"{str(path)!r} is neither a checkpoint file nor a run directory")
        raise RlkitError(f"cannot load from {str(path)!r}: it holds no readable checkpoint")
    if not path.exists():
        raise RlkitError(f"{str(path)!r} does not exist; pass a checkpoint file or a run directory")
    state = load_checkpoint(path, map_location)
    check_agent(state, agent, path)
    return state, path


def check_agent(state: dict[str, Any], agent: str, path: str | os.PathLike) -> None:
    """:raises RlkitError: ``state`` is not an rlkit checkpoint of ``agent`` (the message says what it is)."""
    if state.get("format") != FORMAT or state.get("agent") not in AGENT_NAMES:
        raise RlkitError(f"{str(path)!r} is not an rlkit checkpoint (no {FORMAT!r} format marker)")
    found = state["agent"]
    if found != agent:
        what = "run" if Path(path).is_dir() else "checkpoint"
        article = "an" if AGENT_NAMES[found][0] in "AEIOU" else "a"
        raise RlkitError(
            f"{str(path)!r} is {article} {AGENT_NAMES[found]} {what}, not {AGENT_NAMES[agent]}; "
            f"use it with `rlkit ... {found}` or agents.{found}"
        )


def get_rng_state() -> dict[str, Any]:
    """The state of Python's, NumPy's and torch's global generators, as checkpoint-safe values."""
    _kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "python": list(random.getstate()[1]),
        "python_gauss": random.getstate()[2],
        "numpy": {
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached": float(cached),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore generators saved by ``get_rng_state``."""
    random.setstate((3, tuple(state["python"]), state["python_gauss"]))
    np_state = state["numpy"]
    keys = np_state["keys"].numpy().astype(np.uint32)
    np.random.set_state(("MT19937", keys, np_state["pos"], np_state["has_gauss"], np_state["cached"]))
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


def _plain(text: str) -> str:
    """``text`` without ANSI colour escapes (torch colours parts of its pickle errors)."""
    return re.sub(r"\x1b\[[0-9;]*m", "", text)
