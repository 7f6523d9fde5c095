"""``nets.fit``: one compact training loop for classifiers, regressors and generative models.

The loop asks the model how to train, in this order:

1. ``model.configure_optimizers(lr) -> list[Optimizer]`` and ``model.train_step(batch, optimizers)
   -> metrics``: the model runs its own update (GANs, with two optimisers).
2. ``model.loss(batch) -> (loss_tensor, metrics)``: fit minimises that loss (autoencoders, VAE, RBM).
3. Otherwise a batch ``(x, y)`` is supervised: cross-entropy and accuracy for integer ``y``,
   mean squared error for float ``y``.

Validation uses ``model.evaluate(batch) -> metrics`` when defined, else the same loss and metrics in
eval mode without gradients. Early stopping watches ``val/loss`` and restores the best weights.

Metric values may be Python floats or 0-dim tensors. Tensors are summed on their device and read
once per epoch, so a model that returns them costs no host-device synchronisation per batch.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from nets.data import Batch, Data, Prepared, batches, prepare
from nets.registry import NetsError

__all__ = ["OPTIMIZERS", "fit", "make_optimizer", "supervised_loss"]

Metrics = dict[str, float | torch.Tensor]
"""Per-batch metrics: Python floats or 0-dim tensors (read by fit once per epoch)."""
OPTIMIZERS = ("adam", "sgd", "rmsprop")


def fit(
    model: nn.Module,
    train: Data,
    val: Data | None = None,
    *,
    epochs: int = 10,
    batch_size: int = 64,
    optimizer: str = "adam",
    lr: float = 1e-3,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    patience: int | None = None,
    max_grad_norm: float | None = None,
    device: torch.device | str | None = None,
    seed: int = 0,
    progress: bool = True,
    log: Callable[[int, dict[str, float]], Any] | None = None,
) -> dict[str, list[float]]:
    """Train ``model`` in place and return its history: per-epoch ``train/<metric>`` and ``val/<metric>`` lists.

    :param train: a tensor or numpy array ``x``, a tuple ``(x, y, ...)`` of them sharing dim 0, a torch Dataset
        or a torch DataLoader (used with its own batch size); see ``nets.data``. Batches reach the model as
        tuples of tensors, floats in the model's dtype. Class labels may have any integer dtype.
    :param val: validation data in the same forms (needed for ``patience``).
    :param optimizer: "adam", "sgd" (with ``momentum``) or "rmsprop" (with ``momentum``).
    :param patience: stop after this many epochs without a lower ``val/loss``, then restore the best weights.
    :param max_grad_norm: clip the global gradient norm to this (recurrent nets need it); None: no clipping.
    :param device: where to train; default: where the model's parameters are.
    :param seed: seeds shuffling and the model's own randomness (dropout, sampling); the caller's global
        RNG state is restored afterwards.
    :param log: called as ``log(epoch, metrics)`` after every epoch, e.g. ``MetricsLogger(...).log``.
    """
    if patience is not None and val is None:
        raise NetsError("early stopping (patience) needs validation data: pass val=...")
    if batch_size < 1:
        raise NetsError(f"batch_size must be >= 1, got {batch_size}")
    device = torch.device(device) if device is not None else _model_device(model)
    model.to(device)
    float_dtype = _model_float_dtype(model)
    train = prepare(train, "train", float_dtype)
    val = prepare(val, "val", float_dtype) if val is not None else None
    history: dict[str, list[float]] = {}
    best = _BestWeights(patience)
    cuda_devices = [device.index or 0] if device.type == "cuda" else []
    bar = tqdm(total=epochs, unit="epoch", desc=f"fit {type(model).__name__}", disable=not progress, leave=False)
    with torch.random.fork_rng(devices=cuda_devices), bar:
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        if _trains_itself(model):
            optimizers = model.configure_optimizers(lr)
        else:
            optimizers = [make_optimizer(model, optimizer, lr, momentum, weight_decay)]
        for epoch in range(1, epochs + 1):
            model.train()
            metrics = _prefixed(
                "train", _run_epoch(model, train, batch_size, device, float_dtype, generator, optimizers, max_grad_norm)
            )
            if val is not None:
                model.eval()
                with torch.no_grad():
                    metrics |= _prefixed(
                        "val", _run_epoch(model, val, batch_size, device, float_dtype, None, None, None)
                    )
            for key, value in metrics.items():
                history.setdefault(key, []).append(value)
            if log is not None:
                log(epoch, metrics)
            bar.set_postfix({k: f"{v:.4g}" for k, v in metrics.items()}, refresh=False)
            bar.update()
            if patience is not None and best.should_stop(epoch, metrics, model):
                break
    best.restore(model)
    return history


class _BestWeights:
    """Early stopping: remembers the lowest ``val/loss`` and a copy of the weights that reached it."""

    def __init__(self, patience: int | None) -> None:
        self.patience = patience
        self.loss, self.epoch, self.state = float("inf"), 0, None

    def should_stop(self, epoch: int, metrics: dict[str, float], model: nn.Module) -> bool:
        if "val/loss" not in metrics:
            raise NetsError(f"early stopping watches val/loss, but validation reported only {sorted(metrics)}")
        if metrics["val/loss"] < self.loss:
            self.loss, self.epoch = metrics["val/loss"], epoch
            self.state = copy.deepcopy(model.state_dict())
            return False
        return epoch - self.epoch >= self.patience

    def restore(self, model: nn.Module) -> None:
        if self.state is not None:
            model.load_state_dict(self.state)


def _trains_itself(model: nn.Module) -> bool:
    return hasattr(model, "configure_optimizers") and hasattr(model, "train_step")


def _prefixed(prefix: str, metrics: dict[str, float]) -> dict[str, float]:
    return {f"{prefix}/{key}": value for key, value in metrics.items()}


def _run_epoch(
    model: nn.Module,
    data: Prepared,
    batch_size: int,
    device: torch.device,
    float_dtype: torch.dtype,
    generator: torch.Generator | None,
    optimizers: list[torch.optim.Optimizer] | None,
    max_grad_norm: float | None,
) -> dict[str, float]:
    """One pass over ``data``: trains when ``optimizers`` is given, else evaluates. Batch-size-weighted means."""
    totals: dict[str, float | torch.Tensor] = {}
    count = 0
    for batch in batches(data, batch_size, generator, device, float_dtype):
        if optimizers is None:
            metrics = model.evaluate(batch) if hasattr(model, "evaluate") else _loss_and_metrics(model, batch)[1]
        elif _trains_itself(model):
            metrics = model.train_step(batch, optimizers)
        else:
            loss, metrics = _loss_and_metrics(model, batch)
            for opt in optimizers:
                opt.zero_grad(set_to_none=True)
            loss.backward()
            if max_grad_norm is not None:
                nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
            for opt in optimizers:
                opt.step()
        size = len(batch[0])
        count += size
        for key, value in metrics.items():
            # Tensors stay on their device until the epoch ends: no host sync per batch.
            weighted = value.detach() * size if isinstance(value, torch.Tensor) else float(value) * size
            totals[key] = totals.get(key, 0.0) + weighted
    if count == 0:
        raise NetsError("fit got an empty data set")
    return {key: float(total) / count for key, total in totals.items()}


def _loss_and_metrics(model: nn.Module, batch: Batch) -> tuple[torch.Tensor, Metrics]:
    if hasattr(model, "loss"):
        loss, metrics = model.loss(batch)
    else:
        if len(batch) != 2:
            raise NetsError(
                f"supervised training needs batches (x, y), got {len(batch)} tensor(s); "
                f"{type(model).__name__} defines no loss(batch) for unsupervised training"
            )
        loss, metrics = supervised_loss(model(batch[0]), batch[1])
    return loss, {"loss": loss.detach(), **metrics}


def supervised_loss(output: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, Metrics]:
    """Cross-entropy plus accuracy (a 0-dim tensor) for integer targets ``[B]`` (any integer dtype) and logits
    ``float32 [B, classes]``; mean squared error for float targets of the output's shape."""
    if target.is_floating_point():
        if output.shape != target.shape:
            raise NetsError(f"regression output shape {list(output.shape)} differs from target {list(target.shape)}")
        return F.mse_loss(output, target), {}
    if target.dtype == torch.bool or target.is_complex():
        raise NetsError(f"labels must be integer class indices or float regression targets, got dtype {target.dtype}")
    if output.dim() != 2 or target.shape != output.shape[:1]:
        raise NetsError(
            f"classification needs logits [B, classes] and integer labels [B], "
            f"got {list(output.shape)} and {list(target.shape)}"
        )
    target = target.long()  # cross-entropy wants int64; int32 or uint8 labels are as good
    num_classes = output.shape[1]
    # Checked only on the CPU, where it costs no host-device sync; an accelerator's kernel asserts instead.
    if target.device.type == "cpu" and len(target):
        low, high = int(target.min()), int(target.max())
        if low < 0 or high >= num_classes:
            raise NetsError(
                f"labels must be class indices in [0, {num_classes}) for {num_classes} logits, "
                f"got values from {low} to {high}"
            )
    accuracy = (output.argmax(dim=-1) == target).float().mean()
    return F.cross_entropy(output, target), {"accuracy": accuracy}


