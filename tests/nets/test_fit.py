"""nets.fit: supervised digits, early stopping, the model hooks, data forms (tensors, numpy, Datasets,
DataLoaders, any integer label dtype), reproducibility, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

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


# -- data forms: numpy arrays, any integer label dtype, Datasets and DataLoaders ---------------------------------


def _blobs(n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three well-separated Gaussian blobs in 2-D as scikit-learn would give them: float64 [N, 2], int64 [N]."""
    rng = np.random.default_rng(seed)
    centres = np.array([[-4.0, 0.0], [4.0, 0.0], [0.0, 5.0]])
    y = rng.integers(0, 3, n)
    return centres[y] + rng.normal(size=(n, 2)), y


def _as_form(x: np.ndarray, y: np.ndarray, form: str):
    if form == "numpy":
        return x, y
    dataset = TensorDataset(torch.from_numpy(x), torch.from_numpy(y))  # float64 and the labels' own dtype
    if form == "dataset":
        return dataset
    return DataLoader(dataset, batch_size=32, shuffle=True)


@pytest.mark.parametrize("label_dtype", [np.int32, np.uint8, np.int16, np.int64])
@pytest.mark.parametrize("form", ["numpy", "dataset", "loader"])
def test_classifier_learns_from_every_data_form_and_label_dtype(form: str, label_dtype: type) -> None:
    x, y = _blobs(seed=0)
    x_val, y_val = _blobs(seed=1)
    train = _as_form(x, y.astype(label_dtype), form)
    val = _as_form(x_val, y_val.astype(label_dtype), form)
    model = nets.MLP(2, [16], 3)
    history = nets.fit(model, train, val, epochs=15, batch_size=32, lr=1e-2, seed=0, progress=False)
    assert history["val/accuracy"][-1] >= 0.97, history["val/accuracy"]
    assert _accuracy(model, torch.as_tensor(x_val, dtype=torch.float32), torch.as_tensor(y_val)) >= 0.97


def test_numpy_features_train_a_float32_model_without_changing_it() -> None:
    x, y = _blobs()
    model = nets.MLP(2, [8], 3)
    nets.fit(model, [x, y.astype(np.int32)], epochs=1, progress=False)  # a list works like a tuple
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert x.dtype == np.float64  # the caller's array is not converted in place


@pytest.mark.parametrize("form", ["numpy", "dataset", "loader"])
def test_loss_hook_model_learns_from_every_data_form(form: str) -> None:
    x = np.random.default_rng(0).normal(size=(256, 3)) + np.array([2.0, -1.0, 0.5])
    data = {"numpy": x, "dataset": TensorDataset(torch.from_numpy(x))}.get(form)
    if form == "loader":
        data = DataLoader(TensorDataset(torch.from_numpy(x)), batch_size=64, shuffle=True)
    model = GaussianMean(3)
    nets.fit(model, data, epochs=100, batch_size=64, lr=0.1, progress=False)
    torch.testing.assert_close(
        model.mean.detach(), torch.as_tensor(x.mean(axis=0), dtype=torch.float32), atol=0.1, rtol=0
    )


def test_a_dataloader_keeps_its_own_batch_size_and_its_shuffling_follows_the_seed() -> None:
    loader = DataLoader(TensorDataset(torch.arange(10.0).unsqueeze(1)), batch_size=3, shuffle=True)
    model = CountingTrainer()
    nets.fit(model, loader, epochs=2, batch_size=64, progress=False)
    assert model.batch_sizes == [3, 3, 3, 1] * 2  # the loader's batch size, not fit's

    def first_batches(seed: int) -> list[list[float]]:
        seen = []
        model = CountingTrainer()
        model.train_step = lambda batch, optimizers: seen.append(batch[0].flatten().tolist()) or {}
        torch.manual_seed(seed + 100)  # the caller's RNG state must not matter
        nets.fit(model, loader, epochs=2, seed=seed, progress=False)
        return seen

    assert first_batches(0) == first_batches(0) != first_batches(1)


