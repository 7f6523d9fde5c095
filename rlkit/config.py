"""Typed dataclass configs with dotted command-line overrides.

Every agent declares its config as (nested) dataclasses whose fields are made with
`param(default, "help text", choices=...)`. The help text becomes `--help`, the choices
are validated, and a run directory stores the resolved config as JSON so that any run is
reproducible from that file and its seed:

    cfg = apply_overrides(DQNConfig(), ["optim.lr=3e-4", "replay.prioritized=true"])
    cfg = from_dict(DQNConfig, json.load(open("runs/x/config.json")))

Unknown keys and bad values raise `RlkitError` naming the key, the bad value and the
valid choices.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import types
import typing
from collections.abc import Iterable, Sequence
from typing import Any

from rlkit.errors import RlkitError

__all__ = [
    "apply_overrides",
    "describe",
    "flatten",
    "format_config",
    "from_dict",
    "param",
    "replace_values",
    "to_dict",
    "validate",
]


def param(default: Any, help: str, choices: Sequence[Any] | None = None) -> Any:
    """A dataclass field with help text (shown by `--help`) and optional valid choices."""
    metadata = {"help": help, "choices": tuple(choices) if choices is not None else None}
    if isinstance(default, (list, dict, set)) or dataclasses.is_dataclass(default):
        factory = (
            (lambda d=default: dataclasses.replace(d))
            if dataclasses.is_dataclass(default)
            else (lambda d=default: type(d)(d))
        )
        return dataclasses.field(default_factory=factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _fields(cfg_or_cls) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cfg_or_cls)}


def _unknown_key(key: str, valid: Iterable[str], where: str) -> RlkitError:
    valid = sorted(valid)
    close = difflib.get_close_matches(key.split(".")[-1], valid, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    scope = f" under {where!r}" if where else ""
    return RlkitError(f"unknown config key {key!r}{hint}; valid keys{scope}: {', '.join(valid)}")


def _strip_optional(tp: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return tp, False


def _coerce(key: str, value: Any, tp: Any) -> Any:
    """Convert `value` (a string from the command line or a JSON value) to the field type `tp`."""
    tp, optional = _strip_optional(tp)
    if optional and (value is None or (isinstance(value, str) and value.lower() in ("none", "null"))):
        return None
    origin = typing.get_origin(tp)
    try:
        if tp is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("true", "1", "yes", "on"):
                return True
            if text in ("false", "0", "no", "off"):
                return False
            raise ValueError
        if tp is int:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            return int(float(value)) if isinstance(value, str) and "e" in value.lower() else int(value)
        if tp is float:
            return float(value)
        if tp is str:
            return str(value)
        if origin in (list, tuple):
            (item_tp, *_) = typing.get_args(tp) or (Any,)
            if isinstance(value, str):
                text = value.strip()
                value = json.loads(text) if text.startswith("[") else [v for v in text.split(",") if v.strip()]
            items = [_coerce(key, v, item_tp) if item_tp is not Any else v for v in value]
            return items if origin is list else tuple(items)
        if origin is dict:
            return json.loads(value) if isinstance(value, str) else dict(value)
    except (ValueError, TypeError, json.JSONDecodeError):
        name = getattr(tp, "__name__", str(tp))
        raise RlkitError(f"config key {key!r}: cannot read {value!r} as {name}") from None
    return value


def _check_choice(key: str, value: Any, f: dataclasses.Field) -> None:
    choices = f.metadata.get("choices")
    if choices is not None and value not in choices:
        raise RlkitError(f"config key {key!r}: {value!r} is not valid; choose from: {', '.join(map(str, choices))}")


def validate(cfg: Any, prefix: str = "") -> None:
    """Check every field's choices, recursively; raise RlkitError naming the first bad key."""
    for name, f in _fields(cfg).items():
        value = getattr(cfg, name)
        key = prefix + name
        if dataclasses.is_dataclass(value):
            validate(value, key + ".")
        else:
            _check_choice(key, value, f)


