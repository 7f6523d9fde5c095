"""Train one ``nets`` model on scikit-learn's bundled 8x8 digits and report its test figures.

    python scripts/supervised_digits.py --model dbn --seed 0 --json

Every model sees the same stratified 80/20 train/test split (fixed, independent of ``--seed``); pixels are
scaled to [0, 1]. Classifiers report ``test_accuracy``; the autoencoders their test reconstruction error;
the RBM its reconstruction error and the accuracy of a logistic-regression readout on its hidden features;
the DBN the accuracy after pretraining + fine-tuning and the same network from random initialisation; the
VAE (on binarised digits) its negative ELBO and importance-weighted NLL bound in nats; the GAN its losses
and how many digit classes its samples cover. A PNG grid of predictions, reconstructions or samples goes to
``<out>/digits-<model>-seed<seed>/plots/``.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from torch import nn

import nets
from nets.autoencoder import AutoEncoder, corrupt
from nets.dbn import DBN
from nets.gan import GAN
from nets.rbm import RBM
from nets.recurrent import RecurrentNet
from nets.vae import VAE
from rlkit.plots import pyplot
from rlkit.runs import Run

SPLIT_SEED = 0  # the train/test split never changes, so figures from different seeds are comparable
TEST_FRACTION = 0.2
IMAGE = 8  # digits are 8x8
IWAE_SAMPLES = 500


@dataclass
class Digits:
    """The fixed split: ``x_*`` float32 [N, 64] in [0, 1], ``y_*`` int64 [N] in 0..9."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


@dataclass
class Outcome:
    """What a model reports: test figures, and images float32 [N, 64] in [0, 1] (with captions) to plot."""

    metrics: dict[str, float]
    images: torch.Tensor
    description: str
    captions: list[str] = field(default_factory=list)
    columns: int = 10


def load_split() -> Digits:
    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        x / 16.0, y, test_size=TEST_FRACTION, stratify=y, random_state=SPLIT_SEED
    )
    return Digits(
        torch.as_tensor(x_train, dtype=torch.float32),
        torch.as_tensor(y_train, dtype=torch.int64),
        torch.as_tensor(x_test, dtype=torch.float32),
        torch.as_tensor(y_test, dtype=torch.int64),
    )


# -- classifiers -----------------------------------------------------------------------------------------------


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        return (model(x).argmax(dim=-1) == y).float().mean().item()


def predictions(model: nn.Module, metrics: dict[str, float], data: Digits, shape: tuple[int, ...]) -> Outcome:
    """The first 30 test digits captioned with the model's predictions ("3", or "5≠3" when wrong)."""
    model.eval()
    with torch.no_grad():
        predicted = model(data.x_test[:30].reshape(-1, *shape)).argmax(dim=-1)
    captions = [f"{p}" if p == t else f"{p}≠{t}" for p, t in zip(predicted.tolist(), data.y_test[:30].tolist())]
    return Outcome(metrics, data.x_test[:30], "test digits and predictions (predicted≠true)", captions)


def classify(model: nn.Module, shape: tuple[int, ...], data: Digits, seed: int, epochs: int, lr: float) -> Outcome:
    """Fit a classifier on inputs reshaped to ``[N, *shape]``; report its test accuracy."""
    x_train, x_test = data.x_train.reshape(-1, *shape), data.x_test.reshape(-1, *shape)
    nets.fit(model, (x_train, data.y_train), epochs=epochs, lr=lr, seed=seed, progress=False)
    return predictions(model, {"test_accuracy": accuracy(model, x_test, data.y_test)}, data, shape)


def train_mlp(data: Digits, seed: int, epochs: int | None) -> Outcome:
    model = nets.MLP(64, [256, 128], 10, activation="relu", dropout=0.2)
    return classify(model, (64,), data, seed, epochs or 60, lr=1e-3)


def train_lenet(data: Digits, seed: int, epochs: int | None) -> Outcome:
    model = nets.LeNet5(in_channels=1, image_size=IMAGE, num_classes=10)
    return classify(model, (1, IMAGE, IMAGE), data, seed, epochs or 40, lr=1e-3)


def train_lstm(data: Digits, seed: int, epochs: int | None) -> Outcome:
    # The image as a sequence of its 8 rows: the LSTM must carry what it saw in early rows to the end.
    model = RecurrentNet(IMAGE, 128, 10, cell="lstm")
    return classify(model, (IMAGE, IMAGE), data, seed, epochs or 40, lr=3e-3)


