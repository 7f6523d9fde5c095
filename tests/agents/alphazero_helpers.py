"""Shared test helpers for the AlphaZero tests: evaluators with known values and an exact tic-tac-toe oracle."""

from __future__ import annotations

import functools

import torch

import nets
from envs.boards import NO_ACTION, BoardGame, State
from envs.players import perfect_tictactoe_moves


@functools.cache
def ttt_value(board: tuple[int, ...], to_play: int) -> int:
    """Exact minimax value of a tic-tac-toe position for the player to move (+1, 0, -1)."""
    lines = [(0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6)]
    for line in lines:
        stones = {board[i] for i in line}
        if len(stones) == 1 and 0 not in stones:
            return 1 if stones.pop() == to_play + 1 else -1
    empty = [i for i, v in enumerate(board) if v == 0]
    if not empty:
        return 0
    return max(-ttt_value(board[:i] + (to_play + 1,) + board[i + 1 :], 1 - to_play) for i in empty)


def board_of(state: State, i: int = 0) -> tuple[int, ...]:
    return tuple(int(v) for v in state.board[i].flatten())


def winning_moves(state: State) -> list[int]:
    """Moves of game 0 that keep a forced win for the player to move."""
    board, me = board_of(state), int(state.to_play[0])
    return [a for a in range(9) if board[a] == 0 and -ttt_value(board[:a] + (me + 1,) + board[a + 1 :], 1 - me) == 1]


def move_values(state: State) -> dict[int, int]:
    """Exact value of every legal move of game 0 for the player to move."""
    board, me = board_of(state), int(state.to_play[0])
    return {a: -ttt_value(board[:a] + (me + 1,) + board[a + 1 :], 1 - me) for a in range(9) if board[a] == 0}


def uniform_evaluator(game: BoardGame):
    """Uniform prior, value 0: the search learns only from finished games."""

    def evaluate(states: State) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.zeros(states.batch_size, game.num_actions), torch.zeros(states.batch_size)

    return evaluate


def perfect_evaluator(game: BoardGame):
    """Uniform prior and the exact minimax value of each tic-tac-toe position."""

    def evaluate(states: State) -> tuple[torch.Tensor, torch.Tensor]:
        values = [float(ttt_value(board_of(states, i), int(states.to_play[i]))) for i in range(states.batch_size)]
        return torch.zeros(states.batch_size, game.num_actions), torch.tensor(values)

    return evaluate


def random_net_evaluator(game: BoardGame, seed: int = 0):
    """A randomly initialised small PolicyValueNet (eval mode): irregular priors and values, no ties."""
    torch.manual_seed(seed)
    channels, height, width = game.observation_shape
    net = nets.PolicyValueNet(channels, height, width, game.num_actions, channels=8, blocks=1).eval()

    def evaluate(states: State) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.no_grad():
            logits, value = net(game.observation(states))
        # A random tanh head sits near 0; stretch it so values matter in the search.
        return logits * 3, torch.tanh(value * 20)

    return evaluate


def rollout_evaluator(game: BoardGame, seed: int = 0):
    """Uniform prior; value = result of one uniformly random playout (classic MCTS, no learned knowledge)."""
    generator = torch.Generator().manual_seed(seed)

    def evaluate(states: State) -> tuple[torch.Tensor, torch.Tensor]:
        mover = game.current_player(states)
        state = states
        while not bool(game.terminal(state).all()):
            legal = game.legal_mask(state)
            weights = torch.where(legal.any(dim=1, keepdim=True), legal.float(), 1.0)
            actions = torch.multinomial(weights, 1, generator=generator)[:, 0]
            state = game.step(state, torch.where(game.terminal(state), NO_ACTION, actions), validate=False)
        value = game.returns(state).gather(1, mover[:, None])[:, 0]
        return torch.zeros(states.batch_size, game.num_actions), value

    return evaluate


def agent_mistakes(game, agent, openings: list[list[int]]) -> list[tuple[list[int], int]]:
    """Positions (move lists) where the agent's move throws away value, over every game the agent can
    reach from `openings` with either colour against any perfect opponent (all optimal replies)."""
    mistakes = []
    for colour in (0, 1):
        frontier = [list(o) for o in openings]
        while frontier:
            states = State.cat([game.from_moves(m) for m in frontier])
            running = [i for i in range(len(frontier)) if not bool(states.done[i])]
            agent_turn = [i for i in running if int(states.to_play[i]) == colour]
            chosen = agent(game, states[torch.tensor(agent_turn)]).tolist() if agent_turn else []
            next_frontier = []
            for i, action in zip(agent_turn, chosen):
                values = move_values(states[i : i + 1])
                if values[action] < max(values.values()):
                    mistakes.append((frontier[i], action))
                next_frontier.append(frontier[i] + [action])
            for i in running:
                if i not in agent_turn:
                    replies = perfect_tictactoe_moves(board_of(states, i), int(states.to_play[i]))
                    next_frontier += [frontier[i] + [a] for a in replies]
            frontier = [list(m) for m in {tuple(m) for m in next_frontier}]
    return mistakes
