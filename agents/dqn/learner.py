"""The DQN learner: one gradient step on a replay batch, target-network upkeep, PER priorities.

Variants are loss functions picked once at construction (expected-Q or C51, with or without
double Q), not subclasses. The update path stays on the learner's device: it returns detached
tensors and never calls ``.item()``, so a CUDA learner only synchronises when metrics are logged
or priorities are written back.

torch.compile / CUDA graphs: not used. On CPU the update of a Nature CNN at batch 32 is
dominated by the convolutions (compile gains little and costs ~1 min of compile time per run);
on a GPU a captured graph of the update would remove the per-kernel launch overhead and is the
next step to try there. MinAtar's network (minatar-dqn, batch 32, one core of the shared 2-core VM):
``torch.compile`` of the loss took 59 s to compile and gained nothing (median 16.0 vs 14.7 ms per update,
interleaved); a convolution written as unfold + matmul was no faster than ``nn.Conv2d`` either (7.8 vs 6.5 ms).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

import nets
from agents.dqn.config import DQNConfig
from agents.dqn.losses import (
    categorical_loss,
    categorical_target,
    q_learning_target,
    select_next_actions,
    td_loss,
)

__all__ = ["Learner", "make_loss", "make_optimizer"]

LossFn = Callable[[nn.Module, nn.Module, Any], tuple[torch.Tensor, torch.Tensor, torch.Tensor]]


def make_optimizer(cfg: DQNConfig, params) -> torch.optim.Optimizer:
    """Adam, or the Nature DQN's RMSProp (decay 0.95, centred; eps is added outside the square root
    in PyTorch but inside it in DeepMind's code, a small deviation)."""
    # foreach: one multi-tensor kernel per state update instead of a Python loop over parameters (PyTorch
    # picks it by default only for CUDA tensors); the same arithmetic, bit for bit.
    if cfg.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=cfg.lr, alpha=0.95, eps=cfg.adam_eps, centered=True, foreach=True)
    return torch.optim.Adam(params, lr=cfg.lr, eps=cfg.adam_eps, foreach=True)


def _online_values(online: nn.Module, obs_tm1: torch.Tensor, obs_t: torch.Tensor | None):
    """Online outputs at ``obs_tm1`` and, for double Q, at ``obs_t`` (no gradient).

    Two calls, not one on the concatenated batch: backward through a shared call would compute
    weight gradients over the detached half too, doubling the convolution backward cost on CPU.
    """
    if obs_t is None:
        return online(obs_tm1), None
    with torch.no_grad():
        out_t = online(obs_t)
    return online(obs_tm1), out_t