# -- unsupervised models ---------------------------------------------------------------------------------------


def rows_of_ten(metrics: dict[str, float], names: list[str], *rows: torch.Tensor) -> Outcome:
    """Plot the first 10 images of each of ``rows`` (e.g. originals, then their reconstructions) row by row."""
    return Outcome(metrics, torch.cat([r[:10] for r in rows]), "rows: " + ", ".join(names))


def train_autoencoder(data: Digits, seed: int, epochs: int | None, corruption: str, noise_level: float) -> Outcome:
    hidden, latent = ([256], 64) if corruption != "none" else ([128], 16)
    model = AutoEncoder(64, hidden, latent, corruption=corruption, noise_level=noise_level)
    nets.fit(model, data.x_train, epochs=epochs or 100, lr=1e-3, seed=seed, progress=False)
    model.eval()
    with torch.no_grad():
        recon_mse = ((model(data.x_test) - data.x_test) ** 2).mean().item()
        if corruption == "none":
            return rows_of_ten(
                {"recon_mse": recon_mse}, ["test digits", "reconstructions"], data.x_test, model(data.x_test)
            )
        corrupted = corrupt(data.x_test, corruption, noise_level, torch.Generator().manual_seed(seed))
        denoised = model(corrupted)
        metrics = {
            "recon_mse": recon_mse,
            "denoised_mse": ((denoised - data.x_test) ** 2).mean().item(),
            "corrupted_mse": ((corrupted - data.x_test) ** 2).mean().item(),
        }
        return rows_of_ten(metrics, ["test digits", "masked", "denoised"], data.x_test, corrupted.clamp(0, 1), denoised)


def train_ae(data: Digits, seed: int, epochs: int | None) -> Outcome:
    return train_autoencoder(data, seed, epochs, "none", 0.0)


def train_dae(data: Digits, seed: int, epochs: int | None) -> Outcome:
    return train_autoencoder(data, seed, epochs, "mask", 0.3)


def readout_accuracy(train_features: torch.Tensor, test_features: torch.Tensor, data: Digits) -> float:
    """Test accuracy of a logistic regression fitted on features of the training set."""
    # tol=1e-4: with sklearn's RBM example's tol=1 the solver stops at once and scores chance.
    readout = LogisticRegression(C=100.0, tol=1e-4, max_iter=3000)
    readout.fit(train_features.numpy(), data.y_train.numpy())
    return float(readout.score(test_features.numpy(), data.y_test.numpy()))


def train_rbm(data: Digits, seed: int, epochs: int | None) -> Outcome:
    rbm = RBM(64, 256, k=1)
    nets.fit(rbm, data.x_train, epochs=epochs or 30, batch_size=20, optimizer="sgd", lr=0.05, momentum=0.5,
             seed=seed, progress=False)  # fmt: skip
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


def train_dbn(data: Digits, seed: int, epochs: int | None) -> Outcome:
    """Pretrain 64-256-256 greedily, fine-tune as a sigmoid MLP, and fine-tune the same MLP from random init.

    ``epochs`` sets both the CD-1 epochs per layer (default 30) and the fine-tuning epochs (default 60).
    """
    dbn = DBN([64, 256, 256])
    dbn.pretrain(data.x_train, epochs=epochs or 30, batch_size=20, optimizer="sgd", lr=0.1, momentum=0.5,
                 seed=seed, progress=False)  # fmt: skip
    pretrained = dbn.to_mlp(10)
    random_init = nets.MLP(64, [256, 256], 10, activation="sigmoid")
    for model in (pretrained, random_init):
        nets.fit(model, (data.x_train, data.y_train), epochs=epochs or 60, optimizer="sgd", lr=0.2, momentum=0.9,
                 seed=seed, progress=False)  # fmt: skip
    metrics = {
        "test_accuracy": accuracy(pretrained, data.x_test, data.y_test),
        "random_init_test_accuracy": accuracy(random_init, data.x_test, data.y_test),
    }
    return predictions(pretrained, metrics, data, (64,))


class DynamicallyBinarised(torch.utils.data.Dataset):
    """Each visit draws fresh binary pixels ``x ~ Bernoulli(grey level)``, so the VAE cannot overfit one draw."""

    def __init__(self, grey: torch.Tensor) -> None:
        self.grey = grey

    def __len__(self) -> int:
        return len(self.grey)

    def __getitem__(self, index: int) -> tuple[torch.Tensor]:
        return (torch.bernoulli(self.grey[index]),)


