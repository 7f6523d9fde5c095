"""Batched self-play and the replay window of recent games.

`SelfPlayWorker` plays B games at once: every move is one batched search over the games
still running, so the network sees B leaves per call. Each position yields a training
sample (observation, search policy target, final outcome for the player to move), plus
its board-symmetric copies. `ReplayWindow` keeps the samples of the most recent games.
Both are plain classes with small methods so a backend can run them as remote actors.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

import torch

from envs.boards import NO_ACTION

from .agent import choose_actions, make_game, make_network, run_search
from .config import AlphaZeroConfig, apply_torch_threads
from .tactics import search_evaluator

__all__ = ["ReplayWindow", "Samples", "SelfPlayWorker", "replay_capacity"]


@dataclass
class Samples:
    """S training positions."""

    observation: torch.Tensor  # float16 [S, C, H, W] (board planes are small integers, exact in float16)
    policy: torch.Tensor  # float32 [S, A]: search policy target
    value: torch.Tensor  # float32 [S]: final outcome for the player to move, in {-1, 0, 1}

    def __len__(self) -> int:
        return self.value.shape[0]

    @staticmethod
    def cat(parts: list[Samples]) -> Samples:
        return Samples(*(torch.cat([getattr(p, f) for p in parts]) for f in ("observation", "policy", "value")))

    def index(self, idx: torch.Tensor) -> Samples:
        return Samples(self.observation[idx], self.policy[idx], self.value[idx])

    def to(self, device: torch.device) -> Samples:
        return Samples(self.observation.to(device), self.policy.to(device), self.value.to(device))

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {"observation": self.observation, "policy": self.policy, "value": self.value}


class SelfPlayWorker:
    """Plays self-play games with the latest weights it was given."""

    def __init__(self, config: AlphaZeroConfig, seed: int):
        apply_torch_threads(config)
        self.config = config
        self.game = make_game(config)
        self.net = make_network(config, self.game).eval()
        self.evaluator = search_evaluator(self.net, self.game, config)
        self.generator = torch.Generator().manual_seed(seed)
        self.weights_version = -1

    def set_weights(self, state_dict: dict[str, torch.Tensor], version: int) -> None:
        self.net.load_state_dict(state_dict)
        self.evaluator = search_evaluator(self.net, self.game, self.config)
        self.weights_version = version

    def get_state(self) -> dict:
        """What a resumed run needs to continue this worker's stream exactly."""
        return {"weights": self.net.state_dict(), "version": self.weights_version, "rng": self.generator.get_state()}

    def set_state(self, state: dict) -> None:
        self.set_weights(state["weights"], state["version"])
        self.generator.set_state(state["rng"])

    def play(self, num_games: int) -> tuple[Samples, dict[str, float]]:
        """Play `num_games` games, `config.parallel_games` at a time; return their samples and statistics
        (games, positions played, simulations run, seconds, mean game length, share of first-player wins and of
        draws)."""
        start = time.perf_counter()
        parts, lengths, first_wins, draws, simulations = [], [], 0, 0, 0
        for offset in range(0, num_games, self.config.parallel_games):
            samples, returns, length, searched = self._play_batch(min(self.config.parallel_games, num_games - offset))
            parts.append(samples)
            simulations += searched
            lengths.append(length)
            first_wins += int((returns[:, 0] > 0).sum())
            draws += int((returns[:, 0] == 0).sum())
        positions = sum(int(length.sum()) for length in lengths)
        stats = {
            "games": num_games,
            "positions": positions,
            "simulations": simulations,
            "seconds": time.perf_counter() - start,
            "game_length": positions / num_games,
            "first_player_wins": first_wins / num_games,
            "draws": draws / num_games,
        }
        return Samples.cat(parts), stats

    def _play_batch(self, batch: int) -> tuple[Samples, torch.Tensor, torch.Tensor, int]:
        """B games to the end. Returns samples, returns float32 [B, 2], game lengths long [B] and the number of
        simulations run. With playout-cap randomisation only the moves of full searches become samples."""
        game, cfg = self.game, self.config
        state = game.reset(batch)
        observations, policies, values, movers, recorded, game_ids = [], [], [], [], [], []
        move_number, previous, simulations = 0, None, 0
        while True:
            running = torch.nonzero(~game.terminal(state)).flatten()
            if running.numel() == 0:
                break
            if previous is not None:  # subtree reuse: keep the trees of the games still running
                tree, chosen, was_running = previous
                rows = torch.searchsorted(was_running, running)
                previous = (tree.index(rows), chosen[rows])
            full = self._full_search()
            budget = cfg.num_simulations if full else cfg.fast_simulations
            roots = state[running]
            output = run_search(
                cfg, game, self.evaluator, roots, num_simulations=budget, explore=True,
                generator=self.generator, previous=previous,
            )  # fmt: skip
            simulations += budget * running.numel()
            legal = game.legal_mask(roots)
            chosen = choose_actions(cfg, output, legal, move_number, self.generator)
            actions = torch.full((batch,), NO_ACTION, dtype=torch.long, device=game.device)
            actions[running] = chosen
            if cfg.reuse_tree:
                previous = (output.tree, chosen, running)
            if full:
                observations.append(game.observation(roots).half())
                policies.append(output.policy_target)
                values.append(output.root_value)
                movers.append(game.current_player(roots))
                recorded.append(running)
            game_ids.append(running)
            state = game.step(state, actions, validate=False)
            move_number += 1
        returns = game.returns(state)
        lengths = torch.bincount(torch.cat(game_ids), minlength=batch)
        if not recorded:  # every move was a fast search: no training positions from this batch
            observation = game.observation(game.reset(1))[:0].half().cpu()
            return Samples(observation, torch.zeros(0, game.num_actions), torch.zeros(0)), returns, lengths, simulations
        recorded_ids = torch.cat(recorded)
        outcome = returns[recorded_ids, torch.cat(movers)]
        if cfg.value_target_mix:
            outcome = (1.0 - cfg.value_target_mix) * outcome + cfg.value_target_mix * torch.cat(values).float()
        observation, policy = torch.cat(observations), torch.cat(policies)
        pairs = game.symmetries(observation, policy) if cfg.augment else [(observation, policy)]
        samples = Samples(
            observation=torch.cat([o for o, _ in pairs]).cpu(),
            policy=torch.cat([p for _, p in pairs]).cpu(),
            value=outcome.repeat(len(pairs)).cpu(),
        )
        return samples, returns, lengths, simulations

    def _full_search(self) -> bool:
        """Playout-cap randomisation: whether this move gets the full budget (always, when it is off)."""
        cfg = self.config
        if not cfg.fast_simulations:
            return True
        return bool(torch.rand((), generator=self.generator) < cfg.full_search_prob)


