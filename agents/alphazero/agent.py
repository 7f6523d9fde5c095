"""The pieces every AlphaZero role builds from a config: game, network, evaluator and search.

Self-play workers, the learner, evaluation players and `play()` all construct their game
and network here, so a checkpoint written by one can be read by any other.
"""

from __future__ import annotations

import copy
from pathlib import Path

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

import envs.boards
import nets
from envs.boards import BoardGame, State
from rlkit.checkpoints import read_checkpoint
from rlkit.config import from_dict
from rlkit.devices import resolve_device
from rlkit.errors import RlkitError

from .config import AlphaZeroConfig, check_config
from .gumbel import gumbel_search
from .mcts import Evaluator, SearchOutput, Tree, puct_search, select_actions

INFERENCE_DTYPES = ("auto", "float32", "bfloat16")

__all__ = [
    "INFERENCE_DTYPES",
    "choose_actions",
    "inference_copy",
    "load_agent",
    "make_game",
    "make_network",
    "network_evaluator",
    "resolve_inference_dtype",
    "run_search",
]


def make_game(cfg: AlphaZeroConfig) -> BoardGame:
    size = {"size": cfg.game_size} if cfg.game_size > 0 else {}
    return envs.boards.make(cfg.game, device=resolve_device(cfg.device), **size)


def make_network(cfg: AlphaZeroConfig, game: BoardGame) -> nets.PolicyValueNet:
    """A fresh PolicyValueNet sized for `game`, on the config's device."""
    channels, height, width = game.observation_shape
    net = nets.PolicyValueNet(channels, height, width, game.num_actions, channels=cfg.channels, blocks=cfg.blocks)
    return net.to(game.device)


def inference_copy(net: torch.nn.Module) -> torch.nn.Module:
    """A frozen copy of `net` for search: eval mode, every Conv2d -> BatchNorm2d pair folded into one
    conv (BatchNorm with running statistics is an affine map), channels-last layout."""
    frozen = copy.deepcopy(net).eval()
    for block in [m for m in frozen.modules() if isinstance(m, nn.Sequential)]:
        for i in range(len(block) - 1):
            if isinstance(block[i], nn.Conv2d) and isinstance(block[i + 1], nn.BatchNorm2d):
                block[i], block[i + 1] = fuse_conv_bn_eval(block[i], block[i + 1]), nn.Identity()
    return frozen.to(memory_format=torch.channels_last).requires_grad_(False)


def _cpu_has_native_bfloat16() -> bool:
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:  # not Linux: stay with float32
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_inference_dtype(dtype: str, device: torch.device) -> str:
    """ "auto" -> bfloat16 where the hardware computes it natively (CUDA GPUs with bf16, CPUs with
    AVX512-BF16 or AMX), float32 elsewhere, where emulated bfloat16 would be slower."""
    if dtype != "auto":
        return dtype
    if device.type == "cuda":
        return "bfloat16" if torch.cuda.is_bf16_supported() else "float32"
    return "bfloat16" if _cpu_has_native_bfloat16() else "float32"


def network_evaluator(net: torch.nn.Module, game: BoardGame, dtype: str = "auto") -> Evaluator:
    """An evaluator for the search: states [B] -> (logits float32 [B, A], value float32 [B]).

    It evaluates a snapshot of `net` taken now (`inference_copy`: BatchNorm with running statistics,
    so a position's value does not depend on the rest of the batch, folded into the convs, and
    channels-last, which runs 3x3 convs on small boards 1.5-3x faster on CPUs); build a new one
    after the weights change. `dtype="bfloat16"` runs under autocast, another ~2x on CPUs with
    AVX512-BF16 and on GPUs, at about 3 significant digits.
    """
    if dtype not in INFERENCE_DTYPES:
        raise RlkitError(f"inference dtype {dtype!r} is not supported; choose from: {', '.join(INFERENCE_DTYPES)}")
    frozen = inference_copy(net)
    use_bfloat16 = resolve_inference_dtype(dtype, game.device) == "bfloat16"

    def evaluate(states: State) -> tuple[torch.Tensor, torch.Tensor]:
        observation = game.observation(states).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode(), torch.autocast(game.device.type, dtype=torch.bfloat16, enabled=use_bfloat16):
            logits, value = frozen(observation)
        return logits.float(), value.float()

    return evaluate


def run_search(
    cfg: AlphaZeroConfig,
    game: BoardGame,
    evaluator: Evaluator,
    roots: State,
    *,
    num_simulations: int,
    explore: bool,
    generator: torch.Generator | None = None,
    previous: tuple[Tree, torch.Tensor] | None = None,
) -> SearchOutput:
    """The search `cfg.search` names; `explore` adds root noise (PUCT) or Gumbel sampling, off to evaluate.
    `previous` (last tree, actions played) reuses subtrees, for PUCT (see `puct_search`)."""
    if cfg.search == "gumbel":
        return gumbel_search(
            game, evaluator, roots, num_simulations,
            max_considered=cfg.max_considered, gumbel_scale=1.0 if explore else 0.0,
            value_scale=cfg.gumbel_value_scale, maxvisit_init=cfg.gumbel_maxvisit_init, generator=generator,
        )  # fmt: skip
    return puct_search(
        game, evaluator, roots, num_simulations,
        c_init=cfg.c_init, c_base=cfg.c_base, dirichlet_fraction=cfg.dirichlet_fraction if explore else 0.0,
        dirichlet_alpha=cfg.dirichlet_alpha or None, generator=generator, previous=previous,
    )  # fmt: skip


def choose_actions(
    cfg: AlphaZeroConfig, output: SearchOutput, legal: torch.Tensor, move_number: int, generator: torch.Generator
) -> torch.Tensor:
    """long [B]: the self-play move. PUCT samples visits at `cfg.temperature` for the first
    `cfg.temperature_moves` moves, then plays the most visited; Gumbel plays the search's own pick."""
    if cfg.search == "gumbel":
        return output.action
    temperature = cfg.temperature if move_number < cfg.temperature_moves else 0.0
    return select_actions(output.visit_counts, legal, temperature, generator)


def load_agent(path: str | Path, device: str = "auto") -> tuple[AlphaZeroConfig, BoardGame, nets.PolicyValueNet]:
    """Config, game and trained network (eval mode) from an AlphaZero checkpoint file or run directory.

    :raises RlkitError: nothing readable there, another agent's checkpoint, weights that do not fit.
    """
    checkpoint, path = read_checkpoint(path, "alphazero")
    cfg = from_dict(AlphaZeroConfig, {**checkpoint["config"], "device": device})
    check_config(cfg)
    game = make_game(cfg)
    net = make_network(cfg, game)
    try:
        net.load_state_dict(checkpoint["learner"]["net"])
    except RuntimeError:
        raise RlkitError(f"weights in {str(path)!r} do not fit the network its config describes") from None
    return cfg, game, net.eval()