def train_vae(data: Digits, seed: int, epochs: int | None) -> Outcome:
    vae = VAE(64, [128], latent=8, decoder="bernoulli")
    nets.fit(vae, DynamicallyBinarised(data.x_train), epochs=epochs or 200, lr=1e-3, seed=seed, progress=False)
    vae.eval()
    generator = torch.Generator().manual_seed(seed)
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


def train_gan(data: Digits, seed: int, epochs: int | None) -> Outcome:
    gan = GAN([1, IMAGE, IMAGE], latent=32, architecture="conv", channels=64)
    images = data.x_train.reshape(-1, 1, IMAGE, IMAGE) * 2 - 1  # the generator's tanh covers [-1, 1]
    history = nets.fit(gan, images, epochs=epochs or 100, lr=2e-4, seed=seed, progress=False)
    samples = (gan.sample(1000, torch.Generator().manual_seed(seed)).reshape(-1, 64) + 1) / 2
    metrics = {key.removeprefix("train/"): values[-1] for key, values in history.items()}
    metrics |= class_coverage(samples, data)
    return Outcome(metrics, samples[:40], "samples")


def class_coverage(samples: torch.Tensor, data: Digits) -> dict[str, float]:
    """Mode coverage of generated digits: classes holding >= 2% of samples by a pixel classifier, of 10."""
    classifier = LogisticRegression(C=1.0, tol=1e-4, max_iter=3000).fit(data.x_train.numpy(), data.y_train.numpy())
    labels = torch.as_tensor(classifier.predict(samples.numpy()))
    shares = torch.bincount(labels, minlength=10).float() / len(labels)
    return {"classes_covered": int((shares >= 0.02).sum()), "largest_class_share": shares.max().item()}


MODELS: dict[str, Callable[[Digits, int, int | None], Outcome]] = {
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


# -- output --------------------------------------------------------------------------------------------------


def save_grid(outcome: Outcome, path: Path, title: str) -> None:
    """Draw ``outcome.images`` [N, 64] as a grid of 8x8 grey images (with captions) into a PNG."""
    plt = pyplot()
    rows = math.ceil(len(outcome.images) / outcome.columns)
    height = 1.1 * rows + 0.6  # inches: a row of images with captions, plus the title
    figure, axes = plt.subplots(rows, outcome.columns, figsize=(outcome.columns, height), squeeze=False)
    figure.subplots_adjust(top=1 - 0.6 / height)
    for index, axis in enumerate(axes.flat):
        axis.axis("off")
        if index < len(outcome.images):
            axis.imshow(outcome.images[index].reshape(IMAGE, IMAGE).numpy(), cmap="gray_r", vmin=0, vmax=1)
            if index < len(outcome.captions):
                axis.set_title(outcome.captions[index], fontsize=9)
    figure.suptitle(f"{title}: {outcome.description}", fontsize=10)
    figure.savefig(path, dpi=80)
    plt.close(figure)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, choices=sorted(MODELS), help="which model to train")
    parser.add_argument("--seed", type=int, default=0, help="seeds initialisation, shuffling and sampling")
    parser.add_argument("--epochs", type=int, default=None, help="training epochs (default: tuned per model)")
    parser.add_argument("--out", default="runs", help="root folder of run directories")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    return parser.parse_args(argv)


def run(model: str, seed: int = 0, epochs: int | None = None, out: str = "runs") -> dict[str, float | int | str]:
    """Train ``model`` and return its summary (also used by the tests)."""
    config = {"model": model, "seed": seed, "epochs": epochs, "split_seed": SPLIT_SEED, "test_fraction": TEST_FRACTION}
    run_dir = Run.create(out, f"digits-{model}-seed{seed}", config, exist_ok=True)
    data = load_split()
    torch.manual_seed(seed)  # initialisation; nets.fit seeds shuffling and sampling itself
    start = time.perf_counter()
    outcome = MODELS[model](data, seed, epochs)
    seconds = time.perf_counter() - start
    plot = run_dir.plots_dir / f"{model}.png"
    save_grid(outcome, plot, f"{model}, seed {seed}")
    return {"model": model, "seed": seed, "seconds": round(seconds, 2), **outcome.metrics, "plot": str(plot)}


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    summary = run(args.model, args.seed, args.epochs, args.out)
    if args.json:
        print(json.dumps(summary))
    else:
        for key, value in summary.items():
            print(f"{key:>28}: {value:.4f}" if isinstance(value, float) else f"{key:>28}: {value}")


if __name__ == "__main__":
    main()
