"""Batched two-player board games with one tensor implementation each (see `base.py`).

    game = envs.boards.make("connect4", device="cpu")
    state = game.reset(256)
    state = game.step(state, actions)      # actions: long [256]

Games: tictactoe, connect4, othello, gomoku (size=15), hex (size=11), go (size=9).
Rules, action numbering and returns agree with OpenSpiel's games of the same name.
"""

from __future__ import annotations

import difflib
import importlib

from rlkit.errors import RlkitError

from .base import NO_ACTION, BoardGame, IllegalMoveError, State

__all__ = ["GAMES", "NO_ACTION", "BoardGame", "IllegalMoveError", "State", "game_names", "make"]

# name -> "module:Class"; modules import on first use so one game's import cost is not everyone's
GAMES: dict[str, str] = {
    "tictactoe": "envs.boards.tictactoe:TicTacToe",
    "connect4": "envs.boards.connect4:ConnectFour",
    "othello": "envs.boards.othello:Othello",
    "gomoku": "envs.boards.gomoku:Gomoku",
    "hex": "envs.boards.hex:Hex",
    "go": "envs.boards.go:Go",
}


def game_names() -> list[str]:
    return list(GAMES)


def game_class(name: str) -> type[BoardGame]:
    if name not in GAMES:
        close = difflib.get_close_matches(name, GAMES, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise RlkitError(f"unknown game {name!r}{hint}; choose from: {', '.join(GAMES)}")
    module, cls = GAMES[name].split(":")
    return getattr(importlib.import_module(module), cls)


def make(name: str, device="cpu", **kwargs) -> BoardGame:
    """Build a game by name; `size=` applies to gomoku, hex and go."""
    cls = game_class(name)
    try:
        return cls(device=device, **kwargs)
    except TypeError as err:
        raise RlkitError(f"{name}: bad option {kwargs} ({err})") from None
