"""Recurrent sequence models (Elman RNN, LSTM, GRU) with a full-sequence forward and an explicit-state step API.

The step API lets an agent feed one time step at a time and keep the recurrent state itself;
``step`` and ``unroll`` run the same layers, so stepping through a sequence gives the outputs of
the full-sequence forward.
"""

from __future__ import annotations

import torch
from torch import nn

from nets.registry import NetsError, check_shape, register

__all__ = ["CELLS", "GRUModel", "LSTMModel", "RNNModel", "RecurrentNet"]

CELLS: dict[str, type[nn.RNNBase]] = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}

State = tuple[torch.Tensor, ...]
"""Recurrent state: ``(h, c)`` for an LSTM, ``(h,)`` otherwise; each ``float32 [num_layers, B, hidden_size]``."""


@register("recurrent")
class RecurrentNet(nn.Module):
    """Stacked RNN/LSTM/GRU with a linear read-out.

    ``forward``: ``float32 [B, T, in_features]`` -> many-to-one ``float32 [B, out_features]`` (read out
    after the last step) or, with ``many_to_many=True``, ``float32 [B, T, out_features]`` (read out
    after every step). With ``out_features=None`` the read-out is the top layer's hidden state.
    ``unroll`` and ``step`` read out after every step either way, so a many-to-one ``forward`` equals
    the output of the last ``step``; a state is carried explicitly (see ``State``), never stored.

    :param cell: "rnn" (tanh Elman), "lstm" or "gru".
    :param dropout: dropout between stacked layers (needs ``num_layers > 1``).
    """

    def __init__(
        self,
        in_features: int,
        hidden_size: int,
        out_features: int | None = None,
        cell: str = "lstm",
        num_layers: int = 1,
        many_to_many: bool = False,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if cell not in CELLS:
            raise NetsError(f"unknown recurrent cell {cell!r}; choices: {sorted(CELLS)}")
        self.in_features = in_features
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.many_to_many = many_to_many
        self.cell = cell
        self.rnn = CELLS[cell](in_features, hidden_size, num_layers, batch_first=True, dropout=dropout)
        if cell == "lstm":
            # A forget-gate bias of 1 lets gradients flow through long delays early in training
            # (Jozefowicz et al. 2015); PyTorch orders the gates input, forget, cell, output.
            for name, bias in self.rnn.named_parameters():
                if name.startswith("bias_ih"):
                    nn.init.zeros_(bias)
                    nn.init.ones_(bias[hidden_size : 2 * hidden_size])
                elif name.startswith("bias_hh"):
                    nn.init.zeros_(bias)
        self.readout = nn.Linear(hidden_size, out_features) if out_features is not None else nn.Identity()
        self.out_features = hidden_size if out_features is None else out_features

    def initial_state(self, batch_size: int, device: torch.device | str | None = None) -> State:
        """Zero state for ``batch_size`` sequences, in the weights' dtype (on their device unless told otherwise)."""
        weight = next(self.parameters())
        device = weight.device if device is None else device
        zeros = torch.zeros(self.num_layers, batch_size, self.hidden_size, device=device, dtype=weight.dtype)
        return (zeros, zeros.clone()) if self.cell == "lstm" else (zeros,)

    def unroll(self, x: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        """Run a whole sequence: ``float32 [B, T, F]`` -> (outputs ``float32 [B, T, out_features]``, final state)."""
        hidden, state = self._run(x, state)
        return self.readout(hidden), state

    def step(self, x_t: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """One time step: ``float32 [B, F]`` and a state -> (output ``float32 [B, out_features]``, next state)."""
        check_shape(x_t, (None, self.in_features), f"{type(self).__name__}.step")
        y, state = self.unroll(x_t.unsqueeze(1), state)
        return y.squeeze(1), state

    def forward(self, x: torch.Tensor, state: State | None = None) -> torch.Tensor:
        """``[B, T, F]`` -> ``[B, out_features]`` (many-to-one) or ``[B, T, out_features]`` (many-to-many)."""
        hidden, _ = self._run(x, state)
        return self.readout(hidden if self.many_to_many else hidden[:, -1])

    def _run(self, x: torch.Tensor, state: State | None) -> tuple[torch.Tensor, State]:
        """Top-layer hidden states ``float32 [B, T, hidden_size]`` and the final state."""
        check_shape(x, (None, None, self.in_features), type(self).__name__)
        if state is None:
            state = self.initial_state(x.shape[0], x.device)
        self._check_state(state, x.shape[0])
        if self.cell == "lstm":
            hidden, (h, c) = self.rnn(x, state)
            return hidden, (h, c)
        hidden, h = self.rnn(x, state[0])
        return hidden, (h,)

    def _check_state(self, state: State, batch_size: int) -> None:
        expected = (self.num_layers, batch_size, self.hidden_size)
        count = 2 if self.cell == "lstm" else 1
        if not isinstance(state, (tuple, list)):
            raise NetsError(
                f"{self.cell} state must be a tuple of {count} tensor(s) of shape {list(expected)}, "
                f"got a {type(state).__name__}; use initial_state(B) for a fresh one"
            )
        if len(state) != count or any(tuple(s.shape) != expected for s in state):
            shapes = [list(s.shape) for s in state]
            raise NetsError(
                f"{self.cell} state must be {count} tensor(s) of shape {list(expected)}, got {shapes}; "
                "use initial_state(B) for a fresh one"
            )


def RNNModel(in_features: int, hidden_size: int, out_features: int | None = None, **options) -> RecurrentNet:
    """A :class:`RecurrentNet` with tanh Elman cells (same arguments, ``cell`` fixed)."""
    return RecurrentNet(in_features, hidden_size, out_features, cell="rnn", **options)


def LSTMModel(in_features: int, hidden_size: int, out_features: int | None = None, **options) -> RecurrentNet:
    """A :class:`RecurrentNet` with LSTM cells (same arguments, ``cell`` fixed)."""
    return RecurrentNet(in_features, hidden_size, out_features, cell="lstm", **options)


def GRUModel(in_features: int, hidden_size: int, out_features: int | None = None, **options) -> RecurrentNet:
    """A :class:`RecurrentNet` with GRU cells (same arguments, ``cell`` fixed)."""
    return RecurrentNet(in_features, hidden_size, out_features, cell="gru", **options)
