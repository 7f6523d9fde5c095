"""A person against a trained agent in the terminal.

    play("connect4", "runs/c4/checkpoints/step_0000000100.pt", human_color=0, sims=400)
    play("connect4", "alphabeta:4")            # or against a reference player

Moves are typed in the game's notation (`game.notation_help()`); unreadable or illegal input
is asked again with the reason. `input_fn`/`print_fn` make the session scriptable for tests.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

import envs.boards
from envs.boards import BoardGame, IllegalMoveError, State
from rlkit.errors import RlkitError

from .players import make_player
from .shipped import PREFIX, shipped_games

__all__ = ["default_opponent", "play"]

QUIT_WORDS = ("quit", "exit", "q")


def _ask_move(game: BoardGame, state: State, input_fn: Callable[[str], str], print_fn) -> int | None:
    """A legal action typed by the person, or None when they quit (or input ends)."""
    while True:
        try:
            text = input_fn("your move: ").strip()
        except EOFError:
            return None
        if text.lower() in QUIT_WORDS:
            return None
        try:
            action = game.string_to_action(text)
        except IllegalMoveError as err:
            print_fn(str(err))
            continue
        legal = game.legal_actions(state)
        if action in legal:
            return action
        moves = ", ".join(game.action_to_string(a) for a in legal)
        print_fn(f"{text!r} is not a legal move here; legal moves: {moves}")


def default_opponent(game_name: str) -> str:
    """The shipped agent of the game (`az:<game>`) where one ships, else alpha-beta search of depth 4."""
    return PREFIX + game_name if game_name in shipped_games() else "alphabeta:4"


def play(
    game_name: str,
    opponent: str | None = None,
    human_color: int = 0,
    sims: int | None = None,
    input_fn: Callable[[str], str] = input,
    print_fn: Callable[[str], None] = print,
    device: str = "cpu",
    seed: int = 0,
    torch_threads: int = 1,
) -> float | None:
    """Play one game against `opponent`: an AlphaZero checkpoint (MCTS with `sims` simulations, its
    strength), a shipped agent "az:<game>" (the default where one ships, else "alphabeta:4"), "policy:<checkpoint>",
    or a reference player ("alphabeta:4", "solver", ...; see
    `make_player`). Returns the person's result (+1 win, 0 draw, -1 loss) or None if they quit;
    `human_color` 0 moves first; the search runs on `torch_threads` CPU threads (0: torch's default)."""
    if torch_threads > 0:
        torch.set_num_threads(torch_threads)
    if human_color not in (0, 1):
        raise RlkitError(f"human_color must be 0 (move first) or 1 (move second), got {human_color!r}")
    game = envs.boards.make(game_name, device=device)
    opponent = opponent or default_opponent(game_name)
    agent = make_player(opponent, game, num_simulations=sims, seed=seed)
    # az:<game> keeps its name
    name = "agent" if opponent.startswith("policy:") or Path(opponent).exists() else opponent
    marks = "XO"
    print_fn(f"You play {marks[human_color]} (player {human_color}); {game.notation_help()}; type 'quit' to stop.")
    state = game.reset(1)
    while not bool(game.terminal(state)[0]):
        print_fn(game.render(state))
        if int(game.current_player(state)[0]) == human_color:
            action = _ask_move(game, state, input_fn, print_fn)
            if action is None:
                print_fn("game abandoned")
                return None
        else:
            action = int(agent(game, state)[0])
            print_fn(f"{name} plays {game.action_to_string(action)}")
        state = game.step(state, torch.tensor([action], device=game.device))
    print_fn(game.render(state))
    result = float(game.returns(state)[0, human_color])
    print_fn({1.0: "You win.", 0.0: "Draw.", -1.0: f"{name} wins."}[result])
    return result
