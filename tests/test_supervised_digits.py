"""scripts/supervised_digits.py: a thin command line over rlkit.demos.run_digits_demo (its targets: tests/rlkit)."""

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
    spec.loader.exec_module(module)
    return module


def test_json_summary_is_the_last_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("sklearn")
    argv = ["--model", "ae", "--epochs", "1", "--seed", "3", "--out", str(tmp_path), "--no-progress", "--json"]
    assert load_script().main(argv) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (summary["model"], summary["dataset"], summary["seed"]) == ("ae", "digits", 3)
    assert Path(summary["plot"]) == tmp_path / "digits-ae-seed3" / "plots" / "ae.png"


def test_bad_values_exit_2_with_one_line(tmp_path: Path) -> None:
    for argv, expected in (
        (["--model", "svm"], "invalid choice: 'svm'"),  # argparse's usage error, naming the choices
        (["--model", "mlp", "--epochs", "0"], "supervised_digits: error: epochs must be an integer >= 1, got 0"),
    ):
        completed = subprocess.run(
            [sys.executable, str(SCRIPT), *argv, "--out", str(tmp_path)],
            capture_output=True, text=True, check=False, timeout=300,
        )  # fmt: skip
        assert completed.returncode == 2, completed.stderr
        assert expected in completed.stderr and "Traceback" not in completed.stderr
