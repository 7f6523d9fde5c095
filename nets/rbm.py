"""Restricted Boltzmann machines (Bernoulli-Bernoulli and Gaussian-Bernoulli) trained by contrastive divergence.

The RBM is an ordinary ``nn.Module``: the CD-k gradient of the negative log-likelihood equals the gradient of
``mean F(v_data) - mean F(v_negative)`` with the negative samples held fixed (F is the free energy), so
:meth:`RBM.loss` returns that difference and any torch optimiser (or ``nets.fit``) trains the machine.
Negative samples come from k Gibbs steps started at the data (CD-k) or from persistent chains that survive
between updates (PCD-k, Tieleman 2008): CD gives good features, PCD a much better sampler.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from nets.registry import NetsError, check_shape, register

__all__ = ["RBM", "VISIBLE_TYPES"]

VISIBLE_TYPES = ("bernoulli", "gaussian")


@register("rbm")
class RBM(nn.Module):
    """Restricted Boltzmann machine with V visible and H binary hidden units.

    Energies, with weights ``W`` [V, H], visible bias ``b`` [V], hidden bias ``c`` [H]:

    - Bernoulli visible units: ``E(v, h) = -b.v - c.h - v.W.h``
    - Gaussian visible units of fixed standard deviation ``sigma``:
      ``E(v, h) = |v - b|^2 / (2 sigma^2) - c.h - (v / sigma).W.h``. Standardise the data (zero mean, unit
      variance per feature) and keep ``sigma=1``: learning sigma as well is notoriously unstable.

    :param visible: number of visible units V.
    :param hidden: number of hidden units H.
    :param visible_type: "bernoulli" (data in [0, 1], read as probabilities) or "gaussian" (real data).
    :param k: Gibbs steps per negative sample (the k of CD-k / PCD-k).
    :param persistent: draw negatives from persistent chains (PCD) instead of chains restarted at the data.
    :param num_chains: number of persistent chains (ignored unless ``persistent``).
    :param sigma: standard deviation of Gaussian visible units (ignored for Bernoulli units).
    :param init_std: standard deviation of the initial weights (Hinton's guide: 0.01).
    """

    def __init__(
        self,
        visible: int,
        hidden: int,
        visible_type: str = "bernoulli",
        k: int = 1,
        persistent: bool = False,
        num_chains: int = 100,
        sigma: float = 1.0,
        init_std: float = 0.01,
    ) -> None:
        super().__init__()
        if visible_type not in VISIBLE_TYPES:
            raise NetsError(f"unknown visible_type {visible_type!r}; choices: {list(VISIBLE_TYPES)}")
        if k < 1:
            raise NetsError(f"k (Gibbs steps per update) must be >= 1, got {k}")
        if persistent and num_chains < 1:
            raise NetsError(f"num_chains must be >= 1 for persistent CD, got {num_chains}")
        if sigma <= 0:
            raise NetsError(f"sigma must be > 0, got {sigma}")
        self.visible, self.hidden = visible, hidden
        self.visible_type, self.k, self.persistent, self.sigma = visible_type, k, persistent, float(sigma)
        self.weight = nn.Parameter(torch.randn(visible, hidden) * init_std)
        self.visible_bias = nn.Parameter(torch.zeros(visible))
        self.hidden_bias = nn.Parameter(torch.zeros(hidden))
        # The persistent chains are a buffer so they move with .to(device) and are saved with the weights.
        start = self._random_visible(num_chains if persistent else 0, generator=None, device=None)
        self.register_buffer("chains", start)

    # -- conditionals -------------------------------------------------------------------------------------------

    def hidden_probs(self, v: torch.Tensor) -> torch.Tensor:
        """``p(h = 1 | v)``: float32 [B, V] -> float32 [B, H]."""
        check_shape(v, [None, self.visible], "RBM")
        return torch.sigmoid(self.hidden_bias + (v / self._scale) @ self.weight)

    def visible_mean(self, h: torch.Tensor) -> torch.Tensor:
        """``E[v | h]``: float32 [B, H] -> float32 [B, V] (probabilities for Bernoulli units)."""
        activation = h @ self.weight.t()
        if self.visible_type == "bernoulli":
            return torch.sigmoid(self.visible_bias + activation)
        return self.visible_bias + self.sigma * activation

    def sample_hidden(self, v: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """One binary sample of every hidden unit given v: float32 [B, V] -> float32 {0, 1} [B, H]."""
        return torch.bernoulli(self.hidden_probs(v), generator=generator)

    def sample_visible(self, h: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """One sample of every visible unit given h: float32 [B, H] -> float32 [B, V]."""
        mean = self.visible_mean(h)
        if self.visible_type == "bernoulli":
            return torch.bernoulli(mean, generator=generator)
        noise = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
        return mean + self.sigma * noise

    def gibbs(self, v: torch.Tensor, steps: int = 1, generator: torch.Generator | None = None) -> torch.Tensor:
        """Run ``steps`` full Gibbs sweeps v -> h -> v from ``v``: float32 [B, V] -> float32 [B, V] (samples)."""
        for _ in range(steps):
            v = self.sample_visible(self.sample_hidden(v, generator), generator)
        return v

    # -- energies and monitoring --------------------------------------------------------------------------------

    def recognition_weights(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The affine map inside ``p(h | v) = sigmoid(weight @ v + bias)`` as ``nn.Linear`` parameters.

        :returns: weight float32 [H, V] and bias float32 [H] (views of the RBM's parameters, scaled for Gaussian v).
        """
        return self.weight.t() / self._scale, self.hidden_bias

    def free_energy(self, v: torch.Tensor) -> torch.Tensor:
        """``F(v) = -log sum_h exp(-E(v, h))``: float32 [B, V] -> float32 [B] (nats, up to log Z)."""
        check_shape(v, [None, self.visible], "RBM")
        hidden_term = F.softplus(self.hidden_bias + (v / self._scale) @ self.weight).sum(dim=1)
        if self.visible_type == "bernoulli":
            return -(v @ self.visible_bias) - hidden_term
        return ((v - self.visible_bias) ** 2).sum(dim=1) / (2 * self.sigma**2) - hidden_term

    def reconstruction_error(self, v: torch.Tensor) -> torch.Tensor:
        """Mean squared error of the mean-field reconstruction ``E[v | p(h | v)]``: [B, V] -> float32 [B]."""
        return ((v - self.visible_mean(self.hidden_probs(v))) ** 2).mean(dim=1)

    def pseudo_log_likelihood(self, v: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Stochastic pseudo-log-likelihood of Bernoulli data: float32 [B, V] -> float32 [B] (nats).

        ``V * log p(v_i | v_-i)`` for one random unit i per row, where flipping unit i gives
        ``log p(v_i | v_-i) = log sigmoid(F(v_flipped) - F(v))``: an unbiased estimate of the sum over all units.
        """
        if self.visible_type != "bernoulli":
            raise NetsError("pseudo_log_likelihood is defined for visible_type 'bernoulli' only, not 'gaussian'")
        index = torch.randint(self.visible, (v.shape[0],), generator=generator, device=v.device)
        rows = torch.arange(v.shape[0], device=v.device)
        flipped = v.clone()
        flipped[rows, index] = 1 - flipped[rows, index]
        return self.visible * F.logsigmoid(self.free_energy(flipped) - self.free_energy(v))

    # -- training -----------------------------------------------------------------------------------------------

    def negatives(self, v: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Negative-phase samples for data ``v`` [B, V]: [B, V] for CD-k, [num_chains, V] for PCD-k (no grad).

        PCD advances the persistent chains in place.
        """
        with torch.no_grad():
            if not self.persistent:
                return self.gibbs(v, self.k, generator)
            self.chains.copy_(self.gibbs(self.chains, self.k, generator))
            return self.chains.clone()

    def loss(self, batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, dict[str, float]]:
        """CD-k / PCD-k surrogate loss ``mean F(v_data) - mean F(v_negative)`` for ``batch[0]`` float32 [B, V].

        Its value (the free-energy gap) is not a likelihood and drifts with the partition function; monitor
        ``recon_error`` and the pseudo-likelihood instead.
        """
        v = batch[0]
        v_negative = self.negatives(v)
        loss = self.free_energy(v).mean() - self.free_energy(v_negative).mean()
        with torch.no_grad():
            recon_error = self.reconstruction_error(v).mean().item()
        return loss, {"recon_error": recon_error}

    def evaluate(self, batch: tuple[torch.Tensor, ...]) -> dict[str, float]:
        """Validation figures on ``batch[0]``: reconstruction error as ``loss``, free energy, pseudo-likelihood."""
        v = batch[0]
        with torch.no_grad():
            metrics = {
                "loss": self.reconstruction_error(v).mean().item(),
                "free_energy": self.free_energy(v).mean().item(),
            }
            if self.visible_type == "bernoulli":
                metrics["pseudo_log_likelihood"] = self.pseudo_log_likelihood(v).mean().item()
        return metrics

    # -- using a trained machine --------------------------------------------------------------------------------

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        """Hidden probabilities: float32 [B, V] -> float32 [B, H]."""
        return self.hidden_probs(v)

    @torch.no_grad()
    def transform(self, v: torch.Tensor) -> torch.Tensor:
        """Features for a downstream model: hidden probabilities, float32 [B, V] -> float32 [B, H], no grad."""
        return self.hidden_probs(v)

    @torch.no_grad()
    def sample(self, num_samples: int, steps: int = 1000, generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw ``num_samples`` visible vectors by ``steps`` Gibbs sweeps from noise: float32 [N, V] (means)."""
        device = self.weight.device
        v = self.gibbs(self._random_visible(num_samples, generator, device), steps, generator)
        return self.visible_mean(self.hidden_probs(v))

    def _random_visible(self, n: int, generator: torch.Generator | None, device: torch.device | None) -> torch.Tensor:
        """Chain starting points: fair coin flips (Bernoulli) or standard normals (Gaussian), float32 [n, V]."""
        if self.visible_type == "bernoulli":
            return torch.bernoulli(torch.full((n, self.visible), 0.5, device=device), generator=generator)
        return torch.randn(n, self.visible, generator=generator, device=device)

    @property
    def _scale(self) -> float:
        return self.sigma if self.visible_type == "gaussian" else 1.0
