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
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm
from typing_extensions import Self

__all__ = ["MetricsLogger", "read_metrics"]


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
    :param show: metric keys shown beside the bar (their last logged value), or ``{key: label}`` to
        name them briefly (the bar must fit 80 columns); a plain key is shown without its prefix.
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
        show: Iterable[str] | Mapping[str, str] = (),
        start: int = 0,
        progress: bool = True,
        tensorboard: bool = True,
    ):
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.show = dict(show) if isinstance(show, Mapping) else {key: key.split("/", 1)[-1] for key in show}
        self._desc = desc or ""
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
        disable = None if progress and os.environ.get("RLKIT_PROGRESS") != "0" else True
        self._bar = tqdm(
            total=total,
            initial=start,
            unit=unit,
            desc=desc,
            dynamic_ncols=True,
            disable=disable,
            smoothing=0.05,
            bar_format="{desc}: {percentage:3.0f}%|{bar:10}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}"
            "{postfix}]",
        )
        self._bar_n = start
        # Evaluation results (``eval/`` keys of ``show``) and what a long pause is doing get a second line,
        # so that the first fits 80 columns.
        self._eval_show = {k: label for k, label in self.show.items() if k.startswith("eval/")}
        self.show = {k: label for k, label in self.show.items() if k not in self._eval_show}
        self._eval_step: int | None = None
        self._status: str | None = None
        self._line2 = None
        if self._eval_show:
            self._line2 = tqdm(total=0, position=1, bar_format="{desc}", dynamic_ncols=True, disable=disable)
            self._line2.set_description_str("eval: none yet", refresh=False)

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
            postfix = {label: _fmt(self._latest[k]) for k, label in self.show.items() if k in self._latest}
            self._bar.set_postfix(postfix, refresh=False)
        if any(k in clean for k in self._eval_show):
            self._eval_step = int(step)
            self._draw_line2()
        self.update(step)

    def status(self, text: str | None) -> None:
        """Show what a long pause is doing (e.g. "eval vs one_ply") at once, on the evaluation line
        when there is one (else beside the bar's name); None clears it."""
        self._status = text
        if self._line2 is not None:
            self._draw_line2()
        else:
            self._bar.set_description_str(f"{self._desc} [{text}]" if text else self._desc, refresh=True)

    def _draw_line2(self) -> None:
        """``eval @STEP: elo=186, W/D/L rand 3/1/0 1ply 2/2/0`` (``*/wdl`` keys grouped under one W/D/L),
        prefixed by the running evaluation's status."""
        have = {k: label for k, label in self._eval_show.items() if k in self._latest}
        shown = [f"{label}={_fmt(self._latest[k])}" for k, label in have.items() if not k.endswith("/wdl")]
        wdl = [f"{label} {self._latest[k]}" for k, label in have.items() if k.endswith("/wdl")]
        if wdl:
            shown.append("W/D/L " + " ".join(wdl))
        last = f"@{self._eval_step}: {', '.join(shown)}" if shown else "none yet"
        text = f"eval {self._status}... last {last}" if self._status else f"eval {last}"
        self._line2.set_description_str(text, refresh=True)

    def write(self, message: str) -> None:
        """Print a line without breaking the progress bar."""
        self._bar.write(message)

    @property
    def latest(self) -> dict[str, Any]:
        return dict(self._latest)

    def close(self) -> None:
        self._bar.close()
        if self._line2 is not None:
            self._line2.close()
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
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    return value


_told_no_tensorboard = False


def _tensorboard_writer(path: Path):
    global _told_no_tensorboard
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is an optional extra: say so once, at the start
        if not _told_no_tensorboard:
            print(
                "rlkit: note: TensorBoard is not installed, metrics go to metrics.jsonl only "
                "(pip install 'rlkit[tensorboard]')",
                file=sys.stderr,
            )
            _told_no_tensorboard = True
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
