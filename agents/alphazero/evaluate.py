"""Checkpoint evaluation: arena matches against reference players and the previous checkpoint,
an Elo table over checkpoints, and (Connect Four) mistake rates on a fixed subsample of Pons'
benchmark sets (`envs.connect4_pons`; the full sets: `scripts/eval_connect4.py`)."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from pathlib import Path

import torch

import envs.boards
from envs.boards import BoardGame, State
from rlkit.plots import pyplot, save_figure

from .agent import make_game
from .config import AlphaZeroConfig, apply_torch_threads
from .matches import EloTable, MatchResult, make_openings, play_match
from .players import MCTSPlayer, make_player

__all__ = [
    "CheckpointEvaluator",
    "arena",
    "connect4_optimal_moves",
    "elo_intervals",
    "evaluate_player",
    "optimal_move_share",
    "plot_elo_table",
    "pons_mistakes",
    "random_positions",
]


def arena(
    game_name: str,
    player_a: str,
    player_b: str,
    num_openings: int = 10,
    num_simulations: int | None = None,
    seed: int = 0,
    device: str = "cpu",
    game_size: int = 0,
    torch_threads: int = 1,
) -> MatchResult:
    """Match between two named players (see `make_player`: reference names or checkpoint paths)
    over `num_openings` openings, each played with both colours; `torch_threads` CPU threads (0: torch's default)."""
    if torch_threads > 0:
        torch.set_num_threads(torch_threads)
    game = envs.boards.make(game_name, device=device, **({"size": game_size} if game_size else {}))
    a = make_player(player_a, game, num_simulations, seed)
    b = make_player(player_b, game, num_simulations, seed + 1)
    return play_match(game, a, b, make_openings(game, num_openings, seed))


def evaluate_player(
    game: BoardGame,
    player,
    opponents: list[str],
    openings: list[list[int]],
    seed: int = 0,
    on_match: Callable[[str], None] | None = None,
) -> dict[str, MatchResult]:
    """Results of `player` against each named reference player over `openings`, both colours;
    `on_match(name)` is called before each match (a progress display)."""
    results = {}
    for name in opponents:
        if on_match is not None:
            on_match(name)
        results[name] = play_match(game, player, make_player(name, game, seed=seed), openings)
    return results


def random_positions(game: BoardGame, count: int, min_moves: int, max_moves: int, seed: int = 0) -> State:
    """`count` unfinished positions after a uniformly random number of uniformly random moves in [min, max]."""
    generator = torch.Generator().manual_seed(seed)
    found: list[State] = []
    while len(found) < count:
        target = int(torch.randint(min_moves, max_moves + 1, (1,), generator=generator))
        state = game.reset(1)
        for _ in range(target):
            if bool(game.terminal(state)[0]):
                break
            legal = game.legal_actions(state)
            state = game.step(state, torch.tensor([legal[int(torch.randint(len(legal), (1,), generator=generator))]]))
        if not bool(game.terminal(state)[0]):
            found.append(state)
    return State.cat(found)


def optimal_move_share(game: BoardGame, player, positions: State, optimal: torch.Tensor) -> float:
    """Share of `positions` where `player`'s move is optimal; `optimal` is bool [B, A]."""
    actions = player(game, positions)
    return float(optimal.gather(1, actions[:, None]).float().mean())


def connect4_optimal_moves(game: BoardGame, positions: State) -> torch.Tensor:
    """bool [B, A]: the moves that keep each position's game-theoretic value, by the exact solver."""
    from envs.connect4_solver import Connect4Solver  # numba-compiled search; imported only when needed

    solver = Connect4Solver()
    optimal = torch.zeros(positions.batch_size, game.num_actions, dtype=torch.bool)
    for i in range(positions.batch_size):
        _, moves, _ = solver.solve(game, positions, i)
        optimal[i, moves] = True
    return optimal.to(game.device)


def pons_mistakes(game: BoardGame, player, positions: dict) -> dict[str, float]:
    """`eval/pons/<set>` mistake % of `player` on `positions` (from `envs.connect4_pons.subsample`) and their mean."""
    from envs.connect4_pons import score_player

    report = score_player(game, player, positions)
    metrics = {f"eval/pons/{name}": row["mistake_pct"] for name, row in report.items()}
    metrics["eval/pons/mean"] = sum(metrics.values()) / max(len(metrics), 1)
    return metrics


class CheckpointEvaluator:
    """Evaluates successive training checkpoints and keeps their Elo table.

    Each evaluation plays the agent (MCTS, no noise, greedy) against the configured reference
    players and against the previously evaluated checkpoint; every result enters the Elo table,
    anchored at the random player (Elo 0). Connect Four also scores `eval_pons_positions` positions
    of each Pons set (labels precomputed, so this costs only the agent's searches).
    """

    def __init__(self, config: AlphaZeroConfig):
        apply_torch_threads(config)
        self.config = config
        self.game = make_game(config)
        self.openings = make_openings(self.game, config.eval_openings, seed=config.seed)
        self.elo = EloTable(anchor="random")
        self.previous: tuple[str, torch.nn.Module] | None = None
        self.pons: dict | None = None
        if config.game == "connect4" and config.eval_pons_positions > 0:
            from envs.connect4_pons import subsample

            self.pons = subsample(config.eval_pons_positions)

    def evaluate(
        self, net: torch.nn.Module, name: str, on_match: Callable[[str], None] | None = None
    ) -> dict[str, float | str]:
        """`eval/` metrics of checkpoint `name`: score against each opponent, its Elo, optimal-move share.
        `on_match(opponent)` is called before each match."""
        snapshot = copy.deepcopy(net).eval()
        agent = MCTSPlayer(snapshot, self.config)
        metrics: dict[str, float | str] = {}
        opponents = self.config.eval_opponents
        results = evaluate_player(self.game, agent, opponents, self.openings, self.config.seed, on_match)
        if self.previous is not None:
            if on_match is not None:
                on_match("previous")
            results[self.previous[0]] = play_match(
                self.game, agent, MCTSPlayer(self.previous[1], self.config), self.openings
            )
        for opponent, result in results.items():
            self.elo.add(name, opponent, result)
            key = "previous" if self.previous is not None and opponent == self.previous[0] else opponent
            metrics[f"eval/{key}/score"] = result.score
            metrics[f"eval/{key}/wdl"] = f"{result.wins}/{result.draws}/{result.losses}"
        ratings = self.elo.ratings()
        metrics["eval/elo"] = ratings[name]
        metrics["eval/elo_table"] = {player: round(r, 1) for player, r in ratings.items()}
        if self.pons is not None:
            metrics.update(pons_mistakes(self.game, agent, self.pons))
        self.previous = (name, snapshot)
        return metrics

    def state_dict(self) -> dict:
        previous = None if self.previous is None else {"name": self.previous[0], "net": self.previous[1].state_dict()}
        return {"elo": self.elo.state_dict(), "previous": previous}

    def load_state_dict(self, state: dict, net_template: torch.nn.Module) -> None:
        self.elo.load_state_dict(state["elo"])
        if state["previous"] is not None:
            previous = copy.deepcopy(net_template).eval()
            previous.load_state_dict(state["previous"]["net"])
            self.previous = (state["previous"]["name"], previous)


def elo_intervals(table: EloTable, ratings: dict[str, float], z: float = 1.96) -> dict[str, tuple[float, float]]:
    """A 95% interval around each player's fitted Elo, from the Fisher information of its own rating
    with the others held at their fit (so slightly narrow): ``1 / sqrt(sum_q n_pq p_pq (1 - p_pq))``
    in natural-log strength units. Counts the table's virtual draw against the anchor as the fit does."""
    games: dict[tuple[str, str], float] = {}
    for r in table.records:
        n = r["w"] + r["d"] + r["l"]
        for p, q in ((r["a"], r["b"]), (r["b"], r["a"])):
            games[(p, q)] = games.get((p, q), 0.0) + n
    for p in ratings:
        if p != table.anchor:
            games[(p, table.anchor)] = games.get((p, table.anchor), 0.0) + 1.0
    to_elo = 400.0 / math.log(10.0)
    intervals = {}
    for p, rating in ratings.items():
        information = 0.0
        for (x, q), n in games.items():
            if x == p:
                expected = 1.0 / (1.0 + 10 ** ((ratings[q] - rating) / 400.0))
                information += n * expected * (1.0 - expected)
        half = z * to_elo / math.sqrt(information) if information > 0 else 0.0
        intervals[p] = (rating - half, rating + half)
    return intervals


def plot_elo_table(
    ratings: dict[str, float],
    out_png: str | Path,
    intervals: dict[str, tuple[float, float]] | None = None,
    title: str | None = None,
) -> Path:
    """Draw the Elo of every checkpoint ("iter_<n>") against its iteration with its 95% interval
    (``intervals``, e.g. from `elo_intervals`), reference players as labelled horizontal lines;
    returns the PNG path."""
    from matplotlib.ticker import MaxNLocator

    checkpoints = sorted((int(name.split("_")[1]), name) for name in ratings if name.startswith("iter_"))
    fig, ax = pyplot().subplots(figsize=(7, 4))
    if checkpoints:
        xs = [i for i, _ in checkpoints]
        ys = [ratings[name] for _, name in checkpoints]
        if intervals:
            low = [ratings[name] - intervals[name][0] for _, name in checkpoints]
            high = [intervals[name][1] - ratings[name] for _, name in checkpoints]
            ax.errorbar(xs, ys, yerr=[low, high], marker="o", ms=4, capsize=3, label="checkpoint (95% interval)")
        else:
            ax.plot(xs, ys, marker="o", ms=4, label="checkpoint")
        ax.legend(loc="upper left", fontsize=8)
    references = sorted((r, name) for name, r in ratings.items() if not name.startswith("iter_"))
    for rating, _ in references:
        ax.axhline(rating, ls="--", lw=1, color="grey")
    # Reference names sit right of the plot, pushed apart so that close ratings do not overprint.
    bottom, top = ax.get_ylim()
    gap = 0.055 * (top - bottom)
    placed: list[float] = []
    for rating, name in references:
        y = max(rating, placed[-1] + gap) if placed else rating
        placed.append(y)
        ax.annotate(f"{name} ({rating:+.0f})", (1.01, y), xycoords=("axes fraction", "data"), fontsize=8, va="center",
                    annotation_clip=False)  # fmt: skip
    ax.set_ylim(bottom, max(top, placed[-1] + gap) if placed else top)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("iteration")
    ax.set_ylabel("Elo (random = 0)")
    ax.set_title(title or "Elo of the checkpoints", fontsize=10)
    ax.grid(alpha=0.3)
    return save_figure(fig, out_png)
