"""scripts/gpu_check.py: its plumbing as a CPU dry run (the real check needs a CUDA machine)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "gpu_check.py"


def _module():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_without_cuda_it_says_so_and_exits_2(capsys, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert _module().main([]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no CUDA device" in err


def test_every_net_family_runs_forward_and_backward_on_cpu():
    figures = _module().check_nets("cpu", quick=True)
    from nets.registry import registered_types

    assert set(registered_types("nets")) <= set(figures) and all(isinstance(v, dict) for v in figures.values())


@pytest.mark.slow
def test_quick_cpu_dry_run_reports_every_part(capsys):
    assert _module().main(["--device", "cpu", "--quick", "--skip", "bench_dqn,bench_scaling"]) in (0, 1)
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert list(summary["parts"]) == ["nets", "dqn", "alphazero", "bench_mcts", "bench_dqn", "bench_scaling"]
    assert all(summary["parts"][p]["status"] == "ok" for p in ("nets", "dqn", "alphazero", "bench_mcts"))
