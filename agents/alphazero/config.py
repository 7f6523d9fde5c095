"""AlphaZero configuration and the per-game presets.

Units: `*_iterations` count training iterations (one round of self-play games followed by
learner updates); `*_games` count finished self-play games; simulations are per move.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from envs.players import check_reference_player
from rlkit.config import apply_overrides, param, validate
from rlkit.errors import RlkitError

__all__ = ["PRESETS", "AlphaZeroConfig", "apply_torch_threads", "check_config", "make_config", "preset_names"]

TACTICAL_GAMES = ("tictactoe", "connect4", "gomoku", "hex")
"""Games where a threat is blocked by playing on its cell, so the one-ply tactics are sound."""
GAMES = ["tictactoe", "connect4", "othello", "gomoku", "hex", "go"]
"""Reference players checkpoints can be evaluated against, and the one game a player is limited to."""


@dataclass
class AlphaZeroConfig:
    """Every knob of AlphaZero self-play training; `make_config(game)` fills it from the game's preset."""

    # game and run
    game: str = param("tictactoe", "board game to learn", choices=GAMES)
    game_size: int = param(0, "board size for gomoku, hex and go; 0 keeps the game's default")
    seed: int = param(0, "seed for network init, self-play noise and replay sampling")
    device: str = param(
        "auto", "torch device for search and learning; auto = cuda when available", choices=["auto", "cpu", "cuda"]
    )
    iterations: int = param(30, "training iterations, each = self-play games then learner updates")

    # network (nets.PolicyValueNet)
    channels: int = param(64, "width of the residual tower")
    blocks: int = param(5, "residual blocks in the tower")
    inference_dtype: str = param(
        "auto",
        "dtype of network calls inside the search; bfloat16 is ~2-3x faster where the hardware has it natively; "
        "auto = bfloat16 on GPUs and CPUs with AVX512-BF16/AMX, float32 elsewhere",
        choices=["auto", "float32", "bfloat16"],
    )
    train_dtype: str = param(
        "auto",
        "dtype of the learner's forward and backward passes (bfloat16 = autocast, weights and optimiser stay "
        "float32; with channels-last convs ~2.4x faster per update on an AVX512-BF16 CPU); auto as inference_dtype",
        choices=["auto", "float32", "bfloat16"],
    )

    # search
    search: str = param(
        "puct",
        "root search: puct (AlphaZero) or gumbel (Gumbel AlphaZero, few simulations)",
        choices=["puct", "gumbel"],
    )
    num_simulations: int = param(100, "simulations per self-play move")
    c_init: float = param(1.25, "PUCT exploration constant c_init")
    c_base: float = param(19652.0, "PUCT exploration growth constant c_base")
    dirichlet_fraction: float = param(0.25, "share of the root prior replaced by Dirichlet noise in self-play")
    dirichlet_alpha: float = param(0.0, "Dirichlet concentration; 0 uses the game's own (about 10 / legal moves)")
    temperature: float = param(1.0, "self-play move sampling temperature over visit counts (PUCT)")
    temperature_moves: int = param(30, "moves per game sampled at `temperature`; later moves take the most visited")
    reuse_tree: bool = param(False, "PUCT: keep the searched subtree of the move played for the next search")
    max_considered: int = param(16, "Gumbel: actions sampled at the root for sequential halving")
    gumbel_value_scale: float = param(0.1, "Gumbel: scale of the completed-Q bonus (mctx value_scale)")
    gumbel_maxvisit_init: float = param(50.0, "Gumbel: visit offset of the completed-Q bonus (mctx maxvisit_init)")
    tactics: bool = param(
        False,
        "one-ply check at every searched position: immediate wins are taken and valued +1, forced blocks are the "
        "only moves, two open threats are a loss (placement games: tictactoe, connect4, gomoku, hex)",
    )

    # self-play and replay
    games_per_iteration: int = param(64, "self-play games finished per iteration")
    parallel_games: int = param(64, "games searched together (the batch of every network call)")
    augment: bool = param(True, "add the board symmetries of every position to the replay")
    replay_games: int = param(2000, "replay window: positions of this many most recent games")
    replay_growth: float = param(
        0.0,
        "grow the replay window with training (KataGo): it holds min(replay_games, max(games_per_iteration, "
        "replay_growth * games played)) games, so early positions of a weak net leave sooner; 0 = always replay_games",
    )
    fast_simulations: int = param(
        0,
        "playout-cap randomisation (KataGo, Wu 2019): simulations of the cheap searches that only move the game on; "
        "0 = every move is a full search",
    )
    full_search_prob: float = param(
        0.25,
        "with fast_simulations > 0: chance that a move (for all games of a batch) gets num_simulations and becomes "
        "a training position; the other moves search fast_simulations and are not recorded",
    )
    value_target_mix: float = param(
        0.0,
        "value target = (1 - mix) * game result + mix * the root's search value (0 = the result alone, AlphaZero)",
    )
    weights_sync_iterations: int = param(1, "iterations between copies of the learner's weights to self-play")

    # learning
    batch_size: int = param(256, "positions per learner update")
    updates_per_iteration: int = param(100, "learner updates after each round of self-play")
    optimizer: str = param("adam", "optimiser", choices=["adam", "sgd"])
    lr: float = param(1e-3, "learning rate")
    momentum: float = param(0.9, "momentum of sgd")
    l2: float = param(1e-4, "L2 penalty c * ||theta||^2 added to the loss (AlphaZero: 1e-4)")
    value_loss_weight: float = param(1.0, "weight of the value MSE beside the policy cross-entropy")

    # compute
    torch_threads: int = param(
        1,
        "torch CPU threads of self-play, the learner, evaluation and play (each role sets it where it is built); "
        "1 is fastest for small nets on a shared machine; 0 keeps torch's default (all cores)",
    )

    # evaluation and checkpoints
    eval_every_iterations: int = param(5, "iterations between arena evaluations (0 = never)")
    eval_simulations: int = param(100, "simulations per move of the agent in evaluation games (no noise, greedy)")
    eval_opponents: list[str] = param(["random", "one_ply"], "reference players the checkpoints meet")  # noqa: RUF009 (param makes a default_factory)
    eval_openings: int = param(8, "openings per evaluation match; each is played with both colours")
    eval_pons_positions: int = param(
        0, "Connect Four: positions of each Pons benchmark set scored at every evaluation (mistake rate; 0 = off)"
    )
    checkpoint_every_iterations: int = param(5, "iterations between checkpoints (the last one is always saved)")
    keep_checkpoints: int = param(
        3, "newest checkpoints kept in the run (0 = all, e.g. to score strength against training time afterwards)"
    )


