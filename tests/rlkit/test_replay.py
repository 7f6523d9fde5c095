"""ReplayBuffer: hand-computed examples and a scripted reference over many episodes and envs."""

from dataclasses import dataclass

import numpy as np
import pytest
import torch
from scipy.stats import chisquare

from rlkit.errors import RlkitError
from rlkit.replay import Batch, ReplayBuffer


def sample_all(buf: ReplayBuffer, draws: int = 100, batch_size: int = 64, **kwargs) -> dict[int, dict]:
    """Distinct sampled transitions keyed by action id (the tests use unique actions as ids)."""
    seen = {}
    for _ in range(draws):
        batch = buf.sample(batch_size, **kwargs)
        for i, action in enumerate(batch.action.tolist()):
            seen[action] = {name: getattr(batch, name)[i] for name in ("obs", "reward", "discount", "next_obs")}
    return seen


def add_one(buf, obs, action, reward, terminated=False, truncated=False, next_obs=None, priority=None):
    """Add a step of a single-env buffer from scalars / one observation."""
    buf.add(
        torch.as_tensor(obs)[None],
        torch.tensor([action]),
        torch.tensor([reward], dtype=torch.float32),
        torch.tensor([terminated]),
        torch.tensor([truncated]),
        torch.as_tensor(next_obs)[None],
        None if priority is None else torch.tensor([priority]),
    )


def scalar_episode(buf, first_obs, rewards, end, first_action):
    """One single-env episode with float obs ``[1]`` equal to first_obs + t; ``end`` in {None, "term", "trunc"}."""
    for t, reward in enumerate(rewards):
        last = t == len(rewards) - 1
        add_one(
            buf,
            [first_obs + t],
            first_action + t,
            reward,
            last and end == "term",
            last and end == "trunc",
            [first_obs + t + 1],
        )


# ------------------------------------------------------------------------------------------ hand-computed examples


def test_nstep_returns_with_a_termination_and_a_truncation_in_the_window():
    buf = ReplayBuffer(64, (1,), obs_dtype=torch.float32, n_step=3, gamma=0.5)
    scalar_episode(buf, 100, [1, 2, 4, 8], "term", first_action=0)  # obs 100..103, final 104
    scalar_episode(buf, 200, [1, 1, 1], "trunc", first_action=10)  # obs 200..202, final 203
    scalar_episode(buf, 300, [5, 5], None, first_action=20)  # unfinished: windows incomplete
    # action: (obs, n-step return, discount, next obs), worked out by hand with gamma = 0.5
    expected = {
        0: (100, 1 + 0.5 * 2 + 0.25 * 4, 0.125, 103),
        1: (101, 2 + 0.5 * 4 + 0.25 * 8, 0.0, 104),  # termination inside the window: no bootstrap
        2: (102, 4 + 0.5 * 8, 0.0, 104),
        3: (103, 8, 0.0, 104),
        10: (200, 1 + 0.5 + 0.25, 0.125, 203),  # truncation at the window's last step: bootstrap from the final obs
        11: (201, 1 + 0.5, 0.25, 203),
        12: (202, 1, 0.5, 203),
    }
    assert len(buf) == len(expected)
    seen = sample_all(buf)
    assert sorted(seen) == sorted(expected)
    for action, (obs, ret, discount, next_obs) in expected.items():
        got = seen[action]
        assert (got["obs"].item(), got["reward"].item(), got["discount"].item(), got["next_obs"].item()) == (
            obs,
            ret,
            discount,
            next_obs,
        )
    moved = buf.sample(4).to("cpu", non_blocking=True)
    assert isinstance(moved, Batch) and moved.obs.shape == (4, 1)
    # One more step completes the first window of the unfinished episode.
    scalar_episode(buf, 302, [5], None, first_action=22)
    assert len(buf) == len(expected) + 1
    assert sample_all(buf)[20]["reward"].item() == 5 + 2.5 + 1.25


def frames(*values: int, size: int = 84) -> torch.Tensor:
    """A stack of constant uint8 frames ``[len(values), size, size]``."""
    return torch.tensor(values, dtype=torch.uint8)[:, None, None].expand(-1, size, size).clone()


