"""Multi-layer perceptron of any depth and width, with the activations, dropout and norms of the lectures."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence

import torch
from torch import nn

from nets.registry import NetsError, register

__all__ = ["ACTIVATIONS", "INITS", "MLP", "NORMS", "init_linear", "make_activation", "variance_gain"]

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "elu": nn.ELU,
    "selu": nn.SELU,
    "silu": nn.SiLU,
    "swish": nn.SiLU,
    "prelu": nn.PReLU,
}
NORMS = (None, "batch", "layer")
# "variance": init_linear's variance-preserving normal weights, zero biases; "torch": nn.Linear's own default
# (uniform weights and biases of bound 1/sqrt(fan_in), Kaiming-uniform with a=sqrt(5)), what SB3's DQN uses.
INITS = ("variance", "torch")


def make_activation(name: str) -> nn.Module:
    """A fresh activation module by name (a new one per layer: PReLU has its own parameter)."""
    if name not in ACTIVATIONS:
        raise NetsError(f"unknown activation {name!r}; choices: {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


@functools.lru_cache
def variance_gain(activation: str) -> float:
    """Gain ``g`` for weights ``N(0, g**2 / fan_in)`` that keeps pre-activations at unit variance.

    If pre-activations are ``N(0, 1)``, the next layer's have variance ``fan_in * Var(w) * E[f(z)**2]``,
    so ``g = 1 / sqrt(E[f(z)**2])``: sqrt(2) for ReLU (He init), 1 for SELU (LeCun init), and the
    right value for the others too, computed here by quadrature over the standard normal density.
    """
    z = torch.linspace(-12.0, 12.0, 24001, dtype=torch.float64)
    density = torch.exp(-0.5 * z.square()) / math.sqrt(2 * math.pi) * (z[1] - z[0])
    with torch.no_grad():
        second_moment = (make_activation(activation).double()(z).square() * density).sum()
    return float(second_moment.rsqrt())


def init_linear(layer: nn.Linear | nn.Conv2d, input_activation: str | None) -> None:
    """Variance-preserving normal init; biases to zero.

    :param input_activation: the activation that produced the layer's input (what the gain depends on),
        or None for raw inputs, assumed standardised (gain 1).
    """
    gain = 1.0 if input_activation is None else variance_gain(input_activation)
    nn.init.normal_(layer.weight, std=gain / math.sqrt(layer.weight[0].numel()))
    if layer.bias is not None:
        nn.init.zeros_(layer.bias)


@register("mlp")
class MLP(nn.Module):
    """Fully connected network ``float32 [..., in_features] -> float32 [..., out_features]``.

    Each hidden layer is Linear -> (norm) -> activation -> (dropout). With ``out_features=None``
    the network ends after the last hidden layer (a torso) and ``self.out_features`` is its width.
    SELU networks use alpha dropout, which keeps the self-normalising mean and variance.

    :param in_features: input width F.
    :param hidden: widths of the hidden layers (may be empty: a linear model).
    :param out_features: width of the final linear layer, or None for no output layer.
    :param activation: one of ``ACTIVATIONS``.
    :param dropout: drop probability after each hidden activation.
    :param norm: None, "batch" (BatchNorm1d) or "layer" (LayerNorm), before each hidden activation.
    :param init: ``"variance"`` (:func:`init_linear`: normal weights that keep activations at unit variance,
        zero biases) or ``"torch"`` (``nn.Linear``'s default: uniform weights and biases, both of bound
        ``1/sqrt(fan_in)``; smaller weights, and biases that spread the first layer's ReLU kinks away from 0).
    """

    def __init__(
        self,
        in_features: int,
        hidden: Sequence[int] = (64, 64),
        out_features: int | None = None,
        activation: str = "relu",
        dropout: float = 0.0,
        norm: str | None = None,
        init: str = "variance",
    ) -> None:
        super().__init__()
        if norm not in NORMS:
            raise NetsError(f"unknown norm {norm!r}; choices: {list(NORMS)}")
        if init not in INITS:
            raise NetsError(f"unknown init {init!r}; choices: {list(INITS)}")
        if not 0.0 <= dropout < 1.0:
            raise NetsError(f"dropout must be in [0, 1), got {dropout}")
        make_activation(activation)  # validates the name before any layer is built
        self.in_features = in_features
        layers: list[nn.Module] = []
        width = in_features
        for index, size in enumerate(hidden):
            linear = nn.Linear(width, size)
            if init == "variance":
                init_linear(linear, activation if index > 0 else None)
            layers.append(linear)
            if norm == "batch":
                layers.append(nn.BatchNorm1d(size))
            elif norm == "layer":
                layers.append(nn.LayerNorm(size))
            layers.append(make_activation(activation))
            if dropout > 0:
                layers.append(nn.AlphaDropout(dropout) if activation == "selu" else nn.Dropout(dropout))
            width = size
        if out_features is not None:
            output = nn.Linear(width, out_features)
            if init == "variance":
                init_linear(output, activation if hidden else None)
            layers.append(output)
            width = out_features
        self.out_features = width
        self.layers = nn.Sequential(*layers)
        self._batch_norm = norm == "batch"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``float32 [..., F] -> float32 [..., out_features]``."""
        if x.dim() == 0 or x.shape[-1] != self.in_features:
            raise NetsError(f"MLP expects input of shape [*, {self.in_features}], got {list(x.shape)}")
        if self._batch_norm and x.dim() != 2:
            # BatchNorm1d reads dim 1 as features, so fold any leading dims into one batch dim.
            return self.layers(x.reshape(-1, self.in_features)).reshape(*x.shape[:-1], self.out_features)
        return self.layers(x)
