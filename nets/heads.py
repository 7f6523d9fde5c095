"""Reinforcement-learning heads: noisy linear layers, Q heads (dueling, noisy, C51) and a policy-value head."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from nets.registry import NetsError, check_shape, register

__all__ = ["NoisyLinear", "PolicyValueHead", "QHead", "reset_noise", "set_noise"]


@register("noisy_linear")
class NoisyLinear(nn.Module):
    """Linear layer with factorised Gaussian weight noise (Fortunato et al. 2018, "Noisy Networks").

    ``y = (mu_w + sigma_w * eps_w) x + mu_b + sigma_b * eps_b`` with ``eps_w = f(eps_out) f(eps_in)^T``,
    ``eps_b = f(eps_out)``, ``f(e) = sign(e) sqrt(|e|)``. The noise stays fixed until
    :meth:`reset_noise`; with the noise disabled (:meth:`set_noise`) the layer uses the means only.
    Noise is controlled explicitly, not by ``train()``/``eval()``, so an agent decides when it explores.

    ``float32 [..., in_features] -> float32 [..., out_features]``.
    """

    def __init__(self, in_features: int, out_features: int, sigma0: float = 0.5) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight_mu = nn.Parameter(torch.empty(out_features, in_features))
        self.weight_sigma = nn.Parameter(torch.empty(out_features, in_features))
        self.bias_mu = nn.Parameter(torch.empty(out_features))
        self.bias_sigma = nn.Parameter(torch.empty(out_features))
        # The noise is a sample, not state worth checkpointing: keep it out of the state_dict.
        self.register_buffer("eps_in", torch.zeros(in_features), persistent=False)
        self.register_buffer("eps_out", torch.zeros(out_features), persistent=False)
        self.noise_enabled = True
        bound = 1.0 / math.sqrt(in_features)
        nn.init.uniform_(self.weight_mu, -bound, bound)
        nn.init.uniform_(self.bias_mu, -bound, bound)
        nn.init.constant_(self.weight_sigma, sigma0 * bound)
        nn.init.constant_(self.bias_sigma, sigma0 * bound)
        self.reset_noise()

    def reset_noise(self, generator: torch.Generator | None = None) -> None:
        """Draw new factorised noise, ``eps_in`` then ``eps_out``, on the layer's device (a generator must be there)."""
        self.eps_in.copy_(_scaled_noise(self.eps_in, generator))
        self.eps_out.copy_(_scaled_noise(self.eps_out, generator))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``float32 [..., in_features] -> float32 [..., out_features]`` with the current noise sample."""
        if x.dim() == 0 or x.shape[-1] != self.in_features:
            raise NetsError(f"NoisyLinear expects input of shape [*, {self.in_features}], got {list(x.shape)}")
        if not self.noise_enabled:
            return F.linear(x, self.weight_mu, self.bias_mu)
        weight = self.weight_mu + self.weight_sigma * torch.outer(self.eps_out, self.eps_in)
        bias = self.bias_mu + self.bias_sigma * self.eps_out
        return F.linear(x, weight, bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, noise={self.noise_enabled}"


def _scaled_noise(like: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """``f(e) = sign(e) sqrt(|e|)`` of standard normal ``e``, shaped, typed and placed like ``like``."""
    noise = torch.randn(like.shape, dtype=like.dtype, device=like.device, generator=generator)
    return noise.sign() * noise.abs().sqrt()


def reset_noise(module: nn.Module, generator: torch.Generator | None = None) -> None:
    """Resample the noise of every :class:`NoisyLinear` inside ``module``."""
    for layer in module.modules():
        if isinstance(layer, NoisyLinear):
            layer.reset_noise(generator)


def set_noise(module: nn.Module, enabled: bool) -> None:
    """Switch the noise of every :class:`NoisyLinear` inside ``module`` on or off (off = mean weights)."""
    for layer in module.modules():
        if isinstance(layer, NoisyLinear):
            layer.noise_enabled = enabled


@register("q_head")
class QHead(nn.Module):
    """Q-value head for DQN and its Rainbow variants; the options combine freely.

    ``float32 [B, in_features]`` -> Q-values ``float32 [B, A]`` when ``num_atoms == 1``, else
    C51 atom logits ``float32 [B, A, K]`` (softmax over K gives each action's return distribution).

    :param hidden: width of a hidden layer in each stream (0: the streams are single linear layers).
    :param dueling: split into value and mean-centred advantage streams (Wang et al. 2016).
    :param noisy: use :class:`NoisyLinear` layers for exploration (Fortunato et al. 2018).
    :param num_atoms: K, the number of atoms of the categorical return distribution (Bellemare et al. 2017).
    :param sigma0: initial noise scale of the noisy layers.
    """

    def __init__(
        self,
        in_features: int,
        num_actions: int,
        hidden: int = 0,
        dueling: bool = False,
        noisy: bool = False,
        num_atoms: int = 1,
        sigma0: float = 0.5,
    ) -> None:
        super().__init__()
        if num_atoms < 1:
            raise NetsError(f"num_atoms must be >= 1, got {num_atoms}")
        self.in_features = in_features
        self.num_actions = num_actions
        self.num_atoms = num_atoms
        self.dueling = dueling
        self.advantage = _stream(in_features, hidden, num_actions * num_atoms, noisy, sigma0)
        self.value = _stream(in_features, hidden, num_atoms, noisy, sigma0) if dueling else None

    def streams(self, features: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor]:
        """Value ``[B, 1, K]`` (None unless dueling) and advantage ``[B, A, K]`` (mean-centred over A if dueling)."""
        check_shape(features, (None, self.in_features), "QHead")
        advantage = self.advantage(features).view(-1, self.num_actions, self.num_atoms)
        if self.value is None:
            return None, advantage
        value = self.value(features).view(-1, 1, self.num_atoms)
        # Centring makes V and A identifiable: Q = V + A - mean_a A (Wang et al. 2016, eq. 9).
        return value, advantage - advantage.mean(dim=1, keepdim=True)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """``float32 [B, in_features]`` -> Q-values ``[B, A]`` or, with atoms, logits ``[B, A, K]``."""
        value, advantage = self.streams(features)
        out = advantage if value is None else value + advantage
        return out.squeeze(-1) if self.num_atoms == 1 else out


def _stream(in_features: int, hidden: int, out_features: int, noisy: bool, sigma0: float) -> nn.Module:
    """One linear layer, or linear-ReLU-linear with ``hidden > 0``; noisy layers if asked."""

    def linear(i: int, o: int) -> nn.Module:
        return NoisyLinear(i, o, sigma0) if noisy else nn.Linear(i, o)

    if hidden == 0:
        return linear(in_features, out_features)
    return nn.Sequential(linear(in_features, hidden), nn.ReLU(), linear(hidden, out_features))


@register("policy_value_head")
class PolicyValueHead(nn.Module):
    """AlphaZero policy and value heads on a board-shaped feature map.

    ``float32 [B, C, H, W]`` -> ``(policy_logits float32 [B, A], value float32 [B] in [-1, 1])``.
    Policy: 1x1 conv to 2 planes, BN, ReLU, linear to A. Value: 1x1 conv to 1 plane, BN, ReLU,
    linear to ``value_hidden``, ReLU, linear to 1, tanh (Silver et al. 2017).
    """

    def __init__(self, channels: int, height: int, width: int, num_actions: int, value_hidden: int = 64) -> None:
        super().__init__()
        self.shape = (channels, height, width)
        self.policy = nn.Sequential(
            nn.Conv2d(channels, 2, 1, bias=False),
            nn.BatchNorm2d(2),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(2 * height * width, num_actions),
        )
        self.value = nn.Sequential(
            nn.Conv2d(channels, 1, 1, bias=False),
            nn.BatchNorm2d(1),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(height * width, value_hidden),
            nn.ReLU(),
            nn.Linear(value_hidden, 1),
            nn.Tanh(),
        )

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``float32 [B, C, H, W]`` -> (policy logits ``float32 [B, A]``, value ``float32 [B]`` in [-1, 1])."""
        check_shape(features, (None, *self.shape), "PolicyValueHead")
        return self.policy(features), self.value(features).squeeze(-1)
