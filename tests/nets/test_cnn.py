"""Convolutional nets: LeNet-5 (8x8 and 28x28, max/avg pooling), Nature-DQN torso, residual tower."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

import nets
from nets.cnn import ResidualBlock


@pytest.mark.parametrize(("image_size", "pool"), list(itertools.product([8, 28], ["max", "avg"])))
def test_lenet_shapes_pooling_and_gradients(image_size: int, pool: str) -> None:
    model = nets.LeNet5(in_channels=1, image_size=image_size, num_classes=10, pool=pool)
    pool_type = nn.MaxPool2d if pool == "max" else nn.AvgPool2d
    assert sum(isinstance(layer, pool_type) for layer in model.features) == 2
    logits = model(torch.randn(3, 1, image_size, image_size))
    assert logits.shape == (3, 10) and logits.dtype == torch.float32
    logits.logsumexp(dim=1).sum().backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_lenet_keeps_the_classic_28x28_layout() -> None:
    model = nets.LeNet5(image_size=28)
    assert model.classifier[0].in_features == 16 * 5 * 5  # 28 -> conv(pad 2) 28 -> 14 -> conv 10 -> 5
    assert nets.LeNet5(image_size=8).classifier[0].in_features == 16 * 2 * 2
    with pytest.raises(nets.NetsError, match=r"LeNet5 expects input of shape \[\*, 1, 28, 28\], got \[2, 1, 8, 8\]"):
        model(torch.randn(2, 1, 8, 8))


def test_lenet_learns_digits(digits: dict[str, torch.Tensor]) -> None:
    model = nets.LeNet5(image_size=8)
    images = {split: digits[f"x_{split}"].view(-1, 1, 8, 8) for split in ("train", "test")}
    nets.fit(model, (images["train"], digits["y_train"]), epochs=15, lr=3e-3, progress=False)
    model.eval()
    assert (model(images["test"]).argmax(dim=1) == digits["y_test"]).float().mean() >= 0.95


def test_nature_cnn_scales_uint8_frames() -> None:
    model = nets.NatureCNN(in_channels=4, out_features=512)
    frames = torch.randint(0, 256, (2, 4, 84, 84), dtype=torch.uint8)
    features = model(frames)
    assert features.shape == (2, 512) and features.dtype == torch.float32
    assert (features >= 0).all()  # ends in a ReLU
    torch.testing.assert_close(features, model(frames.float() / 255))
    assert model.convs[4].weight.shape == (64, 64, 3, 3) and model.linear[0].in_features == 64 * 7 * 7
    with pytest.raises(
        nets.NetsError, match=r"NatureCNN expects input of shape \[\*, 4, 84, 84\], got \[2, 84, 84, 4\]"
    ):
        model(frames.permute(0, 2, 3, 1))


@pytest.mark.parametrize(("height", "width"), [(3, 3), (6, 7), (9, 9)])
def test_residual_tower_keeps_the_board_shape(height: int, width: int) -> None:
    tower = nets.ResidualTower(in_channels=3, channels=16, blocks=3)
    out = tower(torch.randn(2, 3, height, width))
    assert out.shape == (2, 16, height, width)
    out.sum().backward()
    assert all(p.grad is not None for p in tower.parameters())
    with pytest.raises(
        nets.NetsError, match=r"ResidualTower expects input of shape \[\*, 3, \*, \*\], got \[2, 4, 6, 7\]"
    ):
        tower(torch.randn(2, 4, 6, 7))


def test_fresh_residual_block_is_relu_of_its_input() -> None:
    # The last BN scale starts at zero, so the residual branch adds nothing until it learns to.
    block = ResidualBlock(8)
    x = torch.randn(4, 8, 5, 5)
    torch.testing.assert_close(block(x), torch.relu(x))
