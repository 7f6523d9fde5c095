from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from rlkit.checkpoints import get_rng_state, load_checkpoint, save_checkpoint, set_rng_state
from rlkit.errors import RlkitError
from rlkit.metrics import MetricsLogger, read_metrics
from rlkit.plots import plot_metrics
from rlkit.runs import Run


def test_run_layout_and_config(tmp_path):
    run = Run.create(tmp_path, "r1", {"lr": 0.1})
    assert run.config_path.is_file() and run.checkpoints_dir.is_dir() and run.plots_dir.is_dir()
    assert Run.open(tmp_path / "r1").load_config() == {"lr": 0.1}
    with pytest.raises(RlkitError, match="already exists"):
        Run.create(tmp_path, "r1", {"lr": 0.2})
    with pytest.raises(RlkitError, match="not a run directory"):
        Run.open(tmp_path)


def test_checkpoint_round_trip_keeps_newest(tmp_path):
    run = Run.create(tmp_path, "r")
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(model.parameters())
    model(torch.ones(1, 3)).sum().backward()
    opt.step()
    for step in (10, 20, 30, 40):
        run.save_checkpoint(step, {"model": model.state_dict(), "optim": opt.state_dict(), "step": step}, keep=2)
    assert [p.name for p in run.checkpoints()] == ["step_0000000030.pt", "step_0000000040.pt"]
    assert Run.open(run.latest_checkpoint()).path == run.path
    state, _path = run.load_latest()
    assert state["step"] == 40
    assert torch.equal(state["model"]["weight"], model.state_dict()["weight"])
    opt2 = torch.optim.Adam(model.parameters())
    opt2.load_state_dict(state["optim"])
    assert opt2.state_dict()["state"][0]["step"] == opt.state_dict()["state"][0]["step"]


def test_corrupt_newest_checkpoint_falls_back(tmp_path):
    run = Run.create(tmp_path, "r")
    run.save_checkpoint(1, {"step": 1})
    (run.checkpoints_dir / "step_0000000002.pt").write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="unreadable"):
        state, _ = run.load_latest()
    assert state["step"] == 1
    with pytest.raises(RlkitError, match="not a readable rlkit checkpoint"):
        load_checkpoint(run.checkpoints_dir / "step_0000000002.pt")


def test_weights_only_refuses_pickled_objects(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"obj": object()}, path)
    with pytest.raises(RlkitError):
        load_checkpoint(path)


def test_rng_state_resumes_every_stream(tmp_path):
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    save_checkpoint(tmp_path / "rng.pt", {"rng": get_rng_state()})
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    set_rng_state(load_checkpoint(tmp_path / "rng.pt")["rng"])
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == first


def test_metrics_logger_writes_jsonl_and_plot(tmp_path):
    with MetricsLogger(tmp_path, total=30, show=["train/loss"], progress=False, tensorboard=False) as log:
        for step in range(0, 30, 10):
            log.log(step, {"train/loss": 1.0 / (step + 1), "rollout/return": torch.tensor(float(step))})
    records = read_metrics(tmp_path / "metrics.jsonl")
    assert [r["step"] for r in records] == [0, 10, 20] and records[2]["rollout/return"] == 20.0
    png = plot_metrics(tmp_path / "metrics.jsonl", ["train/loss", "rollout/return"], tmp_path / "plots" / "c.png")
    assert png is not None and png.stat().st_size > 1000
    assert plot_metrics(tmp_path / "metrics.jsonl", ["missing"], tmp_path / "x.png") is None


def test_missing_tensorboard_is_noted_once(tmp_path, capsys, monkeypatch):
    import builtins

    import rlkit.metrics

    real_import = builtins.__import__

    def no_tensorboard(name, *args, **kwargs):
        if name == "torch.utils.tensorboard":
            raise ImportError("No module named 'tensorboard'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    monkeypatch.setattr(rlkit.metrics, "_told_no_tensorboard", False)
    for name in ("a", "b"):
        with MetricsLogger(tmp_path / name, total=3, progress=False) as log:
            log.log(1, {"train/loss": 1.0})
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "TensorBoard is not installed" in err and "rlkit[tensorboard]" in err
    assert not (tmp_path / "a" / "tb").exists()
