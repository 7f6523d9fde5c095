"""Scaling of the Ray backend: AlphaZero self-play simulations/s and DQN acting steps/s for 1, 2, 4, ... workers.

    python scripts/bench_scaling.py --json --workers 1,2
    python scripts/bench_scaling.py --json --workers 1,2,4,8 --gpus-per-worker 0.125   # 16 cores + 1 GPU

Each point starts N workers (``--cpus-per-worker`` CPUs and ``--gpus-per-worker`` GPU each) through
``rlkit.backend.WorkerGroup``, lets every worker finish one warm-up request (torch import, first
network calls), then times ``--rounds`` requests per worker with at most one in flight each, as
training does. Efficiency = throughput(N) / (N * throughput(1)). The learner is not involved:
this measures acting and self-play alone.

AlphaZero: Connect Four, ``nets.PolicyValueNet`` 5 blocks x 64 channels, PUCT with
``--simulations`` per move, ``--parallel-games`` games per batched search. DQN: CartPole-v1 with
``--num-envs`` envs per worker, ``--rollout-steps`` vector steps per request, greedy network calls.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import torch

from agents import dqn
from agents.alphazero import make_config
from agents.alphazero.worker import SelfPlayActor, worker_seed
from agents.dqn.worker import ActingWorker
from rlkit.backend import ParameterStore, RayOptions, WorkerGroup, connect


def _alphazero_point(ray, args, options: RayOptions) -> float:
    """Self-play simulations per second of ``options.num_workers`` workers together."""
    cfg = make_config(
        "connect4",
        [
            f"num_simulations={args.simulations}",
            f"parallel_games={args.parallel_games}",
            "channels=64",
            "blocks=5",
            f"device={args.device}",
        ],
    )
    store = ParameterStore(ray)
    store.publish(SelfPlayActor(cfg, 0, 0, 1).selfplay.net.state_dict(), 0)
    make = lambda i: (cfg, worker_seed(cfg, i), i, options.cpus_per_worker)
    with WorkerGroup(ray, SelfPlayActor, make, options, store, name=f"bench-az-{options.num_workers}") as group:
        return _timed(
            group, "play", (args.parallel_games,), (1,), args.rounds, lambda value: value["stats"]["simulations"]
        )


def _dqn_point(ray, args, options: RayOptions) -> float:
    """Acting steps (env transitions) per second of ``options.num_workers`` workers together."""
    cfg = dqn.make_config(
        "dqn", "CartPole-v1", [f"num_envs={args.num_envs}", "vectorization=sync", f"device={args.device}"]
    )
    probe = ActingWorker(cfg, 0, 1, 0, 1)
    store = ParameterStore(ray)
    store.publish(probe.network.state_dict(), 0)
    make = lambda i: (cfg, i, options.num_workers, 1000 * (i + 1), options.cpus_per_worker)
    with WorkerGroup(ray, ActingWorker, make, options, store, name=f"bench-dqn-{options.num_workers}") as group:
        return _timed(
            group,
            "collect",
            (args.rollout_steps, cfg.learning_starts_steps),
            (8, cfg.learning_starts_steps),
            args.rounds,
            lambda value: value["action"].size,
        )


def _timed(group: WorkerGroup, method: str, request: tuple, warmup: tuple, rounds: int, count) -> float:
    """Units of work per second over ``rounds`` requests per worker, after one warm-up request each."""
    group.wait_ready()
    _run(group, method, warmup, 1, count)
    start = time.perf_counter()
    units = _run(group, method, request, rounds, count)
    return units / (time.perf_counter() - start)


def _run(group: WorkerGroup, method: str, request: tuple, rounds: int, count) -> int:
    sent = [0] * len(group.handles)

    def next_request(worker: int) -> tuple | None:
        if sent[worker] >= rounds:
            return None
        sent[worker] += 1
        return request

    units = 0
    group.fill(method, next_request)
    while group.in_flight():
        for done in group.wait():
            if done.error is not None:
                raise RuntimeError(done.error)
            units += count(done.value)
        group.fill(method, next_request)
    return units


def _scaling(throughputs: dict[int, float]) -> dict[str, dict[str, float]]:
    base = throughputs[min(throughputs)] / min(throughputs)
    return {str(n): {"throughput": round(t, 1), "efficiency": round(t / (n * base), 3)} for n, t in throughputs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts, e.g. 1,2,4,8")
    parser.add_argument("--address", default=None, help="Ray cluster address (else an embedded local Ray)")
    parser.add_argument("--cpus-per-worker", type=float, default=1.0)
    parser.add_argument("--gpus-per-worker", type=float, default=0.0, help="e.g. 0.125 packs 8 workers on one GPU")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="workers' torch device")
    parser.add_argument("--rounds", type=int, default=2, help="timed requests per worker")
    parser.add_argument("--simulations", type=int, default=16, help="AlphaZero simulations per move")
    parser.add_argument("--parallel-games", type=int, default=16, help="AlphaZero games per request (one batch)")
    parser.add_argument("--num-envs", type=int, default=8, help="DQN envs per worker")
    parser.add_argument("--rollout-steps", type=int, default=200, help="DQN vector steps per request")
    parser.add_argument("--skip", default="", help="comma-separated parts to skip: alphazero, dqn")
    args = parser.parse_args()
    torch.set_num_threads(1)
    counts = sorted({int(n) for n in args.workers.split(",")})
    ray = connect(RayOptions(address=args.address), log_to_driver=False)  # the JSON line stays last
    parts = {"alphazero": _alphazero_point, "dqn": _dqn_point}
    result: dict = {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "ray_cpus": ray.cluster_resources().get("CPU"),
        },
        "settings": {k: v for k, v in vars(args).items() if k not in ("json", "address")},
    }
    for name, point in parts.items():
        if name in args.skip.split(","):
            continue
        throughputs = {}
        for n in counts:
            if n * args.cpus_per_worker > result["machine"]["ray_cpus"]:
                parser.error(
                    f"{n} workers x {args.cpus_per_worker} CPUs exceed the cluster's "
                    f"{result['machine']['ray_cpus']:.0f} CPUs; lower --workers or --cpus-per-worker"
                )
            options = RayOptions(
                num_workers=n, cpus_per_worker=args.cpus_per_worker, gpus_per_worker=args.gpus_per_worker
            )
            throughputs[n] = point(ray, args, options)
            if not args.json:
                print(f"{name}: {n} workers, {throughputs[n]:.0f}/s")
        result[name] = _scaling(throughputs)
    result["units"] = {"alphazero": "self-play simulations/s", "dqn": "acting agent steps/s"}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
