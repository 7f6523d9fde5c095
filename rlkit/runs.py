"""Run directories and durable checkpoints.

A run lives in `runs/<name>/`:

    config.json      the resolved config (any run is reproducible from it and its seed)
    metrics.jsonl    one JSON object per logged step (see rlkit.metrics)
    checkpoints/     step_<N>.pt, written atomically, newest few kept
    plots/           PNG figures drawn from metrics.jsonl
    videos/          evaluation videos (Atari)

Checkpoints are written and read by `rlkit.checkpoints` (atomic, weights_only, one format
marker for every agent); a `Run` only names where they go.
"""

from __future__ import annotations

import json
import os
import random
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rlkit.checkpoints import list_checkpoints, load_checkpoint, remove_partial_writes, save_checkpoint
from rlkit.errors import RlkitError

__all__ = ["Run", "check_run_name", "seed_everything", "write_text_atomic"]


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def write_text_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file beside it and a rename: a reader (or another process
    writing the same file) never sees a half-written file."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


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
        name = time.strftime("%Y%m%d-%H%M%S") if name is None else check_run_name(name)
        run = cls(Path(root) / name)
        if run.path.exists() and any(run.path.iterdir()) and not exist_ok:
            raise RlkitError(
                f"run directory {str(run.path)!r} already exists; pass --resume to continue it or choose another name"
            )
        try:
            for folder in (run.path, run.checkpoints_dir, run.plots_dir):
                folder.mkdir(parents=True, exist_ok=True)
            run.save_config(config or {})
        except OSError as err:  # a read-only folder, a regular file where the runs folder should be, ...
            raise RlkitError(f"cannot create run directory {str(run.path)!r}: {err.strerror or err}") from None
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

    def drop_metrics_after(self, step: int) -> int:
        """Remove metrics.jsonl lines logged after ``step`` (a resume from that step logs them again,
        so each step appears once); returns how many were dropped."""
        if not self.metrics_path.is_file():
            return 0
        kept, dropped = [], 0
        for line in self.metrics_path.read_text().splitlines():
            try:
                later = json.loads(line).get("step", 0) > step
            except json.JSONDecodeError:  # a line cut short by a kill
                later = True
            dropped += later
            if not later:
                kept.append(line)
        if dropped:
            write_text_atomic(self.metrics_path, "".join(line + "\n" for line in kept))
        return dropped

    def save_config(self, config: dict) -> None:
        write_text_atomic(self.config_path, json.dumps(config, indent=2, sort_keys=True, default=str) + "\n")

    def load_config(self) -> dict:
        try:
            return json.loads(self.config_path.read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise RlkitError(f"cannot read {str(self.config_path)!r}: {err}") from None

    def checkpoints(self) -> list[Path]:
        """Checkpoint files, oldest first."""
        return list_checkpoints(self.checkpoints_dir)

    def save_checkpoint(self, step: int, state: dict[str, Any], keep: int = 3) -> Path:
        """Write checkpoints/step_<step>.pt atomically and delete all but the newest `keep`."""
        path = save_checkpoint(self.checkpoints_dir / f"step_{step:010d}.pt", state)
        for old in self.checkpoints()[:-keep] if keep > 0 else []:
            old.unlink(missing_ok=True)
        remove_partial_writes(self.checkpoints_dir)
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


def check_run_name(name: str) -> str:
    """``name`` if it is one plain folder name (the run must land inside the runs folder).

    :raises RlkitError: an empty name, ``.``/``..``, or one holding a path separator.
    """
    if not name or name in (".", "..") or "/" in name or (os.sep in name) or (os.altsep and os.altsep in name):
        raise RlkitError(
            f"run name {name!r} must be one folder name (no '/', not '.' or '..'); use --runs-dir for another place"
        )
    return name