def test_frame_stacks_never_cross_episode_boundaries():
    buf = ReplayBuffer(100, (4, 84, 84), frame_stack=4)
    # Episode A: frames 10..13, terminated after 3 steps; episode B: frames 20..25, truncated after 5 steps.
    # Observations are stacked as Gymnasium's FrameStackObservation gives them (the reset frame repeated).
    episodes = [(10, 3, "term", 0), (20, 5, "trunc", 100)]
    for first, steps, end, action in episodes:
        stack = [first] * 4
        for t in range(steps):
            next_stack = stack[1:] + [first + t + 1]
            last = t == steps - 1
            add_one(
                buf,
                frames(*stack),
                action + t,
                0.0,
                last and end == "term",
                last and end == "trunc",
                frames(*next_stack),
            )
            stack = next_stack
    expected = {
        0: ([10, 10, 10, 10], [10, 10, 10, 11], 0.99),
        1: ([10, 10, 10, 11], [10, 10, 11, 12], 0.99),
        2: ([10, 10, 11, 12], [10, 11, 12, 13], 0.0),
        100: ([20, 20, 20, 20], [20, 20, 20, 21], 0.99),
        101: ([20, 20, 20, 21], [20, 20, 21, 22], 0.99),
        102: ([20, 20, 21, 22], [20, 21, 22, 23], 0.99),
        103: ([20, 21, 22, 23], [21, 22, 23, 24], 0.99),
        104: ([21, 22, 23, 24], [22, 23, 24, 25], 0.99),
    }
    seen = sample_all(buf)
    assert sorted(seen) == sorted(expected)
    for action, (obs, next_obs, discount) in expected.items():
        assert torch.equal(seen[action]["obs"], frames(*obs)), action
        assert torch.equal(seen[action]["next_obs"], frames(*next_obs)), action
        assert seen[action]["discount"].item() == pytest.approx(discount)


def test_wraparound_overwrites_the_oldest_and_no_stack_crosses_the_write_head():
    # 12 slots, k = 2: the reset stack takes slots 0-1 and step t's next frame slot t + 2.
    buf = ReplayBuffer(12, (2, 1), frame_stack=2, obs_dtype=torch.float32)
    for t in range(30):
        add_one(buf, [[max(t - 1, 0)], [t]], t, 0.0, next_obs=[[t], [t + 1]])
    # Slots now hold frames 19..30; transition t needs frames t-1 and t, so t = 20..29 remain.
    assert len(buf) == 10
    seen = sample_all(buf)
    assert sorted(seen) == list(range(20, 30))
    for t, got in seen.items():
        assert got["obs"].flatten().tolist() == [t - 1, t]
        assert got["next_obs"].flatten().tolist() == [t, t + 1]


def test_sequences_are_masked_after_their_episode_ends():
    buf = ReplayBuffer(64, (1,), obs_dtype=torch.float32, gamma=0.9)
    scalar_episode(buf, 100, [1, 2, 3], "term", first_action=0)  # obs 100..102, final 103
    scalar_episode(buf, 200, [4, 5, 6, 7, 8], None, first_action=10)  # unfinished, obs 200..204, latest 205
    starts = set()
    for _ in range(50):
        batch = buf.sample_sequences(8, seq_len=4)
        assert batch.obs.shape == (8, 5, 1) and batch.mask.shape == (8, 4)
        for i in range(8):
            action0 = batch.action[i, 0].item()
            starts.add(action0)
            if action0 < 10:  # episode one: terminated after action 2
                real = 3 - action0
                obs = [100 + action0 + min(t, real) for t in range(5)]
                terminated = [t == real - 1 for t in range(4)]
            else:  # episode two: recorded up to action 14, its next steps are not recorded yet
                real = min(4, 15 - action0)
                obs = [200 + action0 - 10 + min(t, real) for t in range(5)]
                terminated = [False] * 4
            mask = [t < real for t in range(4)]
            assert batch.mask[i].tolist() == mask
            assert batch.obs[i, :, 0].tolist() == obs
            assert batch.terminated[i].tolist() == terminated
            assert batch.action[i].tolist() == [action0 + t if mask[t] else 0 for t in range(4)]
            discount = [0.9 if m and not d else 0.0 for m, d in zip(mask, terminated)]
            assert batch.discount[i].tolist() == pytest.approx(discount)
    assert starts == {0, 1, 2, 10, 11, 12, 13, 14}


