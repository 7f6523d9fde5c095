"""One command that checks rlkit on a CUDA machine, in under 8 minutes, ending with one JSON summary.

    python scripts/gpu_check.py            # on a machine with a CUDA GPU
    python scripts/gpu_check.py --device cpu --quick   # the same plumbing on CPU, tiny sizes (seconds)

Parts, each in its own process (a CUDA error in one is reported and the rest still run), each
with a time cap inside the total budget:

- ``nets``: every registered `nets` model type, forward and backward on the device (bf16
  autocast too on CUDA);
- ``dqn``: `agents.dqn.DQN` on CartPole for a few thousand steps on the device, then `predict`;
- ``alphazero``: `agents.alphazero.AlphaZero` on Connect Four for two iterations, search in
  bfloat16 (`inference_dtype`), then `predict`;
- ``bench_mcts``: `scripts/bench_mcts.py --devices cuda`;
- ``bench_dqn``: `scripts/bench_dqn.py` (Pong; it runs on CUDA when CUDA is there);
- ``bench_scaling``: `scripts/bench_scaling.py` with Ray workers sharing the GPU.

The last line is a JSON object ``{"device": ..., "ok": bool, "seconds": ..., "parts": {name:
{"status": "ok" | "failed" | "timeout" | "skipped", "seconds": ..., "figures": {...}, "error": ...}}}``.
Without CUDA (and without ``--device cpu``) it says so in one line and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = REPO / "scripts"
BUDGET_S = 470  # the whole check, leaving margin under 8 minutes
# (part, time cap in seconds): the most telling parts first, so a slow machine loses the last ones
PARTS = [("nets", 45), ("dqn", 50), ("alphazero", 75), ("bench_mcts", 110), ("bench_dqn", 90), ("bench_scaling", 100)]


# ----------------------------------------------------------------------------- in-process parts
def check_nets(device: str, quick: bool) -> dict[str, Any]:
    """Forward and backward of every registered model type on ``device``; bf16 autocast on CUDA."""
    import torch

    import nets
    from nets.registry import registered_types

    examples = {
        "mlp": ({"in_features": 5, "hidden": [32, 32], "out_features": 3, "norm": "batch"}, (64, 5)),
        "lenet5": ({"image_size": 28}, (32, 1, 28, 28)),
        "nature_cnn": ({"in_channels": 4, "out_features": 64}, (16, 4, 84, 84)),
        "residual_tower": ({"in_channels": 3, "channels": 32, "blocks": 2}, (16, 3, 6, 7)),
        "policy_value_net": (
            {"in_channels": 2, "height": 6, "width": 7, "num_actions": 7, "channels": 64, "blocks": 5},
            (64, 2, 6, 7),
        ),
        "policy_value_head": ({"channels": 8, "height": 6, "width": 7, "num_actions": 7}, (16, 8, 6, 7)),
        "noisy_linear": ({"in_features": 16, "out_features": 8}, (32, 16)),
        "q_head": (
            {"in_features": 16, "num_actions": 6, "hidden": 32, "dueling": True, "noisy": True, "num_atoms": 51},
            (32, 16),
        ),
        "recurrent": ({"in_features": 8, "hidden_size": 32, "out_features": 4, "cell": "lstm"}, (16, 10, 8)),
        "perceptron": ({"in_features": 8}, (32, 8)),
        "linear_unit": ({"in_features": 8, "out_features": 2}, (32, 8)),
        "autoencoder": ({"in_features": 64, "hidden": [32], "latent": 8}, (32, 64)),
        "vae": ({"in_features": 64, "hidden": [32], "latent": 4}, (32, 64)),
        "rbm": ({"visible": 64, "hidden": 32}, (32, 64)),
        "dbn": ({"layers": [64, 32, 16]}, (32, 64)),
        "gan": ({"data_shape": [64], "latent": 8, "hidden": [32]}, (32, 8)),
    }
    dev = torch.device(device)
    figures: dict[str, Any] = {}
    failed = []
    for name in registered_types("nets"):
        if name not in examples:
            figures[name] = "no example in gpu_check.py"
            failed.append(name)
            continue
        kwargs, shape = examples[name]
        try:
            model = nets.build({"type": name, **kwargs}).to(dev).train()
            x = torch.rand(*shape, device=dev)
            if name in ("rbm", "dbn", "autoencoder", "vae"):
                x = (x > 0.5).float()  # binary data for the Bernoulli models
            start = time.perf_counter()
            if not any(p.requires_grad for p in model.parameters()):  # the perceptron: a learning rule, no gradients
                labels = torch.where(x.sum(1) > x.sum(1).median(), 1.0, -1.0)
                model(x), model.learn(x, labels, max_epochs=1)
                figures[name] = {"ms": round(1000 * (time.perf_counter() - start), 2), "params": 0, "rule": True}
                continue
            for autocast in [False, *([True] if dev.type == "cuda" else [])]:
                with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=autocast):
                    loss = _loss(model, x)
                model.zero_grad()
                loss.backward()
                grads = [p.grad for p in model.parameters() if p.grad is not None]
                if not grads or not all(torch.isfinite(g).all() for g in grads):
                    raise RuntimeError(f"no finite gradients (autocast={autocast})")
            if dev.type == "cuda":
                torch.cuda.synchronize()
            figures[name] = {"ms": round(1000 * (time.perf_counter() - start), 2), "params": _count(model)}
        except Exception as err:  # noqa: BLE001 (report every family, whatever fails)
            figures[name] = f"{type(err).__name__}: {err}".splitlines()[0]
            failed.append(name)
    if failed:
        raise PartFailed(f"failed: {', '.join(failed)}", figures)
    return figures


def _loss(model, x):
    """A scalar to differentiate: the model's own training loss where it has one, else its outputs' mean."""
    import torch

    if hasattr(model, "loss"):
        loss, _ = model.loss((x,))
        return loss
    out = model(x)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return sum(o.float().mean() for o in outs if isinstance(o, torch.Tensor) and o.is_floating_point())


def _count(model) -> int:
    return sum(p.numel() for p in model.parameters())


def check_dqn(device: str, quick: bool, runs_dir: str) -> dict[str, Any]:
    import numpy as np

    from agents.dqn import DQN

    steps = 400 if quick else 4000
    agent = DQN("CartPole-v1", preset="rainbow", runs_dir=runs_dir, device=device, num_envs=4,
                vectorization="sync", learning_starts_steps=200, batch_size=64, buffer_size=10_000,
                log_every_steps=200, checkpoint_every_steps=0, eval_every_steps=0)  # fmt: skip
    start = time.perf_counter()
    agent.learn(steps, progress=False)
    seconds = time.perf_counter() - start
    action = agent.predict(np.zeros((2, 4), dtype=np.float32))
    summary = agent.last_summary
    return {"steps": summary["steps"], "updates": summary["updates"], "steps_per_s": round(summary["steps_per_s"], 1),
            "seconds": round(seconds, 1), "predict": np.asarray(action).tolist(), "device": str(agent.config.device)}  # fmt: skip


def check_alphazero(device: str, quick: bool, runs_dir: str) -> dict[str, Any]:
    from agents.alphazero import AlphaZero

    agent = AlphaZero("connect4", runs_dir=runs_dir, device=device, inference_dtype="bfloat16" if device == "cuda"
                      else "float32", games_per_iteration=8 if quick else 64, parallel_games=8 if quick else 64,
                      num_simulations=4 if quick else 32, updates_per_iteration=2 if quick else 20,
                      batch_size=32 if quick else 256, channels=16 if quick else 64, blocks=1 if quick else 5,
                      eval_every_iterations=0)  # fmt: skip
    start = time.perf_counter()
    agent.learn(2, progress=False)
    seconds = time.perf_counter() - start
    summary = agent.last_summary
    move = agent.predict(agent.game.reset(2))
    return {"iterations": summary["counters/iteration"], "updates": summary["counters/updates"],
            "sims_per_s": round(summary.get("rollout/sims_per_s", 0.0), 1), "seconds": round(seconds, 1),
            "inference_dtype": agent.config.inference_dtype, "predict": [int(m) for m in move]}  # fmt: skip


class PartFailed(Exception):
    """A part that ran but found faults; carries the figures it has."""

    def __init__(self, message: str, figures: dict[str, Any]) -> None:
        super().__init__(message)
        self.figures = figures


def run_part_here(part: str, device: str, quick: bool, runs_dir: str) -> int:
    """``--part NAME``: run one in-process part and print its JSON line (status, figures, error)."""
    import torch

    torch.set_num_threads(1)
    try:
        if part == "nets":
            figures = check_nets(device, quick)
        elif part == "dqn":
            figures = check_dqn(device, quick, runs_dir)
        else:
            figures = check_alphazero(device, quick, runs_dir)
        print(json.dumps({"status": "ok", "figures": figures}))
        return 0
    except PartFailed as err:
        print(json.dumps({"status": "failed", "figures": err.figures, "error": str(err)}))
        return 1


# ----------------------------------------------------------------------------- the driver
def part_command(part: str, device: str, quick: bool, runs_dir: str) -> list[str]:
    py = sys.executable
    if part in ("nets", "dqn", "alphazero"):
        cmd = [py, __file__, "--part", part, "--device", device, "--runs-dir", runs_dir]
        return cmd + (["--quick"] if quick else [])
    if part == "bench_mcts":
        sizes = ["--batches", "1", "8", "--simulations", "4", "--baseline-simulations", "8", "--repeats", "1"]
        return [py, str(SCRIPTS / "bench_mcts.py"), "--json", "--devices", device, *(sizes if quick else [])]
    if part == "bench_dqn":
        sizes = ["--steps", "64", "--warmup", "64", "--num-envs", "2", "--vectorization", "sync"]
        return [py, str(SCRIPTS / "bench_dqn.py"), "--json", *(sizes if quick else ["--steps", "2000"])]
    if part == "bench_scaling":
        gpu = ["--gpus-per-worker", "0.5"] if device == "cuda" else []
        sizes = ["--rounds", "1", "--simulations", "2", "--parallel-games", "2", "--num-envs", "2",
                 "--rollout-steps", "8", "--cpus-per-worker", "0.5"]  # fmt: skip
        workers = ["--workers", "1"] if quick else ["--workers", "1,2"]
        return [py, str(SCRIPTS / "bench_scaling.py"), "--json", "--device", device, *workers, *gpu,
                *(sizes if quick else [])]  # fmt: skip
    raise ValueError(part)


def run_part(part: str, cap_s: float, device: str, quick: bool, runs_dir: str) -> dict[str, Any]:
    """Run one part in a subprocess under ``cap_s`` seconds; its last stdout line is its JSON."""
    start = time.perf_counter()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
               RAY_AUTH_MODE=os.environ.get("RAY_AUTH_MODE", "disabled"), RLKIT_PROGRESS="0")  # fmt: skip
    try:
        proc = subprocess.run(
            part_command(part, device, quick, runs_dir), check=False, capture_output=True, text=True, timeout=cap_s, env=env,
            cwd=runs_dir,
        )  # fmt: skip
    except subprocess.TimeoutExpired as err:
        tail = (err.stderr or b"")[-300:]
        tail = tail.decode(errors="replace") if isinstance(tail, bytes) else tail
        return {"status": "timeout", "seconds": round(time.perf_counter() - start, 1), "figures": {},
                "error": f"over its {cap_s:.0f} s cap; stderr ends: {tail.strip()[-200:]}"}  # fmt: skip
    seconds = round(time.perf_counter() - start, 1)
    lines = proc.stdout.strip().splitlines()
    try:
        result = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        result = None
    if part in ("nets", "dqn", "alphazero") and isinstance(result, dict) and "status" in result:
        return {"seconds": seconds, **result}
    if proc.returncode == 0 and isinstance(result, dict):
        return {"status": "ok", "seconds": seconds, "figures": result}
    error = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return {"status": "failed", "seconds": seconds, "figures": {}, "error": f"exit {proc.returncode}: {error}"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", choices=["cuda", "cpu"], help="cpu: a dry run of the plumbing")
    parser.add_argument("--quick", action="store_true", help="tiny sizes everywhere (a plumbing test, seconds)")
    parser.add_argument("--budget-s", type=float, default=BUDGET_S, help="time for the whole check")
    parser.add_argument("--skip", default="", help="comma-separated parts to skip, e.g. bench_scaling")
    parser.add_argument("--json", action="store_true", help="accepted for symmetry: the JSON summary is always last")
    parser.add_argument("--part", choices=["nets", "dqn", "alphazero"], help=argparse.SUPPRESS)
    parser.add_argument("--runs-dir", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.part:
        return run_part_here(args.part, args.device, args.quick, args.runs_dir or ".")
    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        print("gpu_check: no CUDA device here (torch.cuda.is_available() is False); nothing was run", file=sys.stderr)
        return 2
    import tempfile

    skip = {s for s in args.skip.split(",") if s}
    start = time.perf_counter()
    parts: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="rlkit-gpu-check-") as runs_dir:
        for part, cap in PARTS:
            left = args.budget_s - (time.perf_counter() - start)
            if part in skip or left < 5:
                parts[part] = {"status": "skipped", "seconds": 0.0, "figures": {},
                               "error": "--skip" if part in skip else "the time budget ran out"}  # fmt: skip
                continue
            parts[part] = run_part(part, min(cap, left), args.device, args.quick, runs_dir)
            status = parts[part]["status"]
            print(f"gpu_check: {part:<14} {status:<8} {parts[part]['seconds']:6.1f} s", file=sys.stderr, flush=True)
    summary = {
        "device": torch.cuda.get_device_name(0) if args.device == "cuda" else "cpu",
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "ok": all(p["status"] in ("ok", "skipped") for p in parts.values()),
        "seconds": round(time.perf_counter() - start, 1),
        "parts": parts,
    }
    print(json.dumps(summary))
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
