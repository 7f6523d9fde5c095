"""Self-play samples, the replay window and the learner's loss."""

from __future__ import annotations

import math

import pytest
import torch

from agents.alphazero.agent import inference_copy
from agents.alphazero.config import make_config
from agents.alphazero.learner import Learner, alphazero_loss
from agents.alphazero.selfplay import ReplayWindow, Samples, SelfPlayWorker

torch.set_num_threads(1)

TINY = ["channels=8", "blocks=1", "num_simulations=8", "parallel_games=4", "temperature_moves=9"]


@pytest.fixture(scope="module")
def worker():
    return SelfPlayWorker(make_config("tictactoe", TINY), seed=0)


def test_samples_are_consistent(worker):
    samples, stats = worker.play(6)
    assert stats["games"] == 6 and len(samples) == 8 * stats["positions"]  # d4: 8 symmetries per position
    assert samples.observation.shape == (len(samples), 3, 3, 3)
    assert torch.allclose(samples.policy.sum(dim=1), torch.ones(len(samples)))
    occupied = (samples.observation[:, 0] + samples.observation[:, 1]).flatten(1) > 0
    assert bool((samples.policy[occupied] == 0).all()), "policy targets put mass on occupied cells"
    assert set(samples.value.unique().tolist()) <= {-1.0, 0.0, 1.0}


def test_outcomes_alternate_along_a_game():
    worker = SelfPlayWorker(make_config("tictactoe", TINY + ["augment=false"]), seed=3)
    for _ in range(4):
        samples, stats = worker.play(1)
        first = 1.0 if stats["first_player_wins"] else (0.0 if stats["draws"] else -1.0)
        expected = [first * (-1) ** i for i in range(stats["positions"])]
        assert samples.value.tolist() == expected
        assert samples.observation[0, :2].sum() == 0  # positions come in move order: the empty board first


def test_weights_reach_the_worker(worker):
    learner = Learner(make_config("tictactoe", TINY))
    learner.net.head.value[-2].bias.data.fill_(20.0)  # value head saturates at +1
    worker.set_weights(learner.get_weights(), version=7)
    assert worker.weights_version == 7
    _, value = worker.evaluator(worker.game.reset(2))
    assert torch.allclose(value, torch.ones(2), atol=1e-3)


def test_replay_window_keeps_recent_games():
    replay = ReplayWindow(capacity_games=10)

    def chunk(tag: float, n: int) -> Samples:
        return Samples(torch.full((n, 3, 3, 3), tag).half(), torch.full((n, 9), 1 / 9), torch.full((n,), tag))

    for tag in (1.0, 2.0, 3.0):
        replay.add(chunk(tag, 5), num_games=6)
    assert replay.num_games == 12 and len(replay) == 10  # the oldest 6 games left; 12 >= 10 kept
    batch = replay.sample(200, torch.Generator().manual_seed(0))
    assert set(batch.value.tolist()) == {2.0, 3.0}
    again = ReplayWindow(capacity_games=10)
    again.load_state_dict(replay.state_dict())
    assert torch.equal(
        again.sample(50, torch.Generator().manual_seed(1)).value,
        replay.sample(50, torch.Generator().manual_seed(1)).value,
    )


class _FixedNet(torch.nn.Module):
    """Outputs fixed logits [0, 0] and value 0, with one 2x2 weight of known norm."""

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.full((2, 2), 0.5))  # ||w||^2 = 1

    def forward(self, x):
        batch = x.shape[0]
        return torch.zeros(batch, 2) + 0 * self.weight.sum(), torch.zeros(batch)


def test_loss_by_hand():
    batch = Samples(torch.zeros(2, 1, 1, 1), torch.tensor([[1.0, 0.0], [0.5, 0.5]]), torch.tensor([1.0, -1.0]))
    loss, parts = alphazero_loss(_FixedNet(), batch, l2=0.01)
    # cross-entropy against a uniform 2-way softmax is log 2 for any target; MSE of 0 vs +-1 is 1
    assert parts["train/policy_loss"] == pytest.approx(math.log(2))
    assert parts["train/value_loss"] == pytest.approx(1.0)
    assert parts["train/l2"] == pytest.approx(0.01)
    assert loss.item() == pytest.approx(math.log(2) + 1.0 + 0.01)