def test_sequences_stop_at_the_write_head_after_wraparound():
    buf = ReplayBuffer(12, (1,), obs_dtype=torch.float32)
    scalar_episode(buf, 0, [1.0] * 30, None, first_action=0)  # slots hold obs 19..30, the ring wrapped twice
    lengths = {}
    for _ in range(20):
        batch = buf.sample_sequences(16, seq_len=5)
        for start, mask, obs in zip(batch.action[:, 0].tolist(), batch.mask.tolist(), batch.obs[:, :, 0].tolist()):
            lengths[start] = sum(mask)
            assert obs == [start + min(t, sum(mask)) for t in range(6)]
    assert lengths == {t: min(5, 30 - t) for t in range(19, 30)}


def test_memory_per_million_transitions_fits_in_7_5_gb():
    # 32**3 slots fill the sum tree's leaf level exactly, as 1M nearly does (2**20 leaves). The
    # arrays are allocated untouched, so this costs no real memory.
    capacity = 32**3
    buf = ReplayBuffer(capacity, (4, 84, 84), frame_stack=4, n_step=3, prioritized=True)
    bytes_per_slot = buf.nbytes / capacity
    assert 84 * 84 <= bytes_per_slot <= 84 * 84 + 48
    # A slot per transition plus k = 4 per episode: even 1000-step episodes stay under the budget.
    assert bytes_per_slot * 1_000_000 * (1000 + 4) / 1000 <= 7.5e9


# ------------------------------------------------------------------------------------------ prioritised replay


def filled_buffer(num_transitions: int, **kwargs) -> ReplayBuffer:
    """A single-env buffer holding one unfinished episode of float obs whose transitions have actions 0..n-1."""
    buf = ReplayBuffer(4 * num_transitions + 16, (1,), obs_dtype=torch.float32, **kwargs)
    scalar_episode(buf, 0, [0.0] * num_transitions, None, first_action=0)
    return buf


def index_of_actions(buf: ReplayBuffer, count: int) -> torch.Tensor:
    """Slot ids long ``[count]`` of the transitions with actions 0..count-1, read from samples."""
    index = {}
    while len(index) < count:
        batch = buf.sample(32)
        index.update(zip(batch.action.tolist(), batch.index.tolist()))
    return torch.tensor([index[a] for a in range(count)])


def test_prioritized_sampling_follows_priorities_and_weights_are_exact():
    buf = filled_buffer(10, prioritized=True, alpha=0.5, eps=0.0)
    raw = torch.tensor([1.0, 4.0, 9.0, 16.0, 0.25, 36.0, 0.0, 1.0, 64.0, 100.0])
    buf.update_priorities(index_of_actions(buf, 10), raw)
    probability = raw.sqrt() / raw.sqrt().sum()
    counts = np.zeros(10)
    for _ in range(1500):
        batch = buf.sample(32, beta=0.6)
        np.add.at(counts, batch.action.numpy(), 1)
        weight = (10 * probability[batch.action]) ** -0.6
        torch.testing.assert_close(batch.weight, (weight / weight.max()).float())
    assert counts[6] == 0  # priority 0 with eps 0 is never drawn
    live = probability > 0
    assert chisquare(counts[live], probability[live].numpy() * counts.sum()).pvalue > 1e-3


def test_new_and_given_priorities():
    buf = filled_buffer(4, prioritized=True, alpha=1.0, eps=0.0)
    buf.update_priorities(index_of_actions(buf, 4), torch.arange(1.0, 5.0))  # action t gets t + 1, max 4
    add_one(buf, [4], 4, 0.0, next_obs=[5])  # new transition: max priority so far, 4
    add_one(buf, [5], 5, 0.0, next_obs=[6], priority=2.0)  # given by an actor
    priorities = np.array([1, 2, 3, 4, 4, 2], dtype=float)
    counts = np.zeros(6)
    for _ in range(1000):
        np.add.at(counts, buf.sample(16).action.numpy(), 1)
    assert chisquare(counts, priorities / priorities.sum() * counts.sum()).pvalue > 1e-3


def test_uniform_sampling_is_uniform_over_valid_transitions():
    buf = filled_buffer(12, n_step=3)  # the last two steps wait for their windows
    assert len(buf) == 10
    counts = np.bincount(np.concatenate([buf.sample(32).action.numpy() for _ in range(500)]), minlength=12)
    assert counts[10:].sum() == 0
    assert chisquare(counts[:10]).pvalue > 1e-3
    assert (buf.sample(5, beta=1.0).weight == 1).all()


# ------------------------------------------------------------------------------- scripted reference, many envs


@dataclass
class Step:
    env: int
    episode: int
    t: int
    reward: float
    terminated: bool
    truncated: bool


