"""nets: PyTorch function approximators with no RL knowledge, plus build/save/load and a training loop.

``nets.build(spec)`` constructs any registered model from a plain dict, ``nets.save``/``nets.load``
round-trip architecture and weights, ``nets.fit`` trains any of them (from tensors, numpy arrays, torch
Datasets or DataLoaders; see ``nets.data``), and every public model is importable from here.
"""

from nets.autoencoder import AutoEncoder, corrupt
from nets.cnn import LeNet5, NatureCNN, PolicyValueNet, ResidualBlock, ResidualTower
from nets.dbn import DBN
from nets.fit import fit
from nets.gan import GAN, ConvDiscriminator, ConvGenerator, discriminator_loss, generator_loss
from nets.heads import NoisyLinear, PolicyValueHead, QHead, reset_noise, set_noise
from nets.mlp import ACTIVATIONS, MLP
from nets.perceptron import LinearUnit, Perceptron, PerceptronHistory
from nets.rbm import RBM
from nets.recurrent import GRUModel, LSTMModel, RecurrentNet, RNNModel
from nets.registry import NetsError, build, check_shape, load, register, registered_types, save
from nets.vae import VAE, gaussian_kl

__all__ = [
    "ACTIVATIONS",
    "DBN",
    "GAN",
    "MLP",
    "RBM",
    "VAE",
    "AutoEncoder",
    "ConvDiscriminator",
    "ConvGenerator",
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
    "corrupt",
    "discriminator_loss",
    "fit",
    "gaussian_kl",
    "generator_loss",
    "load",
    "register",
    "registered_types",
    "reset_noise",
    "save",
    "set_noise",
]
