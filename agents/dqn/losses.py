"""TD targets and losses of the DQN family as pure functions.

Naming follows DQN Zoo: ``tm1`` is the time step whose value is learnt, ``t`` the bootstrap
step n agent steps later. ``r_t`` is the n-step discounted reward sum and ``discount_t`` is
``gamma ** n`` (0 after a real termination), exactly what the replay buffer returns.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from rlkit.errors import RlkitError

__all__ = [
    "categorical_loss",
    "categorical_projection",
    "categorical_target",
    "expected_q",
    "q_learning_target",
    "select_next_actions",
    "support",
    "td_loss",
]


def support(v_min: float, v_max: float, num_atoms: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """Atom values ``float32 [K]`` evenly spaced on ``[v_min, v_max]``."""
    return torch.linspace(v_min, v_max, num_atoms, device=device)


def select_next_actions(q_t_selector: torch.Tensor) -> torch.Tensor:
    """Greedy next actions ``long [B]`` from ``float32 [B, A]``.

    For double Q-learning pass the *online* network's values, else the target's.
    """
    return q_t_selector.argmax(dim=1)


def q_learning_target(
    r_t: torch.Tensor, discount_t: torch.Tensor, q_t_target: torch.Tensor, a_t: torch.Tensor
) -> torch.Tensor:
    """n-step Q-learning target ``float32 [B]``: ``r_t + discount_t * Q_target(s_t, a_t)``.

    :param r_t: ``float32 [B]`` discounted n-step reward sum.
    :param discount_t: ``float32 [B]`` ``gamma**n``, 0 where the episode terminated.
    :param q_t_target: ``float32 [B, A]`` target-network values at the bootstrap state.
    :param a_t: ``long [B]`` bootstrap actions (online argmax for double Q, target argmax otherwise).
    """
    q_t = q_t_target.gather(1, a_t.unsqueeze(1)).squeeze(1)
    return (r_t + discount_t * q_t).detach()


def td_loss(
    q_tm1: torch.Tensor, a_tm1: torch.Tensor, target_tm1: torch.Tensor, kind: str = "huber"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample TD loss ``float32 [B]`` and TD error ``float32 [B]``.

    Huber with delta 1 is the Nature DQN's clipping of the error term to [-1, 1].

    :param q_tm1: ``float32 [B, A]`` online values at the learnt state.
    :param a_tm1: ``long [B]`` actions taken.
    :param target_tm1: ``float32 [B]`` targets (no gradient).
    """
    qa_tm1 = q_tm1.gather(1, a_tm1.unsqueeze(1)).squeeze(1)
    td_error = target_tm1 - qa_tm1
    if kind == "huber":
        loss = F.smooth_l1_loss(qa_tm1, target_tm1, reduction="none", beta=1.0)
    elif kind == "mse":
        loss = 0.5 * td_error.square()
    else:
        raise RlkitError(f"unknown TD loss {kind!r}; choose huber or mse")
    return loss, td_error.detach()


def categorical_projection(
    r_t: torch.Tensor, discount_t: torch.Tensor, probs_t: torch.Tensor, z: torch.Tensor
) -> torch.Tensor:
    """Project the shifted distribution ``r_t + discount_t * z`` back onto the support ``z``.

    The C51 operator of Bellemare et al. 2017 (algorithm 1): every target atom's mass is split
    between its two neighbouring support atoms in proportion to its distance from each.

    :param r_t: ``float32 [B]``; :param discount_t: ``float32 [B]``.
    :param probs_t: ``float32 [B, K]`` probabilities of the bootstrap action's return.
    :param z: ``float32 [K]`` evenly spaced support.
    :returns: ``float32 [B, K]`` projected probabilities (rows sum to 1).
    """
    num_atoms = z.shape[0]
    v_min, v_max = z[0], z[-1]
    delta_z = (v_max - v_min) / (num_atoms - 1)
    tz = (r_t.unsqueeze(1) + discount_t.unsqueeze(1) * z.unsqueeze(0)).clamp(v_min, v_max)  # [B, K]
    b = (tz - v_min) / delta_z  # fractional atom index [B, K]
    lower = b.floor().long().clamp(0, num_atoms - 1)
    upper = b.ceil().long().clamp(0, num_atoms - 1)
    # Weights from the lower atom only (not u - b and b - l): when b lands exactly on an atom,
    # lower == upper and the textbook pair of weights would both be 0 and lose the mass.
    w_upper = b - lower.to(b.dtype)
    w_lower = 1.0 - w_upper
    projected = torch.zeros_like(probs_t)
    projected.scatter_add_(1, lower, probs_t * w_lower)
    projected.scatter_add_(1, upper, probs_t * w_upper)
    return projected


def categorical_target(
    r_t: torch.Tensor, discount_t: torch.Tensor, logits_t_target: torch.Tensor, a_t: torch.Tensor, z: torch.Tensor
) -> torch.Tensor:
    """Projected target distribution ``float32 [B, K]`` for bootstrap actions ``a_t`` (``long [B]``).

    :param logits_t_target: ``float32 [B, A, K]`` target-network atom logits at the bootstrap state.
    """
    batch = torch.arange(a_t.shape[0], device=a_t.device)
    probs_t = logits_t_target[batch, a_t].softmax(dim=-1)
    return categorical_projection(r_t, discount_t, probs_t, z).detach()


def categorical_loss(logits_tm1: torch.Tensor, a_tm1: torch.Tensor, target_probs: torch.Tensor) -> torch.Tensor:
    """Cross-entropy ``float32 [B]`` between the projected target and the online distribution of ``a_tm1``.

    It doubles as the PER priority (Hessel et al. 2018 prioritise by this KL loss).

    :param logits_tm1: ``float32 [B, A, K]``; :param a_tm1: ``long [B]``; :param target_probs: ``float32 [B, K]``.
    """
    batch = torch.arange(a_tm1.shape[0], device=a_tm1.device)
    log_p_tm1 = logits_tm1[batch, a_tm1].log_softmax(dim=-1)
    return -(target_probs * log_p_tm1).sum(dim=-1)


def expected_q(logits: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """Mean return ``float32 [..., A]`` of atom logits ``float32 [..., A, K]``."""
    return (logits.softmax(dim=-1) * z).sum(dim=-1)
