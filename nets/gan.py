"""Generative adversarial networks (Goodfellow et al. 2014): MLP and DCGAN-style convolutional pairs.

The discriminator D outputs a logit ``l``, ``D(x) = sigmoid(l)``. It minimises
``-log D(x) - log(1 - D(G(z)))``. The generator either minimises ``log(1 - D(G(z)))`` (the original
minimax loss, whose gradient vanishes exactly when D confidently rejects the samples, early in training) or
the non-saturating ``-log D(G(z))``, which has the same fixed point and strong gradients early on.
In logits: ``-log sigmoid(l) = softplus(-l)`` and ``log(1 - sigmoid(l)) = -softplus(l)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from nets.mlp import MLP
from nets.registry import NetsError, register

__all__ = [
    "ARCHITECTURES",
    "GAN",
    "GENERATOR_LOSSES",
    "ConvDiscriminator",
    "ConvGenerator",
    "discriminator_loss",
    "generator_loss",
]

ARCHITECTURES = ("mlp", "conv")
GENERATOR_LOSSES = ("non_saturating", "minimax")


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """``mean -log D(x) + mean -log(1 - D(G(z)))`` from logits float32 [B] and [B'] -> scalar."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def generator_loss(fake_logits: torch.Tensor, kind: str = "non_saturating") -> torch.Tensor:
    """Generator loss from the discriminator's logits on samples, float32 [B] -> scalar.

    :param kind: "non_saturating" (``mean -log D(G(z))``) or "minimax" (``mean log(1 - D(G(z)))``).
    """
    if kind == "non_saturating":
        return F.softplus(-fake_logits).mean()
    if kind == "minimax":
        return -F.softplus(fake_logits).mean()
    raise NetsError(f"unknown generator loss {kind!r}; choices: {list(GENERATOR_LOSSES)}")


def _upsamplings(image_size: int) -> int:
    """Number of 2x resolution steps between a 4x4 map and ``image_size`` (a power of two >= 8)."""
    steps = round(math.log2(image_size / 4)) if image_size >= 8 else 0
    if steps < 1 or 4 * 2**steps != image_size:
        raise NetsError(f"conv GAN image_size must be a power of two >= 8 (8, 16, 32, 64...), got {image_size}")
    return steps


class ConvGenerator(nn.Module):
    """DCGAN generator: z float32 [B, Z] -> images float32 [B, C, S, S] in (-1, 1).

    A linear layer makes a 4x4 map, then stride-2 transposed convs (BatchNorm + ReLU) double the size and halve
    the channels until S; a 3x3 conv and tanh give the image (Radford et al. 2016).
    """

    def __init__(self, latent: int, out_channels: int, image_size: int, channels: int = 64) -> None:
        super().__init__()
        steps = _upsamplings(image_size)
        width = channels * 2 ** (steps - 1)
        self.project = nn.Sequential(nn.Linear(latent, width * 16), nn.Unflatten(1, (width, 4, 4)))
        layers: list[nn.Module] = [nn.BatchNorm2d(width), nn.ReLU()]
        for _ in range(steps):
            out = max(width // 2, channels // 2)
            layers += [nn.ConvTranspose2d(width, out, 4, stride=2, padding=1), nn.BatchNorm2d(out), nn.ReLU()]
            width = out
        layers += [nn.Conv2d(width, out_channels, 3, padding=1), nn.Tanh()]
        self.body = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.body(self.project(z))


class ConvDiscriminator(nn.Module):
    """DCGAN discriminator: images float32 [B, C, S, S] -> logits float32 [B].

    Stride-2 convs with LeakyReLU(0.2) halve the size down to 4x4 (BatchNorm on all but the first), then a
    linear layer gives the logit.
    """

    def __init__(self, in_channels: int, image_size: int, channels: int = 64) -> None:
        super().__init__()
        steps = _upsamplings(image_size)
        layers: list[nn.Module] = []
        width_in, width = in_channels, channels
        for step in range(steps):
            layers.append(nn.Conv2d(width_in, width, 4, stride=2, padding=1))
            if step > 0:
                layers.append(nn.BatchNorm2d(width))
            layers.append(nn.LeakyReLU(0.2))
            width_in, width = width, width * 2
        layers += [nn.Flatten(), nn.Linear(width_in * 16, 1)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).squeeze(-1)


class _MLPDiscriminator(nn.Module):
    """MLP discriminator over flattened data: float32 [B, *data_shape] -> logits float32 [B]."""

    def __init__(self, in_features: int, hidden: Sequence[int], dropout: float) -> None:
        super().__init__()
        # DCGAN's D uses LeakyReLU so that G gets gradients through negative pre-activations too; nets.MLP has
        # no LeakyReLU and ELU has the same property.
        self.net = MLP(in_features, list(hidden), 1, activation="elu", dropout=dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1)).squeeze(-1)


@register("gan")
class GAN(nn.Module):
    """A generator and a discriminator trained against each other; ``forward(z)`` generates.

    :param data_shape: shape of one example: ``[F]`` for an MLP GAN, ``[C, S, S]`` for a conv GAN (also accepted
        by the MLP GAN, which flattens it).
    :param latent: width Z of the standard normal noise z.
    :param architecture: "mlp" or "conv" (DCGAN-style; square images, S a power of two >= 8).
    :param hidden: hidden widths of the MLP generator (the discriminator uses them reversed).
    :param channels: base channel count of the conv pair.
    :param output: generator output "tanh" (data scaled to [-1, 1]) or "linear" (unbounded data); conv is tanh.
    :param generator_loss: "non_saturating" or "minimax".
    :param dropout: dropout in the MLP discriminator, which slows it down and helps against mode collapse.
    """

    def __init__(
        self,
        data_shape: Sequence[int],
        latent: int = 32,
        architecture: str = "mlp",
        hidden: Sequence[int] = (128, 128),
        channels: int = 32,
        output: str = "tanh",
        generator_loss: str = "non_saturating",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if architecture not in ARCHITECTURES:
            raise NetsError(f"unknown architecture {architecture!r}; choices: {list(ARCHITECTURES)}")
        if generator_loss not in GENERATOR_LOSSES:
            raise NetsError(f"unknown generator_loss {generator_loss!r}; choices: {list(GENERATOR_LOSSES)}")
        if output not in ("tanh", "linear"):
            raise NetsError(f"unknown output {output!r}; choices: ['tanh', 'linear']")
        self.data_shape, self.latent, self.generator_loss = tuple(data_shape), latent, generator_loss
        if architecture == "conv":
            if len(self.data_shape) != 3 or self.data_shape[1] != self.data_shape[2]:
                raise NetsError(f"conv GAN needs data_shape [C, S, S] of square images, got {list(data_shape)}")
            self.generator = ConvGenerator(latent, self.data_shape[0], self.data_shape[1], channels)
            self.discriminator = ConvDiscriminator(self.data_shape[0], self.data_shape[1], channels)
        else:
            features = math.prod(self.data_shape)
            tail = [nn.Tanh()] if output == "tanh" else []
            self.generator = nn.Sequential(MLP(latent, list(hidden), features), *tail, nn.Unflatten(1, self.data_shape))
            self.discriminator = _MLPDiscriminator(features, list(hidden)[::-1], dropout)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Generate: z float32 [B, Z] -> samples float32 [B, *data_shape]."""
        return self.generator(z)

    def noise(self, num_samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Standard normal latent codes float32 [N, Z] on the model's device."""
        device = next(self.parameters()).device
        return torch.randn(num_samples, self.latent, generator=generator, device=device)

    @torch.no_grad()
    def sample(self, num_samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``num_samples`` generated examples float32 [N, *data_shape], generator in eval mode."""
        was_training = self.generator.training
        self.generator.eval()
        samples = self.generator(self.noise(num_samples, generator))
        self.generator.train(was_training)
        return samples

    def configure_optimizers(self, lr: float) -> list[torch.optim.Optimizer]:
        """``[generator_optimizer, discriminator_optimizer]``: Adam with DCGAN's beta1 = 0.5."""
        return [
            torch.optim.Adam(self.generator.parameters(), lr=lr, betas=(0.5, 0.999)),
            torch.optim.Adam(self.discriminator.parameters(), lr=lr, betas=(0.5, 0.999)),
        ]

    def train_step(
        self, batch: tuple[torch.Tensor, ...], optimizers: Sequence[torch.optim.Optimizer]
    ) -> dict[str, float]:
        """One discriminator update then one generator update on real data ``batch[0]`` [B, *data_shape]."""
        generator_optimizer, discriminator_optimizer = optimizers
        real = batch[0]
        fake = self.generator(self.noise(real.shape[0]))

        real_logits = self.discriminator(real)
        fake_logits = self.discriminator(fake.detach())
        d_loss = discriminator_loss(real_logits, fake_logits)
        discriminator_optimizer.zero_grad(set_to_none=True)
        d_loss.backward()
        discriminator_optimizer.step()

        g_loss = generator_loss(self.discriminator(fake), self.generator_loss)
        generator_optimizer.zero_grad(set_to_none=True)
        g_loss.backward()
        generator_optimizer.step()
        return {
            "d_loss": d_loss.item(),
            "g_loss": g_loss.item(),
            "d_real": torch.sigmoid(real_logits).mean().item(),
            "d_fake": torch.sigmoid(fake_logits).mean().item(),
        }

    def evaluate(self, batch: tuple[torch.Tensor, ...]) -> dict[str, float]:
        """Discriminator and generator losses on held-out real data ``batch[0]``, no updates."""
        with torch.no_grad():
            real_logits = self.discriminator(batch[0])
            fake_logits = self.discriminator(self.generator(self.noise(batch[0].shape[0])))
            d_loss = discriminator_loss(real_logits, fake_logits).item()
            return {"loss": d_loss, "d_loss": d_loss, "g_loss": generator_loss(fake_logits, self.generator_loss).item()}
