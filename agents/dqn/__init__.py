"""DQN with every Rainbow extension: double Q, dueling, prioritised replay, n-step, C51, noisy nets.

    from agents.dqn import DQN
    model = DQN("CartPole-v1", preset="rainbow", seed=0).learn(50_000)
    model.save("rainbow.pt")
    DQN.load("rainbow.pt").predict(obs)        # or .evaluate(episodes=20)

Lower level: ``make_config`` (presets + overrides), ``train(cfg, run, resume=...)`` (the loop
``DQN.learn`` runs, ``agents.dqn.train``), ``evaluate(path)``.
"""

from agents.dqn.config import DQNConfig
from agents.dqn.model import DQN, evaluate
from agents.dqn.presets import PRESETS, make_config
from agents.dqn.pretrain import pretrain
from agents.dqn.train import train

__all__ = ["DQN", "PRESETS", "DQNConfig", "evaluate", "make_config", "pretrain", "train"]
