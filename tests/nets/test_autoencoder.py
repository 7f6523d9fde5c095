"""Autoencoders: shapes, corruption noise, gradients, save/load, and denoising that beats the corruption."""

from __future__ import annotations

import pytest
import torch

import nets
from nets.autoencoder import AutoEncoder, corrupt


def test_shapes_dtypes_and_features() -> None:
    model = AutoEncoder(64, [32], 8)
    x = torch.rand(5, 64)
    recon = model(x)
    assert recon.shape == (5, 64) and recon.dtype == torch.float32
    assert ((recon > 0) & (recon < 1)).all()  # sigmoid output
    features = model.transform(x)
    assert features.shape == (5, 8) and not features.requires_grad
    torch.testing.assert_close(model.decode(model.encode(x)), recon)
    assert AutoEncoder(10, [6], 3, output="linear")(torch.randn(2, 10)).min() < 0  # unbounded output


def test_gradients_reach_every_parameter() -> None:
    model = AutoEncoder(64, [32, 16], 8, corruption="gaussian", noise_level=0.2)
    loss, metrics = model.loss((torch.rand(7, 64),))
    loss.backward()
    assert set(metrics) == {"recon_mse"}
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


def test_masking_corruption_drops_the_stated_fraction() -> None:
    x = torch.ones(200, 100)
    masked = corrupt(x, "mask", 0.3, torch.Generator().manual_seed(0))
    assert set(masked.unique().tolist()) == {0.0, 1.0}
    assert abs((masked == 0).float().mean().item() - 0.3) < 0.01


def test_gaussian_corruption_has_the_stated_spread() -> None:
    x = torch.zeros(200, 100)
    noisy = corrupt(x, "gaussian", 0.5, torch.Generator().manual_seed(0))
    assert abs(noisy.std().item() - 0.5) < 0.01 and abs(noisy.mean().item()) < 0.01
    assert torch.equal(corrupt(x, "none", 0.5), x)


def test_corruption_only_in_training_mode() -> None:
    model = AutoEncoder(20, [10], 20, corruption="mask", noise_level=0.9)
    x = torch.rand(4, 20)
    model.eval()
    first, second = model.loss((x,))[0], model.loss((x,))[0]
    assert first == second  # deterministic without corruption
    model.train()
    assert model.loss((x,))[0] != model.loss((x,))[0]


def test_save_load_round_trip(tmp_path) -> None:
    model = AutoEncoder(64, [32], 64, corruption="mask", noise_level=0.25)
    nets.save(model, tmp_path / "dae.pt")
    loaded = nets.load(tmp_path / "dae.pt")
    assert loaded.spec == model.spec and loaded.corruption == "mask"
    x = torch.rand(3, 64)
    torch.testing.assert_close(loaded(x), model(x))


def test_bad_arguments_are_clear_errors() -> None:
    with pytest.raises(nets.NetsError, match="identity"):
        AutoEncoder(16, [8], 16)  # not undercomplete and not denoising
    with pytest.raises(nets.NetsError, match="corruption"):
        AutoEncoder(16, [8], 4, corruption="salt")
    with pytest.raises(nets.NetsError, match="output"):
        AutoEncoder(16, [8], 4, output="softmax")
    with pytest.raises(nets.NetsError, match=r"\[0, 1\)"):
        AutoEncoder(16, [8], 4, corruption="mask", noise_level=1.0)
    with pytest.raises(nets.NetsError, match="MLP expects"):
        AutoEncoder(16, [8], 4)(torch.rand(2, 15))


def test_undercomplete_code_beats_the_mean_image(digits) -> None:
    model = AutoEncoder(64, [64], 16)
    nets.fit(model, digits["x_train"], epochs=30, lr=3e-3, progress=False)
    x_test = digits["x_test"]
    with torch.no_grad():
        recon_mse = ((model(x_test) - x_test) ** 2).mean().item()
    mean_image_mse = ((x_test - digits["x_train"].mean(dim=0)) ** 2).mean().item()
    assert recon_mse < 0.25 * mean_image_mse


def test_denoising_autoencoder_removes_most_of_the_corruption(digits) -> None:
    model = AutoEncoder(64, [128], 64, corruption="mask", noise_level=0.3)
    nets.fit(model, digits["x_train"], epochs=30, lr=3e-3, progress=False)
    x_test = digits["x_test"]
    corrupted = corrupt(x_test, "mask", 0.3, torch.Generator().manual_seed(1))
    model.eval()
    with torch.no_grad():
        denoised_mse = ((model(corrupted) - x_test) ** 2).mean().item()
    corrupted_mse = ((corrupted - x_test) ** 2).mean().item()
    assert denoised_mse < 0.5 * corrupted_mse
