"""Undercomplete and denoising autoencoders, usable as feature extractors.

A denoising autoencoder (Vincent et al. 2008) corrupts its input during training and learns to reconstruct the
clean input, which forces it to learn the structure of the data instead of the identity map; an undercomplete
autoencoder gets the same pressure from a code narrower than the input.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from nets.mlp import MLP
from nets.registry import NetsError, register

__all__ = ["CORRUPTIONS", "OUTPUTS", "AutoEncoder", "corrupt"]

CORRUPTIONS = ("none", "mask", "gaussian")
OUTPUTS = ("sigmoid", "linear")


def corrupt(x: torch.Tensor, kind: str, level: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Corrupt a batch: float32 [B, F] -> float32 [B, F].

    :param kind: "mask" sets each input to 0 with probability ``level`` (masking noise); "gaussian" adds
        ``level * N(0, 1)`` noise; "none" returns ``x`` unchanged.
    :param level: drop probability (mask) or noise standard deviation (gaussian).
    """
    if kind not in CORRUPTIONS:
        raise NetsError(f"unknown corruption {kind!r}; choices: {list(CORRUPTIONS)}")
    if kind == "mask":
        keep = torch.bernoulli(torch.full_like(x, 1.0 - level), generator=generator)
        return x * keep
    if kind == "gaussian":
        return x + level * torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    return x


@register("autoencoder")
class AutoEncoder(nn.Module):
    """Autoencoder ``float32 [B, F] -> code [B, latent] -> reconstruction [B, F]``, plain or denoising.

    Encoder and decoder are MLPs with mirrored hidden widths and a linear code. With ``output="sigmoid"``
    the decoder emits probabilities and the loss is binary cross-entropy (data in [0, 1]); with
    ``output="linear"`` it emits real values and the loss is mean squared error.

    :param in_features: input width F.
    :param hidden: encoder hidden widths (the decoder uses them reversed).
    :param latent: code width; must be below ``in_features`` unless the input is corrupted, because an
        uncorrupted code at least as wide as the input can learn the identity.
    :param activation: hidden activation, any of ``nets.mlp.ACTIVATIONS``.
    :param output: "sigmoid" or "linear" reconstruction.
    :param corruption: "none" (undercomplete AE), "mask" or "gaussian" (denoising AE); applied in training only.
    :param noise_level: mask probability or Gaussian standard deviation of the corruption.
    """

    def __init__(
        self,
        in_features: int,
        hidden: Sequence[int] = (128,),
        latent: int = 16,
        activation: str = "relu",
        output: str = "sigmoid",
        corruption: str = "none",
        noise_level: float = 0.0,
    ) -> None:
        super().__init__()
        if output not in OUTPUTS:
            raise NetsError(f"unknown output {output!r}; choices: {list(OUTPUTS)}")
        if corruption not in CORRUPTIONS:
            raise NetsError(f"unknown corruption {corruption!r}; choices: {list(CORRUPTIONS)}")
        if corruption == "none" and latent >= in_features:
            raise NetsError(
                f"latent={latent} >= in_features={in_features} without corruption can learn the identity; "
                f"use latent < {in_features} or corruption 'mask' / 'gaussian'"
            )
        if corruption == "mask" and not 0.0 <= noise_level < 1.0:
            raise NetsError(f"mask noise_level is a drop probability in [0, 1), got {noise_level}")
        if noise_level < 0:
            raise NetsError(f"noise_level must be >= 0, got {noise_level}")
        self.in_features, self.latent = in_features, latent
        self.output, self.corruption, self.noise_level = output, corruption, noise_level
        self.encoder = MLP(in_features, list(hidden), latent, activation=activation)
        self.decoder = MLP(latent, list(hidden)[::-1], in_features, activation=activation)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Code of the (uncorrupted) input: float32 [B, F] -> float32 [B, latent]."""
        return self.encoder(x)

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        """Reconstruction from a code: float32 [B, latent] -> float32 [B, F]."""
        return self._output(self.decoder(code))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruction of ``x`` without corruption: float32 [B, F] -> float32 [B, F]."""
        return self.decode(self.encode(x))

    @torch.no_grad()
    def transform(self, x: torch.Tensor) -> torch.Tensor:
        """Features for a downstream model: the code, float32 [B, F] -> float32 [B, latent], no grad."""
        return self.encode(x)

    def loss(self, batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, dict[str, float]]:
        """Reconstruction loss of the clean ``batch[0]`` from its corruption (corrupted in training mode only)."""
        x = batch[0]
        x_in = corrupt(x, self.corruption, self.noise_level) if self.training else x
        raw = self.decoder(self.encode(x_in))
        if self.output == "sigmoid":
            loss = F.binary_cross_entropy_with_logits(raw, x)
        else:
            loss = F.mse_loss(raw, x)
        with torch.no_grad():
            recon_mse = F.mse_loss(self._output(raw), x).item()
        return loss, {"recon_mse": recon_mse}

    def _output(self, raw: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(raw) if self.output == "sigmoid" else raw
