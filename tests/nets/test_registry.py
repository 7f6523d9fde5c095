"""build / save / load / register: round trips for every model type this package owns, and clear errors."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from torch import nn

import nets
from nets.registry import _REGISTRY

# One small constructor call and a matching input per registered type of the core modules.
EXAMPLES: dict[str, tuple[dict, Callable[[], torch.Tensor]]] = {
    "mlp": ({"in_features": 5, "hidden": [8, 8], "out_features": 3, "norm": "batch"}, lambda: torch.randn(4, 5)),
    "lenet5": ({"image_size": 8, "pool": "avg"}, lambda: torch.randn(2, 1, 8, 8)),
    "nature_cnn": ({"in_channels": 2, "out_features": 16}, lambda: torch.rand(2, 2, 84, 84)),
    "residual_tower": ({"in_channels": 3, "channels": 8, "blocks": 2}, lambda: torch.randn(2, 3, 5, 5)),
    "policy_value_net": (
        {"in_channels": 2, "height": 3, "width": 3, "num_actions": 9, "channels": 8, "blocks": 1},
        lambda: torch.randn(2, 2, 3, 3),
    ),
    "policy_value_head": ({"channels": 4, "height": 3, "width": 4, "num_actions": 5}, lambda: torch.randn(2, 4, 3, 4)),
    "noisy_linear": ({"in_features": 4, "out_features": 3}, lambda: torch.randn(2, 4)),
    "q_head": (
        {"in_features": 6, "num_actions": 3, "hidden": 8, "dueling": True, "noisy": True, "num_atoms": 5},
        lambda: torch.randn(2, 6),
    ),
    "recurrent": (
        {"in_features": 3, "hidden_size": 8, "out_features": 2, "cell": "gru", "num_layers": 2},
        lambda: torch.randn(2, 5, 3),
    ),
    "perceptron": ({"in_features": 3}, lambda: torch.randn(4, 3)),
    "linear_unit": ({"in_features": 3, "out_features": 2}, lambda: torch.randn(4, 3)),
}
CORE_MODULES = {"nets.mlp", "nets.cnn", "nets.heads", "nets.recurrent", "nets.perceptron"}
CORE_TYPES = sorted(name for name, cls in _REGISTRY.items() if cls.__module__ in CORE_MODULES)


def test_every_core_type_has_an_example() -> None:
    assert set(CORE_TYPES) <= set(EXAMPLES), "add the new model type to EXAMPLES"


def _perturbed(model: nn.Module) -> nn.Module:
    """Move every float parameter/buffer away from its initial value, so a load that silently
    re-initialised would be caught."""
    with torch.no_grad():
        for tensor in model.state_dict().values():
            if tensor.is_floating_point():
                tensor.add_(torch.rand_like(tensor))
    return model


@pytest.mark.parametrize("name", CORE_TYPES)
def test_save_load_round_trip(name: str, tmp_path: Path) -> None:
    kwargs, make_input = EXAMPLES[name]
    model = _perturbed(nets.build({"type": name, **kwargs})).eval()
    nets.set_noise(model, False)
    x = make_input()
    expected = model(x)
    nets.save(model, tmp_path / "model.pt")
    loaded = nets.load(tmp_path / "model.pt").eval()
    nets.set_noise(loaded, False)
    assert type(loaded) is type(model)
    assert loaded.spec == model.spec == json.loads(json.dumps(model.spec))
    for key, value in model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[key], value)
    torch.testing.assert_close(loaded(x), expected)


def test_direct_construction_records_full_json_spec() -> None:
    model = nets.MLP(4, hidden=(16, 8), out_features=2, activation="tanh")
    assert model.spec == {
        "type": "mlp",
        "in_features": 4,
        "hidden": [16, 8],
        "out_features": 2,
        "activation": "tanh",
        "dropout": 0.0,
        "norm": None,
        "init": "variance",
    }
    rebuilt = nets.build(model.spec)
    assert rebuilt.spec == model.spec


def test_unknown_type_lists_registered_types() -> None:
    with pytest.raises(nets.NetsError, match=r"unknown model type 'transformer'.*'mlp'.*'q_head'"):
        nets.build({"type": "transformer"})
    with pytest.raises(nets.NetsError, match="'type' key"):
        nets.build({"in_features": 3})
    with pytest.raises(nets.NetsError, match=r"unknown model type \['mlp'\]; registered types"):
        nets.build({"type": ["mlp"]})


def test_bad_arguments_name_the_accepted_ones() -> None:
    with pytest.raises(nets.NetsError, match=r"unknown argument\(s\) \['width'\].*accepted: .*'hidden'"):
        nets.build({"type": "mlp", "in_features": 3, "width": 5})
    with pytest.raises(nets.NetsError, match=r"needs argument\(s\) \['num_actions'\]"):
        nets.build({"type": "q_head", "in_features": 3})
    with pytest.raises(nets.NetsError, match="unknown activation 'gelu'; choices: .*'relu'"):
        nets.MLP(3, [4], activation="gelu")


def test_load_rejects_foreign_and_corrupt_files(tmp_path: Path) -> None:
    torch.save({"model": {"w": torch.zeros(2)}}, tmp_path / "foreign.pt")
    with pytest.raises(nets.NetsError, match="not a nets model file.*keys \\['model'\\]"):
        nets.load(tmp_path / "foreign.pt")
    (tmp_path / "corrupt.pt").write_bytes(b"definitely not a torch file")
    with pytest.raises(nets.NetsError, match="not a readable nets model file"):
        nets.load(tmp_path / "corrupt.pt")
    with pytest.raises(nets.NetsError, match="no nets model file"):
        nets.load(tmp_path / "missing.pt")


def test_load_rejects_weights_of_another_shape(tmp_path: Path) -> None:
    nets.save(nets.MLP(4, [8], 2), tmp_path / "model.pt")
    payload = torch.load(tmp_path / "model.pt", weights_only=True)
    payload["spec"]["hidden"] = [9]
    torch.save(payload, tmp_path / "model.pt")
    with pytest.raises(nets.NetsError, match=r"(?s)do not fit spec .*size mismatch for layers.0.weight"):
        nets.load(tmp_path / "model.pt")


def test_save_needs_a_registered_json_able_model(tmp_path: Path) -> None:
    with pytest.raises(nets.NetsError, match="no model.spec.*@nets.register"):
        nets.save(nn.Linear(2, 2), tmp_path / "linear.pt")

    @nets.register("test_scaled_identity")
    class ScaledIdentity(nn.Module):
        def __init__(self, scale: object) -> None:
            super().__init__()

    with pytest.raises(nets.NetsError, match="argument scale=.*not JSON-able"):
        nets.save(ScaledIdentity(scale=torch.ones(1)), tmp_path / "scaled.pt")
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_registering_a_taken_name_is_an_error() -> None:
    with pytest.raises(nets.NetsError, match="'mlp' is already registered to nets.mlp.MLP"):

        @nets.register("mlp")
        class Other(nn.Module):
            pass


def test_spec_holds_the_arguments_as_given_even_if_the_constructor_mutates_them() -> None:
    @nets.register("test_appends_to_widths")
    class AppendsToWidths(nn.Module):
        def __init__(self, widths: list[int]) -> None:
            super().__init__()
            widths.append(99)

    assert AppendsToWidths([1, 2]).spec == {"type": "test_appends_to_widths", "widths": [1, 2]}


def test_nets_stands_alone() -> None:
    # nets is usable without the RL toolkit: importing it must not pull in rlkit, envs or agents.
    code = "import sys, nets; print(sorted({m.split('.')[0] for m in sys.modules} & {'rlkit', 'envs', 'agents'}))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
