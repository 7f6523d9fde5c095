"""Simulations per second of rlkit's batched MCTS against a one-game-at-a-time recursive PUCT search.

Both search Connect Four with the same residual policy-value network (5 blocks x 64 channels,
random weights: speed does not depend on what the network knows). The batched search runs
B games at once with one network call per simulation; the baseline (`agents.alphazero.naive_mcts`,
the textbook design of most Python AlphaZero code) searches one game, one network call per leaf.

    python scripts/bench_mcts.py --json
    python scripts/bench_mcts.py --batches 1 64 256 --devices cpu cuda --dtype float32

The last line with --json is one JSON object: sims_per_s[device][batch], baseline_sims_per_s,
speedup_cpu_b256 (batched at B=256 on the CPU over the baseline), and null_sims_per_s[search][batch]:
the search alone with a near-free network (zero logits, zero value), i.e. its own overhead
(tree bookkeeping, game steps, tensor dispatch), which bounds the rate on a GPU where the network is
fast; `puct+tactics` adds the one-ply win/loss check (`agents.alphazero.tactics`). Beside it,
null_us_per_step[search][batch] is the same figure as microseconds per batched simulation step, and
null_ops_per_step[search] the number of tensor operations (ATen calls, views included) one simulation
step dispatches: that count sets the overhead on any device and, unlike a rate, does not move with the
load of a shared machine. `--null-only` skips the network and the recursive baseline.
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from torch.utils._python_dispatch import TorchDispatchMode

import envs.boards
import nets
from agents.alphazero.agent import network_evaluator, resolve_inference_dtype
from agents.alphazero.gumbel import gumbel_search
from agents.alphazero.mcts import puct_search
from agents.alphazero.naive_mcts import naive_puct_search
from agents.alphazero.tactics import tactical_evaluator


def _network(game, device: str) -> torch.nn.Module:
    torch.manual_seed(0)
    channels, height, width = game.observation_shape
    return nets.PolicyValueNet(channels, height, width, game.num_actions, channels=64, blocks=5).to(device)


def _synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def batched_search(device: str, batch: int, dtype: str):
    """A timed-search closure: one full search of `batch` fresh Connect Four games; returns seconds."""
    game = envs.boards.make("connect4", device=device)
    evaluator = network_evaluator(_network(game, device), game, dtype)
    roots = game.reset(batch)
    puct_search(game, evaluator, roots, 2)  # warm-up: allocator, kernels, autocast caches

    def run(simulations: int) -> float:
        _synchronize(device)
        start = time.perf_counter()
        puct_search(game, evaluator, roots, simulations)
        _synchronize(device)
        return time.perf_counter() - start

    return run


def null_search(batch: int, search: str):
    """A timed-search closure on the CPU with a near-free network: what the search itself costs."""
    game = envs.boards.make("connect4")

    def null_network(states):
        return torch.zeros(states.batch_size, game.num_actions), torch.zeros(states.batch_size)

    evaluator = tactical_evaluator(game, null_network) if search.endswith("+tactics") else null_network
    roots = game.reset(batch)

    def searcher(simulations: int):
        if search.startswith("gumbel"):
            return gumbel_search(game, evaluator, roots, simulations, gumbel_scale=0.0)
        return puct_search(game, evaluator, roots, simulations)

    searcher(2)

    def run(simulations: int) -> float:
        start = time.perf_counter()
        searcher(simulations)
        return time.perf_counter() - start

    return run


class _OpCounter(TorchDispatchMode):
    """Counts the ATen operations dispatched inside it."""

    def __init__(self):
        super().__init__()
        self.count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.count += 1
        return func(*args, **(kwargs or {}))


def ops_per_step(run, simulations: int) -> float:
    """Tensor operations one simulation step of a null-network search dispatches (one search, counted)."""
    with _OpCounter() as counter:
        run(simulations)
    return counter.count / simulations


def baseline_search():
    """The recursive one-game search on the CPU (float32, plain layout, the usual way); returns seconds."""
    game = envs.boards.make("connect4")
    net = _network(game, "cpu").eval()

    def evaluate(state):
        with torch.inference_mode():
            return net(game.observation(state))

    root = game.reset(1)
    naive_puct_search(game, evaluate, root, 2)

    def run(simulations: int) -> float:
        start = time.perf_counter()
        naive_puct_search(game, evaluate, root, simulations)
        return time.perf_counter() - start

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 64, 256, 1024], help="games searched together")
    parser.add_argument("--devices", nargs="+", default=["cpu", "cuda"], help="cuda is skipped when absent")
    parser.add_argument("--simulations", type=int, default=32, help="simulations per search (per game)")
    parser.add_argument("--baseline-simulations", type=int, default=200, help="simulations of the recursive baseline")
    parser.add_argument(
        "--dtype",
        default="auto",
        choices=["auto", "float32", "bfloat16"],
        help="network dtype inside the batched search (auto: bfloat16 where the hardware has it natively, "
        "as in training)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="interleaved rounds; the best of each is kept")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 = one core, the fair default)")
    parser.add_argument("--null-batches", type=int, nargs="+", default=[256], help="batches of the null-network runs")
    parser.add_argument(
        "--null-searches", nargs="+", default=["puct", "puct+tactics", "gumbel"],
        choices=["puct", "puct+tactics", "gumbel", "gumbel+tactics"], help="searches timed with the null network",
    )  # fmt: skip
    parser.add_argument(
        "--null-only", action="store_true", help="time only the null-network searches (no network, no baseline)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    devices = [d for d in args.devices if d == "cpu" or torch.cuda.is_available()]
    if args.null_only:
        devices = []
    baseline_run = None if args.null_only else baseline_search()
    searches = {
        (device, batch): batched_search(device, batch, args.dtype) for device in devices for batch in args.batches
    }
    nulls = {
        (search, batch): null_search(batch, search) for search in args.null_searches for batch in args.null_batches
    }
    # Rounds interleave every measurement, and each keeps its best round, so that load from other
    # processes on a shared machine hits the baseline and the batched search alike.
    baseline = 0.0
    best: dict[tuple[str, int], float] = dict.fromkeys(searches, 0.0)
    null_best: dict[tuple[str, int], float] = {}
    for _ in range(args.repeats):
        if baseline_run is not None:
            baseline = max(baseline, args.baseline_simulations / baseline_run(args.baseline_simulations))
        for (device, batch), run in searches.items():
            best[(device, batch)] = max(best[(device, batch)], batch * args.simulations / run(args.simulations))
        for key, run in nulls.items():
            null_best[key] = max(null_best.get(key, 0.0), key[1] * args.simulations / run(args.simulations))
    if baseline_run is not None:
        print(f"baseline (recursive, one game, cpu): {baseline:,.0f} sims/s")
    rates: dict[str, dict[str, float]] = {device: {} for device in devices}
    for (device, batch), rate in best.items():
        rates[device][str(batch)] = round(rate, 1)
        print(f"batched {device} B={batch:<5} {rate:>12,.0f} sims/s  ({rate / baseline:.1f}x baseline)")
    null_rates: dict[str, dict[str, float]] = {search: {} for search in args.null_searches}
    null_step_us: dict[str, dict[str, float]] = {search: {} for search in args.null_searches}
    for (search, batch), rate in null_best.items():
        null_rates[search][str(batch)] = round(rate, 1)
        null_step_us[search][str(batch)] = round(batch / rate * 1e6, 1)
        print(f"null network {search:<14} cpu B={batch:<5} {rate:>12,.0f} sims/s  {batch / rate * 1e6:8.1f} us/step")
    null_ops: dict[str, float] = {}
    for search in args.null_searches:
        null_ops[search] = round(ops_per_step(nulls[(search, args.null_batches[0])], args.simulations), 1)
        print(f"null network {search:<14} {null_ops[search]:.1f} tensor ops per simulation step")
    summary = {
        "game": "connect4",
        "network": "PolicyValueNet 5 blocks x 64 channels",
        "simulations_per_search": args.simulations,
        "dtype": {device: resolve_inference_dtype(args.dtype, torch.device(device)) for device in devices},
        "threads": args.threads,
        "sims_per_s": rates,
        "baseline_sims_per_s": round(baseline, 1) if baseline_run is not None else None,
        "null_sims_per_s": null_rates,
        "null_us_per_step": null_step_us,
        "null_ops_per_step": null_ops,
        "speedup_cpu_b256": round(rates["cpu"]["256"] / baseline, 2) if "256" in rates.get("cpu", {}) else None,
    }
    if args.json:
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
