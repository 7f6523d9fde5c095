"""DQN targets and losses against hand-computed examples."""

import pytest
import torch
from torch import nn

from agents.dqn.learner import categorical_q_loss, expected_q_loss
from agents.dqn.losses import (
    categorical_loss,
    categorical_projection,
    q_learning_target,
    select_next_actions,
    td_loss,
)
from rlkit.errors import RlkitError


def test_categorical_projection_matches_hand_computed_example():
    z = torch.tensor([0.0, 1.0, 2.0])
    probs = torch.tensor([[0.2, 0.3, 0.5]] * 4)
    r_t = torch.tensor([0.5, 3.0, -1.0, 0.25])
    discount_t = torch.tensor([0.5, 0.9, 0.0, 1.0])
    projected = categorical_projection(r_t, discount_t, probs, z)
    expected = torch.tensor(
        [
            [0.1, 0.65, 0.25],  # atoms land on 0.5, 1.0, 1.5: split halves, the middle one stays whole
            [0.0, 0.0, 1.0],  # everything beyond v_max is clipped onto the last atom
            [1.0, 0.0, 0.0],  # terminal: the distribution collapses onto r = -1, clipped to v_min
            [0.15, 0.275, 0.575],  # 0.25, 1.25 and 2.25 (clipped to 2)
        ]
    )
    torch.testing.assert_close(projected, expected)


class TableNet(nn.Module):
    """A fixed lookup table standing in for a Q-network: ``obs long [B]`` indexes rows of ``values``."""

    def __init__(self, values: torch.Tensor, z: torch.Tensor | None = None) -> None:
        super().__init__()
        self.values = nn.Parameter(values.clone())
        self.z = z

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.values[obs]


class Batch:
    def __init__(self, **fields):
        self.__dict__.update(fields)


def test_double_q_selects_with_online_and_evaluates_with_target():
    # next states 2 and 3; online prefers actions 1 and 0, the target net's own argmax would be 2 and 1
    q_online = torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [1.0, 5.0, 2.0], [3.0, 0.0, 1.0]])
    q_target = torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [10.0, 4.0, 20.0], [7.0, 9.0, 8.0]])
    batch = Batch(
        obs=torch.tensor([0, 1]),
        action=torch.tensor([0, 2]),
        reward=torch.tensor([1.0, 0.0]),
        discount=torch.tensor([0.9, 0.0]),
        next_obs=torch.tensor([2, 3]),
        weight=torch.ones(2),
    )
    online, target = TableNet(q_online), TableNet(q_target)
    _, double_error, _ = expected_q_loss(double=True, kind="mse")(online, target, batch)
    _, plain_error, _ = expected_q_loss(double=False, kind="mse")(online, target, batch)
    # Q(s_tm1, a) = 0 everywhere, so |TD error| is the target itself.
    torch.testing.assert_close(double_error, torch.tensor([1.0 + 0.9 * 4.0, 0.0]))
    torch.testing.assert_close(plain_error, torch.tensor([1.0 + 0.9 * 20.0, 0.0]))
    assert select_next_actions(q_online[2:]).tolist() == [1, 0]


def test_q_learning_target_uses_n_step_discount():
    q_t = torch.tensor([[2.0, 4.0]])
    target = q_learning_target(torch.tensor([1.5]), torch.tensor([0.99**3]), q_t, torch.tensor([1]))
    torch.testing.assert_close(target, torch.tensor([1.5 + 0.99**3 * 4.0]))


def test_td_losses_and_gradients():
    q_tm1 = torch.tensor([[0.0, 1.0], [2.0, 0.0]], requires_grad=True)
    target = torch.tensor([3.0, 2.5])
    huber, error = td_loss(q_tm1, torch.tensor([1, 0]), target, "huber")
    torch.testing.assert_close(error, torch.tensor([2.0, 0.5]))
    torch.testing.assert_close(huber, torch.tensor([2.0 - 0.5, 0.5 * 0.25]))  # linear beyond 1, quadratic inside
    mse, _ = td_loss(q_tm1, torch.tensor([1, 0]), target, "mse")
    torch.testing.assert_close(mse, torch.tensor([2.0, 0.125]))
    huber.sum().backward()
    # The Nature DQN's error clipping: the gradient magnitude never exceeds 1.
    torch.testing.assert_close(q_tm1.grad, torch.tensor([[0.0, -1.0], [-0.5, 0.0]]))
    with pytest.raises(RlkitError, match="huber or mse"):
        td_loss(q_tm1, torch.tensor([1, 0]), target, "l1")


def test_categorical_loss_is_cross_entropy_of_projected_target():
    z = torch.tensor([0.0, 1.0, 2.0])
    # one state, two actions; uniform online logits -> log p = log(1/3) for every atom
    logits_online = torch.zeros(2, 2, 3)
    next_probs = torch.tensor([[0.2, 0.3, 0.5], [0.5, 0.3, 0.2]])  # action 0 has the higher mean (1.3 vs 0.7)
    logits_target = torch.zeros(2, 2, 3)
    logits_target[1] = next_probs.log()
    batch = Batch(
        obs=torch.tensor([0]),
        action=torch.tensor([1]),
        reward=torch.tensor([0.5]),
        discount=torch.tensor([0.5]),
        next_obs=torch.tensor([1]),
        weight=torch.ones(1),
    )
    online, target = TableNet(logits_online, z), TableNet(logits_target, z)
    loss, priority, _ = categorical_q_loss(double=False)(online, target, batch)
    torch.testing.assert_close(loss, torch.log(torch.tensor([3.0])))  # CE with a uniform prediction
    target_probs = categorical_projection(torch.tensor([0.5]), torch.tensor([0.5]), next_probs[:1], z)
    torch.testing.assert_close(target_probs, torch.tensor([[0.1, 0.65, 0.25]]))
    torch.testing.assert_close(
        categorical_loss(logits_target[1:].log_softmax(-1), torch.tensor([0]), target_probs),
        -(target_probs * next_probs[:1].log()).sum(-1),
    )
    torch.testing.assert_close(priority, loss)
