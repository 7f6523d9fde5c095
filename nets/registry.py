"""Model registry: build any registered model from a plain dict, save and load architecture plus weights.

A class decorated with ``@register("name")`` records the arguments it was constructed with in
``model.spec = {"type": "name", **arguments}`` (defaults filled in, tuples turned into lists), so
``build(model.spec)`` rebuilds the same architecture and ``save``/``load`` round-trip any registered
model without pickling Python objects: the file is a plain dict read with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import torch
from torch import nn

__all__ = ["NetsError", "build", "check_shape", "load", "register", "registered_types", "save"]

FILE_FORMAT = "nets.model"
FILE_VERSION = 1

ModuleT = TypeVar("ModuleT", bound=type[nn.Module])

_REGISTRY: dict[str, type[nn.Module]] = {}


class NetsError(ValueError):
    """Bad input to a nets model or function (wrong shape, unknown type, incompatible file).

    A ``ValueError`` so callers that catch user errors generically also catch it; nets does not
    import the rlkit spine, so it cannot subclass ``rlkit.errors.RlkitError``.
    """


def register(name: str) -> Callable[[ModuleT], ModuleT]:
    """Class decorator: make ``cls`` buildable as ``{"type": name, ...}`` and record ``model.spec``.

    Only the most-derived registered class records the spec, so a registered subclass of a
    registered class is rebuilt as itself.
    """

    def decorate(cls: ModuleT) -> ModuleT:
        existing = _REGISTRY.get(name)
        # Re-importing a module (importlib.reload) re-registers the same class under the same name.
        if existing is not None and (existing.__module__, existing.__qualname__) != (cls.__module__, cls.__qualname__):
            raise NetsError(
                f"model type {name!r} is already registered to {existing.__module__}.{existing.__qualname__}"
            )
        signature = inspect.signature(cls.__init__)
        if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in signature.parameters.values()):
            raise NetsError(f"{cls.__qualname__}.__init__ takes *args, which a spec dict cannot record")
        original_init = cls.__init__

        @functools.wraps(original_init)
        def __init__(self: nn.Module, *args: Any, **kwargs: Any) -> None:
            # Record the arguments before the constructor runs, in case it mutates a list it was given.
            bound = signature.bind(self, *args, **kwargs)
            bound.apply_defaults()
            spec = {"type": name, **_spec_arguments(signature, bound.arguments)}
            original_init(self, *args, **kwargs)
            if type(self) is cls:
                self.spec = spec

        cls.__init__ = __init__
        _REGISTRY[name] = cls
        return cls

    return decorate


def registered_types(package: str | None = None) -> list[str]:
    """Names accepted as ``spec["type"]``, sorted; with ``package`` (e.g. ``"nets"``) only the types
    whose class is defined in that package, not ones a user or a test registered elsewhere."""
    if package is None:
        return sorted(_REGISTRY)
    return sorted(name for name, cls in _REGISTRY.items() if cls.__module__.split(".")[0] == package)


def build(spec: Mapping[str, Any]) -> nn.Module:
    """Construct a registered model from ``{"type": name, **constructor_arguments}``."""
    if not isinstance(spec, Mapping) or "type" not in spec:
        raise NetsError(f"a model spec is a dict with a 'type' key, got {spec!r}; types: {registered_types()}")
    name = spec["type"]
    if not isinstance(name, str) or name not in _REGISTRY:
        raise NetsError(f"unknown model type {name!r}; registered types: {registered_types()}")
    cls = _REGISTRY[name]
    arguments = {key: value for key, value in spec.items() if key != "type"}
    _check_arguments(name, cls, arguments)
    return cls(**arguments)


def save(model: nn.Module, path: str | os.PathLike) -> None:
    """Write ``model``'s spec and weights to ``path`` atomically (temp file + rename)."""
    spec = getattr(model, "spec", None)
    if not isinstance(spec, dict) or spec.get("type") not in _REGISTRY:
        raise NetsError(
            f"{type(model).__qualname__} has no model.spec: only models built from a class decorated with "
            f"@nets.register can be saved; registered types: {registered_types()}"
        )
    _check_json(spec)
    payload = {
        "format": FILE_FORMAT,
        "version": FILE_VERSION,
        "spec": spec,
        "state_dict": {key: value.detach().cpu() for key, value in model.state_dict().items()},
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        torch.save(payload, tmp_name)
        os.replace(tmp_name, path)
    finally:
        if os.path.exists(tmp_name):
            os.remove(tmp_name)


def load(path: str | os.PathLike, map_location: str | torch.device | None = None) -> nn.Module:
    """Rebuild a model written by :func:`save`; ``map_location`` also moves the model there."""
    path = Path(path)
    if not path.is_file():
        raise NetsError(f"no nets model file at {str(path)!r}")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # torch raises several unrelated types for foreign or corrupt files
        raise NetsError(f"{str(path)!r} is not a readable nets model file: {error}") from error
    if not isinstance(payload, dict) or payload.get("format") != FILE_FORMAT:
        raise NetsError(f"{str(path)!r} is not a nets model file (written by nets.save); it holds {_describe(payload)}")
    if payload.get("version") != FILE_VERSION:
        raise NetsError(f"{str(path)!r} has nets file version {payload.get('version')!r}; supported: {FILE_VERSION}")
    model = build(payload["spec"])
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as error:
        raise NetsError(f"weights in {str(path)!r} do not fit spec {payload['spec']}: {error}") from error
    if map_location is not None and not callable(map_location) and not isinstance(map_location, dict):
        model.to(map_location)
    return model


def check_shape(x: torch.Tensor, expected: Sequence[int | None], what: str) -> None:
    """Raise :class:`NetsError` unless ``x.shape`` matches ``expected`` (``None`` = any size)."""
    if x.dim() != len(expected) or any(e is not None and e != s for e, s in zip(expected, x.shape)):
        wanted = "[" + ", ".join("*" if e is None else str(e) for e in expected) + "]"
        raise NetsError(f"{what} expects input of shape {wanted}, got {list(x.shape)}")


def _spec_arguments(signature: inspect.Signature, arguments: Mapping[str, Any]) -> dict[str, Any]:
    recorded: dict[str, Any] = {}
    for key, value in arguments.items():
        kind = signature.parameters[key].kind
        if key == "self":
            continue
        if kind is inspect.Parameter.VAR_KEYWORD:
            recorded.update({k: _plain(v) for k, v in value.items()})
        else:
            recorded[key] = _plain(value)
    return recorded


def _plain(value: Any) -> Any:
    """Tuples become lists so a spec equals its own JSON round trip."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _check_json(spec: dict[str, Any]) -> None:
    for key, value in spec.items():
        try:
            json.dumps(value)
        except TypeError as error:
            raise NetsError(
                f"{spec['type']} argument {key}={value!r} is not JSON-able, so the model cannot be saved: {error}"
            ) from error


def _check_arguments(name: str, cls: type[nn.Module], arguments: Mapping[str, Any]) -> None:
    parameters = dict(inspect.signature(cls.__init__).parameters)
    parameters.pop("self", None)
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return
    unknown = sorted(set(arguments) - set(parameters))
    if unknown:
        raise NetsError(f"unknown argument(s) {unknown} for model type {name!r}; accepted: {sorted(parameters)}")
    missing = sorted(k for k, p in parameters.items() if p.default is inspect.Parameter.empty and k not in arguments)
    if missing:
        raise NetsError(f"model type {name!r} needs argument(s) {missing}; accepted: {sorted(parameters)}")


def _describe(payload: Any) -> str:
    if isinstance(payload, dict):
        return f"a dict with keys {sorted(map(str, payload))[:10]}"
    return f"a {type(payload).__name__}"
