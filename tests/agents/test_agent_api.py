"""The agent objects: learn / save / load / predict / evaluate, continued learning, callbacks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import nets
from agents.alphazero import AlphaZero
from agents.dqn import DQN
from rlkit.checkpoints import load_checkpoint
from rlkit.errors import RlkitError

TINY_DQN = dict(  # noqa: C408 (keyword form reads as the config keys)
    total_steps=400, learning_starts_steps=100, batch_size=16, buffer_size=1000, log_every_steps=100,
    num_envs=2, vectorization="sync", mlp_hidden=[16], eval_every_steps=0, checkpoint_every_steps=0, device="cpu",
)  # fmt: skip
TINY_AZ = dict(  # noqa: C408
    channels=8, blocks=1, num_simulations=4, games_per_iteration=4, parallel_games=4, batch_size=16,
    updates_per_iteration=2, eval_every_iterations=0, eval_simulations=4, eval_opponents=["random"],
    eval_openings=2, checkpoint_every_iterations=1, device="cpu",
)  # fmt: skip


@pytest.mark.parametrize("preset", ["dqn", "dueling", "c51", "noisy", "rainbow"])
def test_dqn_round_trip_for_every_head(tmp_path, preset):
    model = DQN("CartPole-v1", preset=preset, runs_dir=str(tmp_path), seed=3, **TINY_DQN).learn(200, progress=False)
    assert model.num_done == 200 and model.run is not None
    path = model.save(tmp_path / "m.pt")
    loaded = DQN.load(path, device="cpu")
    obs = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    nets.set_noise(model.network, False)  # deterministic predictions use the noisy layers' mean weights
    expected = model.network.q_values(torch.as_tensor(obs)).argmax(dim=1).numpy()  # greedy on expected Q
    batch = loaded.predict(obs)
    assert isinstance(batch, np.ndarray) and batch.dtype == np.int64 and batch.tolist() == expected.tolist()
    single = loaded.predict(obs[0])
    assert isinstance(single, int) and single == expected[0]
    as_torch = loaded.predict(torch.as_tensor(obs))
    assert isinstance(as_torch, torch.Tensor) and as_torch.tolist() == expected.tolist()
    assert loaded.predict(torch.as_tensor(obs[1])).dim() == 0
    with pytest.raises(RlkitError, match=r"observation shape \(3,\)"):
        loaded.predict(np.zeros(3, dtype=np.float32))
    result = loaded.evaluate(episodes=2)
    assert result["episodes"] == 2 and "human_normalized" not in result


def test_dqn_load_of_a_run_continues_it(tmp_path):
    model = DQN("CartPole-v1", runs_dir=str(tmp_path), **TINY_DQN).learn(200, progress=False)
    again = DQN.load(model.run.path)
    assert again.run.path == model.run.path and again.num_done == 200
    again.learn(100, progress=False)
    assert again.num_done == 300
    assert load_checkpoint(again.run.latest_checkpoint())["step"] == 300


def test_dqn_continued_learning_equals_one_long_run(tmp_path):
    split = DQN("CartPole-v1", preset="prioritized", runs_dir=str(tmp_path / "a"), seed=1, **TINY_DQN)
    split.learn(200, progress=False).learn(200, progress=False)
    straight = DQN("CartPole-v1", preset="prioritized", runs_dir=str(tmp_path / "b"), seed=1, **TINY_DQN)
    straight.learn(400, progress=False)
    assert split.num_done == straight.num_done == 400
    for (name, a), b in zip(split.network.state_dict().items(), straight.network.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=name)


def test_dqn_learn_extends_the_budget_and_records_it(tmp_path):
    model = DQN("CartPole-v1", runs_dir=str(tmp_path), **{**TINY_DQN, "total_steps": 100})
    model.learn(200, progress=False)
    assert model.config.total_steps == 200
    assert load_checkpoint(model.run.latest_checkpoint())["config"]["total_steps"] == 200
    assert model.run.load_config()["total_steps"] == 200


def test_callback_stops_cleanly_with_a_checkpoint(tmp_path):
    seen = []

    def stop_at_200(metrics):
        seen.append(metrics["step"])
        return metrics["step"] < 200

    model = DQN("CartPole-v1", runs_dir=str(tmp_path), **TINY_DQN).learn(400, callback=stop_at_200, progress=False)
    assert seen == [100, 200] and model.num_done == 200
    assert load_checkpoint(model.run.latest_checkpoint())["step"] == 200


def test_bad_arguments_are_one_line_errors_and_create_nothing(tmp_path):
    with pytest.raises(RlkitError, match="unknown DQN preset"):
        DQN("CartPole-v1", preset="rainbo", runs_dir=str(tmp_path))
    with pytest.raises(RlkitError, match="lrr"):
        DQN("CartPole-v1", runs_dir=str(tmp_path), lrr=1)
    model = DQN("CartPole-v1", runs_dir=str(tmp_path), **TINY_DQN)
    for budget in (0, -5, 2.5, float("nan"), float("inf"), "10"):
        with pytest.raises(RlkitError, match="learn budget"):
            model.learn(budget)
    with pytest.raises(RlkitError, match="unknown backend 'mpi'"):
        model.learn(10, backend="mpi")
    assert not any(tmp_path.iterdir())
    saved = DQN("CartPole-v1", **TINY_DQN).save(tmp_path / "dqn.pt")  # an untrained agent saves too
    with pytest.raises(RlkitError, match="is a DQN checkpoint, not AlphaZero"):
        AlphaZero.load(saved)


def test_alphazero_round_trip_predict_and_policy(tmp_path):
    model = AlphaZero("tictactoe", runs_dir=str(tmp_path), seed=0, **TINY_AZ).learn(2, progress=False)
    assert model.num_done == 2
    loaded = AlphaZero.load(model.save(tmp_path / "az.pt"))
    game = loaded.game
    # X has a and b on the top row; c completes three in a row: the search must find it.
    state = game.from_moves(["a1", "a2", "b1", "b2"])
    assert int(loaded.predict(state, num_simulations=16)[0]) == game.string_to_action("c1")
    visits, value = loaded.policy(game.reset(3), num_simulations=8)
    assert visits.shape == (3, 9) and value.shape == (3,)
    torch.testing.assert_close(visits.sum(dim=1), torch.ones(3))
    with pytest.raises(RlkitError, match="num_simulations"):
        loaded.predict(state, num_simulations=0)
    result = loaded.evaluate(["random"], games=2, num_simulations=4)
    assert result["eval/random/wdl"].count("/") == 2


def test_alphazero_continued_learning_equals_one_long_run(tmp_path):
    split = AlphaZero("tictactoe", runs_dir=str(tmp_path / "a"), seed=2, **TINY_AZ)
    split.learn(1, progress=False).learn(1, progress=False)
    straight = AlphaZero("tictactoe", runs_dir=str(tmp_path / "b"), seed=2, **TINY_AZ).learn(2, progress=False)
    for a, b in zip(split.network.state_dict().values(), straight.network.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert split.last_summary["counters/games"] == straight.last_summary["counters/games"] == 8
