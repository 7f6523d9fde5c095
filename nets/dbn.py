"""Deep belief network: a stack of RBMs pretrained greedily, layer by layer (Hinton, Osindero and Teh 2006).

Each RBM is trained (with ``nets.fit``) on the hidden probabilities of the one below; the stack then becomes
the initial weights of a sigmoid MLP classifier (:meth:`DBN.to_mlp`) or of a feature torso for a Q-network
(:meth:`DBN.torso`), which backpropagation fine-tunes. The same stack is a generative model: Gibbs sampling in
the top RBM followed by one top-down pass through the lower layers (:meth:`DBN.sample`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from nets.data import Data, batches, prepare
from nets.fit import fit
from nets.mlp import MLP
from nets.rbm import RBM
from nets.registry import NetsError, register

__all__ = ["DBN"]


@register("dbn")
class DBN(nn.Module):
    """Stack of RBMs with widths ``layers = [V, H1, H2, ...]``: float32 [B, V] -> top features float32 [B, H_L].

    :param layers: visible width followed by the hidden width of each RBM (at least two entries).
    :param visible_type: unit type of the bottom RBM's visible layer ("bernoulli" or "gaussian"); every layer
        above sees hidden probabilities in [0, 1] and is Bernoulli.
    :param k: Gibbs steps per CD update.
    :param persistent: train each RBM with persistent CD instead of CD-k.
    """

    def __init__(
        self, layers: Sequence[int], visible_type: str = "bernoulli", k: int = 1, persistent: bool = False
    ) -> None:
        super().__init__()
        if len(layers) < 2:
            raise NetsError(f"a DBN needs layers [visible, hidden, ...] with at least two widths, got {list(layers)}")
        self.layers = list(layers)
        self.rbms = nn.ModuleList(
            RBM(v, h, visible_type if i == 0 else "bernoulli", k=k, persistent=persistent)
            for i, (v, h) in enumerate(zip(self.layers[:-1], self.layers[1:]))
        )

    def pretrain(self, data: Data, epochs: int = 10, **fit_kwargs: Any) -> list[dict[str, list[float]]]:
        """Greedy layer-wise pretraining: ``nets.fit`` each RBM on the hidden probabilities of the layer below.

        :param data: visible vectors float32 [N, V] in any form ``nets.fit`` accepts (tensor, numpy array, Dataset,
            DataLoader; the first tensor of each batch is the input). The bottom RBM trains on ``data`` as given;
            the layers above on its features, computed once per layer and held in memory.
        :param fit_kwargs: passed to ``nets.fit`` for every layer (``lr``, ``batch_size``, ``optimizer``...).
        :returns: one fit history per RBM, bottom first.
        """
        histories = []
        features = data
        for rbm in self.rbms:
            histories.append(fit(rbm, features, epochs=epochs, **fit_kwargs))
            # Hidden probabilities, not samples, feed the next layer: less noise for the same expected input.
            features = self._hidden_probs(rbm, features, fit_kwargs.get("batch_size", 64))
        return histories

    @staticmethod
    @torch.no_grad()
    def _hidden_probs(rbm: RBM, data: Data, batch_size: int) -> torch.Tensor:
        """``rbm``'s hidden probabilities of every example in ``data``, float32 [N, H], in data order."""
        device, dtype = rbm.weight.device, rbm.weight.dtype
        prepared = prepare(data, "data", dtype)
        if isinstance(prepared, tuple):  # in memory: one pass over the whole tensor
            return rbm.transform(prepared[0].to(device))
        return torch.cat([rbm.transform(batch[0]) for batch in batches(prepared, batch_size, None, device, dtype)])

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        """Deterministic bottom-up pass of hidden probabilities: float32 [B, V] -> float32 [B, H_L]."""
        for rbm in self.rbms:
            v = rbm.hidden_probs(v)
        return v

    @torch.no_grad()
    def transform(self, v: torch.Tensor) -> torch.Tensor:
        """Top-layer features, float32 [B, V] -> float32 [B, H_L], no grad."""
        return self(v)

    def to_mlp(self, num_classes: int) -> MLP:
        """A sigmoid ``nets.MLP`` classifier ``[B, V] -> logits [B, num_classes]`` whose hidden layers are the RBMs.

        The output layer is freshly initialised; fine-tune the whole network with ``nets.fit``.
        """
        return self._copy_into(MLP(self.layers[0], self.layers[1:], num_classes, activation="sigmoid"))

    def torso(self) -> MLP:
        """A sigmoid ``nets.MLP`` feature torso ``[B, V] -> [B, H_L]`` (no output layer), e.g. under a Q head."""
        return self._copy_into(MLP(self.layers[0], self.layers[1:], None, activation="sigmoid"))

    @torch.no_grad()
    def sample(self, num_samples: int, steps: int = 1000, generator: torch.Generator | None = None) -> torch.Tensor:
        """Generate float32 [N, V]: Gibbs sampling in the top RBM, then top-down means through the layers below."""
        h = self.rbms[-1].sample(num_samples, steps, generator)
        for rbm in reversed(self.rbms[:-1]):
            h = rbm.visible_mean(h)
        return h

    def _copy_into(self, mlp: MLP) -> MLP:
        """Copy each RBM's recognition weights (``v -> p(h | v)``) into the MLP's linear layers, bottom first."""
        linears = [m for m in mlp.modules() if isinstance(m, nn.Linear)]
        with torch.no_grad():
            for rbm, linear in zip(self.rbms, linears):
                weight, bias = rbm.recognition_weights()
                linear.weight.copy_(weight)
                linear.bias.copy_(bias)
        return mlp.to(self.rbms[0].weight.device)
