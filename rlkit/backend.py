"""Ray scale-out: the agents' plain worker classes run as Ray actors, the learner stays in the driver.

    DQN("ALE/Pong-v5", preset="rainbow").learn(10_000_000, backend="ray", num_workers=8)

This is the only module that imports Ray. It knows no agent: an agent's loop (written once,
see ``rlkit.workers``) asks ``rlkit.workers.make_group("ray", ...)`` for a ``WorkerGroup`` of its
worker class instead of the in-process ``LocalWorkerGroup``.

Topology. N workers (AlphaZero self-play or DQN acting, one Ray actor each, ``num_cpus`` /
``num_gpus`` from the options) and one learner in the driver process. The learner lives in the
driver because the driver already owns the replay, the run directory, metrics and checkpoints:
samples cross the object store once (worker -> driver) and nothing else moves. On a cluster,
``ray job submit --entrypoint-num-gpus 1`` puts the driver, and with it the learner, on a GPU.

Generic pieces (tested on a dummy worker class, used by both agents):

- ``ParameterStore`` publishes versioned weights once per version with ``ray.put``; every worker
  gets the same object reference, never its own pickled copy.
- ``WorkerGroup`` keeps at most ``max_in_flight`` requests per worker, sends the newest weights
  before a request when a worker's copy is stale (so workers pick up weights between batches),
  and restarts dead workers: Ray re-runs the constructor (``max_restarts``), the failed request
  is reported to the driver, and the next request is preceded by the current weights. Methods run
  with ``max_task_retries=0``: a request that killed its actor is not retried into a second crash.
- ``connect``: join the cluster at ``--address`` / ``$RAY_ADDRESS`` or start an embedded Ray.

Workers are named actors ``rlkit-<run name>-<i>`` (``ray.get_actor`` finds them for the dashboard
or a fault drill); a second driver on the same run name fails instead of sharing the run.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Self

from rlkit.errors import RlkitError
from rlkit.workers import Done

__all__ = ["ParameterStore", "RayOptions", "WorkerGroup", "connect", "set_worker_threads"]
# Weight probes a restarting worker may miss (each lands on the dying incarnation) before it counts as dead again.
_PROBE_ATTEMPTS = 5
_CLOSE_TIMEOUT_S = 10.0
_RESTART_COUNTED = -1  # pid placeholder: the restart under way is counted already
_CRASH = -1  # probe attempt placeholder: a crash call, not a weights probe


@dataclass
class RayOptions:
    """How the Ray backend lays out its workers.

    :param address: Ray cluster address; None uses ``$RAY_ADDRESS`` or starts an embedded local Ray.
    :param num_workers: self-play (AlphaZero) or acting (DQN) workers.
    :param gpus_per_worker: GPU share of each worker (fractions pack several workers on one GPU).
    :param cpus_per_worker: CPUs reserved for each worker (also its torch thread count, at least 1).
    :param max_restarts: restarts Ray grants each worker before it is dropped (-1: unlimited).
    :param max_in_flight: requests queued per worker (1-2: more only fills the object store).
    :param rollout_steps: DQN: vector-env steps per acting request.
    :param games_per_request: AlphaZero: games per self-play request; 0 splits an iteration's games
        evenly over the workers.
    """

    address: str | None = None
    num_workers: int = 2
    gpus_per_worker: float = 0.0
    cpus_per_worker: float = 1.0
    max_restarts: int = 3
    max_in_flight: int = 1
    rollout_steps: int = 32
    games_per_request: int = 0

    def check(self) -> None:
        """:raises RlkitError: a value out of range, named with its valid range."""
        limits = {
            "num_workers": 1,
            "cpus_per_worker": 0,
            "gpus_per_worker": 0,
            "max_restarts": -1,
            "max_in_flight": 1,
            "rollout_steps": 1,
            "games_per_request": 0,
        }
        for name, low in limits.items():
            if getattr(self, name) < low:
                raise RlkitError(f"Ray option {name}={getattr(self, name)} is invalid; it must be >= {low}")
        if self.max_in_flight > 2:
            raise RlkitError(f"Ray option max_in_flight={self.max_in_flight} is invalid; choose 1 or 2")


def connect(options: RayOptions, log_to_driver: bool = True):
    """Initialise Ray once and return the module.

    Reuses a running Ray (tests start one per session). With an address (option or
    ``$RAY_ADDRESS``) it joins that cluster and passes no resources: Ray rejects them there.
    Otherwise an embedded Ray gets this machine's resources. ``log_to_driver`` echoes the workers' output.
    """
    import ray

    if not ray.is_initialized():
        address = options.address or os.environ.get("RAY_ADDRESS")
        try:
            if address:
                ray.init(address=address, include_dashboard=False, log_to_driver=log_to_driver)
            else:
                # Ray 2.60 writes ~/.ray/auth_token on a local start unless auth is off; a private
                # embedded instance needs none (a cluster's own setting is left alone above).
                os.environ.setdefault("RAY_AUTH_MODE", "disabled")
                ray.init(include_dashboard=False, log_to_driver=log_to_driver)
        except ConnectionError as err:
            raise RlkitError(f"cannot reach the Ray cluster at {address!r}: {err}") from None
    return ray


class ParameterStore:
    """The newest learner weights as one object-store reference and a version number.

    :param ray: the initialised ``ray`` module.
    """

    def __init__(self, ray) -> None:
        self._ray = ray
        self.ref = None
        self.version = -1

    def publish(self, weights: dict[str, Any] | Callable[[], dict[str, Any]], version: int) -> None:
        """Put ``weights`` (a CPU state dict, or a function returning one) into the object store once;
        the previous version is released."""
        self.ref = self._ray.put(weights() if callable(weights) else weights)
        self.version = version


class WorkerGroup:
    """N Ray actors of one plain class, each fed at most ``max_in_flight`` requests.

    :param worker_cls: a class with ``set_weights(weights, version)`` and the work methods.
    :param worker_args: ``worker_args(i)`` -> constructor arguments of worker ``i``.
    :param store: where the current weights come from.
    :param name: prefix of the actors' names (``<name>-<i>``).
    """

    def __init__(
        self,
        ray,
        worker_cls: type,
        worker_args: Callable[[int], tuple],
        options: RayOptions,
        store: ParameterStore,
        name: str,
    ) -> None:
        options.check()
        if store.ref is None:
            raise ValueError("publish the first weights in the ParameterStore before starting workers")
        self._ray = ray
        self.options = options
        self.store = store
        remote_cls = ray.remote(_with_incarnation(worker_cls))
        resources = {
            "num_cpus": options.cpus_per_worker,
            "num_gpus": options.gpus_per_worker,
            "max_restarts": options.max_restarts,
            "max_task_retries": 0,
        }
        self.names = [f"{name}-{i}" for i in range(options.num_workers)]
        self.handles = []
        try:
            for i, actor_name in enumerate(self.names):
                self.handles.append(remote_cls.options(name=actor_name, **resources).remote(*worker_args(i)))
        except ValueError as err:  # the name is taken: another driver is running this run
            self.close()
            raise RlkitError(f"cannot start workers {self.names[0]}...: {err}; is this run already training?") from None
        self.alive = set(range(options.num_workers))
        # A worker takes work once a weights probe has reached it: at start (so that every worker is
        # up before the first requests go out) and after each restart.
        self.ready: set[int] = set()
        self.failures = [0] * options.num_workers
        self.restarts = 0
        self.last_error = ""
        self._sent_version = [-1] * options.num_workers
        # A worker's incarnation: requests queued on a dead one fail together and count as one death.
        self._epoch = [0] * options.num_workers
        self._pending: dict[Any, tuple[int, tuple, int]] = {}  # ref -> (worker, request, epoch)
        self._probes: dict[Any, tuple[int, int]] = {}  # ref -> (worker, probes sent since the failure)
        # Process id of each worker's incarnation: a change reveals a restart no request saw.
        self._pids: list[int | None] = [None] * options.num_workers
        for worker in self.alive:
            self._probe(worker, 0)

    @property
    def num_alive(self) -> int:
        return len(self.alive)

    def in_flight(self, worker: int | None = None) -> int:
        """Requests submitted and not yet returned (of one worker, or of all)."""
        return sum(1 for w, _, _ in self._pending.values() if worker is None or w == worker)

    def fill(self, method: str, make_request: Callable[[int], tuple | None]) -> int:
        """Top every ready worker up to ``max_in_flight`` requests of ``method``.

        ``make_request(worker)`` gives the arguments of the next request, or None when no more
        work is wanted from that worker now. Returns the number of requests submitted.
        """
        submitted = 0
        for worker in sorted(self.ready):
            while self.in_flight(worker) < self.options.max_in_flight:
                request = make_request(worker)
                if request is None:
                    break
                handle = self.handles[worker]
                if self._sent_version[worker] != self.store.version:
                    # Calls on one actor run in submission order: the request below sees these weights.
                    handle.set_weights.remote(self.store.ref, self.store.version)
                    self._sent_version[worker] = self.store.version
                self._pending[handle.rlkit_call.remote(method, *request)] = (worker, request, self._epoch[worker])
                submitted += 1
        return submitted

    def wait_ready(self, timeout_s: float | None = None) -> None:
        """Block until every live worker holds the current weights (constructors done, e.g. torch imported)."""
        while self.ready != self.alive:
            self.wait(timeout_s)

    def wait(self, timeout_s: float | None = None) -> list[Done]:
        """Block until at least one request finishes (or ``timeout_s`` passes); return all finished ones.

        A failed request (actor killed, exception in the method) comes back with ``error`` set; its
        worker is restarted and counted in ``restarts``, or dropped once its restarts run out.

        :raises RlkitError: every worker is gone.
        """
        refs = [*self._pending, *self._probes]
        if not refs:
            self._check_alive()
            return []
        ready, _ = self._ray.wait(refs, num_returns=1, timeout=timeout_s)
        if ready:
            ready, _ = self._ray.wait(refs, num_returns=len(refs), timeout=0)
        done = []
        for ref in ready:
            if ref in self._probes:
                self._collect_probe(ref)
            else:
                done.append(self._collect(ref))
        self._check_alive()
        return done

    def _collect(self, ref) -> Done:
        from ray.exceptions import RayActorError, RayTaskError

        worker, request, epoch = self._pending.pop(ref)
        try:
            value = self._observe(worker, self._ray.get(ref))
            return Done(worker, request, value=value)
        except RayActorError as err:
            reason, crashed = f"worker {worker} died: {_first_line(err)}", True
        except RayTaskError as err:
            reason, crashed = f"worker {worker} raised: {_first_line(err.cause or err)}", False
        if epoch == self._epoch[worker]:
            self.last_error = reason
            self._on_failure(worker, crashed)
        return Done(worker, request, error=reason)

    def _observe(self, worker: int, reply: tuple[int, bool, Any]) -> Any:
        """Unpack a reply; count a restart that no failed request revealed (the worker was killed
        between requests or while starting: Ray delivered the next call to the new incarnation)."""
        pid, reconstructed, value = reply
        known, self._pids[worker] = self._pids[worker], pid
        if known != _RESTART_COUNTED and ((known is None and reconstructed) or (known is not None and known != pid)):
            self.failures[worker] += 1
            self.restarts += 1
            self._sent_version[worker] = -1  # a silent restart may have missed the newest weights
        return value

    def _on_failure(self, worker: int, crashed: bool = True) -> None:
        """Count a failure; restart the worker (the weights probe follows) or drop it when out of restarts."""
        self._pids[worker] = _RESTART_COUNTED
        self._epoch[worker] += 1
        self.failures[worker] += 1
        self.ready.discard(worker)
        if self.options.max_restarts != -1 and self.failures[worker] > self.options.max_restarts:
            self.alive.discard(worker)
            self._ray.kill(self.handles[worker], no_restart=True)
            return
        self.restarts += 1
        if crashed:
            self._probe(worker, 1)
        else:
            # The worker's state is suspect after an exception (e.g. a CUDA error): make it crash so Ray
            # restarts it, and probe once the crash is seen (ray.kill would race with the probe).
            self._probes[self.handles[worker].rlkit_crash.remote()] = (worker, _CRASH)

    def _probe(self, worker: int, attempt: int) -> None:
        """Send the current weights; a restarted actor starts from its constructor's weights."""
        self._sent_version[worker] = self.store.version
        probe = self.handles[worker].rlkit_call.remote("set_weights", self.store.ref, self.store.version)
        self._probes[probe] = (worker, attempt)

    def _collect_probe(self, ref) -> None:
        from ray.exceptions import RayActorError

        worker, attempt = self._probes.pop(ref)
        if attempt == _CRASH:
            self._probe(worker, 1)
            return
        try:
            self._observe(worker, self._ray.get(ref))
            self.ready.add(worker)
        except RayActorError as err:
            # After a restart a probe can land on the dying incarnation (a kill is asynchronous): ask
            # the restarted one. The first probe failing means the worker died before taking work.
            if 0 < attempt < _PROBE_ATTEMPTS:
                self._probe(worker, attempt + 1)
            else:
                self.last_error = f"worker {worker} died: {_first_line(err)}"
                self._on_failure(worker)

    def _check_alive(self) -> None:
        if not self.alive:
            raise RlkitError(
                f"all {len(self.handles)} Ray workers failed more than max_restarts="
                f"{self.options.max_restarts} times; last error: {self.last_error}"
            )

    def states(self) -> None:
        """Remote workers' exploration streams are not checkpointed: restarted workers draw fresh ones."""
        return

    def metrics(self) -> dict[str, int]:
        """``backend/`` metrics: live workers and restarts so far."""
        return {"backend/workers": self.num_alive, "backend/restarts": self.restarts}

    def close(self) -> None:
        """Stop every worker (no restart): a finished run leaves no processes behind."""
        for handle in self.handles:
            self._ray.kill(handle, no_restart=True)
        # Kills are asynchronous: wait until the names are free, so the run can start again at once.
        deadline = time.monotonic() + _CLOSE_TIMEOUT_S
        for name in self.names[: len(self.handles)]:
            while time.monotonic() < deadline:
                try:
                    self._ray.get_actor(name)
                except ValueError:
                    break
                time.sleep(0.05)
        self.handles = []
        self._pending, self._probes = {}, {}

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _with_incarnation(worker_cls: type) -> type:
    """``worker_cls`` plus ``rlkit_call(method, *args) -> (pid, reconstructed, result)``, through which
    the group makes every call, so each reply says which incarnation of the worker produced it, and
    ``rlkit_crash()``, which ends the process the way a fault would."""

    class Worker(worker_cls):
        def rlkit_call(self, method: str, *args: Any) -> tuple[int, bool, Any]:
            import ray

            with warnings.catch_warnings():  # Ray 2.60's property reads a deprecated attribute internally
                warnings.simplefilter("ignore", DeprecationWarning)
                reconstructed = ray.get_runtime_context().was_current_actor_reconstructed
            return os.getpid(), reconstructed, getattr(self, method)(*args)

        def rlkit_crash(self) -> None:
            os._exit(1)  # an unplanned exit: Ray restarts the actor

    Worker.__name__ = Worker.__qualname__ = worker_cls.__name__  # the name the dashboard shows
    return Worker


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0][:300] if text else type(err).__name__


def set_worker_threads(cpus: float) -> None:
    """Give a worker's torch as many threads as the CPUs Ray reserved for it (at least one)."""
    import torch

    torch.set_num_threads(max(1, int(cpus)))
