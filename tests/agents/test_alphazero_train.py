"""The training loop end to end (tiny), resume, players by name, presets and the terminal game."""

from __future__ import annotations

import math

import pytest
import torch

import envs.boards
from agents.alphazero import arena, load_agent, make_config, make_player, play, train
from agents.alphazero.agent import make_game, make_network
from agents.alphazero.config import PRESETS
from agents.alphazero.learner import Learner
from agents.alphazero.selfplay import SelfPlayWorker
from rlkit.checkpoints import save_checkpoint, stamp
from rlkit.config import to_dict
from rlkit.errors import RlkitError
from rlkit.metrics import read_metrics
from rlkit.runs import Run

torch.set_num_threads(1)

TINY = [
    "channels=8", "blocks=1", "num_simulations=4", "games_per_iteration=4", "parallel_games=4",
    "batch_size=16", "updates_per_iteration=2", "eval_every_iterations=2", "eval_simulations=4",
    "eval_opponents=random", "eval_openings=2", "checkpoint_every_iterations=2",
]  # fmt: skip


def _train(root, name, iterations, resume=False):
    cfg = make_config("tictactoe", TINY + [f"iterations={iterations}"])
    run = Run.open(root / name) if resume else Run.create(root, name, to_dict(cfg))
    train(cfg, run, resume=resume, progress=False)
    return run


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    straight = _train(root, "straight", 4)
    _train(root, "resumed", 2)
    resumed = _train(root, "resumed", 4, resume=True)
    return straight, resumed


def test_run_writes_metrics_checkpoints_and_plot(runs):
    straight, _ = runs
    records = read_metrics(straight.metrics_path)
    assert [r["step"] for r in records] == [1, 2, 3, 4]
    assert records[-1]["counters/games"] == 16 and records[-1]["counters/updates"] == 8
    evals = [r for r in records if "eval/elo" in r]
    assert [r["step"] for r in evals] == [2, 4]
    assert set(evals[-1]["eval/elo_table"]) == {"random", "iter_2", "iter_4"}
    assert (straight.plots_dir / "elo.png").is_file() and (straight.plots_dir / "training.png").is_file()
    assert len(straight.checkpoints()) == 2


def test_resume_continues_exactly(runs):
    _, resumed = runs
    a, b = (torch.load(r.latest_checkpoint(), weights_only=True) for r in runs)
    assert (
        a["counters"]
        == b["counters"]
        == {
            "iteration": 4,
            "games": 16,
            "positions": a["counters"]["positions"],
            "simulations": a["counters"]["simulations"],
            "updates": 8,
        }
    )
    for key, value in a["learner"]["net"].items():
        assert torch.equal(value, b["learner"]["net"][key]), key
    assert [r["step"] for r in read_metrics(resumed.metrics_path)] == [1, 2, 3, 4]


def test_resume_without_checkpoint_is_an_error(tmp_path):
    cfg = make_config("tictactoe", TINY)
    run = Run.create(tmp_path, "empty", to_dict(cfg))
    with pytest.raises(RlkitError, match="holds no readable checkpoint"):
        train(cfg, run, resume=True, progress=False)


def test_players_by_name(runs):
    straight, _ = runs
    game = envs.boards.make("tictactoe")
    checkpoint = str(straight.latest_checkpoint())
    state = game.reset(3)
    for spec in ("random", "one_ply", "alphabeta:2", "perfect", checkpoint, f"policy:{checkpoint}"):
        actions = make_player(spec, game, num_simulations=4)(game, state)
        assert bool(game.legal_mask(state).gather(1, actions[:, None]).all()), spec
    with pytest.raises(RlkitError, match="one_ply"):
        make_player("grandmaster", game)
    with pytest.raises(RlkitError, match="only plays connect4"):
        make_player("solver", game)
    with pytest.raises(RlkitError, match="connect4"):
        make_player(checkpoint, envs.boards.make("connect4"))


def test_arena_by_names(runs):
    straight, _ = runs
    result = arena("tictactoe", "perfect", str(straight.latest_checkpoint()), num_openings=3, num_simulations=4)
    assert result.games == 6 and result.losses == 0


def test_load_agent_rejects_other_files(tmp_path):
    path = save_checkpoint(tmp_path / "x.pt", stamp("dqn", {"config": {}}))
    with pytest.raises(RlkitError, match="is a DQN checkpoint, not AlphaZero"):
        load_agent(path)
    path = save_checkpoint(tmp_path / "y.pt", {"agent": "alphazero"})
    with pytest.raises(RlkitError, match="not an rlkit checkpoint"):
        load_agent(path)


def test_play_with_scripted_input(runs):
    straight, _ = runs
    typed = iter(["zz", "b2", "b2", "a1", "c1", "a3", "c3", "a2", "b1", "b3", "c2"])
    printed: list[str] = []
    result = play(
        "tictactoe",
        str(straight.latest_checkpoint()),
        human_color=0,
        sims=4,
        input_fn=lambda prompt: next(typed),
        print_fn=printed.append,
    )
    text = "\n".join(printed)
    assert "cannot read move 'zz'" in text
    assert "'b2' is not a legal move here" in text
    assert result in (1.0, 0.0, -1.0)
    assert any(" plays " in line for line in printed)  # the agent answered


def test_play_quit_and_wrong_game(runs):
    straight, _ = runs
    checkpoint = str(straight.latest_checkpoint())
    assert play("tictactoe", checkpoint, human_color=0, input_fn=lambda p: "quit", print_fn=lambda s: None) is None
    with pytest.raises(RlkitError, match="plays tictactoe"):
        play("connect4", checkpoint)


@pytest.mark.parametrize("game_name", list(PRESETS))
def test_presets_build_a_network_for_their_game(game_name):
    cfg = make_config(game_name, ["device=cpu"])
    game = make_game(cfg)
    net = make_network(cfg, game).eval()
    logits, value = net(game.observation(game.reset(2)))
    assert logits.shape == (2, game.num_actions) and value.shape == (2,)


@pytest.mark.parametrize("game_name", [g for g in PRESETS if g != "tictactoe"])
def test_selfplay_and_learning_run_on_every_game(game_name):
    tiny = ["channels=4", "blocks=1", "num_simulations=2", "parallel_games=1", "device=cpu"]
    cfg = make_config(game_name, tiny)
    samples, stats = SelfPlayWorker(cfg, seed=0).play(1)
    game = make_game(cfg)
    assert samples.policy.shape[1] == game.num_actions and len(samples) % stats["positions"] == 0
    metrics = Learner(cfg).update(samples.index(torch.arange(min(16, len(samples)))))
    assert math.isfinite(metrics["train/loss"])


def test_config_errors():
    with pytest.raises(RlkitError, match="num_simulation"):
        make_config("connect4", ["num_simulation=5"])
    with pytest.raises(RlkitError, match="gumbel"):
        make_config("connect4", ["search=beam"])
    with pytest.raises(RlkitError, match="choose from"):
        make_config("chess")
    with pytest.raises(RlkitError, match="only plays tictactoe"):
        make_config("connect4", ["eval_opponents=random,perfect"])
    with pytest.raises(RlkitError, match="unknown player 'minimax'"):
        make_config("connect4", ["eval_opponents=minimax"])
    with pytest.raises(RlkitError, match="reuse_tree"):
        make_config("gomoku", ["reuse_tree=true"])
