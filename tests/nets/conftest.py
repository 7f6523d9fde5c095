"""Shared fixtures for the nets tests: deterministic seeds and the offline digits data set."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def _seed_and_one_thread() -> Iterator[None]:
    """Seed every test; run it on one thread, since these models are far too small to gain from
    intra-op parallelism and on a busy machine extra threads make them many times slower."""
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def digits() -> dict[str, torch.Tensor]:
    """sklearn's 8x8 digits scaled to [0, 1], split 75/25 with a fixed seed.

    Keys: x_train/x_test float32 [N, 64], y_train/y_test int64 [N].
    """
    datasets = pytest.importorskip("sklearn.datasets")
    model_selection = pytest.importorskip("sklearn.model_selection")
    data = datasets.load_digits()
    x_train, x_test, y_train, y_test = model_selection.train_test_split(
        data.data / 16.0, data.target, test_size=0.25, random_state=0, stratify=data.target
    )
    return {
        "x_train": torch.as_tensor(x_train, dtype=torch.float32),
        "x_test": torch.as_tensor(x_test, dtype=torch.float32),
        "y_train": torch.as_tensor(y_train, dtype=torch.int64),
        "y_test": torch.as_tensor(y_test, dtype=torch.int64),
    }
