"""AlphaZero players with the `envs.players` interface, and players built from a name.

A player is `player(game, state) -> actions long [B]` for the player to move in each game,
NO_ACTION where a game is over, so an MCTS agent, its raw policy and the reference players
of `envs.players` can all meet in an arena.
"""

from __future__ import annotations

from pathlib import Path

import torch

from envs import players as reference
from envs.boards import NO_ACTION, BoardGame, State
from rlkit.errors import RlkitError

from .agent import load_agent, network_evaluator, run_search
from .config import AlphaZeroConfig, apply_torch_threads
from .shipped import PREFIX, shipped_games, shipped_path
from .tactics import search_evaluator

__all__ = ["MCTSPlayer", "PolicyPlayer", "make_player"]


def _over_running(game: BoardGame, state: State, choose) -> torch.Tensor:
    """Apply `choose(states) -> actions` to the unfinished games only; NO_ACTION elsewhere."""
    actions = torch.full((state.batch_size,), NO_ACTION, dtype=torch.long, device=game.device)
    running = torch.nonzero(~game.terminal(state)).flatten()
    if running.numel():
        actions[running] = choose(state[running])
    return actions


class MCTSPlayer:
    """Search with the trained network and play the search's choice: no root noise, greedy (evaluation play)."""

    def __init__(self, net: torch.nn.Module, config: AlphaZeroConfig, num_simulations: int | None = None):
        self.net, self.config = net, config
        self.num_simulations = num_simulations or config.eval_simulations

    def __call__(self, game: BoardGame, state: State) -> torch.Tensor:
        evaluator = search_evaluator(self.net, game, self.config)

        def choose(roots: State) -> torch.Tensor:
            output = run_search(
                self.config, game, evaluator, roots, num_simulations=self.num_simulations, explore=False
            )
            return output.action

        return _over_running(game, state, choose)


class PolicyPlayer:
    """The network's raw policy without search: the most probable legal move."""

    def __init__(self, net: torch.nn.Module):
        self.net = net

    def __call__(self, game: BoardGame, state: State) -> torch.Tensor:
        evaluator = network_evaluator(self.net, game)

        def choose(roots: State) -> torch.Tensor:
            logits, _ = evaluator(roots)
            return logits.masked_fill(~game.legal_mask(roots), -torch.inf).argmax(dim=1)

        return _over_running(game, state, choose)


def make_player(spec: str, game: BoardGame, num_simulations: int | None = None, seed: int = 0):
    """A player from a name: a reference player ("random", "one_ply", "alphabeta:4", "perfect", "solver"),
    an AlphaZero checkpoint file or run directory (its newest readable checkpoint; MCTS with `num_simulations`),
    a shipped agent "az:<game>", or "policy:<checkpoint>" (raw network policy; also "policy:az:<game>")."""
    if reference.is_reference_player(spec):
        return reference.reference_player(spec, seed, game_name=game.name)
    name, _, argument = spec.partition(":")
    argument = argument if name == "policy" else spec
    path = shipped_path(argument) if argument.startswith(PREFIX) else Path(argument)
    if not path.exists():
        raise RlkitError(
            f"unknown player {spec!r}: give a checkpoint file or run directory, policy:<checkpoint>, a shipped "
            f"agent ({', '.join(PREFIX + g for g in shipped_games()) or 'none'}), or one of "
            f"{', '.join(reference.REFERENCE_PLAYERS)} (alphabeta:<depth>)"
        )
    config, agent_game, net = load_agent(path, device=game.device.type)
    apply_torch_threads(config)
    if agent_game.name != game.name or agent_game.num_actions != game.num_actions:
        raise RlkitError(f"checkpoint {str(path)!r} plays {agent_game.name}, not {game.name}")
    return PolicyPlayer(net) if name == "policy" else MCTSPlayer(net, config, num_simulations)
