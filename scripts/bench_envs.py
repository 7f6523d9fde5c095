"""Environment throughput: batched board games, and Atari with the `dqn` preset next to the raw emulator.

    python scripts/bench_envs.py [--json] [--seconds S] [--game pong] [--threads T] [--skip-boards] [--skip-atari]

Board games: random legal moves (`argmax(uniform * legal_mask)`, included in the time) in B games at
once, finished games replaced by fresh ones, `step(validate=False)` as search code calls it; the rate
is game steps per second (B per batched step). Atari: `envs.make(ALE/<game>, N, preset="dqn")` with
random actions, in agent steps per second summed over the N envs, for each vectorisation mode; the
raw emulator is a bare `ALEInterface.act()` loop on the same game, reported in frames per second and
in the agent steps per second it would give at frame skip 4. `preprocessing_overhead` is
1 - (dqn preset, N=1, sync: what `auto` picks) / raw, the share of emulator speed the wrappers cost;
`preprocessing_overhead_cpu` is the same from CPU-time rates (both run in this process), which
other tenants' load on a shared machine disturbs much less than wall-clock rates.

With --json the last line of output is one JSON object with keys `board_steps_per_s` (game -> device
-> B -> rate), `atari_steps_per_s` (N -> rate, the `auto` mode), `atari_steps_per_s_by_mode`
(mode -> N -> rate), `atari_raw_frames_per_s`, `atari_raw_steps_per_s`, `atari_cpu_steps_per_s`,
`preprocessing_overhead`, `preprocessing_overhead_cpu`; `board_games_skipped` names the games of
`envs.boards.GAMES` that could not be imported.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable

import numpy as np
import torch

import envs
from envs.boards import State
from envs.gym_envs import PRESETS, choose_vectorization

BOARD_BATCH_SIZES = (1, 256, 4096)
ATARI_NUM_ENVS = (1, 2, 4, 8)
ATARI_MODES = ("sync", "async", "native")
FRAME_SKIP = 4


def best_rates(steps: dict[str, Callable[[], int]], seconds: float, rounds: int = 3) -> dict[str, tuple[float, float]]:
    """(items per wall second, items per CPU second of this process) of each repeated `step()`.

    Each `step()` returns its item count; each figure is the best of `rounds` windows. The windows of
    the different steps alternate, so a load spike from other processes on a shared machine hits all
    of them alike; the best window is the least disturbed. The CPU-time rate is steadier still under
    load, but only counts work done in this process (not async workers or native threads).
    """
    best = {name: (0.0, 0.0) for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            step()  # warm-up: first calls pay for allocation and caches
            count, start, cpu_start = 0, time.perf_counter(), time.process_time()
            while (elapsed := time.perf_counter() - start) < seconds / rounds:
                count += step()
            cpu = max(time.process_time() - cpu_start, 1e-9)
            best[name] = (max(best[name][0], count / elapsed), max(best[name][1], count / cpu))
    return best


def board_rate(name: str, device: str, batch_size: int, seconds: float) -> float:
    game = envs.boards.make(name, device=device)
    generator = torch.Generator(device=device).manual_seed(0)
    fresh = game.reset(batch_size)
    state = fresh

    def step() -> int:
        nonlocal state
        legal = game.legal_mask(state)
        noise = torch.rand(legal.shape, generator=generator, device=device)
        actions = (noise * legal).argmax(dim=1)
        state = game.step(state, actions, validate=False)
        state = State.where(game.terminal(state), fresh, state)
        if device == "cuda":
            torch.cuda.synchronize()
        return batch_size

    return best_rates({"board": step}, seconds)["board"][0]


def bench_boards(seconds: float) -> tuple[dict, dict]:
    """game -> device -> B -> steps/s, and game -> reason for the games that could not be built."""
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    rates: dict = {}
    skipped: dict = {}
    for name in envs.boards.GAMES:
        try:
            envs.boards.make(name)
        except ImportError as error:  # a game module not written yet
            skipped[name] = f"{type(error).__name__}: {error}"
            continue
        rates[name] = {dev: {b: board_rate(name, dev, b, seconds) for b in BOARD_BATCH_SIZES} for dev in devices}
    return rates, skipped


def raw_ale_step(game: str) -> Callable[[], int]:
    """100 emulator frames of random minimal-set actions on a bare `ALEInterface`."""
    from ale_py import ALEInterface, LoggerMode, roms

    ALEInterface.setLoggerMode(LoggerMode.Error)
    ale = ALEInterface()
    ale.setInt("random_seed", 0)
    ale.setFloat("repeat_action_probability", 0.0)
    ale.loadROM(roms.get_rom_path(game))
    actions = ale.getMinimalActionSet()
    rng = np.random.default_rng(0)

    def step() -> int:
        for action in rng.choice(len(actions), size=100):
            ale.act(actions[action])
            if ale.game_over():
                ale.reset_game()
        return 100

    return step


def atari_step(env, num_envs: int) -> Callable[[], int]:
    rng = np.random.default_rng(0)
    num_actions = env.single_action_space.n

    def step() -> int:
        env.step(rng.integers(0, num_actions, size=num_envs))
        return num_envs

    return step


def bench_atari(game: str, seconds: float) -> dict:
    """Each N measures the modes in alternating windows (see `best_rates`); N=1 alternates with raw too."""
    env_id = f"ALE/{''.join(part.title() for part in game.split('_'))}-v5"
    by_mode: dict = {mode: {} for mode in ATARI_MODES}
    for n in ATARI_NUM_ENVS:
        vector_envs = {mode: envs.make(env_id, num_envs=n, preset="dqn", vectorization=mode) for mode in ATARI_MODES}
        steps = {mode: atari_step(env, n) for mode, env in vector_envs.items()}
        if n == 1:
            steps["raw"] = raw_ale_step(game)
        rates = best_rates(steps, seconds * len(steps))
        for mode, env in vector_envs.items():
            by_mode[mode][n] = rates[mode][0]
            env.close()
        if n == 1:
            (raw_frames, raw_frames_cpu), single_cpu = rates["raw"], rates["sync"][1]
    auto = {n: by_mode[choose_vectorization("auto", n, PRESETS["dqn"])][n] for n in ATARI_NUM_ENVS}
    raw_steps, raw_steps_cpu = raw_frames / FRAME_SKIP, raw_frames_cpu / FRAME_SKIP
    return {
        "atari_env_id": env_id,
        "atari_steps_per_s": auto,
        "atari_steps_per_s_by_mode": by_mode,
        "atari_raw_frames_per_s": raw_frames,
        "atari_raw_steps_per_s": raw_steps,
        # sync at N=1 runs in this process, so CPU time compares it with the raw loop free of other tenants' load
        "atari_cpu_steps_per_s": {"raw": raw_steps_cpu, "dqn_sync_n1": single_cpu},
        "preprocessing_overhead": 1.0 - auto[1] / raw_steps,
        "preprocessing_overhead_cpu": 1.0 - single_cpu / raw_steps_cpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    parser.add_argument("--seconds", type=float, default=1.0, help="measuring time per configuration")
    parser.add_argument("--game", default="pong", help="ALE ROM name (snake_case) for the Atari figures")
    parser.add_argument("--skip-boards", action="store_true")
    parser.add_argument("--skip-atari", action="store_true")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads for the board games (2 on a busy 2-core VM: 18x slower)",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    result: dict = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
        "torch_threads": args.threads,
    }
    if not args.skip_boards:
        result["board_steps_per_s"], result["board_games_skipped"] = bench_boards(args.seconds)
        for name, by_device in result["board_steps_per_s"].items():
            for device, by_batch in by_device.items():
                cells = "  ".join(f"B={b}: {r:,.0f}/s" for b, r in by_batch.items())
                print(f"{name:10s} {device:4s} {cells}")
    if not args.skip_atari:
        result.update(bench_atari(args.game, args.seconds))
        print(
            f"raw ALE {args.game}: {result['atari_raw_frames_per_s']:,.0f} frames/s "
            f"= {result['atari_raw_steps_per_s']:,.0f} agent steps/s at frame skip {FRAME_SKIP}"
        )
        for mode, by_n in result["atari_steps_per_s_by_mode"].items():
            print(f"dqn preset, {mode:6s}: " + "  ".join(f"N={n}: {r:,.0f}/s" for n, r in by_n.items()))
        print(
            f"preprocessing overhead at N=1: {result['preprocessing_overhead']:.1%} by wall-clock rates, "
            f"{result['preprocessing_overhead_cpu']:.1%} by CPU time"
        )
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
