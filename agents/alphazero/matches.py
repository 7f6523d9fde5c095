"""Matches between two players over a set of openings with colours swapped, and Elo ratings.

Every opening is played twice, once with each player moving first from it, and all games
of a match run as one batch. Elo follows the logistic model: a rating gap d gives an
expected score 1 / (1 + 10^(-d/400)).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from envs.boards import NO_ACTION, BoardGame, State

__all__ = ["EloTable", "MatchResult", "elo_from_score", "make_openings", "play_match"]

Player = Callable[[BoardGame, State], torch.Tensor]


@dataclass
class MatchResult:
    """Wins, draws and losses of player A against player B."""

    wins: int
    draws: int
    losses: int

    @property
    def games(self) -> int:
        return self.wins + self.draws + self.losses

    @property
    def score(self) -> float:
        """A's mean score, a win counting 1 and a draw 1/2."""
        return (self.wins + 0.5 * self.draws) / max(self.games, 1)

    def elo(self, z: float = 1.96) -> tuple[float, float, float]:
        """A's Elo advantage over B and a confidence interval (normal approximation of the mean score, z=1.96: 95%).

        A perfect or zero score has no finite maximum-likelihood Elo; the score is then clamped half a
        game away from the edge so the figures stay finite and say "at least this much".
        """
        n = max(self.games, 1)
        s = self.score
        variance = (self.wins * (1 - s) ** 2 + self.draws * (0.5 - s) ** 2 + self.losses * s**2) / n
        half_width = z * math.sqrt(variance / n)
        return elo_from_score(s, n), elo_from_score(s - half_width, n), elo_from_score(s + half_width, n)

    def summary(self) -> str:
        elo, low, high = self.elo()
        return f"W/D/L {self.wins}/{self.draws}/{self.losses} (score {self.score:.3f}, Elo {elo:+.0f} [{low:+.0f}, {high:+.0f}])"


def elo_from_score(score: float, games: int = 0) -> float:
    """Elo difference whose expected score is `score`; clamped to [1/(2n), 1 - 1/(2n)] for n games (if given)."""
    edge = 0.5 / games if games > 0 else 1e-6
    s = min(max(score, edge), 1 - edge)
    return 400.0 * math.log10(s / (1 - s))


def make_openings(game: BoardGame, count: int, seed: int = 0) -> list[list[int]]:
    """`count` distinct openings as action lists: the empty board, then every one-move opening in action
    order, then random two-move openings (seeded) as far as needed."""
    openings: list[list[int]] = [[]]
    start = game.reset(1)
    first_moves = game.legal_actions(start)
    openings += [[a] for a in first_moves]
    generator = torch.Generator().manual_seed(seed)
    tries = 0
    while len(openings) < count and tries < 100 * count:
        tries += 1
        first = first_moves[int(torch.randint(len(first_moves), (1,), generator=generator))]
        after = game.step(start, torch.tensor([first], device=game.device))
        replies = game.legal_actions(after)
        candidate = [first, replies[int(torch.randint(len(replies), (1,), generator=generator))]]
        if candidate not in openings and not bool(game.terminal(game.from_moves(candidate))[0]):
            openings.append(candidate)
    return openings[:count]


def play_match(game: BoardGame, player_a: Player, player_b: Player, openings: Sequence[Sequence[int]]) -> MatchResult:
    """Play every opening twice (A as player 0, then A as player 1) to the end, all games in one batch."""
    starts = [game.from_moves(list(moves)) for moves in openings]
    state = State.cat([s for s in starts for _ in range(2)])
    a_colour = torch.tensor([0, 1] * len(starts), device=game.device)
    while not bool(game.terminal(state).all()):
        to_play, running = game.current_player(state), ~game.terminal(state)
        actions = torch.full((state.batch_size,), NO_ACTION, dtype=torch.long, device=game.device)
        for player, turn in ((player_a, to_play == a_colour), (player_b, to_play != a_colour)):
            idx = torch.nonzero(turn & running).flatten()
            if idx.numel():
                actions[idx] = player(game, state[idx])
        state = game.step(state, actions)  # validated: a player that plays an illegal move is an error
    result = game.returns(state).gather(1, a_colour[:, None]).squeeze(1)
    return MatchResult(int((result > 0).sum()), int((result == 0).sum()), int((result < 0).sum()))


class EloTable:
    """Ratings of many players (checkpoints and reference players) fitted to all match results so far.

    Maximum likelihood under the logistic model (draws count half a win), by the minorisation-
    maximisation iteration for Bradley-Terry models (Hunter 2004). Every player also gets one
    virtual draw against the anchor, a weak prior that keeps ratings finite after perfect scores.
    """

    def __init__(self, anchor: str = "random"):
        self.anchor = anchor
        self.records: list[dict] = []

    def add(self, player_a: str, player_b: str, result: MatchResult) -> None:
        self.records.append({"a": player_a, "b": player_b, "w": result.wins, "d": result.draws, "l": result.losses})

    def ratings(self, iterations: int = 500) -> dict[str, float]:
        """Elo per player, the anchor at 0."""
        games: dict[tuple[str, str], float] = {}
        points: dict[str, float] = {self.anchor: 0.0}
        for r in self.records:
            for p, q, score in ((r["a"], r["b"], r["w"] + 0.5 * r["d"]), (r["b"], r["a"], r["l"] + 0.5 * r["d"])):
                games[(p, q)] = games.get((p, q), 0.0) + r["w"] + r["d"] + r["l"]
                points[p] = points.get(p, 0.0) + score
        for p in points:
            if p != self.anchor:
                for key in ((p, self.anchor), (self.anchor, p)):
                    games[key] = games.get(key, 0.0) + 1.0
                points[p] += 0.5
                points[self.anchor] += 0.5
        players = list(points)
        strength = dict.fromkeys(players, 1.0)
        for _ in range(iterations):
            for p in players:
                denominator = sum(n / (strength[p] + strength[q]) for (x, q), n in games.items() if x == p)
                strength[p] = max(points[p], 1e-9) / denominator if denominator else strength[p]
            scale = strength[self.anchor]
            strength = {p: s / scale for p, s in strength.items()}
        return {p: 400.0 * math.log10(s) for p, s in strength.items()}

    def state_dict(self) -> dict:
        return {"anchor": self.anchor, "records": list(self.records)}

    def load_state_dict(self, state: dict) -> None:
        self.anchor, self.records = state["anchor"], list(state["records"])
