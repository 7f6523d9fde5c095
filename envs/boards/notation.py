"""Move notation shared by the grid games: column letters and "e5"-style square names."""

from __future__ import annotations

__all__ = ["column_letters", "square_action", "square_name"]


def column_letters(n: int, skip_i: bool = False) -> str:
    """Column labels 'a', 'b', ... (Go skips 'i' by tradition)."""
    letters = "abcdefghjklmnopqrstuvwxyz" if skip_i else "abcdefghijklmnopqrstuvwxyz"
    if n > len(letters):
        raise ValueError(f"boards wider than {len(letters)} columns have no letter notation")
    return letters[:n]


def square_action(text: str, size: int, row1_is_index0: bool = True, skip_i: bool = False) -> int:
    """Action (row index * size + column) of a square written "e5" on a size x size board.

    `row1_is_index0` says whether row number 1 is board row index 0 (Hex, Othello, and Go,
    whose board is stored bottom-up) or index size - 1 (Gomoku: row 1 is the bottom row of a
    board stored top-down). Raises ValueError for anything else.
    """
    col = column_letters(size, skip_i).index(text[0])
    number = int(text[1:])
    if not 1 <= number <= size:
        raise ValueError(f"row {number} is off the board")
    row = number - 1 if row1_is_index0 else size - number
    return row * size + col


def square_name(action: int, size: int, row1_is_index0: bool = True, skip_i: bool = False) -> str:
    """The "e5" name of an action; inverse of `square_action`."""
    row, col = divmod(action, size)
    return column_letters(size, skip_i)[col] + str(row + 1 if row1_is_index0 else size - row)
