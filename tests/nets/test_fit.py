"""nets.fit: supervised digits, early stopping, the model hooks, data forms, reproducibility, errors."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import TensorDataset

import nets


def _accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        return (model(x).argmax(dim=1) == y).float().mean().item()


def test_mlp_classifies_digits(digits: dict[str, torch.Tensor]) -> None:
    model = nets.MLP(64, [128], 10, dropout=0.1)
    train, test = (digits["x_train"], digits["y_train"]), (digits["x_test"], digits["y_test"])
    history = nets.fit(model, train, test, epochs=30, lr=3e-3, progress=False)
    assert _accuracy(model, *test) >= 0.95  # 0.98 here
    assert set(history) == {"train/loss", "train/accuracy", "val/loss", "val/accuracy"}
    assert all(len(values) == 30 for values in history.values())
    assert history["train/loss"][-1] < history["train/loss"][0] / 10


def test_early_stopping_restores_the_best_weights(digits: dict[str, torch.Tensor]) -> None:
    # 100 training images and a wide net overfit within a few epochs, so the validation loss turns up.
    model = nets.MLP(64, [256, 256], 10)
    train = (digits["x_train"][:100], digits["y_train"][:100])
    val = (digits["x_test"], digits["y_test"])
    history = nets.fit(model, train, val, epochs=100, batch_size=20, lr=1e-2, patience=3, progress=False)
    losses = history["val/loss"]
    best_epoch = losses.index(min(losses))
    assert len(losses) == best_epoch + 1 + 3 < 100  # stopped after `patience` epochs without improvement
    assert losses[-1] > min(losses)
    model.eval()
    with torch.no_grad():
        assert F.cross_entropy(model(val[0]), val[1]).item() == pytest.approx(min(losses), rel=1e-5)


class GaussianMean(nn.Module):
    """Unsupervised toy model with a ``loss`` hook: its loss is minimised at the data mean."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.mean = nn.Parameter(torch.zeros(dim))

    def loss(self, batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, dict[str, float]]:
        (x,) = batch
        distance = (x - self.mean).square().sum(dim=1).mean()
        return distance, {"mean_norm": self.mean.norm().item()}

    def evaluate(self, batch: tuple[torch.Tensor, ...]) -> dict[str, float]:
        (x,) = batch
        return {"error": (x.mean(dim=0) - self.mean).abs().max().item()}


@pytest.mark.parametrize("optimizer", ["adam", "sgd", "rmsprop"])
def test_loss_hook_is_minimised_by_every_optimizer(optimizer: str) -> None:
    x = torch.randn(256, 3) + torch.tensor([2.0, -1.0, 0.5])
    model = GaussianMean(3)
    lr = {"adam": 0.1, "sgd": 0.05, "rmsprop": 0.01}[optimizer]
    history = nets.fit(model, x, x, epochs=150, batch_size=256, optimizer=optimizer, lr=lr, progress=False)
    torch.testing.assert_close(model.mean.detach(), x.mean(dim=0), atol=0.02, rtol=0)
    assert set(history) == {"train/loss", "train/mean_norm", "val/error"}  # validation used evaluate()
    assert history["val/error"][-1] < 0.02


