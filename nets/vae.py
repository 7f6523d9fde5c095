"""Variational autoencoder (Kingma and Welling 2014) with the importance-weighted bound of Burda et al. 2016.

The encoder outputs a diagonal Gaussian ``q(z | x)``; the decoder a Bernoulli (binary data) or Gaussian
(real data) ``p(x | z)``; the prior is ``N(0, I)``. Training maximises the evidence lower bound

    ELBO(x) = E_q[log p(x | z)] - KL(q(z | x) || p(z))  <=  log p(x)

with one reparameterised sample ``z = mu + sigma * eps``. The importance-weighted bound with k samples,
``log mean_i p(x, z_i) / q(z_i | x)``, lies between the ELBO (k = 1) and log p(x) and tightens as k grows.
All bounds are in nats per example.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from nets.mlp import MLP
from nets.registry import NetsError, check_shape, register

__all__ = ["DECODERS", "VAE", "gaussian_kl"]

DECODERS = ("bernoulli", "gaussian")
LOG_2PI = math.log(2 * math.pi)


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """``KL(N(mu, exp(logvar)) || N(0, I))`` summed over the last dim: float32 [B, Z] -> float32 [B], >= 0."""
    return 0.5 * (mu**2 + logvar.exp() - 1.0 - logvar).sum(dim=-1)


def _gaussian_log_density(x: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """``log N(x; mean, exp(logvar))`` summed over the last dim: [..., D] -> [...]."""
    return -0.5 * (LOG_2PI + logvar + (x - mean) ** 2 / logvar.exp()).sum(dim=-1)


@register("vae")
class VAE(nn.Module):
    """VAE ``float32 [B, F] -> q(z | x) with z in R^latent -> p(x | z)``.

    :param in_features: data width F.
    :param hidden: encoder hidden widths (the decoder uses them reversed).
    :param latent: latent width Z.
    :param decoder: "bernoulli" (data in {0, 1}, or [0, 1] read as probabilities) or "gaussian" (real data;
        one learned log-variance per feature).
    :param activation: hidden activation, any of ``nets.mlp.ACTIVATIONS``.
    """

    def __init__(
        self,
        in_features: int,
        hidden: Sequence[int] = (128,),
        latent: int = 8,
        decoder: str = "bernoulli",
        activation: str = "relu",
    ) -> None:
        super().__init__()
        if decoder not in DECODERS:
            raise NetsError(f"unknown decoder {decoder!r}; choices: {list(DECODERS)}")
        self.in_features, self.latent, self.decoder_type = in_features, latent, decoder
        self.encoder = MLP(in_features, list(hidden), 2 * latent, activation=activation)
        self.decoder = MLP(latent, list(hidden)[::-1], in_features, activation=activation)
        if decoder == "gaussian":
            self.decoder_logvar = nn.Parameter(torch.zeros(in_features))

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior parameters: float32 [B, F] -> (mu [B, Z], logvar [B, Z])."""
        check_shape(x, [None, self.in_features], "VAE")
        mu, logvar = self.encoder(x).chunk(2, dim=-1)
        return mu, logvar

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Decoder mean ``E[x | z]``: float32 [..., Z] -> float32 [..., F] (probabilities for Bernoulli)."""
        raw = self.decoder(z)
        return torch.sigmoid(raw) if self.decoder_type == "bernoulli" else raw

    def log_likelihood(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """``log p(x | z)``: x float32 [..., F], z float32 [..., Z] (broadcast) -> float32 [...] nats."""
        raw = self.decoder(z)
        if self.decoder_type == "bernoulli":
            x = x.expand_as(raw)
            return -F.binary_cross_entropy_with_logits(raw, x, reduction="none").sum(dim=-1)
        return _gaussian_log_density(x, raw, self.decoder_logvar)

    def elbo(self, x: torch.Tensor, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """One-sample ELBO and its parts for x float32 [B, F], each float32 [B] in nats.

        Returns ``{"elbo", "recon" (= E_q log p(x | z), one sample), "kl"}`` with ``elbo = recon - kl``.
        """
        mu, logvar = self.encode(x)
        z = mu + (0.5 * logvar).exp() * self._noise(mu.shape, mu, generator)
        recon = self.log_likelihood(x, z)
        kl = gaussian_kl(mu, logvar)
        return {"elbo": recon - kl, "recon": recon, "kl": kl}

    @torch.no_grad()
    def iwae_bound(self, x: torch.Tensor, k: int = 50, generator: torch.Generator | None = None) -> torch.Tensor:
        """Importance-weighted lower bound on log p(x) with k samples: float32 [B, F] -> float32 [B] nats.

        ``log (1/k) sum_i p(x | z_i) p(z_i) / q(z_i | x)`` with ``z_i ~ q(z | x)``; k = 1 estimates the ELBO
        (with a sampled instead of an analytic KL). Memory grows as k * B * F: split large sets into batches.
        """
        if k < 1:
            raise NetsError(f"iwae_bound needs k >= 1 importance samples, got {k}")
        mu, logvar = self.encode(x)
        z = mu + (0.5 * logvar).exp() * self._noise((k, *mu.shape), mu, generator)  # [k, B, Z]
        log_prior = _gaussian_log_density(z, torch.zeros_like(z), torch.zeros_like(z))
        log_posterior = _gaussian_log_density(z, mu, logvar)
        log_weights = self.log_likelihood(x, z) + log_prior - log_posterior  # [k, B]
        return torch.logsumexp(log_weights, dim=0) - math.log(k)

    def loss(self, batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, dict[str, float]]:
        """Negative ELBO averaged over ``batch[0]`` float32 [B, F]; its two parts as metrics, nats per example."""
        parts = self.elbo(batch[0])
        return -parts["elbo"].mean(), {"kl": parts["kl"].mean().item(), "recon_nll": -parts["recon"].mean().item()}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Deterministic reconstruction ``E[x | z = mu(x)]``: float32 [B, F] -> float32 [B, F]."""
        return self.reconstruct(x)

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Decoder mean at the posterior mean: float32 [B, F] -> float32 [B, F]."""
        return self.decode(self.encode(x)[0])

    @torch.no_grad()
    def transform(self, x: torch.Tensor) -> torch.Tensor:
        """Features for a downstream model: the posterior mean, float32 [B, F] -> float32 [B, Z], no grad."""
        return self.encode(x)[0]

    @torch.no_grad()
    def sample(self, num_samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Decoder means of ``num_samples`` prior draws ``z ~ N(0, I)``: float32 [N, F]."""
        parameter = next(self.parameters())  # for the model's device and dtype
        return self.decode(self._noise((num_samples, self.latent), parameter, generator))

    @staticmethod
    def _noise(shape: Sequence[int], like: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        return torch.randn(tuple(shape), generator=generator, device=like.device, dtype=like.dtype)