def _set(cfg: Any, path: list[str], raw: Any, full_key: str) -> Any:
    fields = _fields(cfg)
    head = path[0]
    where = full_key[: -len(".".join(path))].rstrip(".")
    if head not in fields:
        raise _unknown_key(full_key, fields, where)
    current = getattr(cfg, head)
    if len(path) > 1:
        if not dataclasses.is_dataclass(current):
            raise RlkitError(f"config key {full_key!r}: {where + '.' if where else ''}{head} has no sub-keys")
        return dataclasses.replace(cfg, **{head: _set(current, path[1:], raw, full_key)})
    if dataclasses.is_dataclass(current):
        valid = ", ".join(sorted(_fields(current)))
        raise RlkitError(f"config key {full_key!r} is a section; set one of its keys: {valid}")
    value = _coerce(full_key, raw, _hints(type(cfg))[head])
    _check_choice(full_key, value, fields[head])
    return dataclasses.replace(cfg, **{head: value})


def apply_overrides(cfg: Any, overrides: Iterable[str]) -> Any:
    """Return a copy of `cfg` with each "dotted.key=value" override applied and validated."""
    for item in overrides:
        if "=" not in item:
            raise RlkitError(f"override {item!r} must look like key=value (e.g. optim.lr=3e-4)")
        key, raw = item.split("=", 1)
        cfg = _set(cfg, key.strip().split("."), raw.strip(), key.strip())
    validate(cfg)
    return cfg


def replace_values(cfg: Any, values: dict[str, Any]) -> Any:
    """Return a copy of `cfg` with `{"dotted.key": value}` applied (Python values or strings) and validated."""
    for key, value in values.items():
        cfg = _set(cfg, key.split("."), value, key)
    validate(cfg)
    return cfg


def to_dict(cfg: Any) -> dict[str, Any]:
    """The config as plain JSON-able dicts."""
    return dataclasses.asdict(cfg)


def from_dict(cls: type, data: dict[str, Any], prefix: str = "") -> Any:
    """Build a config of type `cls` from plain dicts; unknown keys and bad values raise RlkitError."""
    if not isinstance(data, dict):
        raise RlkitError(f"config section {prefix.rstrip('.') or '<root>'!r} must be a mapping, got {data!r}")
    fields = _fields(cls)
    hints = _hints(cls)
    kwargs = {}
    for key, value in data.items():
        if key not in fields:
            raise _unknown_key(prefix + key, fields, prefix.rstrip("."))
        tp, _ = _strip_optional(hints[key])
        if dataclasses.is_dataclass(tp):
            kwargs[key] = from_dict(tp, value, prefix + key + ".")
        else:
            kwargs[key] = _coerce(prefix + key, value, hints[key])
    cfg = cls(**kwargs)
    if not prefix:
        validate(cfg)
    return cfg


def flatten(cfg: Any, prefix: str = "") -> dict[str, Any]:
    """{"optim.lr": 3e-4, ...} for every leaf of the config."""
    out = {}
    for name in _fields(cfg):
        value = getattr(cfg, name)
        if dataclasses.is_dataclass(value):
            out.update(flatten(value, prefix + name + "."))
        else:
            out[prefix + name] = value
    return out


def describe(cfg: Any, prefix: str = "") -> list[tuple[str, Any, str, tuple | None]]:
    """(dotted key, current value, help, choices) for every leaf, for --help listings."""
    rows = []
    for name, f in _fields(cfg).items():
        value = getattr(cfg, name)
        if dataclasses.is_dataclass(value):
            rows.extend(describe(value, prefix + name + "."))
        else:
            rows.append((prefix + name, value, f.metadata.get("help", ""), f.metadata.get("choices")))
    return rows


def format_config(cfg: Any) -> str:
    """Human-readable listing of every key, its value, valid choices and help."""
    rows = describe(cfg)
    width = max(len(k) for k, *_ in rows)
    lines = []
    for key, value, help_text, choices in rows:
        extra = f" [{'|'.join(map(str, choices))}]" if choices else ""
        lines.append(f"  {key:<{width}}  {value!r:<14} {help_text}{extra}")
    return "\n".join(lines)
