"""Feeding a learner: worker groups that run in this process or (``rlkit.backend``) on Ray.

A training loop is written once against this small interface and runs unchanged on either
backend::

    group = open_feeders(backend, options, WorkerCls, args_of, weights, version, name, local_group)
    with group:
        group.wait_ready()
        while work_left:
            group.fill("method", next_request)   # next_request(worker) -> args or None
            for done in group.wait():           # Done(worker, request, value, error)
                ...learn from done.value...
            group.store.publish(new_weights, new_version)

Workers are plain classes with ``set_weights(weights, version)`` and their work methods.
``LocalWorkerGroup`` runs them in this process, one request at a time, in the order the
requests were made, so a local run is deterministic; its workers may share modules with the
learner (``shares_weights = True``), and then no weights are copied at all. ``UpdateSchedule``
is the learner-updates-per-sample ratio every loop applies, whichever group feeds it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from typing_extensions import Self

from rlkit.errors import RlkitError

__all__ = ["BACKENDS", "Done", "LocalParameterStore", "LocalWorkerGroup", "UpdateSchedule", "open_feeders"]

BACKENDS = ("local", "ray")
Weights = dict[str, Any] | Callable[[], dict[str, Any]]


@dataclass
class Done:
    """A finished request: ``value`` is the method's return, or None when ``error`` says why it failed."""

    worker: int
    request: tuple
    value: Any = None
    error: str | None = None


class LocalParameterStore:
    """The newest weights for in-process workers; a callable is only called when a worker needs them."""

    def __init__(self) -> None:
        self._weights: Weights | None = None
        self._cached: dict[str, Any] | None = None
        self.version = -1

    def publish(self, weights: Weights, version: int) -> None:
        self._weights, self._cached, self.version = weights, None, version

    @property
    def ref(self) -> dict[str, Any] | None:
        if self._cached is None and self._weights is not None:
            self._cached = self._weights() if callable(self._weights) else self._weights
        return self._cached


class LocalWorkerGroup:
    """Workers in this process with ``WorkerGroup``'s interface; requests run in ``wait``, in order.

    :param workers: the worker objects (``set_weights(weights, version)`` and the work methods).
    """

    def __init__(self, workers: list[Any], store: LocalParameterStore) -> None:
        self.workers, self.store = workers, store
        self.alive = self.ready = set(range(len(workers)))
        self.restarts = 0
        self._sent_version = [-1] * len(workers)
        self._queue: list[tuple[int, str, tuple]] = []

    @property
    def num_alive(self) -> int:
        return len(self.workers)

    def in_flight(self, worker: int | None = None) -> int:
        return sum(1 for w, _, _ in self._queue if worker is None or w == worker)

    def fill(self, method: str, make_request: Callable[[int], tuple | None]) -> int:
        """Queue one request of ``method`` for every idle worker; returns how many were queued."""
        queued = 0
        for worker in range(len(self.workers)):
            if self.in_flight(worker):
                continue
            request = make_request(worker)
            if request is None:
                continue
            self._queue.append((worker, method, request))
            queued += 1
        return queued

    def wait(self, timeout_s: float | None = None) -> list[Done]:
        """Run the queued requests (newest weights first where a worker's copy is stale)."""
        queue, self._queue = self._queue, []
        done = []
        for worker, method, request in queue:
            target = self.workers[worker]
            if self._sent_version[worker] != self.store.version and not getattr(target, "shares_weights", False):
                target.set_weights(self.store.ref, self.store.version)
            self._sent_version[worker] = self.store.version
            done.append(Done(worker, request, value=getattr(target, method)(*request)))
        return done

    def wait_ready(self, timeout_s: float | None = None) -> None:
        """In-process workers are ready once constructed."""

    def metrics(self) -> dict[str, int]:
        return {}

    def states(self) -> list[dict] | None:
        """Each worker's ``get_state()`` (exploration streams), for a checkpoint."""
        return [worker.get_state() for worker in self.workers]

    def close(self) -> None:
        for worker in self.workers:
            if hasattr(worker, "close"):
                worker.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class UpdateSchedule:
    """Learner updates owed for samples seen: ``updates_per_sample`` each, in exact fractions.

    DQN's rule (``num_envs / train_every_steps`` updates per vector step after the warm-up) and
    AlphaZero's (``updates_per_iteration / games_per_iteration`` per game) are both this ratio,
    so for a fixed sample budget every backend makes the same number of updates. Fractions, not
    floats, so no rounding drift decides when an update falls due.
    """

    def __init__(self, updates: int, per_samples: int, owed: float = 0.0) -> None:
        if updates < 0 or per_samples < 1:
            raise RlkitError(f"update ratio {updates}/{per_samples} is invalid; need updates >= 0, samples >= 1")
        self.updates_per_sample = Fraction(updates, per_samples)
        self.owed = Fraction(owed).limit_denominator(per_samples)

    def add(self, samples: int) -> int:
        """Record ``samples`` new samples; return the whole updates now due (the remainder carries over)."""
        self.owed += samples * self.updates_per_sample
        due = int(self.owed)
        self.owed -= due
        return due


def open_feeders(
    backend: str,
    options,
    worker_cls: type,
    remote_args: Callable[[int], tuple],
    weights: Weights,
    version: int,
    name: str,
    local_group: Callable[[], LocalWorkerGroup],
):
    """The group of workers that feeds a learner, the current weights published to it.

    :param backend: ``local`` (``local_group()``, or a group the caller keeps between calls) or ``ray``
        (``options.num_workers`` Ray actors of ``worker_cls``, ``remote_args(i)`` their arguments,
        named ``<name>-<i>``; Ray is joined or started by ``rlkit.backend.connect``).
    :raises RlkitError: unknown backend, unreachable cluster.
    """
    if backend == "ray":
        from rlkit.backend import ParameterStore, WorkerGroup, connect

        ray = connect(options)
        store = ParameterStore(ray)
        store.publish(weights, version)
        return WorkerGroup(ray, worker_cls, remote_args, options, store, name)
    if backend != "local":
        raise RlkitError(f"unknown backend {backend!r}; choose from: {', '.join(BACKENDS)}")
    group = local_group()
    group.store.publish(weights, version)
    return group
