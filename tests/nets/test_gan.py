"""GAN: loss values by hand, the saturation that motivates the non-saturating loss, shapes, training, save/load."""

from __future__ import annotations

import math

import pytest
import torch

import nets
from nets.gan import GAN, discriminator_loss, generator_loss

LOG2 = math.log(2.0)


def test_losses_at_an_undecided_discriminator() -> None:
    zero = torch.zeros(5)  # D = sigmoid(0) = 1/2 everywhere
    assert discriminator_loss(zero, zero).item() == pytest.approx(2 * LOG2)
    assert generator_loss(zero, "non_saturating").item() == pytest.approx(LOG2)
    assert generator_loss(zero, "minimax").item() == pytest.approx(-LOG2)


def test_losses_match_their_probability_formulas() -> None:
    real, fake = torch.randn(6), torch.randn(4)
    d_real, d_fake = torch.sigmoid(real), torch.sigmoid(fake)
    expected_d = -(d_real.log().mean() + (1 - d_fake).log().mean())
    torch.testing.assert_close(discriminator_loss(real, fake), expected_d)
    torch.testing.assert_close(generator_loss(fake, "minimax"), (1 - d_fake).log().mean())
    torch.testing.assert_close(generator_loss(fake, "non_saturating"), -d_fake.log().mean())


def test_minimax_loss_saturates_where_the_non_saturating_one_does_not() -> None:
    """When D confidently rejects a sample (logit -8), minimax gives G almost no gradient."""
    gradients = {}
    for kind in ("minimax", "non_saturating"):
        logit = torch.tensor([-8.0], requires_grad=True)
        generator_loss(logit, kind).backward()
        gradients[kind] = logit.grad.item()
    assert abs(gradients["minimax"]) < 1e-3
    assert gradients["non_saturating"] == pytest.approx(-1.0, abs=1e-3)


@pytest.mark.parametrize(
    ("architecture", "data_shape"),
    [("mlp", [2]), ("mlp", [1, 8, 8]), ("conv", [1, 8, 8]), ("conv", [3, 16, 16])],
)
def test_shapes_and_one_training_step(architecture: str, data_shape: list[int]) -> None:
    gan = GAN(data_shape, latent=4, architecture=architecture, hidden=[16], channels=8)
    samples = gan.sample(5, torch.Generator().manual_seed(0))
    assert samples.shape == (5, *data_shape) and samples.dtype == torch.float32
    assert gan.discriminator(samples).shape == (5,)
    before = {name: p.clone() for name, p in gan.named_parameters()}
    metrics = gan.train_step((torch.rand(6, *data_shape),), gan.configure_optimizers(1e-3))
    assert set(metrics) == {"d_loss", "g_loss", "d_real", "d_fake"}
    changed = {name.split(".")[0] for name, p in gan.named_parameters() if not torch.equal(p, before[name])}
    assert changed == {"generator", "discriminator"}


def test_each_optimizer_owns_one_network() -> None:
    gan = GAN([1, 8, 8], latent=4, architecture="conv", channels=8)
    g_opt, d_opt = gan.configure_optimizers(1e-3)

    def owned(optimizer: torch.optim.Optimizer) -> set[int]:
        return {id(p) for group in optimizer.param_groups for p in group["params"]}

    assert owned(g_opt) == {id(p) for p in gan.generator.parameters()}
    assert owned(d_opt) == {id(p) for p in gan.discriminator.parameters()}


def test_save_load_round_trip(tmp_path) -> None:
    gan = GAN([1, 8, 8], latent=6, architecture="conv", channels=8, generator_loss="minimax")
    nets.save(gan, tmp_path / "gan.pt")
    loaded = nets.load(tmp_path / "gan.pt")
    assert loaded.spec == gan.spec and loaded.generator_loss == "minimax"
    gan.eval()
    loaded.eval()
    z = torch.randn(3, 6)
    torch.testing.assert_close(loaded(z), gan(z))


def test_bad_arguments_are_clear_errors() -> None:
    with pytest.raises(nets.NetsError, match="architecture"):
        GAN([2], architecture="transformer")
    with pytest.raises(nets.NetsError, match="generator_loss"):
        GAN([2], generator_loss="wasserstein")
    with pytest.raises(nets.NetsError, match="power of two"):
        GAN([1, 12, 12], architecture="conv")
    with pytest.raises(nets.NetsError, match="square"):
        GAN([64], architecture="conv")
    with pytest.raises(nets.NetsError, match="generator loss"):
        generator_loss(torch.zeros(2), "hinge")


def ring_of_gaussians(n: int, generator: torch.Generator, radius: float = 2.0, std: float = 0.05) -> torch.Tensor:
    """float32 [n, 2] from 8 Gaussians evenly spaced on a circle."""
    angles = torch.randint(8, (n,), generator=generator) * (2 * math.pi / 8)
    centres = radius * torch.stack([angles.cos(), angles.sin()], dim=1)
    return centres + std * torch.randn(n, 2, generator=generator)


def test_gan_covers_several_modes_of_a_ring_of_gaussians() -> None:
    data = ring_of_gaussians(5120, torch.Generator().manual_seed(0))
    gan = GAN([2], latent=8, hidden=[128, 128], output="linear")
    nets.fit(gan, data, epochs=30, batch_size=256, lr=3e-3, progress=False)  # 600 steps
    samples = gan.sample(2000, torch.Generator().manual_seed(1))
    angles = torch.arange(8) * (2 * math.pi / 8)
    centres = 2.0 * torch.stack([angles.cos(), angles.sin()], dim=1)
    distance, nearest = torch.cdist(samples, centres).min(dim=1)
    close = distance < 0.15  # 3 standard deviations
    per_mode = torch.bincount(nearest[close], minlength=8)
    assert close.float().mean() > 0.15  # measured ~0.25 (seeds 0-2); an untrained generator puts ~0% there
    assert (per_mode >= 20).sum() >= 5  # measured: 8, 8, 6 of the 8 modes (seeds 0-2)