def make_optimizer(
    model: nn.Module, name: str, lr: float, momentum: float = 0.9, weight_decay: float = 0.0
) -> torch.optim.Optimizer:
    """An optimiser over the model's trainable parameters by name ("adam", "sgd", "rmsprop")."""
    parameters = [p for p in model.parameters() if p.requires_grad]
    if not parameters:
        raise NetsError(f"{type(model).__name__} has no trainable parameters for fit to optimise")
    if name == "adam":
        return torch.optim.Adam(parameters, lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(parameters, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "rmsprop":
        return torch.optim.RMSprop(parameters, lr=lr, momentum=momentum, weight_decay=weight_decay)
    raise NetsError(f"unknown optimizer {name!r}; choices: {list(OPTIMIZERS)}")


def _model_device(model: nn.Module) -> torch.device:
    tensor = next(model.parameters(), None)
    if tensor is None:
        tensor = next(model.buffers(), None)
    return tensor.device if tensor is not None else torch.device("cpu")


def _model_float_dtype(model: nn.Module) -> torch.dtype:
    """The dtype floating-point data is cast to: the model's first floating parameter or buffer, else torch's default."""
    for tensor in (*model.parameters(), *model.buffers()):
        if tensor.is_floating_point():
            return tensor.dtype
    return torch.get_default_dtype()
