"""nets: PyTorch function approximators with no RL knowledge, plus build/save/load and a training loop.

``nets.build(spec)`` constructs any registered model from a plain dict, ``nets.save``/``nets.load``
round-trip architecture and weights, and every public model is importable from here.
"""

from nets.cnn import LeNet5, NatureCNN, PolicyValueNet, ResidualBlock, ResidualTower
from nets.heads import NoisyLinear, PolicyValueHead, QHead, reset_noise, set_noise
from nets.mlp import ACTIVATIONS, MLP
from nets.registry import NetsError, build, check_shape, load, register, registered_types, save

__all__ = [
    "ACTIVATIONS",
    "MLP",
    "LeNet5",
    "NatureCNN",
    "NetsError",
    "NoisyLinear",
    "PolicyValueHead",
    "PolicyValueNet",
    "QHead",
    "ResidualBlock",
    "ResidualTower",
    "build",
    "check_shape",
    "load",
    "register",
    "registered_types",
    "reset_noise",
    "save",
    "set_noise",
]
