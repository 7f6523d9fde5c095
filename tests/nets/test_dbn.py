"""DBN: greedy pretraining, conversion to an MLP classifier or torso with the RBMs' weights, sampling, save/load."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import nets
from nets.dbn import DBN


def randomised(dbn: DBN) -> DBN:
    """Give every RBM distinct random parameters, so copies can be told apart from fresh layers."""
    with torch.no_grad():
        for parameter in dbn.parameters():
            parameter.normal_()
    return dbn


def linears(model: nn.Module) -> list[nn.Linear]:
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


def test_layers_build_a_stack_of_rbms() -> None:
    dbn = DBN([64, 32, 16], visible_type="gaussian", k=2, persistent=True)
    assert [(r.visible, r.hidden) for r in dbn.rbms] == [(64, 32), (32, 16)]
    assert [r.visible_type for r in dbn.rbms] == ["gaussian", "bernoulli"]  # hidden probabilities feed layer 2
    assert all(r.k == 2 and r.persistent for r in dbn.rbms)
    assert dbn(torch.rand(5, 64)).shape == (5, 16) and dbn.transform(torch.rand(5, 64)).dtype == torch.float32


def test_to_mlp_copies_every_rbm_into_the_hidden_layers() -> None:
    dbn = randomised(DBN([12, 8, 6]))
    mlp = dbn.to_mlp(num_classes=3)
    assert isinstance(mlp, nets.MLP) and mlp(torch.rand(2, 12)).shape == (2, 3)
    layers = linears(mlp)
    assert len(layers) == 3
    for rbm, linear in zip(dbn.rbms, layers):
        torch.testing.assert_close(linear.weight, rbm.weight.t())
        torch.testing.assert_close(linear.bias, rbm.hidden_bias)
    assert layers[2].weight.shape == (3, 6)  # fresh output layer
    assert mlp.spec["activation"] == "sigmoid"


def test_torso_computes_exactly_the_dbn_features() -> None:
    dbn = randomised(DBN([12, 8, 6], visible_type="gaussian"))
    dbn.rbms[0].sigma = 0.5  # the Gaussian layer's 1/sigma must be folded into the copied weights
    torso = dbn.torso()
    x = torch.randn(4, 12)
    assert torso.out_features == 6
    torch.testing.assert_close(torso(x), dbn.transform(x))


def test_pretraining_fits_each_layer_on_the_features_below(digits) -> None:
    dbn = DBN([64, 64, 32])
    x = digits["x_train"]
    histories = dbn.pretrain(x, epochs=10, batch_size=20, optimizer="sgd", lr=0.1, momentum=0.5, progress=False)
    assert len(histories) == 2 and all(len(h["train/recon_error"]) == 10 for h in histories)
    assert all(h["train/recon_error"][-1] < h["train/recon_error"][0] for h in histories)
    # The top RBM models the first layer's features: it reconstructs them far better than their mean does.
    features = dbn.rbms[0].transform(x)
    mean_feature_error = ((features - features.mean(dim=0)) ** 2).mean()
    assert dbn.rbms[1].reconstruction_error(features).mean() < 0.5 * mean_feature_error  # measured ~0.27x


def test_pretrained_mlp_fine_tunes_to_a_good_classifier(digits) -> None:
    dbn = DBN([64, 128])
    dbn.pretrain(digits["x_train"], epochs=5, batch_size=20, optimizer="sgd", lr=0.1, momentum=0.5, progress=False)
    mlp = dbn.to_mlp(10)
    nets.fit(mlp, (digits["x_train"], digits["y_train"]), epochs=10, optimizer="sgd", lr=0.2, progress=False)
    with torch.no_grad():
        accuracy = (mlp(digits["x_test"]).argmax(dim=1) == digits["y_test"]).float().mean().item()
    assert accuracy > 0.93


def test_sample_runs_top_down() -> None:
    samples = DBN([20, 10, 5]).sample(7, steps=3, generator=torch.Generator().manual_seed(0))
    assert samples.shape == (7, 20) and ((samples >= 0) & (samples <= 1)).all()


def test_save_load_round_trip(tmp_path) -> None:
    dbn = randomised(DBN([12, 8, 6], k=3))
    nets.save(dbn, tmp_path / "dbn.pt")
    loaded = nets.load(tmp_path / "dbn.pt")
    assert loaded.spec == dbn.spec
    x = torch.rand(3, 12)
    torch.testing.assert_close(loaded(x), dbn(x))


def test_bad_layers_are_a_clear_error() -> None:
    with pytest.raises(nets.NetsError, match="at least two"):
        DBN([64])