def test_learner_fits_a_batch(worker):
    learner = Learner(make_config("tictactoe", TINY + ["lr=3e-3"]))
    samples, _ = worker.play(4)
    batch = samples.index(torch.arange(min(64, len(samples))))
    first = learner.update(batch)
    for _ in range(60):
        last = learner.update(batch)
    assert last["train/value_loss"] < 0.5 * first["train/value_loss"]
    assert last["train/policy_loss"] < first["train/policy_loss"]
    assert learner.num_updates == 61


def test_selfplay_with_subtree_reuse():
    worker = SelfPlayWorker(make_config("tictactoe", TINY + ["reuse_tree=true", "augment=false"]), seed=1)
    samples, stats = worker.play(5)
    assert len(samples) == stats["positions"]
    assert torch.allclose(samples.policy.sum(dim=1), torch.ones(len(samples)))
    occupied = (samples.observation[:, 0] + samples.observation[:, 1]).flatten(1) > 0
    assert bool((samples.policy[occupied] == 0).all())


def test_inference_copy_matches_the_network():
    learner = Learner(make_config("tictactoe", TINY))
    for _ in range(3):  # give BatchNorm non-trivial running statistics
        learner.net(torch.randn(32, 3, 3, 3))
    frozen = inference_copy(learner.net)
    assert learner.net.training, "the trained network must not be switched to eval mode"
    x = torch.randn(16, 3, 3, 3)
    learner.net.eval()
    with torch.no_grad():
        (logits, value), (logits_f, value_f) = learner.net(x), frozen(x.contiguous(memory_format=torch.channels_last))
    assert torch.allclose(logits, logits_f, atol=1e-5) and torch.allclose(value, value_f, atol=1e-5)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in frozen.modules())


def test_playout_cap_randomisation_records_only_full_searches():
    """KataGo's playout caps: fast searches move the game on, only full searches become training positions."""
    cfg = make_config("tictactoe", TINY + ["augment=false", "fast_simulations=2", "full_search_prob=0.3"])
    samples, stats = SelfPlayWorker(cfg, seed=5).play(8)
    full_moves = (stats["simulations"] - 2 * stats["positions"]) / (8 - 2)  # each full move adds 6 simulations
    assert full_moves == int(full_moves) and len(samples) == full_moves
    assert 0 < len(samples) < stats["positions"], "expected some moves of each kind at p = 0.3"
    assert torch.allclose(samples.policy.sum(dim=1), torch.ones(len(samples)))
    plain = SelfPlayWorker(make_config("tictactoe", TINY + ["augment=false"]), seed=5).play(8)[1]
    assert plain["simulations"] == 8 * plain["positions"]


def test_value_targets_mix_the_result_with_the_search_value():
    def play(extra: list[str]) -> Samples:
        torch.manual_seed(0)  # the same network weights for both workers
        return SelfPlayWorker(make_config("tictactoe", TINY + ["augment=false", *extra]), seed=2).play(4)[0]

    pure, mixed = play([]), play(["value_target_mix=0.5"])
    assert torch.equal(pure.observation, mixed.observation), "the mix must not change the games played"
    # mixed = 0.5 * result + 0.5 * root value, with the root value in [-1, 1]
    root_value = 2 * mixed.value - pure.value
    assert bool((root_value.abs() <= 1 + 1e-5).all()) and not torch.equal(mixed.value, pure.value)


def test_replay_window_grows_with_training():
    cfg = make_config("tictactoe", ["replay_games=1000", "games_per_iteration=64", "replay_growth=0.5"])
    from agents.alphazero.selfplay import replay_capacity

    assert [replay_capacity(cfg, g) for g in (64, 500, 1000, 5000)] == [64, 250, 500, 1000]
    assert replay_capacity(make_config("tictactoe", ["replay_games=1000"]), 64) == 1000


@pytest.mark.parametrize(
    "override", ["fast_simulations=8", "fast_simulations=-1", "full_search_prob=0", "value_target_mix=1.5", "replay_growth=-1"]
)
def test_learning_switches_refuse_bad_values(override):
    from rlkit.errors import RlkitError

    with pytest.raises(RlkitError, match=override.split("=")[0]):
        make_config("tictactoe", TINY + [override])
