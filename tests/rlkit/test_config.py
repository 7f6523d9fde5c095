from __future__ import annotations

import dataclasses
import json

import pytest

from rlkit.config import apply_overrides, describe, flatten, format_config, from_dict, param, to_dict
from rlkit.errors import RlkitError


@dataclasses.dataclass
class Optim:
    lr: float = param(1e-3, "learning rate")
    name: str = param("adam", "optimiser", choices=["adam", "sgd"])
    betas: list[float] = param([0.9, 0.999], "Adam betas")  # noqa: RUF009 (param makes a default_factory)


@dataclasses.dataclass
class Cfg:
    steps: int = param(100, "environment steps")
    double: bool = param(False, "double Q-learning")
    device: str | None = param(None, "torch device")
    optim: Optim = param(Optim(), "optimiser settings")  # noqa: RUF009 (param makes a default_factory)


def test_overrides_parse_by_field_type():
    cfg = apply_overrides(Cfg(), ["optim.lr=3e-4", "steps=1e5", "double=true", "optim.betas=0.5,0.6", "device=cuda"])
    assert cfg.optim.lr == pytest.approx(3e-4) and cfg.steps == 100_000 and cfg.double is True
    assert cfg.optim.betas == [0.5, 0.6] and cfg.device == "cuda"
    assert Cfg().optim.lr == 1e-3  # the default is untouched


def test_unknown_key_names_key_and_choices():
    with pytest.raises(RlkitError, match=r"'optim.lrr'.*did you mean 'lr'.*valid keys under 'optim': betas, lr, name"):
        apply_overrides(Cfg(), ["optim.lrr=1"])


def test_bad_choice_and_bad_value():
    with pytest.raises(RlkitError, match=r"'optim.name'.*'rmsprop' is not valid; choose from: adam, sgd"):
        apply_overrides(Cfg(), ["optim.name=rmsprop"])
    with pytest.raises(RlkitError, match=r"'steps'.*cannot read 'many' as int"):
        apply_overrides(Cfg(), ["steps=many"])
    with pytest.raises(RlkitError, match="key=value"):
        apply_overrides(Cfg(), ["steps"])
    with pytest.raises(RlkitError, match="is a section"):
        apply_overrides(Cfg(), ["optim=3"])


def test_json_round_trip_and_unknown_keys_in_files():
    cfg = apply_overrides(Cfg(), ["optim.name=sgd", "steps=7"])
    assert from_dict(Cfg, json.loads(json.dumps(to_dict(cfg)))) == cfg
    with pytest.raises(RlkitError, match="unknown config key 'optim.momentum'"):
        from_dict(Cfg, {"optim": {"momentum": 0.9}})


def test_describe_lists_every_leaf_with_help():
    keys = [row[0] for row in describe(Cfg())]
    assert keys == ["steps", "double", "device", "optim.lr", "optim.name", "optim.betas"]
    assert flatten(Cfg())["optim.name"] == "adam"
    assert "[adam|sgd]" in format_config(Cfg())
