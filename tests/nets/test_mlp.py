"""MLP: shapes, gradients, every activation and norm, variance-preserving init, dropout, XOR."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

import nets
from nets.mlp import variance_gain

OPTIONS = list(itertools.product(sorted(nets.ACTIVATIONS), [None, "batch", "layer"]))


@pytest.mark.parametrize(("activation", "norm"), OPTIONS)
def test_shapes_dtypes_and_gradients(activation: str, norm: str | None) -> None:
    model = nets.MLP(5, [16, 8], 3, activation=activation, norm=norm, dropout=0.1)
    out = model(torch.randn(4, 5))
    assert out.shape == (4, 3) and out.dtype == torch.float32
    out.square().sum().backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_leading_dims_and_torso_mode() -> None:
    model = nets.MLP(5, [16, 8], None, norm="batch")
    assert model.out_features == 8
    assert model(torch.randn(2, 3, 5)).shape == (2, 3, 8)
    assert nets.MLP(5, [], 2).layers[0].weight.shape == (2, 5)  # no hidden layer: a linear model


@pytest.mark.parametrize("activation", sorted(nets.ACTIVATIONS))
def test_init_keeps_preactivation_scale_through_depth(activation: str) -> None:
    model = nets.MLP(256, [256] * 10, 10, activation=activation)
    h, stds = torch.randn(1024, 256), []
    with torch.no_grad():
        for layer in model.layers:
            h = layer(h)
            if isinstance(layer, nn.Linear):
                stds.append(h.std().item())
    # A default (uniform, gain 1/sqrt(3)) init shrinks ReLU nets by ~0.58 per layer: ~0.004 here.
    assert all(0.5 < s < 2.0 for s in stds), stds


def test_variance_gain_matches_known_inits() -> None:
    assert variance_gain("relu") == pytest.approx(2**0.5, rel=1e-4)  # He et al. 2015
    assert variance_gain("selu") == pytest.approx(1.0, abs=2e-3)  # LeCun init for self-normalising nets
    assert variance_gain("prelu") == pytest.approx((2 / (1 + 0.25**2)) ** 0.5, rel=1e-4)


def test_dropout_is_active_in_train_mode_only() -> None:
    for activation, kind in (("relu", nn.Dropout), ("selu", nn.AlphaDropout)):
        model = nets.MLP(6, [32], 2, activation=activation, dropout=0.5)
        assert any(type(layer) is kind for layer in model.layers)
        x = torch.randn(8, 6)
        assert not torch.equal(model(x), model(x))
        model.eval()
        torch.testing.assert_close(model(x), model(x))


def test_mlp_learns_xor_where_a_perceptron_cannot() -> None:
    x = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = torch.tensor([0, 1, 1, 0])
    mlp = nets.MLP(2, [8], 2, activation="tanh")
    nets.fit(mlp, (x, y), epochs=300, batch_size=4, lr=0.05, progress=False)
    assert torch.equal(mlp(x).argmax(dim=1), y)

    perceptron = nets.Perceptron(2)
    history = perceptron.learn(x, 2.0 * y - 1, max_epochs=200)
    assert not history.converged and min(history.mistakes_per_epoch) >= 1
    accuracy = (perceptron(x) == 2.0 * y - 1).float().mean().item()
    assert accuracy <= 0.75  # no line separates XOR: at best 3 of 4 points


def test_bad_inputs_give_clear_errors() -> None:
    model = nets.MLP(5, [8], 2)
    with pytest.raises(nets.NetsError, match=r"MLP expects input of shape \[\*, 5\], got \[3, 4\]"):
        model(torch.randn(3, 4))
    with pytest.raises(nets.NetsError, match=r"unknown norm 'group'; choices: \[None, 'batch', 'layer'\]"):
        nets.MLP(5, [8], 2, norm="group")
    with pytest.raises(nets.NetsError, match="dropout must be in"):
        nets.MLP(5, [8], 2, dropout=1.0)
    with pytest.raises(nets.NetsError, match=r"unknown init 'xavier'; choices: \['variance', 'torch'\]"):
        nets.MLP(5, [8], 2, init="xavier")


def test_torch_init_keeps_nn_linears_default() -> None:
    torch.manual_seed(0)
    model = nets.MLP(4, [256], 2, init="torch")
    assert model.spec["init"] == "torch" and nets.build(model.spec).layers[0].bias.abs().min() > 0
    for layer in (model.layers[0], model.layers[2]):
        bound = layer.in_features**-0.5
        assert 0 < layer.bias.abs().max() <= bound and layer.weight.abs().max() <= bound
        # uniform on [-bound, bound]: std bound / sqrt(3), not the variance-preserving gain / sqrt(fan_in)
        assert layer.weight.std().item() == pytest.approx(bound / 3**0.5, rel=0.1)
    assert (nets.MLP(4, [256], 2).layers[0].bias == 0).all()
