"""AlphaZero: batched array-based MCTS self-play on the board games of `envs.boards`.

    from agents.alphazero import AlphaZero
    model = AlphaZero("tictactoe", seed=0).learn(20)            # iterations of self-play + learning
    model.save("ttt.pt")
    AlphaZero.load("ttt.pt").predict(model.game.reset(1))       # a move from search, long [B]
    play("tictactoe", "ttt.pt", human_color=0)                  # in the terminal

Lower level: `make_config` (per-game preset + overrides) and `train(cfg, run, resume=...)`, the
loop `AlphaZero.learn` runs (`agents.alphazero.train`).

Search: `mcts.puct_search` (AlphaZero PUCT) and `gumbel.gumbel_search` (Gumbel AlphaZero), both
over B games at once with one network call per simulation. Roles for distributed backends:
`SelfPlayWorker`, `ReplayWindow`, `Learner`.
"""

from .agent import load_agent, make_game, make_network, network_evaluator
from .config import PRESETS, AlphaZeroConfig, make_config, preset_names
from .evaluate import CheckpointEvaluator, arena, evaluate_player
from .gumbel import gumbel_search
from .learner import Learner
from .matches import EloTable, MatchResult, elo_from_score, make_openings, play_match
from .mcts import SearchOutput, puct_search
from .model import AlphaZero
from .play import play
from .players import MCTSPlayer, PolicyPlayer, make_player
from .selfplay import ReplayWindow, Samples, SelfPlayWorker
from .train import train

__all__ = [
    "PRESETS",
    "AlphaZero",
    "AlphaZeroConfig",
    "CheckpointEvaluator",
    "EloTable",
    "Learner",
    "MCTSPlayer",
    "MatchResult",
    "PolicyPlayer",
    "ReplayWindow",
    "Samples",
    "SearchOutput",
    "SelfPlayWorker",
    "arena",
    "elo_from_score",
    "evaluate_player",
    "gumbel_search",
    "load_agent",
    "make_config",
    "make_game",
    "make_network",
    "make_openings",
    "make_player",
    "network_evaluator",
    "play",
    "play_match",
    "preset_names",
    "puct_search",
    "train",
]
