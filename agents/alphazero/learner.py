"""The AlphaZero learner: policy cross-entropy + value MSE + L2 on the residual policy-value net.

loss = -sum_a pi(a) log p(a)  +  w_v (z - v)^2  +  c ||theta||^2      (Silver et al. 2018)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .agent import make_game, make_network, resolve_inference_dtype
from .config import AlphaZeroConfig, apply_torch_threads
from .selfplay import Samples

__all__ = ["Learner", "alphazero_loss"]


def alphazero_loss(
    net: torch.nn.Module, batch: Samples, l2: float, value_loss_weight: float = 1.0, bfloat16: bool = False
) -> tuple[torch.Tensor, dict[str, float]]:
    """Scalar loss and its parts for a batch of S positions (observation [S, C, H, W], policy [S, A], value [S]).

    `bfloat16` runs the network under autocast; the loss itself is always computed in float32."""
    observation = batch.observation.float().contiguous(memory_format=torch.channels_last)
    with torch.autocast(observation.device.type, dtype=torch.bfloat16, enabled=bfloat16):
        logits, value = net(observation)
    logits, value = logits.float(), value.float()
    log_p = F.log_softmax(logits, dim=-1)
    # Targets are 0 on illegal actions, so the network learns to give them no mass without an explicit mask.
    policy_loss = -(batch.policy * log_p).sum(dim=-1).mean()
    value_loss = F.mse_loss(value, batch.value)
    # L2 on weight matrices and kernels only: penalising BatchNorm scales and biases only fights normalisation.
    l2_term = l2 * sum((p**2).sum() for p in net.parameters() if p.dim() > 1)
    loss = policy_loss + value_loss_weight * value_loss + l2_term
    target_entropy = -(batch.policy * torch.log(batch.policy.clamp(min=1e-12))).sum(dim=-1).mean()
    metrics = {
        "train/loss": loss.item(),
        "train/policy_loss": policy_loss.item(),
        "train/value_loss": value_loss.item(),
        "train/l2": l2_term.item(),
        "train/policy_kl": (policy_loss - target_entropy).item(),
    }
    return loss, metrics


class Learner:
    """Owns the training network and its optimiser; `update` takes one gradient step."""

    def __init__(self, config: AlphaZeroConfig):
        apply_torch_threads(config)
        self.config = config
        self.game = make_game(config)
        # channels-last: 3x3 convs on small boards run 1.5-3x faster on CPUs (and no slower on GPUs)
        self.net = make_network(config, self.game).to(memory_format=torch.channels_last)
        self.bfloat16 = resolve_inference_dtype(config.train_dtype, self.game.device) == "bfloat16"
        if config.optimizer == "sgd":
            self.optimizer = torch.optim.SGD(self.net.parameters(), lr=config.lr, momentum=config.momentum)
        else:
            self.optimizer = torch.optim.Adam(self.net.parameters(), lr=config.lr)
        self.num_updates = 0

    def update(self, batch: Samples) -> dict[str, float]:
        """One gradient step on a batch of positions; returns `train/` metrics."""
        self.net.train()
        loss, metrics = alphazero_loss(
            self.net, batch.to(self.game.device), self.config.l2, self.config.value_loss_weight, self.bfloat16
        )
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.num_updates += 1
        return metrics

    def get_weights(self) -> dict[str, torch.Tensor]:
        """A CPU copy of the network's state dict, for self-play workers."""
        return {k: v.detach().to("cpu", copy=True) for k, v in self.net.state_dict().items()}

    def state_dict(self) -> dict:
        return {"net": self.net.state_dict(), "optimizer": self.optimizer.state_dict(), "updates": self.num_updates}

    def load_state_dict(self, state: dict) -> None:
        self.net.load_state_dict(state["net"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.num_updates = state["updates"]