def _tictactoe() -> AlphaZeroConfig:
    # Small enough to learn perfect play in a few minutes on two CPU cores.
    return AlphaZeroConfig(
        game="tictactoe", channels=32, blocks=2, num_simulations=40, temperature_moves=4, tactics=True,
        iterations=25, games_per_iteration=64, replay_games=1000, batch_size=128, updates_per_iteration=40,
        eval_simulations=100, eval_opponents=["random", "perfect"], eval_openings=10,
    )  # fmt: skip


def _connect4() -> AlphaZeroConfig:
    # Sized for two CPU cores: Gumbel search with 16 simulations makes cheap but sound policy targets
    # (Danihelka et al. 2022), 64 games per iteration keep the weights fresh, and evaluation is rare and
    # small (the full Pons sets are scored after training: scripts/eval_connect4.py).
    return AlphaZeroConfig(
        game="connect4", channels=64, blocks=5, search="gumbel", num_simulations=16, temperature_moves=10,
        tactics=True, iterations=1000, games_per_iteration=64, parallel_games=64, replay_games=4000,
        batch_size=256, updates_per_iteration=50, eval_every_iterations=50, eval_simulations=64,
        eval_opponents=["random", "alphabeta:4"], eval_openings=8, eval_pons_positions=20,
        checkpoint_every_iterations=25,
    )  # fmt: skip


def _othello() -> AlphaZeroConfig:
    return AlphaZeroConfig(
        game="othello", channels=64, blocks=6, num_simulations=200, temperature_moves=20,
        iterations=100, games_per_iteration=256, parallel_games=256, replay_games=10_000, batch_size=512,
        updates_per_iteration=200, eval_opponents=["random", "one_ply", "alphabeta:3"],
    )  # fmt: skip


def _gomoku() -> AlphaZeroConfig:
    # Wide boards with many legal moves: Gumbel search keeps the simulation count (and cost) low.
    return AlphaZeroConfig(
        game="gomoku", game_size=9, channels=64, blocks=6, search="gumbel", num_simulations=32,
        iterations=100, games_per_iteration=256, parallel_games=256, replay_games=10_000, batch_size=512,
        updates_per_iteration=200, eval_simulations=64, eval_opponents=["random", "one_ply", "alphabeta:2"],
    )  # fmt: skip


def _hex() -> AlphaZeroConfig:
    return AlphaZeroConfig(
        game="hex", game_size=7, channels=64, blocks=6, search="gumbel", num_simulations=32,
        iterations=100, games_per_iteration=256, parallel_games=256, replay_games=10_000, batch_size=512,
        updates_per_iteration=200, eval_simulations=64, eval_opponents=["random", "one_ply", "alphabeta:2"],
    )  # fmt: skip


