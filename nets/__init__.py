"""nets: PyTorch function approximators with no RL knowledge, plus build/save/load and a training loop.

``nets.build(spec)`` constructs any registered model from a plain dict, ``nets.save``/``nets.load``
round-trip architecture and weights, ``nets.fit`` trains any of them, and every public model is
importable from here.
"""

from nets.cnn import LeNet5, NatureCNN, PolicyValueNet, ResidualBlock, ResidualTower
from nets.fit import fit
from nets.heads import NoisyLinear, PolicyValueHead, QHead, reset_noise, set_noise
from nets.mlp import ACTIVATIONS, MLP
from nets.perceptron import LinearUnit, Perceptron, PerceptronHistory
from nets.recurrent import GRUModel, LSTMModel, RecurrentNet, RNNModel
from nets.registry import NetsError, build, check_shape, load, register, registered_types, save

__all__ = [
    "ACTIVATIONS",
    "MLP",
    "GRUModel",
    "LSTMModel",
    "LeNet5",
    "LinearUnit",
    "NatureCNN",
    "NetsError",
    "NoisyLinear",
    "Perceptron",
    "PerceptronHistory",
    "PolicyValueHead",
    "PolicyValueNet",
    "QHead",
    "RNNModel",
    "RecurrentNet",
    "ResidualBlock",
    "ResidualTower",
    "build",
    "check_shape",
    "fit",
    "load",
    "register",
    "registered_types",
    "reset_noise",
    "save",
    "set_noise",
]