def script_frame(env: int, episode: int, t: int) -> float:
    return float(env * 10000 + episode * 100 + t)


def script_obs(env: int, episode: int, t: int, k: int) -> np.ndarray:
    """Observation ``[k, 1]`` (``[1]`` when k = 1): the last k frames, the reset frame repeated before the first."""
    stack = np.array([[script_frame(env, episode, max(t - k + 1 + i, 0))] for i in range(k)], dtype=np.float32)
    return stack if k > 1 else stack[0]


def play_script(buf: ReplayBuffer, num_adds: int, seed: int, autoreset_rows: bool = False) -> dict[int, Step]:
    """Drive ``buf`` with random episodes (1-12 steps, random end kinds) on every env; return steps by action id.

    With ``autoreset_rows`` an env's step after each episode end is an inactive row of NaNs,
    as Gymnasium's NEXT_STEP autoreset produces.
    """
    rng = np.random.default_rng(seed)
    k, n_envs = buf.frame_stack, buf.num_envs
    episode, t, resetting = [0] * n_envs, [0] * n_envs, [False] * n_envs
    length = [int(rng.integers(1, 13)) for _ in range(n_envs)]
    steps = {}
    for add in range(num_adds):
        columns = {name: [] for name in ("obs", "action", "reward", "terminated", "truncated", "next_obs", "active")}
        for e in range(n_envs):
            if resetting[e]:
                junk = np.full_like(script_obs(0, 0, 0, k), np.nan)
                row = (junk, -1, np.nan, False, False, junk, False)
                resetting[e] = False
            else:
                ends = t[e] + 1 == length[e]
                terminated = bool(ends and rng.random() < 0.5)
                action = add * n_envs + e
                reward = float(rng.integers(-3, 4))
                steps[action] = Step(e, episode[e], t[e], reward, terminated, ends and not terminated)
                obs, next_obs = script_obs(e, episode[e], t[e], k), script_obs(e, episode[e], t[e] + 1, k)
                row = (obs, action, reward, terminated, ends and not terminated, next_obs, True)
                t[e] += 1
                if ends:
                    episode[e], t[e], length[e] = episode[e] + 1, 0, int(rng.integers(1, 13))
                    resetting[e] = autoreset_rows
            for column, value in zip(columns.values(), row):
                column.append(value)
        arrays = {name: np.stack(values) for name, values in columns.items()}
        if not autoreset_rows:
            arrays["active"] = None  # the default: every row is a transition
        buf.add(**arrays)
    return steps


def expected_transitions(buf: ReplayBuffer, steps: dict[int, Step]) -> dict[int, tuple]:
    """Reference n-step targets of the transitions that should be sampleable.

    Returns action -> (obs, n-step return, discount, next obs).
    """
    k, n, gamma = buf.frame_stack, buf.n_step, buf.gamma
    slots_per_env = buf.capacity // buf.num_envs
    by_episode, expected = {}, {}
    for action, step in steps.items():
        by_episode.setdefault((step.env, step.episode), []).append(step)
    # Each episode fills k reset-stack slots plus one per step; a stack is alive while its first slot is.
    first_slot, head = {}, [0] * buf.num_envs
    for env, episode in sorted(by_episode):
        first_slot[env, episode] = head[env]
        head[env] += k + len(by_episode[env, episode])
    for action, step in steps.items():
        episode = by_episode[step.env, step.episode]
        if first_slot[step.env, step.episode] + step.t < head[step.env] - slots_per_env:
            continue
        ret, m = 0.0, 0
        for j in range(n):
            if step.t + j == len(episode):
                break
            later = episode[step.t + j]
            ret, m = ret + gamma**j * later.reward, j + 1
            if later.terminated or later.truncated:
                break
        last = episode[step.t + m - 1]
        if m < n and not (last.terminated or last.truncated):
            continue  # window reaches the newest step of an unfinished episode
        discount = 0.0 if last.terminated else gamma**m
        obs = script_obs(step.env, step.episode, step.t, k)
        expected[action] = (obs, ret, discount, script_obs(step.env, step.episode, step.t + m, k))
    return expected