def expected_q_loss(double: bool, kind: str) -> LossFn:
    """(per-sample loss [B], priority [B], mean Q [B]) for expected-value DQN / double DQN."""

    def loss_fn(online: nn.Module, target: nn.Module, batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        q_tm1, q_t_online = _online_values(online, batch.obs, batch.next_obs if double else None)
        with torch.no_grad():
            q_t_target = target(batch.next_obs)
        a_t = select_next_actions(q_t_online if double else q_t_target)
        target_tm1 = q_learning_target(batch.reward, batch.discount, q_t_target, a_t)
        loss, td_error = td_loss(q_tm1, batch.action, target_tm1, kind)
        return loss, td_error.abs(), q_tm1.detach().max(dim=1).values

    return loss_fn


def categorical_q_loss(double: bool) -> LossFn:
    """(per-sample loss [B], priority [B], mean Q [B]) for C51; priorities are the cross-entropy (Rainbow)."""

    def loss_fn(online: nn.Module, target: nn.Module, batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        z = online.z
        logits_tm1, logits_t_online = _online_values(online, batch.obs, batch.next_obs if double else None)
        with torch.no_grad():
            logits_t_target = target(batch.next_obs)
        selector = logits_t_online if double else logits_t_target
        a_t = select_next_actions((selector.softmax(-1) * z).sum(-1))
        target_probs = categorical_target(batch.reward, batch.discount, logits_t_target, a_t, z)
        loss = categorical_loss(logits_tm1, batch.action, target_probs)
        q_tm1 = (logits_tm1.detach().softmax(-1) * z).sum(-1)
        return loss, loss.detach(), q_tm1.max(dim=1).values

    return loss_fn


def recurrent_q_loss(double: bool, kind: str, burn_in: int) -> LossFn:
    """Masked TD loss over sampled sequences (DRQN), with an R2D2 burn-in that gets no gradient.

    ``batch.obs [B, T+1, D]``, ``action/reward/discount/mask [B, T]``; the first ``burn_in`` steps
    only warm up the LSTM state of both networks.
    """

    def loss_fn(online: nn.Module, target: nn.Module, batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        B = batch.obs.shape[0]
        state_online = online.initial_state(B, batch.obs.device)
        state_target = target.initial_state(B, batch.obs.device)
        with torch.no_grad():
            if burn_in > 0:
                _, state_online = online(batch.obs[:, :burn_in], state_online)
                _, state_target = target(batch.obs[:, :burn_in], state_target)
            q_target, _ = target(batch.obs[:, burn_in:], state_target)  # [B, T+1-burn_in, A]
        q_online, _ = online(batch.obs[:, burn_in:], state_online)
        q_tm1, q_t_target = q_online[:, :-1], q_target[:, 1:]
        selector = q_online[:, 1:].detach() if double else q_t_target
        flat = _merge_batch_and_time
        a_t = select_next_actions(flat(selector))
        target_tm1 = q_learning_target(
            flat(batch.reward[:, burn_in:]), flat(batch.discount[:, burn_in:]), flat(q_t_target), a_t
        )
        loss, td_error = td_loss(flat(q_tm1), flat(batch.action[:, burn_in:]), target_tm1, kind)
        mask = flat(batch.mask[:, burn_in:]).to(loss.dtype)
        # One loss per sequence (mean over its valid steps) so weights and priorities stay per sample.
        per_seq = (loss * mask).reshape(B, -1).sum(1) / mask.reshape(B, -1).sum(1).clamp(min=1.0)
        priority = (td_error.abs() * mask).reshape(B, -1).amax(1)
        return per_seq, priority, flat(q_tm1).detach().max(1).values

    return loss_fn


def _merge_batch_and_time(x: torch.Tensor) -> torch.Tensor:
    """``[B, T, ...] -> [B * T, ...]``."""
    return x.reshape(-1, *x.shape[2:])


def make_loss(cfg: DQNConfig) -> LossFn:
    """The loss the config's variant learns with (also the Ray workers' initial PER priorities)."""
    if cfg.torso == "lstm":
        return recurrent_q_loss(cfg.double, cfg.loss, cfg.burn_in_steps)
    if cfg.num_atoms > 1:
        return categorical_q_loss(cfg.double)
    return expected_q_loss(cfg.double, cfg.loss)


class Learner:
    """Owns the online and target networks and the optimiser; ``update(batch)`` is one gradient step.

    :param network: the online Q-network (already on ``device``).
    """

    def __init__(self, cfg: DQNConfig, network: nn.Module, device: torch.device) -> None:
        self.cfg = cfg
        self.device = device
        self.online = network
        self.target = copy.deepcopy(network).requires_grad_(False)
        self.optimizer = make_optimizer(cfg, self.online.parameters())
        self.num_updates = 0
        # Target copies are specified in agent steps; the learner counts updates.
        self.target_period_updates = max(1, cfg.target_update_steps // cfg.train_every_steps)
        self.loss_fn = make_loss(cfg)

    def update(self, batch) -> dict[str, torch.Tensor]:
        """One step on ``batch`` (fields on ``self.device``); returns detached ``loss``, ``q``, ``priority [B]``."""
        if self.cfg.noisy:
            # Fresh noise per update for both nets (Fortunato et al. 2018 resample per replay batch).
            nets.reset_noise(self.online)
            nets.reset_noise(self.target)
        per_sample, priority, q = self.loss_fn(self.online, self.target, batch)
        # PER importance-sampling weights (sequence batches are sampled uniformly and carry none)
        weight = getattr(batch, "weight", None)
        loss = per_sample.mean() if weight is None else (per_sample * weight).mean()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.cfg.max_grad_norm > 0:
            nn.utils.clip_grad_norm_(self.online.parameters(), self.cfg.max_grad_norm, foreach=True)
        self.optimizer.step()
        self.num_updates += 1
        self._update_target()
        return {"loss": loss.detach(), "q": q.mean(), "priority": priority}

    def _update_target(self) -> None:
        if self.cfg.target_tau < 1.0:
            with torch.no_grad():
                for target_param, online_param in zip(self.target.parameters(), self.online.parameters()):
                    target_param.lerp_(online_param, self.cfg.target_tau)
        elif self.num_updates % self.target_period_updates == 0:
            self.target.load_state_dict(self.online.state_dict())

    def state_dict(self) -> dict[str, Any]:
        return {
            "online": self.online.state_dict(),
            "target": self.target.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "num_updates": self.num_updates,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.online.load_state_dict(state["online"])
        self.target.load_state_dict(state["target"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.num_updates = int(state["num_updates"])
