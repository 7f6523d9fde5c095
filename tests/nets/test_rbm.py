"""RBM: exact free energies and conditionals on a tiny machine, the CD gradient, sampling, learning, save/load."""

from __future__ import annotations

import itertools

import pytest
import torch

import nets
from nets.rbm import RBM


def all_binary(n: int) -> torch.Tensor:
    """Every binary vector of length n: float32 [2**n, n]."""
    return torch.tensor(list(itertools.product([0.0, 1.0], repeat=n)))


def energy(rbm: RBM, v: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """E(v, h) written out from the model's definition, float32 [B] for v [B, V], h [B, H]."""
    interaction = ((v / rbm.sigma if rbm.visible_type == "gaussian" else v) @ rbm.weight * h).sum(dim=1)
    if rbm.visible_type == "bernoulli":
        visible = -(v @ rbm.visible_bias)
    else:
        visible = ((v - rbm.visible_bias) ** 2).sum(dim=1) / (2 * rbm.sigma**2)
    return visible - h @ rbm.hidden_bias - interaction


def tiny(visible_type: str) -> RBM:
    rbm = RBM(3, 2, visible_type=visible_type, sigma=0.7 if visible_type == "gaussian" else 1.0)
    with torch.no_grad():
        rbm.weight.copy_(torch.randn(3, 2))
        rbm.visible_bias.copy_(torch.randn(3))
        rbm.hidden_bias.copy_(torch.randn(2))
    return rbm


@pytest.mark.parametrize("visible_type", ["bernoulli", "gaussian"])
def test_free_energy_equals_brute_force_sum_over_hidden_states(visible_type: str) -> None:
    rbm = tiny(visible_type)
    v = all_binary(3) if visible_type == "bernoulli" else torch.randn(5, 3)
    hs = all_binary(2)
    energies = torch.stack([energy(rbm, v, h.expand(len(v), 2)) for h in hs], dim=1)  # [B, 4]
    expected = -torch.logsumexp(-energies, dim=1)
    torch.testing.assert_close(rbm.free_energy(v), expected)


@pytest.mark.parametrize("visible_type", ["bernoulli", "gaussian"])
def test_hidden_conditional_matches_the_joint(visible_type: str) -> None:
    rbm = tiny(visible_type)
    v = torch.randn(4, 3) if visible_type == "gaussian" else all_binary(3)[[1, 4, 6, 7]]
    hs = all_binary(2)
    weights = torch.softmax(-torch.stack([energy(rbm, v, h.expand(len(v), 2)) for h in hs], dim=1), dim=1)
    torch.testing.assert_close(rbm.hidden_probs(v), weights @ hs)  # p(h_j = 1 | v) = sum_h p(h | v) h_j


def test_bernoulli_visible_conditional_matches_the_joint() -> None:
    rbm = tiny("bernoulli")
    vs, h = all_binary(3), torch.tensor([[1.0, 0.0]])
    weights = torch.softmax(-energy(rbm, vs, h.expand(8, 2)), dim=0)
    torch.testing.assert_close(rbm.visible_mean(h), (weights @ vs).unsqueeze(0))


def test_gaussian_visible_mean_and_spread() -> None:
    rbm = tiny("gaussian")
    h = torch.tensor([[1.0, 1.0]]).expand(20000, 2)
    samples = rbm.sample_visible(h, torch.Generator().manual_seed(0))
    expected_mean = rbm.visible_bias + rbm.sigma * rbm.weight.sum(dim=1)
    torch.testing.assert_close(samples.mean(dim=0), expected_mean.detach(), atol=0.02, rtol=0)
    torch.testing.assert_close(samples.std(dim=0), torch.full((3,), 0.7), atol=0.02, rtol=0)


def test_cd_loss_gradient_is_positive_minus_negative_statistics() -> None:
    rbm = RBM(6, 4, k=2)
    with torch.no_grad():
        rbm.weight.normal_(0, 0.5)
    v = torch.bernoulli(torch.full((16, 6), 0.3))
    torch.manual_seed(1)
    rbm.loss((v,))[0].backward()
    torch.manual_seed(1)
    v_neg = rbm.negatives(v)
    with torch.no_grad():
        h_pos, h_neg = rbm.hidden_probs(v), rbm.hidden_probs(v_neg)
        # d loss / dW = -(<v h>_data - <v h>_model): the CD-k update with the sign of a loss.
        torch.testing.assert_close(rbm.weight.grad, -(v.t() @ h_pos - v_neg.t() @ h_neg) / 16)
        torch.testing.assert_close(rbm.visible_bias.grad, -(v - v_neg).mean(dim=0))
        torch.testing.assert_close(rbm.hidden_bias.grad, -(h_pos - h_neg).mean(dim=0))


def test_samples_are_drawn_per_element() -> None:
    rbm = RBM(10, 50)
    v = torch.ones(200, 10) * 0.5  # identical rows
    h = rbm.sample_hidden(v, torch.Generator().manual_seed(0))
    assert h.dtype == torch.float32 and set(h.unique().tolist()) <= {0.0, 1.0}
    assert len(torch.unique(h, dim=0)) > 150  # one shared threshold vector would give a single row
    assert abs(h.mean().item() - rbm.hidden_probs(v).mean().item()) < 0.02


def test_shapes_and_gradients_flow() -> None:
    rbm = RBM(64, 32, persistent=True, num_chains=7)
    v = torch.rand(5, 64)
    assert rbm(v).shape == (5, 32) and rbm.transform(v).dtype == torch.float32
    assert rbm.free_energy(v).shape == (5,) and rbm.pseudo_log_likelihood(v).shape == (5,)
    assert rbm.negatives(v).shape == (7, 64)
    assert rbm.sample(3, steps=2).shape == (3, 64)
    loss, metrics = rbm.loss((v,))
    loss.backward()
    assert set(metrics) == {"recon_error"}
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in rbm.parameters())


