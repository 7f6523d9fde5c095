"""Ray as users run it: a two-node cluster started with `ray start`, training through `--address`.

The cluster is a head and a second node, each a `ray start --block` process group of its own on
this machine; the driver is `rlkit train` in a subprocess, so nothing here joins the cluster (and
the session's own Ray instance of tests/conftest.py is not started for this test). Faults, in order:
a worker process on the second node is SIGKILLed, then the driver, then the run is resumed with
`--resume` and the second node is lost (its whole process group SIGKILLed) while the resumed run
trains. docs/cluster.md quotes what each fault costs.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from rlkit.checkpoints import read_checkpoint
from rlkit.metrics import read_metrics

pytestmark = pytest.mark.ray

REPO = Path(__file__).resolve().parents[2]
WORKER_TITLE = "ray::SelfPlayActor"  # the process title Ray gives an AlphaZero self-play worker
TINY_AZ = [
    "games_per_iteration=8", "parallel_games=4", "num_simulations=8", "updates_per_iteration=3", "batch_size=16",
    "eval_every_iterations=0", "channels=8", "blocks=1", "checkpoint_every_iterations=1", "device=cpu",
]  # fmt: skip


def _env() -> dict[str, str]:
    env = dict(os.environ, RAY_AUTH_MODE="disabled", PYTHONPATH=str(REPO), RLKIT_PROGRESS="0")
    env.pop("RAY_ADDRESS", None)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ray_command() -> list[str]:
    ray = Path(sys.executable).with_name("ray")
    return [str(ray)] if ray.exists() else [shutil.which("ray") or "ray"]


class Cluster:
    """A head and extra nodes, each a `ray start --block` in its own session (process group), so that
    everything a node runs (raylet, its workers) can be signalled by group id and nothing is left."""

    def __init__(self, temp_dir: str) -> None:
        self.temp_dir = temp_dir
        self.port = _free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.nodes: list[subprocess.Popen] = []

    def add_node(self, num_cpus: int, head: bool = False) -> subprocess.Popen:
        args = ["--head", "--port", str(self.port), "--include-dashboard", "false", "--temp-dir", self.temp_dir]
        if not head:
            args = ["--address", self.address]
        log = open(Path(self.temp_dir) / f"node{len(self.nodes)}.log", "w")  # noqa: SIM115 (the node's life)
        node = subprocess.Popen(
            [*_ray_command(), "start", *args, "--node-ip-address", "127.0.0.1", "--num-cpus", str(num_cpus),
             "--disable-usage-stats", "--block"],
            stdout=log, stderr=subprocess.STDOUT, env=_env(), start_new_session=True,
        )  # fmt: skip
        self.nodes.append(node)
        return node

    def wait_for_nodes(self, count: int, timeout_s: float = 90) -> None:
        """Block until `count` raylets run (one per started node)."""
        deadline = time.monotonic() + timeout_s
        while sum(_title(p).endswith("raylet") for node in self.nodes for p in _descendants(node.pid)) < count:
            if any(node.poll() is not None for node in self.nodes):
                raise RuntimeError(f"a Ray node exited: see {self.temp_dir}/node*.log")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{count} Ray nodes did not start in {timeout_s} s")
            time.sleep(0.2)

    def kill_node(self, node: subprocess.Popen) -> None:
        """Lose a node: SIGKILL its `ray start`, raylet and every worker process it runs."""
        _kill_all(node, signal.SIGKILL)
        node.wait()

    def shutdown(self) -> None:
        processes = {node.pid: _descendants(node.pid) for node in self.nodes}
        for node in reversed(self.nodes):
            if node.poll() is None:
                _kill_group(node.pid, signal.SIGTERM)
        for node in self.nodes:
            try:
                node.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
            _kill_group(node.pid, signal.SIGKILL)  # whatever ignored SIGTERM
            for pid in processes[node.pid]:  # Ray's workers run in sessions of their own
                _kill(pid, signal.SIGKILL)
        shutil.rmtree(self.temp_dir, ignore_errors=True)


def _kill(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _kill_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def _kill_all(node: subprocess.Popen, sig: int) -> None:
    pids = _descendants(node.pid)
    _kill_group(node.pid, sig)
    for pid in pids:
        _kill(pid, sig)


def _descendants(root: int) -> list[int]:
    """Every live process below `root` (by parent id), at the time of the call."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _title(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode(errors="replace").strip()
    except OSError:
        return ""


def _workers_on(node: subprocess.Popen) -> list[int]:
    return [pid for pid in _descendants(node.pid) if _title(pid).startswith(WORKER_TITLE)]


