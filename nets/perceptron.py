"""Rosenblatt's perceptron (mistake-driven rule) and a multi-output linear unit trained by the delta rule.

Neither is trained by backpropagation through a loss: each has its own ``learn`` method that applies
the classic update rule, so the lectures' guarantees (the perceptron's mistake bound, the delta rule's
convergence to least squares) can be checked directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from nets.registry import NetsError, check_shape, register

__all__ = ["LinearUnit", "Perceptron", "PerceptronHistory"]


@dataclass
class PerceptronHistory:
    """What :meth:`Perceptron.learn` did: total mistakes (= updates), passes made, and whether the
    last pass was mistake-free."""

    mistakes: int = 0
    epochs: int = 0
    converged: bool = False
    mistakes_per_epoch: list[int] = field(default_factory=list)


@register("perceptron")
class Perceptron(nn.Module):
    """Binary linear threshold unit ``float32 [B, F] -> float32 [B]`` with values in {-1, +1}.

    Rosenblatt's rule: predict ``sign(w.x + b)``; on a mistake (``y (w.x + b) <= 0``) set
    ``w += lr * y * x`` and ``b += lr * y``. On data separable with margin gamma by a unit vector,
    with ``||x|| <= 1`` and ``bias=False``, it makes at most ``1 / gamma**2`` mistakes (Novikoff 1962);
    with a bias the bound holds for the inputs extended by a constant 1.
    The weights are buffers, not parameters: no gradient-based optimiser should touch them.
    """

    def __init__(self, in_features: int, bias: bool = True) -> None:
        super().__init__()
        self.in_features = in_features
        self.register_buffer("weight", torch.zeros(in_features))
        self.register_buffer("bias", torch.zeros(()) if bias else None)

    def decision_function(self, x: torch.Tensor) -> torch.Tensor:
        """Signed score ``w.x + b``: ``float32 [B, F] -> float32 [B]``."""
        check_shape(x, (None, self.in_features), "Perceptron")
        score = x @ self.weight
        return score + self.bias if self.bias is not None else score

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class in {-1, +1} as ``float32 [B]`` (the weights' dtype); a score of exactly 0 counts as -1."""
        score = self.decision_function(x)
        return torch.where(score > 0, 1.0, -1.0).to(score.dtype)

    @torch.no_grad()
    def learn(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        lr: float = 1.0,
        max_epochs: int = 100,
        generator: torch.Generator | None = None,
    ) -> PerceptronHistory:
        """Cycle through ``x`` (``float32 [N, F]``) with labels ``y`` in {-1, +1} (``[N]``), updating on
        every mistake, until a pass makes none or ``max_epochs`` passes are done.

        :param generator: if given, visit the examples in a fresh random order each pass; else in order.
        """
        check_shape(x, (None, self.in_features), "Perceptron.learn")
        check_shape(y, (x.shape[0],), "Perceptron.learn labels")
        if not torch.all((y == 1) | (y == -1)):
            raise NetsError(f"Perceptron labels must be -1 or +1, got values {torch.unique(y).tolist()}")
        x, y = x.to(self.weight), y.to(self.weight)
        history = PerceptronHistory()
        for _ in range(max_epochs):
            order = torch.randperm(len(x), generator=generator) if generator is not None else range(len(x))
            mistakes = 0
            for i in order:
                if y[i] * self.decision_function(x[i : i + 1])[0] <= 0:
                    self.weight += lr * y[i] * x[i]
                    if self.bias is not None:
                        self.bias += lr * y[i]
                    mistakes += 1
            history.epochs += 1
            history.mistakes += mistakes
            history.mistakes_per_epoch.append(mistakes)
            if mistakes == 0:
                history.converged = True
                break
        return history


@register("linear_unit")
class LinearUnit(nn.Module):
    """Multi-output linear unit ``float32 [B, F] -> float32 [B, O]`` (ADALINE), trained by the delta rule.

    Delta (Widrow-Hoff, LMS) rule on a batch: ``W += lr * mean_b (t_b - y_b) x_b^T``, the gradient
    step on half the squared error, so it converges to the least-squares fit for a small enough ``lr``.
    For classification train on one-hot (or +-1) targets and take :meth:`classify`.
    """

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``float32 [B, F] -> float32 [B, O]``."""
        check_shape(x, (None, self.linear.in_features), "LinearUnit")
        return self.linear(x)

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """Index of the largest output, ``int64 [B]``."""
        return self(x).argmax(dim=-1)

    def delta_rule_step(self, x: torch.Tensor, target: torch.Tensor, lr: float) -> float:
        """One delta-rule update on a batch ``x`` ``float32 [B, F]``, ``target`` ``float32 [B, O]``;
        returns the mean squared error before the update."""
        return self._delta_rule_update(x, target, lr).item()

    @torch.no_grad()
    def _delta_rule_update(self, x: torch.Tensor, target: torch.Tensor, lr: float) -> torch.Tensor:
        """The update of :meth:`delta_rule_step`; the error stays a 0-dim tensor on the weights' device."""
        check_shape(target, (x.shape[0], self.linear.out_features), "LinearUnit targets")
        error = target - self(x)  # [B, O]
        self.linear.weight += lr * error.T @ x / len(x)
        self.linear.bias += lr * error.mean(dim=0)
        return error.square().mean()

    def learn(
        self,
        x: torch.Tensor,
        target: torch.Tensor,
        lr: float = 0.1,
        epochs: int = 100,
        batch_size: int | None = None,
        generator: torch.Generator | None = None,
    ) -> list[float]:
        """Delta-rule training over ``epochs`` passes (full batch by default); per-epoch mean squared errors
        (each the mean of the errors its batches had before their updates)."""
        batch_size = batch_size or len(x)
        losses = []
        for _ in range(epochs):
            order = torch.randperm(len(x), generator=generator).to(x.device)
            squared_error = sum(self._delta_rule_update(x[i], target[i], lr) * len(i) for i in order.split(batch_size))
            losses.append(squared_error / len(x))
        # One host read for the whole run instead of one per batch.
        return torch.stack(losses).tolist() if losses else []
