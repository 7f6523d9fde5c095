"""One metrics logger for every training loop.

`MetricsLogger.log(step, {...})` appends a line to the run's `metrics.jsonl`, writes the
scalars to TensorBoard when it is installed, and shows the chosen keys beside a live
progress bar (tqdm: position, rate and ETA). Metric keys carry a prefix that says where
they come from: `train/` (learner), `rollout/` (acting or self-play), `eval/`.

    with MetricsLogger(run.path, total=50_000, unit="step", desc="dqn",
                       show=["rollout/return", "train/loss"]) as log:
        for step in range(...):
            ...
            log.update(step)                        # cheap: moves the bar
            if step % 1000 == 0:
                log.log(step, {"train/loss": loss})  # writes the metrics
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm
from typing_extensions import Self

__all__ = ["MetricsLogger", "read_metrics"]


def _short(key: str) -> str:
    return key.split("/", 1)[-1]


def _scalar(value: Any) -> float | int | str | None:
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class MetricsLogger:
    """Progress bar + metrics.jsonl + TensorBoard, fed by one `log` call.

    :param run_dir: run directory (metrics.jsonl and TensorBoard events go there) or None for the bar only.
    :param total: the step count at which the run ends (for the bar's ETA).
    :param unit: what a step counts ("step", "game", "epoch").
    :param show: metric keys shown beside the bar (their last logged value).
    :param start: the step a resumed run starts from.
    :param progress: show the bar (it is also hidden when stderr is not a terminal or RLKIT_PROGRESS=0).
    :param tensorboard: write TensorBoard events when the `tensorboard` package is installed.
    """

    def __init__(
        self,
        run_dir: str | Path | None = None,
        total: int | None = None,
        unit: str = "step",
        desc: str | None = None,
        show: Iterable[str] = (),
        start: int = 0,
        progress: bool = True,
        tensorboard: bool = True,
    ):
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.show = list(show)
        self._latest: dict[str, Any] = {}
        self._file = None
        self._tb = None
        self._t0 = time.time()
        if self.run_dir is not None:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            self._file = open(self.run_dir / "metrics.jsonl", "a", buffering=1)  # noqa: SIM115 (open for the logger's life)
            if tensorboard:
                self._tb = _tensorboard_writer(self.run_dir / "tb")
        # disable=None hides the bar when not attached to a terminal (CI logs stay readable)
        self._bar = tqdm(
            total=total,
            initial=start,
            unit=unit,
            desc=desc,
            dynamic_ncols=True,
            disable=None if progress and os.environ.get("RLKIT_PROGRESS") != "0" else True,
            smoothing=0.05,
        )
        self._bar_n = start

    def update(self, step: int) -> None:
        """Move the progress bar to `step`."""
        if step > self._bar_n:
            self._bar.update(step - self._bar_n)
            self._bar_n = step

    def log(self, step: int, metrics: Mapping[str, Any]) -> None:
        """Record metrics at `step`: a metrics.jsonl line, TensorBoard scalars and the bar's postfix."""
        clean = {k: _scalar(v) for k, v in metrics.items()}
        self._latest.update(clean)
        if self._file is not None:
            record = {"step": int(step), "time": round(time.time() - self._t0, 3), **clean}
            self._file.write(json.dumps(record) + "\n")
        if self._tb is not None:
            for key, value in clean.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    self._tb.add_scalar(key, value, step)
        if self.show:
            postfix = {_short(k): _fmt(self._latest[k]) for k in self.show if k in self._latest}
            self._bar.set_postfix(postfix, refresh=False)
        self.update(step)

    def write(self, message: str) -> None:
        """Print a line without breaking the progress bar."""
        self._bar.write(message)

    @property
    def latest(self) -> dict[str, Any]:
        return dict(self._latest)

    def close(self) -> None:
        self._bar.close()
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._tb is not None:
            self._tb.close()
            self._tb = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _fmt(value: Any) -> Any:
    if isinstance(value, float):
        return f"{value:.4g}"
    return value


def _tensorboard_writer(path: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is an optional extra
        return None
    return SummaryWriter(log_dir=str(path))


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """All records of a metrics.jsonl (a truncated last line from a killed run is skipped)."""
    records = []
    path = Path(path)
    if path.is_dir():
        path = path / "metrics.jsonl"
    if not path.exists():
        return records
    for line in path.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records
