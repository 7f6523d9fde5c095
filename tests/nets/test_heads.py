"""RL heads: noisy layers, Q heads (dueling / noisy / C51) and the policy-value head."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F

import nets


def test_noisy_linear_weight_is_factorised_gaussian_formula() -> None:
    layer = nets.NoisyLinear(3, 2, sigma0=0.5)
    eps_in, eps_out = torch.tensor([0.25, -1.0, 4.0]), torch.tensor([1.0, -0.09])
    layer.eps_in.copy_(eps_in)
    layer.eps_out.copy_(eps_out)
    x = torch.randn(5, 3)
    # Hand-computed: W = mu + sigma * eps_out eps_in^T, b = mu_b + sigma_b * eps_out.
    weight = layer.weight_mu + layer.weight_sigma * eps_out[:, None] * eps_in[None, :]
    bias = layer.bias_mu + layer.bias_sigma * eps_out
    torch.testing.assert_close(layer(x), x @ weight.T + bias)
    # sigma0 / sqrt(fan_in) is the paper's initial noise scale.
    torch.testing.assert_close(layer.weight_sigma, torch.full((2, 3), 0.5 / 3**0.5))


def test_noisy_noise_is_sign_sqrt_of_gaussian_samples_and_means_start_uniform() -> None:
    layer = nets.NoisyLinear(400, 300, sigma0=0.5)
    layer.reset_noise(torch.Generator().manual_seed(3))
    # The same generator draws eps_in's Gaussians, then eps_out's; f(e) = sign(e) sqrt(|e|) scales each.
    generator = torch.Generator().manual_seed(3)
    for eps in (layer.eps_in, layer.eps_out):
        e = torch.randn(len(eps), generator=generator)
        torch.testing.assert_close(eps, e.sign() * e.abs().sqrt())
    # Means ~ U(-1/sqrt(in), 1/sqrt(in)) (Fortunato et al. 2018, section 3.2): bounded, and spread out to the bound.
    bound = 1 / 400**0.5
    for mu in (layer.weight_mu, layer.bias_mu):
        assert mu.abs().max() <= bound and mu.abs().max() > 0.95 * bound
    torch.testing.assert_close(layer.bias_sigma, torch.full((300,), 0.5 / 20))


def test_noisy_noise_is_fixed_until_reset_and_can_be_switched_off() -> None:
    head = nets.QHead(8, 4, hidden=16, noisy=True)
    x = torch.randn(6, 8)
    first = head(x)
    torch.testing.assert_close(head(x), first)  # same noise sample between resets
    nets.reset_noise(head)
    assert not torch.allclose(head(x), first)
    nets.set_noise(head, False)
    quiet = head(x)
    nets.reset_noise(head)
    torch.testing.assert_close(head(x), quiet)  # deterministic: resampling no longer matters
    layer = head.advantage[0]
    torch.testing.assert_close(head.advantage[0](x), F.linear(x, layer.weight_mu, layer.bias_mu))
    nets.set_noise(head, True)
    assert not torch.allclose(head(x), quiet)


def test_reset_noise_with_generator_is_reproducible() -> None:
    a, b = nets.NoisyLinear(4, 3), nets.NoisyLinear(4, 3)
    b.load_state_dict(a.state_dict())
    nets.reset_noise(a, torch.Generator().manual_seed(7))
    nets.reset_noise(b, torch.Generator().manual_seed(7))
    x = torch.randn(2, 4)
    torch.testing.assert_close(a(x), b(x))
    assert "eps_in" not in a.state_dict()  # noise samples are not checkpointed


def test_noisy_gradients_reach_means_and_scales() -> None:
    layer = nets.NoisyLinear(4, 3)
    layer(torch.randn(5, 4)).square().sum().backward()
    for parameter in (layer.weight_mu, layer.weight_sigma, layer.bias_mu, layer.bias_sigma):
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0


HEAD_OPTIONS = list(itertools.product([0, 32], [False, True], [False, True], [1, 51]))


@pytest.mark.parametrize(("hidden", "dueling", "noisy", "num_atoms"), HEAD_OPTIONS)
def test_q_head_shapes_dtypes_and_gradients(hidden: int, dueling: bool, noisy: bool, num_atoms: int) -> None:
    head = nets.QHead(16, 6, hidden=hidden, dueling=dueling, noisy=noisy, num_atoms=num_atoms)
    out = head(torch.randn(5, 16))
    assert out.dtype == torch.float32
    assert out.shape == ((5, 6) if num_atoms == 1 else (5, 6, num_atoms))
    out.sum().backward()
    assert all(p.grad is not None for p in head.parameters())


def test_c51_head_gives_each_action_its_own_block_of_atom_logits() -> None:
    # Output unit a * K + k of the stream is atom k of action a, so a softmax over the last dim is
    # one return distribution per action (not a mix of actions).
    head = nets.QHead(16, 4, num_atoms=51)
    x = torch.randn(7, 16)
    logits = head(x)
    assert logits.shape == (7, 4, 51)
    layer = head.advantage
    for a in range(4):
        rows = slice(a * 51, (a + 1) * 51)
        torch.testing.assert_close(logits[:, a], x @ layer.weight[rows].T + layer.bias[rows])
    probabilities = logits.softmax(dim=-1)
    torch.testing.assert_close(probabilities.sum(dim=-1), torch.ones(7, 4))
    assert not torch.allclose(probabilities[:, 0], probabilities[:, 1])


def test_dueling_c51_head_adds_the_value_logits_to_every_action() -> None:
    head = nets.QHead(16, 3, dueling=True, num_atoms=5)
    x = torch.randn(4, 16)
    value = head.value(x)  # [B, K]
    advantage = head.advantage(x).view(4, 3, 5)
    # Rainbow's dueling C51: logits = V + A - mean_a A per atom, then a softmax over atoms.
    expected = value[:, None, :] + advantage - advantage.mean(dim=1, keepdim=True)
    torch.testing.assert_close(head(x), expected)


@pytest.mark.parametrize("num_atoms", [1, 11])
def test_dueling_advantage_is_mean_centred(num_atoms: int) -> None:
    head = nets.QHead(16, 5, hidden=8, dueling=True, num_atoms=num_atoms)
    x = torch.randn(9, 16)
    value, advantage = head.streams(x)
    torch.testing.assert_close(advantage.mean(dim=1), torch.zeros(9, num_atoms), atol=1e-6, rtol=0)
    q = head(x).view(9, 5, num_atoms)
    torch.testing.assert_close(q, value + advantage)
    torch.testing.assert_close(q.mean(dim=1, keepdim=True), value)  # mean over actions recovers V


def test_q_head_rejects_wrong_feature_width() -> None:
    with pytest.raises(nets.NetsError, match=r"QHead expects input of shape \[\*, 16\], got \[3, 15\]"):
        nets.QHead(16, 4)(torch.randn(3, 15))


def test_policy_value_net_shapes_and_value_range() -> None:
    net = nets.PolicyValueNet(in_channels=3, height=6, width=7, num_actions=7, channels=16, blocks=2)
    logits, value = net(torch.randn(4, 3, 6, 7) * 1000)  # large inputs would push an unbounded value far out
    assert logits.shape == (4, 7) and value.shape == (4,)
    assert logits.dtype == value.dtype == torch.float32
    assert value.abs().max() <= 1.0
    (logits.logsumexp(-1) + value).sum().backward()
    assert all(p.grad is not None for p in net.parameters())


def test_policy_value_net_rejects_wrong_board() -> None:
    net = nets.PolicyValueNet(in_channels=3, height=6, width=7, num_actions=7, channels=8, blocks=1)
    with pytest.raises(nets.NetsError, match=r"expects input of shape \[\*, 3, 6, 7\], got \[2, 3, 7, 6\]"):
        net(torch.randn(2, 3, 7, 6))
