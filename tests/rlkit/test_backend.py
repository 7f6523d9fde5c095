"""The Ray backend: the generic worker group on a dummy worker, then both agents end to end.

All tests share the session's 2-CPU Ray instance (tests/conftest.py).
"""

from __future__ import annotations

import os

import pytest

from rlkit.backend import Done, ParameterStore, RayOptions, UpdateSchedule, WorkerGroup
from rlkit.errors import RlkitError


class CountingWorker:
    """Multiplies by the published weight; counts the requests its current incarnation served."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.served = 0
        self.weights = {"scale": 0}
        self.version = -1

    def set_weights(self, weights: dict, version: int) -> None:
        self.weights, self.version = weights, version

    def work(self, x: int) -> tuple[int, int, int, int]:
        """(worker index, x * scale, weight version, requests served by this incarnation)."""
        self.served += 1
        return self.index, x * self.weights["scale"], self.version, self.served

    def pid(self) -> int:
        return os.getpid()

    def fail(self) -> None:
        raise RuntimeError("simulated CUDA error")


def _drain(group: WorkerGroup) -> list[Done]:
    """Wait for every request, and for restarted workers to be ready again."""
    done = []
    while group.in_flight() or group.ready != group.alive:
        done += group.wait(timeout_s=60)
    return done


def _group(ray, name: str, **options) -> tuple[WorkerGroup, ParameterStore]:
    store = ParameterStore(ray)
    store.publish({"scale": 3}, version=7)
    opts = RayOptions(num_workers=2, cpus_per_worker=0.5, **options)
    return WorkerGroup(ray, CountingWorker, lambda i: (i,), opts, store, name), store


def test_update_schedule_carries_fractions():
    schedule = UpdateSchedule(1, 8)  # one update per 8 agent steps, 4 envs per vector step
    assert [schedule.add(4) for _ in range(5)] == [0, 1, 0, 1, 0]
    thirds = UpdateSchedule(1, 3)  # 1/3 is not a float: 3 x 1/3 must still give exactly one update
    assert [thirds.add(1) for _ in range(6)] == [0, 0, 1, 0, 0, 1]
    assert UpdateSchedule(40, 64, owed=0.5).add(64) == 40 and UpdateSchedule(40, 64, owed=0.5).owed == 0.5


def test_options_are_checked():
    with pytest.raises(RlkitError, match="num_workers=0"):
        RayOptions(num_workers=0).check()
    with pytest.raises(RlkitError, match="max_in_flight=3"):
        RayOptions(max_in_flight=3).check()


@pytest.mark.ray
def test_group_broadcasts_weights_and_bounds_requests(ray_session):
    group, store = _group(ray_session, "test-broadcast", max_in_flight=2)
    with group:
        submitted = group.fill("work", lambda worker: (5,))
        assert submitted == 4 and group.in_flight(0) == group.in_flight(1) == 2
        assert group.fill("work", lambda worker: (5,)) == 0  # both workers are at their limit
        results = [d.value for d in _drain(group)]
        assert sorted(results) == [(0, 15, 7, 1), (0, 15, 7, 2), (1, 15, 7, 1), (1, 15, 7, 2)]
        store.publish({"scale": -1}, version=8)  # picked up before the next request
        group.fill("work", lambda worker: (5,) if group.in_flight() < 1 else None)
        assert [d.value[1:3] for d in _drain(group)] == [(-5, 8)]


@pytest.mark.ray
def test_killed_worker_restarts_with_current_weights(ray_session):
    group, store = _group(ray_session, "test-kill")
    with group:
        group.fill("work", lambda worker: (1,))
        _drain(group)
        store.publish({"scale": 10}, version=9)
        ray_session.kill(ray_session.get_actor("test-kill-1"), no_restart=False)
        group.fill("work", lambda worker: (2,))
        done = _drain(group)
        failed = [d for d in done if d.error]
        assert [d.worker for d in failed] == [1] and "died" in failed[0].error
        assert group.restarts == 1 and group.metrics() == {"backend/workers": 2, "backend/restarts": 1}
        group.fill("work", lambda worker: (2,) if worker == 1 else None)
        # a fresh incarnation (served counter back to 1) holding the current weights
        assert [d.value for d in _drain(group)] == [(1, 20, 9, 1)]


@pytest.mark.ray
def test_exception_restarts_worker_until_restarts_run_out(ray_session):
    group, _ = _group(ray_session, "test-raise", max_restarts=1)
    with group:
        group.fill("fail", lambda worker: () if worker == 0 else None)
        done = _drain(group)
        assert "simulated CUDA error" in done[0].error and group.restarts == 1
        group.fill("work", lambda worker: (1,) if worker == 0 else None)
        assert [d.value for d in _drain(group)] == [(0, 3, 7, 1)]
        group.fill("fail", lambda worker: () if worker == 0 else None)
        _drain(group)
        assert group.num_alive == 1 and group.restarts == 1  # worker 0 is dropped, not restarted
        group.fill("fail", lambda worker: ())
        _drain(group)
        assert group.restarts == 2 and group.ready == {1}
        group.fill("fail", lambda worker: ())
        with pytest.raises(RlkitError, match="all 2 Ray workers failed"):
            _drain(group)


@pytest.mark.ray
def test_second_driver_on_the_same_run_is_refused(ray_session):
    group, store = _group(ray_session, "test-name")
    with group, pytest.raises(RlkitError, match="already training"):
        WorkerGroup(ray_session, CountingWorker, lambda i: (i,), RayOptions(num_workers=1, cpus_per_worker=0.5),
                    store, "test-name")
