"""Environments: batched tensor board games (`envs.boards`) and vectorised Gymnasium/Atari envs (`envs.make`)."""

from envs import boards
from envs.gym_envs import PRESETS, AtariProtocol, make

__all__ = ["PRESETS", "AtariProtocol", "boards", "make"]
