"""One conformance suite run on every game in `envs.boards.GAMES`.

Each case plays a batch of seeded random games in rlkit (all games at once, finished
games receiving NO_ACTION) and records what the rules said at every step. The tests then
hold that record against OpenSpiel, the rules oracle (legal actions, player to move,
terminal flags, returns at every step), and check the rest of the board-game contract:
observation perspective, symmetries, notation, `from_moves`, errors and rendering.
A game whose module is not written yet is skipped with the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pytest
import torch

import envs.boards
from envs.boards import GAMES, NO_ACTION, BoardGame, IllegalMoveError, State

pyspiel = pytest.importorskip("pyspiel")


@dataclass(frozen=True)
class Case:
    """One game configuration: rlkit `make` options, the same game in OpenSpiel, how many games to play."""

    game: str
    spiel: str
    num_games: int
    options: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return "-".join([self.game, *(f"{k}{v}" for k, v in self.options.items())])


# Small boards give many quick games; the default sizes are covered by fewer games.
CASES: dict[str, list[Case]] = {
    "tictactoe": [Case("tictactoe", "tic_tac_toe", 500)],
    "connect4": [Case("connect4", "connect_four", 400)],
    "othello": [Case("othello", "othello", 200)],
    "gomoku": [
        Case("gomoku", "gomoku(size=7)", 300, {"size": 7}),
        Case("gomoku", "gomoku(size=9,connect=4)", 200, {"size": 9, "connect": 4}),
        Case("gomoku", "gomoku", 100),
    ],
    "hex": [
        Case("hex", "hex(board_size=5)", 400, {"size": 5}),
        Case("hex", "hex(board_size=8)", 200, {"size": 8}),
        Case("hex", "hex", 100),
    ],
    "go": [Case("go", "go(board_size=5)", 200, {"size": 5}), Case("go", "go(board_size=9)", 100)],
}
ALL_CASES = [case for name in GAMES for case in CASES.get(name, [])]


def test_every_registered_game_has_a_case():
    assert set(GAMES) <= set(CASES), f"add conformance cases for {sorted(set(GAMES) - set(CASES))}"


@dataclass
class Record:
    """What rlkit said while playing random games. T steps, B games, A actions."""

    actions: np.ndarray  # long [T, B]: action played at step t (NO_ACTION once a game is over)
    legal: np.ndarray  # bool [T + 1, B, A]: legal mask before step t (and after the last step)
    player: np.ndarray  # long [T + 1, B]
    terminal: np.ndarray  # bool [T + 1, B]
    returns: np.ndarray  # float [T + 1, B, 2]
    states: list[State]  # the batch state before step t, for every t in range(T + 1)

    def moves(self, i: int, t: int | None = None) -> list[int]:
        """The moves of game i before step t (all of them by default)."""
        return [int(a) for a in self.actions[:t, i] if a != NO_ACTION]


@pytest.fixture(scope="module", params=ALL_CASES, ids=str)
def case(request) -> Case:
    return request.param


@pytest.fixture(scope="module")
def game(case: Case) -> BoardGame:
    module = GAMES[case.game].split(":")[0]
    try:
        return envs.boards.make(case.game, **case.options)
    except ModuleNotFoundError as err:
        if err.name != module:
            raise
        pytest.skip(f"{module} is not written yet")


@pytest.fixture(scope="module")
def record(case: Case, game: BoardGame) -> Record:
    """Play `case.num_games` seeded random games as one batch until all are over."""
    generator = torch.Generator().manual_seed(ALL_CASES.index(case))
    state = game.reset(case.num_games)
    actions, legal, player, terminal, returns, states = [], [], [], [], [], []
    for _ in range(4 * game.num_actions + 200):
        mask = game.legal_mask(state)
        states.append(state)
        legal.append(mask.numpy())
        player.append(game.current_player(state).numpy())
        terminal.append(game.terminal(state).numpy())
        returns.append(game.returns(state).numpy())
        if terminal[-1].all():
            break
        # uniform over legal actions: the largest of uniform noise on legal entries
        picked = (torch.rand(mask.shape, generator=generator) * mask).argmax(1)
        action = torch.where(game.terminal(state), NO_ACTION, picked)
        actions.append(action.numpy())
        state = game.step(state, action)
    assert terminal[-1].all(), f"{case}: random games still running after {len(actions)} steps"
    return Record(np.stack(actions), np.stack(legal), np.stack(player), np.stack(terminal), np.stack(returns), states)


def _history(game: BoardGame, record: Record, i: int, t: int) -> str:
    return " ".join(game.action_to_string(a) for a in record.moves(i, t))


def _assert_same_state(a: State, b: State, what: str) -> None:
    assert set(a.keys()) == set(b.keys())
    for key, value in a.items():
        assert torch.equal(value, getattr(b, key)), f"{what}: field {key!r} differs"


def _sample_games(record: Record, t: int, count: int) -> list[int]:
    """Up to `count` games still running before step t (all games are running at t = 0)."""
    return np.flatnonzero(~record.terminal[t])[:count].tolist()


# ---------------------------------------------------------------------------------- rules
def test_agrees_with_openspiel(case: Case, game: BoardGame, record: Record):
    spiel_game = pyspiel.load_game(case.spiel)
    assert spiel_game.num_distinct_actions() == game.num_actions
    for i in range(case.num_games):
        spiel = spiel_game.new_initial_state()
        for t in range(len(record.terminal)):
            where = f"{case} game {i} after [{_history(game, record, i, t)}]"
            assert record.terminal[t, i] == spiel.is_terminal(), f"{where}: terminal flag"
            if spiel.is_terminal():
                np.testing.assert_array_equal(record.returns[t, i], spiel.returns(), err_msg=where)
                assert not record.legal[t, i].any(), f"{where}: finished game has legal actions"
                break
            assert record.player[t, i] == spiel.current_player(), f"{where}: player to move"
            spiel_legal = np.asarray(spiel.legal_actions_mask(), dtype=bool)
            np.testing.assert_array_equal(record.legal[t, i], spiel_legal, err_msg=f"{where}: legal actions")
            np.testing.assert_array_equal(record.returns[t, i], [0.0, 0.0], err_msg=f"{where}: unfinished returns")
            spiel.apply_action(int(record.actions[t, i]))


def test_from_moves_replays_batched_games_alone(game: BoardGame, record: Record):
    middle = len(record.states) // 2
    for t in (middle, len(record.states) - 1):
        for i in _sample_games(record, middle, 4):
            alone = game.from_moves([game.action_to_string(a) for a in record.moves(i, t)])
            _assert_same_state(alone, record.states[t][i : i + 1], f"game {i} replayed alone to step {t}")


def test_no_action_leaves_finished_games_unchanged(game: BoardGame, record: Record):
    steps = [t for t in range(len(record.actions)) if record.terminal[t].any() and not record.terminal[t].all()]
    assert steps, "no step with both finished and running games"
    for t in steps[:: max(1, len(steps) // 5)]:
        done = torch.from_numpy(record.terminal[t])
        before = record.states[t]
        after = game.step(before, torch.from_numpy(record.actions[t]))
        _assert_same_state(after[done], before[done], f"finished games at step {t}")


def test_illegal_moves_raise_naming_the_game(game: BoardGame, record: Record):
    final = record.states[-1]
    with pytest.raises(IllegalMoveError, match=r"game 2\b"):
        game.step(final, torch.tensor([NO_ACTION, NO_ACTION, 0] + [NO_ACTION] * (len(final) - 3)))

    # out of range, NO_ACTION in a running game, and (where the record has one) an in-range illegal action
    t, j = 3, int(np.flatnonzero(~record.terminal[3])[-1])
    bad_moves = [(t, j, game.num_actions), (t, j, NO_ACTION)]
    found = np.argwhere(~record.legal & ~record.terminal[..., None])
    bad_moves += [tuple(int(x) for x in found[0])] if len(found) else []
    for t, i, bad in bad_moves:
        actions = torch.from_numpy(record.actions[t]).index_fill(0, torch.tensor([i]), bad)
        with pytest.raises(IllegalMoveError, match=rf"game {i}\b"):
            game.step(record.states[t], actions)


# --------------------------------------------------------------------------- observations
def test_observation_shape_and_perspective(game: BoardGame, record: Record):
    """Plane 0 holds the stones of the player to move, some plane k the opponent's (k = 1 unless the
    game groups history planes by player, as Go does); swapping the player to move swaps them."""
    states = record.states[1 :: max(1, len(record.states) // 6)]
    opponent_planes = set(range(1, game.observation_shape[0]))
    for state in states:
        obs = game.observation(state)
        assert obs.dtype == torch.float32
        assert tuple(obs.shape) == (len(state), *game.observation_shape)
        assert obs.shape[2:] == (game.height, game.width)
        stone = (state.to_play + 1).view(-1, 1, 1).to(state.board.dtype)
        assert torch.equal(obs[:, 0], (state.board == stone).float()), "plane 0: own stones"
        opponent = (state.board == 3 - stone).float()
        opponent_planes &= {k for k in opponent_planes if torch.equal(obs[:, k], opponent)}
    assert opponent_planes, "no plane holds the opponent's stones"
    k = min(opponent_planes)
    for state in states:
        obs = game.observation(state)
        swapped = game.observation(state.replace(to_play=1 - state.to_play))
        assert torch.equal(swapped[:, [0, k]], obs[:, [k, 0]]), "swapping the player to move swaps the planes"


# ----------------------------------------------------------------------------- symmetries
def _transform_board(board: torch.Tensor, name: str) -> torch.Tensor:
    """The base class's naming: rot{k} turns by k * 90 degrees (torch.rot90), then _flip mirrors left-right."""
    k = int(name[3]) if name.startswith("rot") else 0
    out = torch.rot90(board, k, dims=(-2, -1))
    return torch.flip(out, dims=(-1,)) if name.endswith("flip") else out