def test_persistent_chains_advance_and_survive_save_load(tmp_path) -> None:
    rbm = RBM(20, 8, persistent=True, num_chains=5)
    before = rbm.chains.clone()
    rbm.loss((torch.rand(4, 20),))
    assert not torch.equal(before, rbm.chains)
    nets.save(rbm, tmp_path / "rbm.pt")
    loaded = nets.load(tmp_path / "rbm.pt")
    assert isinstance(loaded, RBM) and loaded.persistent and loaded.spec == rbm.spec
    torch.testing.assert_close(loaded.chains, rbm.chains)
    v = torch.rand(3, 20)
    torch.testing.assert_close(loaded.free_energy(v), rbm.free_energy(v))


def test_bad_input_is_a_clear_error() -> None:
    with pytest.raises(nets.NetsError, match="visible_type"):
        RBM(4, 2, visible_type="poisson")
    with pytest.raises(nets.NetsError, match=r"\[\*, 4\]"):
        RBM(4, 2).free_energy(torch.rand(3, 5))
    with pytest.raises(nets.NetsError, match="bernoulli"):
        RBM(4, 2, visible_type="gaussian").pseudo_log_likelihood(torch.rand(3, 4))


def train(rbm: RBM, x: torch.Tensor, epochs: int, lr: float) -> None:
    nets.fit(rbm, x, epochs=epochs, batch_size=20, optimizer="sgd", lr=lr, momentum=0.5, progress=False)


def test_training_makes_digits_cheaper_than_noise(digits) -> None:
    """After CD-1 training, held-out digits have much lower free energy (higher probability) than noise."""
    rbm = RBM(64, 64)
    x_test = digits["x_test"]
    noise = torch.rand_like(x_test)
    gap_before = (rbm.free_energy(noise) - rbm.free_energy(x_test)).mean().item()
    pll_before = rbm.pseudo_log_likelihood(x_test).mean().item()
    train(rbm, digits["x_train"], epochs=5, lr=0.1)
    with torch.no_grad():
        gap_after = (rbm.free_energy(noise) - rbm.free_energy(x_test)).mean().item()
        pll_after = rbm.pseudo_log_likelihood(x_test).mean().item()
    assert abs(gap_before) < 2 and gap_after > 20
    assert pll_after > pll_before + 10
    mean_image_error = ((x_test - digits["x_train"].mean(dim=0)) ** 2).mean()
    assert rbm.reconstruction_error(x_test).mean() < 0.7 * mean_image_error


def test_gaussian_rbm_learns_standardised_digits(digits) -> None:
    mean, std = digits["x_train"].mean(dim=0), digits["x_train"].std(dim=0) + 0.1
    x_train, x_test = (digits["x_train"] - mean) / std, (digits["x_test"] - mean) / std
    rbm = RBM(64, 64, visible_type="gaussian")
    error_before = rbm.reconstruction_error(x_test).mean().item()
    train(rbm, x_train, epochs=10, lr=0.02)
    with torch.no_grad():
        assert rbm.reconstruction_error(x_test).mean().item() < 0.75 * error_before
        noise = torch.randn_like(x_test)
        assert (rbm.free_energy(noise) - rbm.free_energy(x_test)).mean() > 5


def test_pcd_sampler_produces_digit_statistics(digits) -> None:
    """PCD samples match the data's pixel means and pixel correlations far better than noise does."""
    rbm = RBM(64, 64, k=1, persistent=True, num_chains=100)
    train(rbm, torch.bernoulli(digits["x_train"]), epochs=20, lr=0.02)
    samples = torch.bernoulli(rbm.sample(500, steps=200, generator=torch.Generator().manual_seed(0)))
    data = torch.bernoulli(digits["x_test"])
    noise = torch.bernoulli(torch.full_like(samples, data.mean().item()))
    off_diagonal = ~torch.eye(64, dtype=torch.bool)

    def mean_gap(x: torch.Tensor) -> float:
        return (x.mean(dim=0) - data.mean(dim=0)).abs().mean().item()

    def covariance_agreement(x: torch.Tensor) -> float:
        """Correlation between the off-diagonal pixel covariances of x and of the data."""
        pairs = torch.stack([torch.cov(x.t())[off_diagonal], torch.cov(data.t())[off_diagonal]])
        return torch.corrcoef(pairs)[0, 1].item()

    assert mean_gap(samples) < 0.5 * mean_gap(noise)
    assert covariance_agreement(samples) > 0.4 and abs(covariance_agreement(noise)) < 0.2  # measured: ~0.65, ~0
