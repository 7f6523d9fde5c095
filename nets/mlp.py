"""Multi-layer perceptron of any depth and width, with the activations, dropout and norms of the lectures."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from nets.registry import NetsError, register

__all__ = ["ACTIVATIONS", "MLP", "NORMS", "init_linear", "make_activation"]

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


def make_activation(name: str) -> nn.Module:
    """A fresh activation module by name (a new one per layer: PReLU has its own parameter)."""
    if name not in ACTIVATIONS:
        raise NetsError(f"unknown activation {name!r}; choices: {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


def init_linear(layer: nn.Linear | nn.Conv2d, activation: str) -> None:
    """Initialise weights for the activation that follows the layer; biases to zero.

    He (Kaiming) init keeps the forward variance of rectifiers, Glorot (Xavier) that of the
    saturating sigmoid/tanh, and LeCun normal is what SELU's self-normalisation assumes.
    """
    if activation in ("sigmoid", "tanh"):
        nn.init.xavier_uniform_(layer.weight, gain=nn.init.calculate_gain(activation))
    elif activation == "selu":
        nn.init.kaiming_normal_(layer.weight, nonlinearity="linear")
    elif activation == "prelu":
        nn.init.kaiming_normal_(layer.weight, a=0.25, nonlinearity="leaky_relu")  # PReLU starts at slope 0.25
    else:
        nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
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
    """

    def __init__(
        self,
        in_features: int,
        hidden: Sequence[int] = (64, 64),
        out_features: int | None = None,
        activation: str = "relu",
        dropout: float = 0.0,
        norm: str | None = None,
    ) -> None:
        super().__init__()
        if norm not in NORMS:
            raise NetsError(f"unknown norm {norm!r}; choices: {list(NORMS)}")
        if not 0.0 <= dropout < 1.0:
            raise NetsError(f"dropout must be in [0, 1), got {dropout}")
        make_activation(activation)  # validates the name before any layer is built
        self.in_features = in_features
        layers: list[nn.Module] = []
        width = in_features
        for size in hidden:
            linear = nn.Linear(width, size)
            init_linear(linear, activation)
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
            # The output layer feeds a loss, not an activation: Glorot keeps its logits of unit scale.
            nn.init.xavier_uniform_(output.weight)
            nn.init.zeros_(output.bias)
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