def _go() -> AlphaZeroConfig:
    return AlphaZeroConfig(
        game="go", game_size=9, channels=96, blocks=8, search="gumbel", num_simulations=32, temperature_moves=30,
        iterations=200, games_per_iteration=256, parallel_games=256, replay_games=5000, batch_size=512,
        updates_per_iteration=200, eval_simulations=64, eval_opponents=["random", "alphabeta:1"],
    )  # fmt: skip


PRESETS: dict[str, Callable[[], AlphaZeroConfig]] = {
    "tictactoe": _tictactoe,
    "connect4": _connect4,
    "othello": _othello,
    "gomoku": _gomoku,
    "hex": _hex,
    "go": _go,
}


def preset_names() -> list[str]:
    return list(PRESETS)


def make_config(game: str = "tictactoe", overrides: list[str] | tuple[str, ...] = ()) -> AlphaZeroConfig:
    """The preset for `game` with "key=value" overrides applied (unknown keys raise RlkitError)."""
    if game not in PRESETS:
        raise RlkitError(f"no AlphaZero preset for game {game!r}; choose from: {', '.join(PRESETS)}")
    cfg = apply_overrides(PRESETS[game](), list(overrides))
    if cfg.game != game:
        raise RlkitError(f"the {game!r} preset cannot train game={cfg.game!r}; pick that game's preset instead")
    check_config(cfg)
    return cfg


def check_config(cfg: AlphaZeroConfig) -> None:
    """Cross-field checks that `param` choices cannot express."""
    validate(cfg)
    positive = [
        "num_simulations",
        "games_per_iteration",
        "parallel_games",
        "batch_size",
        "replay_games",
        "updates_per_iteration",
        "weights_sync_iterations",
        "checkpoint_every_iterations",
        "eval_simulations",
    ]
    for name in positive:
        if getattr(cfg, name) < 1:
            raise RlkitError(f"config key {name!r} must be >= 1, got {getattr(cfg, name)}")
    if cfg.seed < 0 or cfg.iterations < 1:
        raise RlkitError(f"seed must be >= 0 and iterations >= 1, got seed={cfg.seed}, iterations={cfg.iterations}")
    if not cfg.lr > 0:
        raise RlkitError(f"config key 'lr' must be > 0, got {cfg.lr}")
    if not 0.0 <= cfg.dirichlet_fraction <= 1.0:
        raise RlkitError(f"config key 'dirichlet_fraction' must lie in [0, 1], got {cfg.dirichlet_fraction}")
    for opponent in cfg.eval_opponents:
        try:
            check_reference_player(opponent, cfg.game)
        except RlkitError as err:
            raise RlkitError(f"eval_opponents: {err}") from None
    if cfg.search == "gumbel" and cfg.reuse_tree:
        raise RlkitError(
            "reuse_tree=true needs search=puct: Gumbel's sequential halving starts from fresh visit counts"
        )
    if cfg.tactics and cfg.game not in TACTICAL_GAMES:
        raise RlkitError(f"tactics=true needs a placement game ({', '.join(TACTICAL_GAMES)}), not {cfg.game!r}")
    if cfg.fast_simulations < 0 or (cfg.fast_simulations and cfg.fast_simulations >= cfg.num_simulations):
        raise RlkitError(
            f"config key 'fast_simulations' must be 0 (off) or in [1, num_simulations={cfg.num_simulations}), "
            f"got {cfg.fast_simulations}"
        )
    if not 0.0 < cfg.full_search_prob <= 1.0:
        raise RlkitError(f"config key 'full_search_prob' must lie in (0, 1], got {cfg.full_search_prob}")
    if not 0.0 <= cfg.value_target_mix <= 1.0:
        raise RlkitError(f"config key 'value_target_mix' must lie in [0, 1], got {cfg.value_target_mix}")
    if cfg.replay_growth < 0:
        raise RlkitError(f"config key 'replay_growth' must be >= 0 (0 = fixed window), got {cfg.replay_growth}")
    if cfg.keep_checkpoints < 0:
        raise RlkitError(f"config key 'keep_checkpoints' must be >= 0 (0 = keep all), got {cfg.keep_checkpoints}")
    if cfg.torch_threads < 0:
        raise RlkitError(f"config key 'torch_threads' must be >= 0 (0 = torch's default), got {cfg.torch_threads}")
    if cfg.search == "gumbel" and cfg.max_considered < 1:
        raise RlkitError(f"config key 'max_considered' must be >= 1, got {cfg.max_considered}")


def apply_torch_threads(cfg: AlphaZeroConfig) -> None:
    """Set torch's CPU thread count from `cfg.torch_threads` (0 leaves torch's default)."""
    if cfg.torch_threads > 0:
        import torch  # the config module itself stays free of torch

        torch.set_num_threads(cfg.torch_threads)
