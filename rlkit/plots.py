"""Figures drawn from a run's metrics.jsonl (matplotlib, headless)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rlkit.metrics import read_metrics

__all__ = ["plot_metrics", "pyplot", "save_figure"]


def pyplot():
    """matplotlib.pyplot on the headless Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, out_png: str | Path) -> Path:
    """Lay out, write `fig` to `out_png` (folders made as needed) and free it; returns the path."""
    fig.tight_layout()
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png, dpi=110)
    pyplot().close(fig)
    return out_png


def _smooth(values: list[float], window: int) -> list[float]:
    out, acc = [], []
    for v in values:
        acc.append(v)
        if len(acc) > window:
            acc.pop(0)
        out.append(sum(acc) / len(acc))
    return out


SPARSE = 30  # series with fewer points get a marker on each one (an evaluation every N steps)


def plot_metrics(
    metrics_path: str | Path,
    keys: Sequence[str],
    out_png: str | Path,
    x: str = "step",
    title: str | None = None,
    smooth: int = 1,
    xlabel: str | None = None,
) -> Path | None:
    """One panel per metric key against `x`; returns the PNG path, or None when no key has data.

    :param title: the figure's title (say which run, env or game).
    :param xlabel: the x axis with its unit (e.g. "agent steps", "iteration"); default: `x`.
    """
    plt = pyplot()
    records = read_metrics(metrics_path)
    series = {}
    for key in keys:
        points = [(r[x], r[key]) for r in records if isinstance(r.get(key), (int, float)) and x in r]
        if points:
            series[key] = points
    if not series:
        return None
    fig, axes = plt.subplots(len(series), 1, figsize=(7, 2.2 + 1.9 * len(series)), sharex=True, squeeze=False)
    for ax, (key, points) in zip(axes[:, 0], series.items()):
        xs, ys = zip(*points)
        marker = "o" if len(points) < SPARSE else None
        ax.plot(xs, ys, alpha=0.35 if smooth > 1 else 1.0, lw=1, marker=marker, ms=3)
        if smooth > 1:
            ax.plot(xs, _smooth(list(ys), smooth), lw=1.8)
        ax.set_ylabel(key, fontsize=8)
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel(xlabel or x)
    if all(isinstance(v, int) for points in series.values() for v, _ in points):  # steps, iterations
        from matplotlib.ticker import MaxNLocator

        axes[-1, 0].xaxis.set_major_locator(MaxNLocator(integer=True))
    if title:
        fig.suptitle(title, fontsize=10)
    return save_figure(fig, out_png)
