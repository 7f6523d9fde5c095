"""The Ray backend: the generic worker group on a dummy worker, then both agents end to end.

All tests share the session's 2-CPU Ray instance (tests/conftest.py).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from contextlib import contextmanager

import pytest

from agents.alphazero import train as az_train
from agents.dqn import train as dqn_train
from rlkit.backend import ParameterStore, RayOptions, WorkerGroup
from rlkit.checkpoints import load_checkpoint
from rlkit.config import to_dict
from rlkit.errors import RlkitError
from rlkit.metrics import read_metrics
from rlkit.runs import Run
from rlkit.workers import Done, UpdateSchedule, open_feeders


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
    # Ship CountingWorker by value: its processes then never import this module (and torch with it),
    # so each of the many restarts below costs a bare Python start-up, not seconds of imports.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    store = ParameterStore(ray)
    store.publish({"scale": 3}, version=7)
    opts = RayOptions(num_workers=2, cpus_per_worker=0.5, **options)
    group = WorkerGroup(ray, CountingWorker, lambda i: (i,), opts, store, name)
    group.wait_ready()
    return group, store


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


def test_unknown_backend_is_named_with_the_choices():
    with pytest.raises(RlkitError, match="unknown backend 'mpi'; choose from: local, ray"):
        open_feeders("mpi", None, CountingWorker, lambda i: (i,), {}, 0, "x", lambda: None)


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
        WorkerGroup(
            ray_session,
            CountingWorker,
            lambda i: (i,),
            RayOptions(num_workers=1, cpus_per_worker=0.5),
            store,
            "test-name",
        )


# ---------------------------------------------------------------------------------------- both agents
@contextmanager
def _kill_when_started(ray, actor_name: str):
    """Kill the named worker once (Ray restarts it) as soon as it exists, from a side thread."""
    killed, stop = threading.Event(), threading.Event()

    def kill() -> None:
        while not stop.is_set():
            try:
                handle = ray.get_actor(actor_name)
            except ValueError:
                time.sleep(0.05)
                continue
            ray.kill(handle, no_restart=False)
            killed.set()
            return

    thread = threading.Thread(target=kill, daemon=True)
    thread.start()
    try:
        yield killed
    finally:
        stop.set()
        thread.join()


def _latest_checkpoint(run: Run) -> dict:
    return load_checkpoint(run.latest_checkpoint())


def _az_config(iterations: int):
    from agents.alphazero import make_config

    return make_config("tictactoe", [
        f"iterations={iterations}", "games_per_iteration=8", "parallel_games=4", "num_simulations=8",
        "updates_per_iteration=3", "batch_size=16", "eval_every_iterations=0", "channels=8", "blocks=1",
        "checkpoint_every_iterations=1", "device=cpu"])  # fmt: skip


def _dqn_config(total_steps: int):
    from agents import dqn

    return dqn.make_config("prioritized", "CartPole-v1", [
        f"total_steps={total_steps}", "num_envs=2", "vectorization=sync", "learning_starts_steps=200",
        "batch_size=16", "train_every_steps=4", "buffer_size=2000", "mlp_hidden=[32]", "log_every_steps=100",
        "checkpoint_every_steps=200", "save_replay=true", "device=cpu"])  # fmt: skip


OPTIONS = RayOptions(num_workers=2, cpus_per_worker=1.0, rollout_steps=16)


@pytest.mark.ray
def test_alphazero_ray_uses_both_workers_and_matches_local_updates(tmp_path):
    cfg = _az_config(iterations=3)
    summary = az_train(
        cfg, Run.create(tmp_path, "az-ray", to_dict(cfg)), backend="ray", options=OPTIONS, progress=False
    )
    # One iteration's 8 games go out as one request of 4 to each worker once both are up.
    assert summary["backend/games_worker0"] >= 4 and summary["backend/games_worker1"] >= 4
    assert summary["counters/games"] >= 24 and summary["backend/workers"] == 2
    local = Run.create(tmp_path, "az-local", to_dict(cfg))
    az_train(cfg, local, progress=False)
    assert summary["counters/updates"] == _latest_checkpoint(local)["counters"]["updates"] == 3 * 3
    lags = [r["backend/weight_lag"] for r in read_metrics(tmp_path / "az-ray")]
    assert len(lags) == 3 and all(0 <= lag <= 2 for lag in lags)


@pytest.mark.ray
def test_alphazero_survives_a_killed_worker_and_resumes(tmp_path, ray_session):
    cfg = _az_config(iterations=2)
    run = Run.create(tmp_path, "az-kill", to_dict(cfg))
    with _kill_when_started(ray_session, "rlkit-az-kill-1") as killed:
        summary = az_train(cfg, run, backend="ray", options=OPTIONS, progress=False)
    assert killed.is_set() and summary["backend/restarts"] >= 1
    assert summary["counters/iteration"] == 2 and summary["counters/updates"] == 2 * 3
    games_before = _latest_checkpoint(run)["counters"]["games"]

    longer = _az_config(iterations=3)
    resumed = az_train(longer, run, resume=True, backend="ray", options=OPTIONS, progress=False)
    records = read_metrics(run.path)
    assert [r["step"] for r in records] == [1, 2, 3]  # the resumed run logs iteration 3 only
    assert resumed["counters/updates"] == 3 * 3 and resumed["counters/games"] >= games_before + 8


@pytest.mark.ray
def test_dqn_ray_uses_both_workers_and_matches_local_updates(tmp_path):
    cfg = _dqn_config(total_steps=600)
    summary = dqn_train(cfg, Run.create(tmp_path, "dqn-ray", to_dict(cfg)), backend="ray", options=OPTIONS)
    # Each worker's first request (16 vector steps of 2 envs) goes out once both are up.
    assert summary["backend/steps_worker0"] >= 32 and summary["backend/steps_worker1"] >= 32
    assert summary["steps"] == 600
    local = Run.create(tmp_path, "dqn-local", to_dict(cfg))
    dqn_train(cfg, local)
    # 600 - 200 warm-up steps + the row that reaches 200, at 2 envs per row and one update per 4 steps
    assert summary["updates"] == _latest_checkpoint(local)["learner"]["num_updates"] == 100


@pytest.mark.ray
def test_dqn_survives_a_killed_worker_and_resumes(tmp_path, ray_session):
    cfg = _dqn_config(total_steps=400)
    run = Run.create(tmp_path, "dqn-kill", to_dict(cfg))
    with _kill_when_started(ray_session, "rlkit-dqn-kill-0") as killed:
        summary = dqn_train(cfg, run, backend="ray", options=OPTIONS)
    assert killed.is_set() and summary["steps"] == 400 and summary["updates"] == 50
    assert read_metrics(run.path)[-1]["backend/restarts"] >= 1
    assert _latest_checkpoint(run)["step"] == 400

    resumed = dqn_train(_dqn_config(total_steps=600), run, resume=True, backend="ray", options=OPTIONS)
    # the replay came back with the checkpoint, so learning resumes at once: as if never stopped
    assert resumed["steps"] == 600 and resumed["updates"] == 100
    assert min(r["step"] for r in read_metrics(run.path)[-2:]) > 400


@pytest.mark.ray
def test_one_worker_on_ray_matches_local_and_checkpoints_interchange(tmp_path, ray_session):
    """The same seeded config, local and on Ray with one worker: equal counters and updates, and each
    backend continues the other's run (the agent API, as a user calls it)."""
    from agents.alphazero import AlphaZero
    from agents.dqn import DQN

    cfg = _dqn_config(total_steps=400)
    on_ray = DQN(config=cfg, runs_dir=str(tmp_path / "ray"))
    on_ray.learn(400, backend="ray", num_workers=1, rollout_steps=16, progress=False)
    local = DQN(config=cfg, runs_dir=str(tmp_path / "local")).learn(400, progress=False)
    assert on_ray.last_summary["steps"] == local.last_summary["steps"] == 400
    assert on_ray.last_summary["updates"] == local.last_summary["updates"] == 50
    resumed = DQN.load(on_ray.run.path).learn(200, progress=False)  # a Ray run continued locally
    assert resumed.num_done == 600 and resumed.last_summary["updates"] == 100

    az = AlphaZero(config=_az_config(iterations=2), runs_dir=str(tmp_path / "az")).learn(1, progress=False)
    az_again = AlphaZero.load(az.run.path).learn(1, backend="ray", num_workers=1, progress=False)  # local -> Ray
    assert az_again.last_summary["counters/iteration"] == 2 and az_again.last_summary["counters/updates"] == 2 * 3
    assert _latest_checkpoint(az_again.run)["counters"]["games"] == 16
