"""scripts/supervised_digits.py: the command line contract (fast) and the issue's accuracy targets (slow)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "supervised_digits.py"


def load_script():
    spec = importlib.util.spec_from_file_location("supervised_digits", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_json_summary_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    load_script().main(["--model", "ae", "--epochs", "1", "--seed", "3", "--out", str(tmp_path), "--json"])
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(summary) == {"model", "seed", "seconds", "recon_mse", "plot"}
    assert summary["model"] == "ae" and summary["seed"] == 3 and 0 < summary["recon_mse"] < 0.2
    plot = Path(summary["plot"])
    assert plot == tmp_path / "digits-ae-seed3" / "plots" / "ae.png"
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((tmp_path / "digits-ae-seed3" / "config.json").read_text())["model"] == "ae"


def test_script_runs_as_a_command(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--model", "svm", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert completed.returncode == 2  # argparse's usage error, naming the bad value and the choices
    assert "invalid choice: 'svm'" in completed.stderr and "dbn" in completed.stderr


TARGETS = [
    ("mlp", "test_accuracy", 0.96),
    ("lenet", "test_accuracy", 0.97),
    ("dbn", "test_accuracy", 0.96),
    ("rbm", "readout_accuracy", 0.93),
]


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(("model", "metric", "target"), TARGETS)
def test_classifier_targets(model: str, metric: str, target: float, seed: int, tmp_path: Path) -> None:
    summary = load_script().run(model, seed=seed, out=str(tmp_path))
    assert summary[metric] >= target, summary


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_vae_bound_target(seed: int, tmp_path: Path) -> None:
    summary = load_script().run("vae", seed=seed, out=str(tmp_path))
    assert summary["neg_elbo"] <= 26.0, summary
    assert summary["iwae_nll"] < summary["neg_elbo"], summary  # the importance-weighted bound is tighter
