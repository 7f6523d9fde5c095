"""Recurrent nets: shapes, the step API against the full-sequence forward, memory, clear errors."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F

import nets

CELLS = ["rnn", "lstm", "gru"]


@pytest.mark.parametrize(("cell", "many_to_many"), list(itertools.product(CELLS, [False, True])))
def test_shapes_dtypes_and_gradients(cell: str, many_to_many: bool) -> None:
    model = nets.RecurrentNet(3, 8, 2, cell=cell, num_layers=2, many_to_many=many_to_many)
    out = model(torch.randn(4, 6, 3))
    assert out.dtype == torch.float32
    assert out.shape == ((4, 6, 2) if many_to_many else (4, 2))
    out.square().sum().backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


@pytest.mark.parametrize(("cell", "many_to_many"), list(itertools.product(CELLS, [False, True])))
def test_stepping_reproduces_the_full_sequence_forward(cell: str, many_to_many: bool) -> None:
    model = nets.RecurrentNet(3, 8, 2, cell=cell, num_layers=2, many_to_many=many_to_many)
    x = torch.randn(4, 7, 3)
    state = model.initial_state(4)
    assert len(state) == (2 if cell == "lstm" else 1) and state[0].shape == (2, 4, 8)
    outputs = []
    for t in range(7):
        y_t, state = model.step(x[:, t], state)
        outputs.append(y_t)
    stepped = torch.stack(outputs, dim=1)  # [B, T, O]
    torch.testing.assert_close(stepped if many_to_many else stepped[:, -1], model(x))
    # The state carried by step is the final state of the whole-sequence unroll.
    _, final = model.unroll(x)
    for a, b in zip(state, final):
        torch.testing.assert_close(a, b)


def test_unroll_continues_from_a_given_state() -> None:
    model = nets.LSTMModel(3, 8, 2)
    x = torch.randn(2, 10, 3)
    whole, _ = model.unroll(x)
    first, state = model.unroll(x[:, :4])
    second, _ = model.unroll(x[:, 4:], state)
    torch.testing.assert_close(torch.cat([first, second], dim=1), whole)


@pytest.mark.parametrize("cell", CELLS)
def test_double_precision_model_runs_from_its_own_initial_state(cell: str) -> None:
    model = nets.RecurrentNet(3, 8, 2, cell=cell).double()
    assert all(s.dtype == torch.float64 for s in model.initial_state(4))
    y, _ = model.step(torch.randn(4, 3, dtype=torch.float64), model.initial_state(4))
    assert y.dtype == torch.float64 and model(torch.randn(4, 5, 3, dtype=torch.float64)).dtype == torch.float64


def test_factories_and_torso_mode() -> None:
    assert nets.GRUModel(3, 8).spec["cell"] == "gru"
    assert nets.RNNModel(3, 8).spec["cell"] == "rnn"
    lstm = nets.LSTMModel(3, 8, num_layers=2)
    assert lstm.spec == {
        "type": "recurrent",
        "in_features": 3,
        "hidden_size": 8,
        "out_features": None,
        "cell": "lstm",
        "num_layers": 2,
        "many_to_many": False,
        "dropout": 0.0,
    }
    assert lstm.out_features == 8 and lstm(torch.randn(5, 4, 3)).shape == (5, 8)


def _recall_first_token(n: int, length: int, vocab: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """One-hot token sequences ``float32 [n, length, vocab]``; the label is the first token ``int64 [n]``."""
    tokens = torch.randint(0, vocab, (n, length), generator=torch.Generator().manual_seed(seed))
    return F.one_hot(tokens, vocab).float(), tokens[:, 0]


def test_lstm_remembers_the_first_token_where_a_feed_forward_net_cannot() -> None:
    x_train, y_train = _recall_first_token(2000, 15, 4, seed=0)
    x_test, y_test = _recall_first_token(500, 15, 4, seed=1)
    lstm = nets.LSTMModel(4, 32, 4)
    nets.fit(lstm, (x_train, y_train), epochs=10, lr=3e-3, max_grad_norm=1.0, progress=False)
    lstm.eval()
    assert (lstm(x_test).argmax(dim=1) == y_test).float().mean() >= 0.95  # reaches 1.0 by epoch 6 here

    # The last input is independent of the first token, so a net that sees only it stays at chance (0.25).
    mlp = nets.MLP(4, [32], 4)
    nets.fit(mlp, (x_train[:, -1], y_train), epochs=10, lr=3e-3, progress=False)
    assert (mlp(x_test[:, -1]).argmax(dim=1) == y_test).float().mean() <= 0.35


def test_bad_inputs_give_clear_errors() -> None:
    model = nets.RecurrentNet(3, 8, 2, cell="gru")
    with pytest.raises(nets.NetsError, match=r"RecurrentNet expects input of shape \[\*, \*, 3\], got \[4, 3\]"):
        model(torch.randn(4, 3))
    with pytest.raises(nets.NetsError, match=r"RecurrentNet.step expects input of shape \[\*, 3\], got \[4, 1, 3\]"):
        model.step(torch.randn(4, 1, 3), model.initial_state(4))
    with pytest.raises(
        nets.NetsError, match=r"gru state must be 1 tensor\(s\) of shape \[1, 4, 8\], got \[\[1, 5, 8\]\]"
    ):
        model.step(torch.randn(4, 3), model.initial_state(5))
    with pytest.raises(nets.NetsError, match=r"gru state must be a tuple of 1 tensor\(s\).*got a Tensor"):
        model.step(torch.randn(4, 3), model.initial_state(4)[0])
    with pytest.raises(
        nets.NetsError, match=r"unknown recurrent cell 'transformer'; choices: \['gru', 'lstm', 'rnn'\]"
    ):
        nets.RecurrentNet(3, 8, cell="transformer")