@pytest.mark.parametrize(
    ("num_envs", "frame_stack", "n_step", "prioritized", "autoreset_rows"),
    [(1, 1, 1, False, False), (3, 4, 3, False, True), (2, 4, 1, True, False), (4, 2, 5, True, True)],
)
def test_matches_scripted_reference_across_envs_and_wraparound(
    num_envs, frame_stack, n_step, prioritized, autoreset_rows
):
    obs_shape = (frame_stack, 1) if frame_stack > 1 else (1,)
    for num_adds, seed in [(7, 1), (150, 2)]:  # before and long after the rings wrap around
        buf = ReplayBuffer(40 * num_envs, obs_shape, num_envs, frame_stack, torch.float32, n_step, 0.9, prioritized)
        steps = play_script(buf, num_adds, seed, autoreset_rows)
        expected = expected_transitions(buf, steps)
        assert len(buf) == len(expected)
        seen = sample_all(buf, draws=60)
        assert sorted(seen) == sorted(expected)
        for action, (obs, ret, discount, next_obs) in expected.items():
            got = seen[action]
            np.testing.assert_array_equal(got["obs"].numpy(), obs)
            np.testing.assert_array_equal(got["next_obs"].numpy(), next_obs)
            assert got["reward"].item() == pytest.approx(ret, abs=1e-5)
            assert got["discount"].item() == pytest.approx(discount, abs=1e-6)


# ------------------------------------------------------------------------------------------ checkpoints, errors


def test_state_dict_round_trip_gives_identical_samples(tmp_path):
    def make(seed):
        return ReplayBuffer(120, (2, 1), 2, 2, torch.float32, n_step=3, gamma=0.9, prioritized=True, seed=seed)

    buf = make(seed=0)
    play_script(buf, 70, seed=5)
    batch = buf.sample(16)
    buf.update_priorities(batch.index, torch.arange(16.0))
    torch.save(buf.state_dict(), tmp_path / "replay.pt")
    restored = make(seed=123)
    restored.load_state_dict(torch.load(tmp_path / "replay.pt", weights_only=True))
    assert len(restored) == len(buf)
    for _ in range(5):
        a, b = buf.sample(16, beta=0.5), restored.sample(16, beta=0.5)
        for name in ("obs", "action", "reward", "discount", "next_obs", "weight", "index"):
            assert torch.equal(getattr(a, name), getattr(b, name)), name
        buf.update_priorities(a.index, a.reward.abs())
        restored.update_priorities(b.index, b.reward.abs())
    other = ReplayBuffer(120, (2, 1), 2, 2, torch.float32, n_step=1, prioritized=True)
    with pytest.raises(RlkitError, match="n_step"):
        other.load_state_dict(buf.state_dict())


def test_bad_input_raises_clear_errors():
    with pytest.raises(RlkitError, match="frame_stack=4"):
        ReplayBuffer(100, (3, 84, 84), frame_stack=4)
    with pytest.raises(RlkitError, match="slots per env"):
        ReplayBuffer(20, (4, 84, 84), num_envs=2, frame_stack=4, n_step=3)
    with pytest.raises(RlkitError, match="obs_dtype"):
        ReplayBuffer(100, (1,), obs_dtype=torch.int32)
    buf = ReplayBuffer(100, (1,), num_envs=2, obs_dtype=torch.float32)
    with pytest.raises(RlkitError, match="no complete transition"):
        buf.sample(4)
    with pytest.raises(RlkitError, match=r"obs has shape \(1, 1\), expected \(2, 1\)"):
        buf.add(torch.zeros(1, 1), torch.zeros(2), torch.zeros(2), torch.zeros(2), torch.zeros(2), torch.zeros(2, 1))
    pixels = ReplayBuffer(100, (1,), num_envs=2)  # uint8 observations
    with pytest.raises(RlkitError, match=r"obs has dtype float32, .* uint8 observations cannot store"):
        pixels.add(torch.rand(2, 1), torch.zeros(2), torch.zeros(2), torch.zeros(2), torch.zeros(2), torch.rand(2, 1))
    with pytest.raises(RlkitError, match="prioritized=True"):
        buf.update_priorities(torch.tensor([0]), torch.tensor([1.0]))
    with pytest.raises(RlkitError, match="seq_len must be >= 1, got 0"):
        filled_buffer(4).sample_sequences(2, seq_len=0)
    per = filled_buffer(4, prioritized=True)
    with pytest.raises(RlkitError, match=r"priority index out of range \[0, 32\)"):
        per.update_priorities(torch.tensor([0, 32]), torch.tensor([1.0, 1.0]))
    with pytest.raises(RlkitError, match=r"finite, got \[nan\]"):
        per.update_priorities(torch.tensor([0, 1]), torch.tensor([1.0, float("nan")]))
