"""``AlphaZero``: the object a user holds. ``learn`` / ``save`` / ``load`` / ``predict`` / ``policy`` / ``evaluate``.

from agents.alphazero import AlphaZero
model = AlphaZero("tictactoe", seed=0).learn(20)          # iterations; backend="ray" scales self-play
model.save("ttt.pt")
game = model.game
state = game.from_moves(["b2"])                          # or game.reset(B): any batch of positions
move = AlphaZero.load("ttt.pt").predict(state, num_simulations=64)   # long [B]
visits, value = model.policy(state)                      # search visit distribution [B, A], value [B]
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import torch

from envs.boards import BoardGame, State
from rlkit.agent import Agent
from rlkit.config import replace_values
from rlkit.errors import RlkitError

from .agent import make_game, make_network, network_evaluator, run_search
from .config import AlphaZeroConfig, check_config, make_config
from .evaluate import CheckpointEvaluator
from .players import MCTSPlayer
from .train import Trainer, check_architecture

__all__ = ["AlphaZero"]


class AlphaZero(Agent):
    """AlphaZero self-play with batched MCTS (PUCT or Gumbel) on a board game of ``envs.boards``.

    :param game: tictactoe, connect4, othello, gomoku, hex or go (its preset, ``agents.alphazero.PRESETS``).
    :param config: a ready ``AlphaZeroConfig`` instead of ``game``/``overrides``.
    :param run_dir: an existing run directory to continue in; else ``learn`` creates one in ``runs_dir``.
    :param overrides: config keys and values, e.g. ``num_simulations=64, seed=1``.
    :raises RlkitError: unknown game, key or value.
    """

    name = "alphazero"
    budget_key = "iterations"
    counter = "iteration"
    config_cls = AlphaZeroConfig

    def __init__(
        self,
        game: str | None = None,
        *,
        config: AlphaZeroConfig | None = None,
        run_dir: str | os.PathLike | None = None,
        runs_dir: str = "runs",
        **overrides: Any,
    ) -> None:
        if config is None:
            config = make_config(game or "connect4")
        elif game is not None and game != config.game:
            raise RlkitError(f"game {game!r} differs from the config's {config.game!r}; pass one of them")
        config = replace_values(config, overrides) if overrides else config
        check_config(config)
        super().__init__(config, run_dir, runs_dir)
        self._net: torch.nn.Module | None = None
        self._game: BoardGame | None = None

    def _make_trainer(self, num_workers: int) -> Trainer:
        self._net = None
        return Trainer(self.config, num_workers)

    def _pending_counter(self) -> int:
        return self._pending_state["counters"]["iteration"]

    def _run_name(self) -> str:
        return f"alphazero-{self.config.game}-{super()._run_name().split('-', 1)[1]}"

    def _describe(self) -> str:
        return repr(self.config.game)

    def _check_loaded(self, state: dict[str, Any], path: Path) -> None:
        check_architecture(state, self.config, path)

    # ------------------------------------------------------------------ playing
    @property
    def game(self) -> BoardGame:
        """The board game this agent plays (``envs.boards``), on the config's device."""
        if self._game is None:
            self._game = make_game(self.config)
        return self._game

    @property
    def network(self) -> torch.nn.Module:
        """The policy-value network (the learner's, or the loaded checkpoint's)."""
        if self._trainer is not None:
            return self._trainer.learner.net
        if self._net is None:
            net = make_network(self.config, self.game)
            if self._pending_state is not None:
                try:
                    net.load_state_dict(self._pending_state["learner"]["net"])
                except RuntimeError:
                    raise RlkitError("the checkpoint's weights do not fit the network its config describes") from None
            self._net = net.eval()
        return self._net

    def _search(self, state: State, num_simulations: int | None):
        sims = self._simulations(num_simulations)
        if bool(self.game.terminal(state).any()):
            raise RlkitError("predict/policy need unfinished positions; some of these games are over")
        evaluator = network_evaluator(self.network, self.game, self.config.inference_dtype)
        return run_search(self.config, self.game, evaluator, state, num_simulations=sims, explore=False)

    def _simulations(self, num_simulations: int | None) -> int:
        sims = self.config.eval_simulations if num_simulations is None else num_simulations
        if isinstance(sims, bool) or not isinstance(sims, int) or sims < 1:
            raise RlkitError(f"num_simulations must be a whole number >= 1, got {num_simulations!r}")
        return sims

    @torch.no_grad()
    def predict(self, state: State, num_simulations: int | None = None) -> torch.Tensor:
        """The move the search picks (no root noise) in each of B positions: ``long [B]``.

        :param num_simulations: search budget per move (default: the config's ``eval_simulations``).
        """
        return self._search(state, num_simulations).action

    @torch.no_grad()
    def policy(self, state: State, num_simulations: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Root visit distribution ``float32 [B, A]`` (sums to 1) and search value ``float32 [B]`` for
        the player to move, in each of B positions."""
        output = self._search(state, num_simulations)
        visits = output.visit_counts
        return visits / visits.sum(dim=1, keepdim=True).clamp(min=1.0), output.root_value

    def player(self, num_simulations: int | None = None) -> MCTSPlayer:
        """This agent as an arena player (``envs.players`` interface)."""
        return MCTSPlayer(self.network, self.config, self._simulations(num_simulations))

    def evaluate(
        self, opponents: list[str] | None = None, games: int = 20, num_simulations: int | None = None
    ) -> dict[str, Any]:
        """Play against reference players (default: the config's ``eval_opponents``), ``games`` per
        opponent with both colours; for Connect Four also the share of solver-optimal moves.

        :returns: ``eval/<opponent>/score`` and ``/wdl`` (W/D/L: wins/draws/losses, "3/4/9"), ``eval/elo`` (random = 0), ...
        """
        if isinstance(games, bool) or not isinstance(games, int) or games < 2:
            raise RlkitError(f"games must be a whole number >= 2 (half with each colour), got {games!r}")
        changes = {"eval_openings": games // 2, "eval_simulations": self._simulations(num_simulations)}
        if opponents is not None:
            changes["eval_opponents"] = list(opponents)
        config = dataclasses.replace(self.config, **changes)
        check_config(config)
        metrics = CheckpointEvaluator(config).evaluate(self.network, "agent")
        metrics.pop("eval/elo_table", None)  # one agent: its Elo against the anchor says it all
        return {"game": config.game, "simulations": config.eval_simulations, **metrics}