def _train(cluster: Cluster, runs_dir: Path, *args: str) -> subprocess.Popen:
    """`rlkit train alphazero` on the cluster, in its own process group (its own Ray driver)."""
    cmd = [sys.executable, "-m", "rlkit.cli", "train", "alphazero", "--backend", "ray", "--address", cluster.address,
           "--num-workers", "2", "--cpus-per-worker", "1", "--runs-dir", str(runs_dir), "--json", *args]  # fmt: skip
    return subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env(), start_new_session=True
    )


def _wait_until(condition, driver: subprocess.Popen, what: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if driver.poll() is not None:
            raise AssertionError(f"the driver ended (exit {driver.returncode}) before {what}:\n{driver.stdout.read()}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {what} within {timeout_s} s")
        time.sleep(0.1)


def _iterations(run_dir: Path) -> list[int]:
    return [r["step"] for r in read_metrics(run_dir)]


@pytest.fixture
def ray_cluster():
    """Head (1 CPU) + a second node (1 CPU): two 1-CPU workers must take one node each."""
    cluster = Cluster(tempfile.mkdtemp(prefix="rlkc", dir="/tmp"))  # short: Ray's socket paths have a length limit
    drivers: list[subprocess.Popen] = []
    cluster.drivers = drivers
    try:
        cluster.add_node(1, head=True)
        cluster.wait_for_nodes(1)
        cluster.add_node(1)
        cluster.wait_for_nodes(2)
        yield cluster
    finally:
        for driver in drivers:
            if driver.poll() is None:
                _kill_group(driver.pid, signal.SIGKILL)
                driver.wait()
        cluster.shutdown()


def test_cluster_survives_a_killed_worker_a_killed_driver_and_a_lost_node(ray_cluster, tmp_path):
    cluster, t0 = ray_cluster, time.monotonic()
    second = cluster.nodes[1]
    settings = [f"--set={item}" for item in TINY_AZ]
    run_dir = tmp_path / "c4"
    driver = _train(cluster, tmp_path, "--game", "tictactoe", "--name", "c4", "--steps", "1000", *settings)
    cluster.drivers.append(driver)

    # 1. a worker process on the second node dies (SIGKILL); Ray restarts it there and the run goes on
    _wait_until(lambda: _iterations(run_dir) and _workers_on(second), driver, "a first iteration")
    victim = _workers_on(second)[0]
    took = {"first_iteration_s": time.monotonic() - t0}
    os.kill(victim, signal.SIGKILL)
    t = time.monotonic()
    _wait_until(lambda: any(r.get("backend/restarts", 0) >= 1 for r in read_metrics(run_dir)), driver, "a restart")
    _wait_until(lambda: [pid for pid in _workers_on(second) if pid != victim], driver, "a restarted worker on node 2")
    took["worker_restart_s"] = time.monotonic() - t

    # 2. the driver dies (SIGKILL) mid-run: the newest checkpoint is what survives
    killed_at = _iterations(run_dir)[-1]
    driver.kill()
    driver.wait()
    t = time.monotonic()
    restored = read_checkpoint(run_dir, "alphazero")[0]["counters"]
    assert killed_at - 1 <= restored["iteration"] <= killed_at + 1  # a checkpoint every iteration
    assert restored["updates"] == 3 * restored["iteration"]

    # 3. resume through the same address; the second node is lost while the resumed run trains
    target = restored["iteration"] + 4
    resumed = _train(cluster, tmp_path, "--resume", str(run_dir), "--steps", str(target))
    cluster.drivers.append(resumed)
    _wait_until(lambda: _iterations(run_dir)[-1] > restored["iteration"], resumed, "a resumed iteration")
    took["driver_restart_to_iteration_s"] = time.monotonic() - t
    cluster.kill_node(second)
    t = time.monotonic()
    out, _ = resumed.communicate(timeout=180)
    took["node_loss_to_end_s"] = time.monotonic() - t
    assert resumed.returncode == 0, out
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["counters/iteration"] == target and summary["counters/updates"] == 3 * target
    assert summary["backend/restarts"] >= 1  # the worker of the lost node
    steps = _iterations(run_dir)
    assert steps == list(range(1, target + 1))  # each iteration once: the lost interval is not duplicated
    took["total_s"] = time.monotonic() - t0
    lost = {"iterations_lost_with_driver": killed_at - restored["iteration"], "games": summary["backend/games_worker0"],
            "games_lost_node_worker": summary["backend/games_worker1"]}  # fmt: skip
    print("cluster test:", json.dumps({k: round(v, 1) for k, v in took.items()}), json.dumps(lost))