def test_gan_trains_from_a_dataloader() -> None:
    images = torch.rand(64, 1, 8, 8) * 2 - 1
    gan = nets.GAN([1, 8, 8], latent=4, architecture="mlp", hidden=[16])
    loader = DataLoader(TensorDataset(images.double()), batch_size=16)  # float64 items, cast to the GAN's dtype
    history = nets.fit(gan, loader, epochs=2, progress=False)
    assert history and all(len(v) == 2 and np.isfinite(v).all() for v in history.values())


def test_dbn_pretrains_from_numpy_as_from_a_tensor() -> None:
    x = (np.random.default_rng(0).random((64, 12)) > 0.5).astype(np.float64)
    reference, other = nets.DBN([12, 8, 4]), nets.DBN([12, 8, 4])
    other.load_state_dict(reference.state_dict())
    reference.pretrain(torch.as_tensor(x, dtype=torch.float32), epochs=2, batch_size=16, progress=False)
    other.pretrain(x, epochs=2, batch_size=16, progress=False)
    for a, b in zip(reference.state_dict().values(), other.state_dict().values()):
        torch.testing.assert_close(a, b)


def test_dbn_pretrains_every_layer_from_a_dataloader() -> None:
    rng = np.random.default_rng(0)
    prototypes = rng.random((2, 16)) > 0.5
    x = prototypes[rng.integers(0, 2, 256)] ^ (rng.random((256, 16)) < 0.05)  # two patterns, 5% of bits flipped
    loader = DataLoader(TensorDataset(torch.from_numpy(x.astype(np.float32))), batch_size=16, shuffle=True)
    histories = nets.DBN([16, 8, 4]).pretrain(loader, epochs=15, optimizer="sgd", lr=0.1, progress=False)
    for history in histories:  # the upper RBM trained on the lower one's features of the loader's data
        assert history["train/recon_error"][-1] < 0.75 * history["train/recon_error"][0], history


class _DictDataset(torch.utils.data.Dataset):
    def __len__(self) -> int:
        return 4

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {"x": torch.zeros(2), "y": torch.tensor(0)}


def test_bad_data_forms_and_labels_give_clear_errors() -> None:
    model, x = nets.MLP(2, [4], 3), np.zeros((8, 2))
    with pytest.raises(nets.NetsError, match=r"train must be a tensor or numpy array, .*DataLoader; got dict"):
        nets.fit(model, {"x": x}, progress=False)
    with pytest.raises(nets.NetsError, match=r"train\[1\] is an array of dtype <U1; fit needs numbers"):
        nets.fit(model, (x, np.array(list("abcdefgh"))), progress=False)
    with pytest.raises(nets.NetsError, match=r"val\[0\] must be a tensor or numpy array, got str"):
        nets.fit(model, (x, np.zeros(8, np.int32)), ("x", "y"), progress=False)
    with pytest.raises(
        nets.NetsError, match=r"train: x, y, ... must have the same first dimension, got lengths \[8, 5\]"
    ):
        nets.fit(model, (x, np.zeros(5, np.int32)), progress=False)
    with pytest.raises(nets.NetsError, match="labels must be integer class indices .*, got dtype torch.bool"):
        nets.fit(model, (x, np.zeros(8, bool)), progress=False)
    with pytest.raises(nets.NetsError, match=r"class indices in \[0, 3\) for 3 logits, got values from -1 to 3"):
        nets.fit(model, (x, np.array([0, 1, 2, 3, -1, 0, 0, 0], np.int8)), progress=False)
    with pytest.raises(nets.NetsError, match=r"batches of _DictDataset must be a tensor or a tuple .*; got dict"):
        nets.fit(model, DataLoader(_DictDataset(), batch_size=2), progress=False)
    with pytest.raises(nets.NetsError, match="train is an empty tuple"):
        nets.fit(model, (), progress=False)