class CountingTrainer(nn.Module):
    """A model with ``configure_optimizers``/``train_step`` hooks (the GAN protocol) that records its calls."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))
        self.seen_lr: float | None = None
        self.batch_sizes: list[int] = []

    def configure_optimizers(self, lr: float) -> list[torch.optim.Optimizer]:
        self.seen_lr = lr
        return [torch.optim.SGD([self.weight], lr=lr), torch.optim.SGD([self.weight], lr=lr)]

    def train_step(
        self, batch: tuple[torch.Tensor, ...], optimizers: list[torch.optim.Optimizer]
    ) -> dict[str, float | torch.Tensor]:
        assert len(optimizers) == 2
        self.batch_sizes.append(len(batch[0]))
        # One metric as a float, one as a 0-dim tensor: fit averages both kinds the same way.
        return {"calls": float(len(self.batch_sizes)), "calls_squared": torch.tensor(len(self.batch_sizes) ** 2.0)}


def test_train_step_hook_gets_every_batch_and_its_optimizers() -> None:
    model = CountingTrainer()
    history = nets.fit(model, torch.randn(10, 2), epochs=2, batch_size=4, lr=0.123, progress=False)
    assert model.seen_lr == 0.123
    assert model.batch_sizes == [4, 4, 2, 4, 4, 2]
    # Epoch metrics are means weighted by batch size: (1*4 + 2*4 + 3*2) / 10 = 1.8.
    assert history["train/calls"] == pytest.approx([1.8, 4.8])
    assert history["train/calls_squared"] == pytest.approx(
        [(1 * 4 + 4 * 4 + 9 * 2) / 10, (16 * 4 + 25 * 4 + 36 * 2) / 10]
    )
    assert all(type(value) is float for values in history.values() for value in values)


def test_regression_uses_mse_and_a_dataset_works() -> None:
    x = torch.linspace(-1, 1, 128).unsqueeze(1)
    y = 2 * x + 1
    model = nets.MLP(1, [], 1)
    history = nets.fit(model, TensorDataset(x, y), epochs=60, batch_size=32, lr=0.05, progress=False)
    assert set(history) == {"train/loss"}
    assert history["train/loss"][-1] < 1e-3
    torch.testing.assert_close(model.layers[0].weight.detach(), torch.tensor([[2.0]]), atol=0.02, rtol=0)


def test_same_seed_same_history_and_global_rng_untouched() -> None:
    x, y = torch.randn(64, 5), torch.randint(0, 3, (64,))
    initial, histories = nets.MLP(5, [16], 3, dropout=0.3), []
    for caller_seed in (1, 2):  # a different global RNG state each time: fit must not depend on it
        model = nets.build(initial.spec)
        model.load_state_dict(initial.state_dict())
        torch.manual_seed(caller_seed)
        histories.append(nets.fit(model, (x, y), epochs=3, batch_size=16, seed=7, progress=False))
        after = torch.rand(1)
        torch.manual_seed(caller_seed)
        assert torch.equal(after, torch.rand(1))  # fit restored the caller's RNG state
    assert histories[0] == histories[1]
    different = nets.build(initial.spec)
    different.load_state_dict(initial.state_dict())
    assert nets.fit(different, (x, y), epochs=3, batch_size=16, seed=8, progress=False) != histories[0]


def test_log_callback_gets_every_epoch() -> None:
    calls = []
    nets.fit(
        nets.MLP(2, [4], 2),
        (torch.randn(8, 2), torch.randint(0, 2, (8,))),
        epochs=3,
        log=lambda e, m: calls.append((e, sorted(m))),
        progress=False,
    )
    assert calls == [(epoch, ["train/accuracy", "train/loss"]) for epoch in (1, 2, 3)]


def test_bad_arguments_give_clear_errors() -> None:
    model, data = nets.MLP(2, [4], 2), (torch.randn(8, 2), torch.randint(0, 2, (8,)))
    with pytest.raises(nets.NetsError, match=r"unknown optimizer 'adagrad'; choices: \['adam', 'sgd', 'rmsprop'\]"):
        nets.fit(model, data, optimizer="adagrad", progress=False)
    with pytest.raises(nets.NetsError, match="batch_size must be >= 1, got 0"):
        nets.fit(model, data, batch_size=0, progress=False)
    with pytest.raises(nets.NetsError, match="patience.*needs validation data"):
        nets.fit(model, data, patience=2, progress=False)
    with pytest.raises(nets.NetsError, match=r"supervised training needs batches \(x, y\), got 1"):
        nets.fit(model, data[0], progress=False)
    with pytest.raises(nets.NetsError, match="same first dimension"):
        nets.fit(model, (data[0], data[1][:5]), progress=False)
    with pytest.raises(
        nets.NetsError, match=r"logits \[B, classes\] and integer labels \[B\], got \[8, 2\] and \[8, 1\]"
    ):
        nets.fit(model, (data[0], data[1][:, None]), progress=False)
    with pytest.raises(nets.NetsError, match="early stopping watches val/loss, but validation reported only"):
        nets.fit(GaussianMean(2), data[0], data[0], patience=1, progress=False)