def _transformed_position(game: BoardGame, record: Record, t: int, i: int, name: str) -> State:
    """Game i before step t under a symmetry: its moves replayed transformed when the start
    position is symmetric, else its fields laid out over the board [.., H, W], the cells [1, H*W]
    or the actions [1, A] transformed directly (e.g. Othello's rot90, which swaps the colours
    of the start position)."""
    start = game.reset(1)
    if torch.equal(_transform_board(start.board, name), start.board):
        moves = game.transform_actions(torch.tensor(record.moves(i, t), dtype=torch.long), name)
        return game.from_moves(moves.tolist())
    land = game.transform_actions(torch.arange(game.num_actions), name)

    def transform(x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2:] == (game.height, game.width):
            return _transform_board(x, name)
        if x.dim() == 2 and x.shape[1] in (game.height * game.width, game.num_actions):
            moved = torch.empty_like(x)  # cached per-cell or per-action fields, e.g. a legal mask
            moved[:, land[: x.shape[1]]] = x
            return moved
        return x

    return record.states[t][i : i + 1].map(transform)


def test_symmetries_permute_the_legal_mask(game: BoardGame, record: Record):
    assert game.symmetry_names[0] == "id"
    t = len(record.states) // 3
    games = _sample_games(record, t, 6)
    state = record.states[t][torch.tensor(games)]
    obs, mask = game.observation(state), game.legal_mask(state)
    augmented = game.symmetries(obs, mask.float())
    assert len(augmented) == len(game.symmetry_names)
    assert torch.equal(augmented[0][0], obs) and torch.equal(augmented[0][1], mask.float())
    for name, (obs_t, policy_t) in zip(game.symmetry_names, augmented):
        mirrored = State.cat([_transformed_position(game, record, t, i, name) for i in games])
        assert torch.equal(game.legal_mask(mirrored).float(), policy_t), f"{name}: legal mask"
        assert torch.equal(game.observation(mirrored), obs_t), f"{name}: observation"
        assert torch.equal(game.returns(mirrored), game.returns(state)), f"{name}: returns"


# ------------------------------------------------------------------------- human interface
def test_notation_round_trips(game: BoardGame):
    names = [game.action_to_string(a) for a in range(game.num_actions)]
    assert len(set(names)) == game.num_actions, "two actions share a name"
    for action, name in enumerate(names):
        assert game.string_to_action(name) == action
        assert game.string_to_action(f"  {name.upper()} ") == action
    for garbage in ("", "zz99", "a0", "?"):
        with pytest.raises(IllegalMoveError, match=game.name):
            game.string_to_action(garbage)


def test_render_shows_coordinates_and_result(game: BoardGame, record: Record):
    corners = [game.action_to_string(a) for a in (0, min(game.num_actions, game.height * game.width) - 1)]
    for state in (record.states[1], record.states[-1]):
        tokens = set(game.render(state, 0).split())
        for name in corners:
            for part in re.findall(r"[a-z]+|\d+", name):
                assert part in tokens, f"render lacks coordinate {part!r} of {name}"
    text = game.render(record.states[-1], 0)
    assert "wins" in text or "draw" in text, text