def replay_capacity(cfg: AlphaZeroConfig, games_played: int) -> int:
    """Games the replay window holds after `games_played` games: `replay_games`, or with `replay_growth` a
    window that grows with training from one iteration's games up to `replay_games`."""
    if not cfg.replay_growth:
        return cfg.replay_games
    return min(cfg.replay_games, max(cfg.games_per_iteration, int(cfg.replay_growth * games_played)))


class ReplayWindow:
    """Samples of the `capacity_games` most recent games, drawn uniformly."""

    def __init__(self, capacity_games: int):
        self.capacity_games = capacity_games
        self._chunks: deque[tuple[int, Samples]] = deque()
        self._all: Samples | None = None

    @property
    def num_games(self) -> int:
        return sum(games for games, _ in self._chunks)

    def __len__(self) -> int:
        return sum(len(samples) for _, samples in self._chunks)

    def add(self, samples: Samples, num_games: int) -> None:
        """Add the samples of `num_games` finished games; whole chunks of the oldest games leave the window."""
        self._chunks.append((num_games, samples))
        while self._chunks and self.num_games - self._chunks[0][0] >= self.capacity_games:
            self._chunks.popleft()
        self._all = None

    def sample(self, batch_size: int, generator: torch.Generator) -> Samples:
        """`batch_size` positions drawn uniformly with replacement."""
        if not self._chunks:
            raise RuntimeError("the replay window is empty; add self-play samples first")
        if self._all is None:
            self._all = Samples.cat([samples for _, samples in self._chunks])
        idx = torch.randint(len(self._all), (batch_size,), generator=generator)
        return self._all.index(idx)

    def state_dict(self) -> dict:
        return {"chunks": [{"games": games, **samples.state_dict()} for games, samples in self._chunks]}

    def load_state_dict(self, state: dict) -> None:
        self._chunks = deque(
            (chunk["games"], Samples(chunk["observation"], chunk["policy"], chunk["value"]))
            for chunk in state["chunks"]
        )
        self._all = None
