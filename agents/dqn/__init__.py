"""DQN with every Rainbow extension: double Q, dueling, prioritised replay, n-step, C51, noisy nets.

Python API (the ``rlkit train/eval dqn`` commands wrap it)::

    from agents import dqn
    from rlkit.config import to_dict
    from rlkit.runs import Run

    cfg = dqn.make_config("rainbow", "CartPole-v1", ["total_steps=50000"])
    run = Run.create("runs", "rainbow-cartpole", to_dict(cfg))
    summary = dqn.train(cfg, run)                 # resume=True continues the newest checkpoint
    print(dqn.evaluate(run.path, episodes=20))    # mean/median/std, human-normalised on Atari
"""

from agents.dqn.config import PRESETS, DQNConfig, make_config
from agents.dqn.evaluate import evaluate, load_agent
from agents.dqn.pretrain import pretrain
from agents.dqn.train import train

__all__ = ["PRESETS", "DQNConfig", "evaluate", "load_agent", "make_config", "pretrain", "train"]
