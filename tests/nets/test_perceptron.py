"""Rosenblatt perceptron (mistake bound) and the delta-rule linear unit (least-squares oracle)."""

from __future__ import annotations

import pytest
import torch

import nets


def _separable_unit_data(n: int, dim: int, margin: float, seed: int) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Unit-length points at least ``margin`` away from a random hyperplane through the origin.

    Returns x float32 [n, dim], y in {-1, +1} [n], and the data's actual margin gamma.
    """
    generator = torch.Generator().manual_seed(seed)
    w_star = torch.randn(dim, generator=generator)
    w_star /= w_star.norm()
    x = torch.randn(20 * n, dim, generator=generator)
    x /= x.norm(dim=1, keepdim=True)
    x = x[(x @ w_star).abs() >= margin][:n]
    assert len(x) == n
    score = x @ w_star
    return x, score.sign(), score.abs().min().item()


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("shuffle", [False, True])
def test_perceptron_converges_within_its_mistake_bound(seed: int, shuffle: bool) -> None:
    x, y, gamma = _separable_unit_data(300, 5, margin=0.1, seed=seed)
    perceptron = nets.Perceptron(5, bias=False)
    generator = torch.Generator().manual_seed(seed) if shuffle else None
    history = perceptron.learn(x, y, max_epochs=1000, generator=generator)
    assert history.converged
    assert history.mistakes <= 1 / gamma**2  # Novikoff's bound
    assert history.mistakes == sum(history.mistakes_per_epoch)
    assert torch.equal(perceptron(x), y)


def test_perceptron_update_rule_by_hand() -> None:
    perceptron = nets.Perceptron(2)
    x = torch.tensor([[1.0, 2.0], [3.0, -1.0]])
    y = torch.tensor([1.0, -1.0])
    history = perceptron.learn(x, y, lr=1.0, max_epochs=1)
    # Zero weights score 0 on x0: a mistake, w = [1, 2], b = 1. Then x1 scores 3 - 2 + 1 = 2 > 0
    # against label -1: a mistake, w = [1, 2] - [3, -1] = [-2, 3], b = 0.
    assert history.mistakes_per_epoch == [2] and not history.converged
    torch.testing.assert_close(perceptron.weight, torch.tensor([-2.0, 3.0]))
    torch.testing.assert_close(perceptron.bias, torch.tensor(0.0))
    torch.testing.assert_close(perceptron.decision_function(x), torch.tensor([4.0, -9.0]))


def test_perceptron_rejects_bad_labels_and_shapes() -> None:
    perceptron = nets.Perceptron(3)
    with pytest.raises(nets.NetsError, match=r"labels must be -1 or \+1, got values \[0.0, 1.0\]"):
        perceptron.learn(torch.randn(4, 3), torch.tensor([0.0, 1.0, 1.0, 0.0]))
    with pytest.raises(nets.NetsError, match=r"expects input of shape \[\*, 3\], got \[4, 2\]"):
        perceptron(torch.randn(4, 2))


def test_perceptron_predicts_in_the_dtype_of_its_weights() -> None:
    perceptron = nets.Perceptron(2).double()
    perceptron.weight.copy_(torch.tensor([1.0, -1.0]))
    prediction = perceptron(torch.tensor([[2.0, 1.0], [1.0, 1.0]], dtype=torch.float64))
    assert prediction.dtype == torch.float64 and prediction.tolist() == [1.0, -1.0]  # a zero score is -1


def test_delta_rule_step_is_a_gradient_step_on_half_squared_error() -> None:
    unit = nets.LinearUnit(4, 3)
    torch.nn.init.normal_(unit.linear.weight)
    twin = nets.LinearUnit(4, 3)
    twin.load_state_dict(unit.state_dict())
    x, target = torch.randn(10, 4), torch.randn(10, 3)
    unit.delta_rule_step(x, target, lr=0.05)
    optimizer = torch.optim.SGD(twin.parameters(), lr=0.05)
    (0.5 * (target - twin(x)).square().sum(dim=1).mean()).backward()
    optimizer.step()
    for a, b in zip(unit.parameters(), twin.parameters()):
        torch.testing.assert_close(a, b)


def test_delta_rule_converges_to_least_squares() -> None:
    x = torch.randn(200, 3)
    target = x @ torch.tensor([[1.0, -2.0], [0.5, 0.0], [-1.0, 3.0]]) + torch.tensor([0.3, -0.7])
    target += 0.1 * torch.randn(200, 2)
    unit = nets.LinearUnit(3, 2)
    losses = unit.learn(x, target, lr=0.2, epochs=300)
    design = torch.cat([x, torch.ones(200, 1)], dim=1)
    solution = torch.linalg.lstsq(design, target).solution  # [4, 2]: weights then bias
    torch.testing.assert_close(unit.linear.weight.T, solution[:3], atol=1e-4, rtol=0)
    torch.testing.assert_close(unit.linear.bias, solution[3], atol=1e-4, rtol=0)
    assert losses[-1] < 0.011 < losses[0]  # the noise floor is 0.1**2
    assert losses[0] == pytest.approx(target.square().mean().item())  # zero weights predict 0 before the first step


def test_linear_unit_classifies_separable_blobs() -> None:
    datasets = pytest.importorskip("sklearn.datasets")
    x, y = datasets.make_blobs(n_samples=300, centers=3, cluster_std=0.6, random_state=0)
    x, y = torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y)
    unit = nets.LinearUnit(2, 3)
    unit.learn(x, torch.nn.functional.one_hot(y, 3).float(), lr=0.05, epochs=100, batch_size=32)
    assert (unit.classify(x) == y).float().mean() >= 0.98
