"""Convolutional networks: LeNet-5 classifier, Nature-DQN torso, residual tower and AlphaZero policy-value net."""

from __future__ import annotations

import torch
from torch import nn

from nets.heads import PolicyValueHead
from nets.mlp import init_linear, make_activation
from nets.registry import NetsError, check_shape, register

__all__ = ["POOLS", "LeNet5", "NatureCNN", "PolicyValueNet", "ResidualBlock", "ResidualTower"]

POOLS = {"max": nn.MaxPool2d, "avg": nn.AvgPool2d}


def _as_float_image(x: torch.Tensor) -> torch.Tensor:
    """uint8 pixels in [0, 255] -> float32 in [0, 1]; float input passes unchanged."""
    return x.float().div_(255.0) if x.dtype == torch.uint8 else x


def _flat_size(torso: nn.Module, in_channels: int, height: int, width: int) -> int:
    with torch.no_grad():
        return torso(torch.zeros(1, in_channels, height, width)).numel()


@register("lenet5")
class LeNet5(nn.Module):
    """LeNet-5-style classifier (LeCun et al. 1998): two conv+pool stages, then 120-84-classes.

    ``float32 [B, C, H, W]`` (or uint8, scaled by 1/255) -> class logits ``float32 [B, num_classes]``.
    Works for 28x28 digits (classic layout: 5x5 convs, the first padded) and for small images such
    as sklearn's 8x8 digits, where both convs are padded so the map survives two poolings.

    :param pool: "max" or "avg" (LeNet-5 itself used average-style subsampling).
    :param activation: activation after every conv and hidden linear layer (see ``nets.mlp.ACTIVATIONS``).
    """

    def __init__(
        self,
        in_channels: int = 1,
        image_size: int = 28,
        num_classes: int = 10,
        pool: str = "max",
        activation: str = "relu",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if pool not in POOLS:
            raise NetsError(f"unknown pool {pool!r}; choices: {sorted(POOLS)}")
        if image_size < 8:
            raise NetsError(f"LeNet5 needs images of at least 8x8, got image_size={image_size}")
        self.input_shape = (in_channels, image_size, image_size)
        # Below ~20 pixels an unpadded 5x5 conv after the first pooling would shrink the map to nothing.
        second_padding = 0 if image_size >= 20 else 2
        conv1 = nn.Conv2d(in_channels, 6, 5, padding=2)
        conv2 = nn.Conv2d(6, 16, 5, padding=second_padding)
        init_linear(conv1, None)
        init_linear(conv2, activation)
        self.features = nn.Sequential(
            conv1, make_activation(activation), POOLS[pool](2),
            conv2, make_activation(activation), POOLS[pool](2),
            nn.Flatten(),
        )  # fmt: skip
        fc1 = nn.Linear(_flat_size(self.features, *self.input_shape), 120)
        fc2 = nn.Linear(120, 84)
        output = nn.Linear(84, num_classes)
        for linear in (fc1, fc2, output):
            init_linear(linear, activation)
        self.classifier = nn.Sequential(
            fc1, make_activation(activation), nn.Dropout(dropout),
            fc2, make_activation(activation), nn.Dropout(dropout),
            output,
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``float32`` or ``uint8 [B, C, H, W]`` -> class logits ``float32 [B, num_classes]``."""
        check_shape(x, (None, *self.input_shape), "LeNet5")
        return self.classifier(self.features(_as_float_image(x)))


@register("nature_cnn")
class NatureCNN(nn.Module):
    """The DQN torso of Mnih et al. 2015: 32x8x8/4, 64x4x4/2, 64x3x3/1 convs, then a ReLU linear layer.

    uint8 ``[B, C, 84, 84]`` (scaled by 1/255 here, so replay can store bytes) or float in [0, 1]
    -> ``float32 [B, out_features]``.
    """

    def __init__(self, in_channels: int = 4, out_features: int = 512, image_size: int = 84) -> None:
        super().__init__()
        self.input_shape = (in_channels, image_size, image_size)
        self.out_features = out_features
        self.convs = nn.Sequential(
            nn.Conv2d(in_channels, 32, 8, stride=4), nn.ReLU(),
            nn.Conv2d(32, 64, 4, stride=2), nn.ReLU(),
            nn.Conv2d(64, 64, 3, stride=1), nn.ReLU(),
            nn.Flatten(),
        )  # fmt: skip
        self.linear = nn.Sequential(nn.Linear(_flat_size(self.convs, *self.input_shape), out_features), nn.ReLU())
        first, *rest = (layer for layer in self.modules() if isinstance(layer, (nn.Conv2d, nn.Linear)))
        init_linear(first, None)
        for layer in rest:
            init_linear(layer, "relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``uint8`` or ``float32 [B, C, 84, 84]`` -> features ``float32 [B, out_features]`` (after a ReLU)."""
        check_shape(x, (None, *self.input_shape), "NatureCNN")
        return self.linear(self.convs(_as_float_image(x)))


class ResidualBlock(nn.Module):
    """conv-BN-ReLU-conv-BN plus the input, then ReLU (He et al. 2016). ``[B, C, H, W] -> [B, C, H, W]``."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels), nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels),
        )  # fmt: skip
        # Zero-init of the last BN scale starts every block as the identity, which trains deep towers faster.
        nn.init.zeros_(self.body[-1].weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.body(x))


@register("residual_tower")
class ResidualTower(nn.Module):
    """AlphaZero's trunk: a 3x3 conv stem then ``blocks`` residual blocks, all ``channels`` wide.

    ``float32 [B, in_channels, H, W] -> float32 [B, channels, H, W]`` for any board size.
    """

    def __init__(self, in_channels: int, channels: int = 64, blocks: int = 5) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.channels = channels
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels), nn.ReLU()
        )
        self.blocks = nn.Sequential(*(ResidualBlock(channels) for _ in range(blocks)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``float32 [B, in_channels, H, W]`` -> ``float32 [B, channels, H, W]``."""
        check_shape(x, (None, self.in_channels, None, None), "ResidualTower")
        return self.blocks(self.stem(x))


@register("policy_value_net")
class PolicyValueNet(nn.Module):
    """Residual tower plus policy and value heads, for AlphaZero on board games.

    ``float32 [B, in_channels, height, width]`` -> ``(policy_logits float32 [B, A], value float32 [B] in [-1, 1])``;
    the value is from the point of view of the player to move.
    """

    def __init__(
        self,
        in_channels: int,
        height: int,
        width: int,
        num_actions: int,
        channels: int = 64,
        blocks: int = 5,
        value_hidden: int = 64,
    ) -> None:
        super().__init__()
        self.input_shape = (in_channels, height, width)
        self.num_actions = num_actions
        self.tower = ResidualTower(in_channels, channels, blocks)
        self.head = PolicyValueHead(channels, height, width, num_actions, value_hidden)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``float32 [B, C, H, W]`` -> (policy logits ``float32 [B, A]``, value ``float32 [B]`` in [-1, 1])."""
        check_shape(x, (None, *self.input_shape), "PolicyValueNet")
        return self.head(self.tower(x))
