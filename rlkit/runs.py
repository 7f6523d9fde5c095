"""Run directories and durable checkpoints.

A run lives in `runs/<name>/`:

    config.json      the resolved config (any run is reproducible from it and its seed)
    metrics.jsonl    one JSON object per logged step (see rlkit.metrics)
    checkpoints/     step_<N>.pt, written atomically, newest few kept
    plots/           PNG figures drawn from metrics.jsonl
    videos/          evaluation videos (Atari)

Checkpoints are plain nested dicts of tensors, numbers and strings, written to a temporary
file and renamed into place (a crash never leaves a half-written checkpoint under the real
name), and loaded with `torch.load(weights_only=True)` so that loading never runs pickled
code. `get_rng_state`/`set_rng_state` capture Python's, NumPy's and torch's generators so
that a resumed run continues the same random stream.
"""

from __future__ import annotations

import json
import os
import random
import re
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rlkit.errors import RlkitError

__all__ = ["Run", "get_rng_state", "load_checkpoint", "save_checkpoint", "seed_everything", "set_rng_state"]

_CKPT = re.compile(r"step_(\d+)\.pt$")


def save_checkpoint(path: str | os.PathLike, obj: dict[str, Any]) -> Path:
    """Write `obj` to `path` atomically: temporary file in the same folder, fsync, rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device | None = "cpu") -> dict[str, Any]:
    """Load a checkpoint written by `save_checkpoint` without executing pickled code."""
    path = Path(path)
    if not path.is_file():
        raise RlkitError(f"checkpoint {str(path)!r} does not exist")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # noqa: BLE001 (corrupt file, foreign pickle, truncated write: all mean unreadable)
        reason = str(err).splitlines()[0][:200]
        raise RlkitError(f"{str(path)!r} is not a readable rlkit checkpoint ({type(err).__name__}: {reason})") from None


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


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
    """Restore generators saved by `get_rng_state`."""
    random.setstate((3, tuple(state["python"]), state["python_gauss"]))
    np_state = state["numpy"]
    keys = np_state["keys"].numpy().astype(np.uint32)
    np.random.set_state(("MT19937", keys, np_state["pos"], np_state["has_gauss"], np_state["cached"]))
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


class Run:
    """A run directory: config, metrics, checkpoints, plots and videos of one training run."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    config_path = property(lambda self: self.path / "config.json")
    metrics_path = property(lambda self: self.path / "metrics.jsonl")
    checkpoints_dir = property(lambda self: self.path / "checkpoints")
    plots_dir = property(lambda self: self.path / "plots")
    videos_dir = property(lambda self: self.path / "videos")

    @classmethod
    def create(
        cls,
        root: str | os.PathLike = "runs",
        name: str | None = None,
        config: dict | None = None,
        exist_ok: bool = False,
    ) -> Run:
        """Make `root/name/` (name defaults to a timestamp) with its sub-folders and config.json."""
        name = name or time.strftime("%Y%m%d-%H%M%S")
        run = cls(Path(root) / name)
        if run.path.exists() and any(run.path.iterdir()) and not exist_ok:
            raise RlkitError(
                f"run directory {str(run.path)!r} already exists; pass --resume to continue it or choose another name"
            )
        for folder in (run.path, run.checkpoints_dir, run.plots_dir):
            folder.mkdir(parents=True, exist_ok=True)
        run.save_config(config or {})
        return run

    @classmethod
    def open(cls, path: str | os.PathLike) -> Run:
        """An existing run; `path` may be the run directory or a checkpoint inside it."""
        path = Path(path)
        if path.is_file():
            path = path.parent.parent if path.parent.name == "checkpoints" else path.parent
        run = cls(path)
        if not run.config_path.is_file():
            raise RlkitError(f"{str(path)!r} is not a run directory (no config.json there)")
        return run

    def save_config(self, config: dict) -> None:
        tmp = self.config_path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(config, indent=2, sort_keys=True, default=str) + "\n")
        os.replace(tmp, self.config_path)

    def load_config(self) -> dict:
        try:
            return json.loads(self.config_path.read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise RlkitError(f"cannot read {str(self.config_path)!r}: {err}") from None

    def checkpoints(self) -> list[Path]:
        """Checkpoint files, oldest first."""
        found = [(int(m.group(1)), p) for p in self.checkpoints_dir.glob("step_*.pt") if (m := _CKPT.search(p.name))]
        return [p for _, p in sorted(found)]

    def save_checkpoint(self, step: int, state: dict[str, Any], keep: int = 3) -> Path:
        """Write checkpoints/step_<step>.pt atomically and delete all but the newest `keep`."""
        path = save_checkpoint(self.checkpoints_dir / f"step_{step:010d}.pt", state)
        for old in self.checkpoints()[:-keep] if keep > 0 else []:
            old.unlink(missing_ok=True)
        return path

    def latest_checkpoint(self) -> Path | None:
        ckpts = self.checkpoints()
        return ckpts[-1] if ckpts else None

    def load_latest(self, map_location: str | torch.device | None = "cpu") -> tuple[dict[str, Any], Path] | None:
        """The newest checkpoint that loads; unreadable newer ones are skipped with a warning."""
        for path in reversed(self.checkpoints()):
            try:
                return load_checkpoint(path, map_location), path
            except RlkitError as err:
                warnings.warn(f"skipping unreadable checkpoint: {err}", stacklevel=2)
        return None
