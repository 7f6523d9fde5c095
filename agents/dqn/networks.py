"""Q-networks assembled from ``nets`` pieces by the DQN config.

A feed-forward :class:`QNetwork` is ``torso -> nets.QHead``, the torso picked by the observations
(:func:`agents.dqn.config.check_compatible`): an MLP for vectors, :class:`SmallConvTorso` for small images
such as MinAtar's 10x10 grids, the Nature CNN for 84x84 Atari stacks; the DRQN-style
:class:`RecurrentQNetwork` puts a ``nets.RecurrentNet`` between an MLP encoder and the head.
"""

from __future__ import annotations

import math

import gymnasium as gym
import torch
from torch import nn

import nets
from agents.dqn.config import DQNConfig, check_compatible
from agents.dqn.losses import expected_q, support
from rlkit.errors import RlkitError

__all__ = [
    "FlattenObs",
    "QNetwork",
    "RecurrentQNetwork",
    "SmallConvTorso",
    "as_float",
    "build_network_for_env",
    "build_q_network",
    "pretrained_torso",
]


class QNetwork(nn.Module):
    """``obs [B, *obs_shape]`` -> Q-values ``float32 [B, A]`` or C51 atom logits ``float32 [B, A, K]``."""

    def __init__(self, torso: nn.Module, head: nn.Module, num_atoms: int, v_min: float, v_max: float) -> None:
        super().__init__()
        self.torso = torso
        self.head = head
        self.num_atoms = num_atoms
        self.register_buffer("z", support(v_min, v_max, num_atoms) if num_atoms > 1 else torch.zeros(0))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.head(self.torso(obs))

    def q_values(self, obs: torch.Tensor) -> torch.Tensor:
        """Expected returns ``float32 [B, A]`` (the mean of the atoms for C51)."""
        out = self(obs)
        return out if self.num_atoms == 1 else expected_q(out, self.z)


class RecurrentQNetwork(nn.Module):
    """DRQN (Hausknecht & Stone 2015): encoder -> LSTM -> linear Q head, over whole sequences.

    ``forward(obs float32 [B, T, D], state) -> (q float32 [B, T, A], state)``;
    ``step(obs float32 [B, D], state) -> (q float32 [B, A], state)`` for acting one step at a time.
    """

    num_atoms = 1

    def __init__(self, encoder: nn.Module, core: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        self.core = core
        self.head = head

    def initial_state(self, batch_size: int, device: torch.device | str = "cpu"):
        """Zero recurrent state for ``batch_size`` sequences (R2D2's zero-state start, warmed by burn-in)."""
        return self.core.initial_state(batch_size, device=device)

    def forward(self, obs: torch.Tensor, state=None):
        B, T = obs.shape[:2]
        features = self.encoder(obs.reshape(B * T, *obs.shape[2:])).reshape(B, T, -1)
        hidden, state = self.core.unroll(features, state)
        return self.head(hidden.reshape(B * T, -1)).reshape(B, T, -1), state

    def step(self, obs: torch.Tensor, state):
        q, state = self(obs.unsqueeze(1), state)
        return q.squeeze(1), state

    def q_values(self, obs: torch.Tensor, state=None) -> torch.Tensor:
        """Values ``float32 [B, A]`` of single observations from ``state`` (zero state if None)."""
        return self.step(obs, state if state is not None else self.initial_state(obs.shape[0], obs.device))[0]


def build_q_network(cfg: DQNConfig, obs_shape: tuple[int, ...], num_actions: int | None) -> nn.Module:
    """Build the Q-network ``cfg`` describes for one env's ``obs_shape``.

    :raises RlkitError: when the torso does not fit the observations (see :func:`check_compatible`).
    """
    torso_kind = check_compatible(cfg, obs_shape, num_actions)
    head_args = {
        "num_actions": num_actions,
        "hidden": cfg.head_hidden,
        "dueling": cfg.dueling,
        "noisy": cfg.noisy,
        "num_atoms": cfg.num_atoms,
        "sigma0": cfg.noisy_sigma0,
    }
    if torso_kind == "lstm":
        encoder = nets.MLP(obs_shape[0], hidden=list(cfg.mlp_hidden), out_features=None, init=cfg.mlp_init)
        core = nets.RecurrentNet(encoder.out_features, cfg.lstm_hidden, cell="lstm", many_to_many=True)
        return RecurrentQNetwork(encoder, core, nets.QHead(cfg.lstm_hidden, **head_args))
    if cfg.pretrained_torso:
        torso = pretrained_torso(cfg.pretrained_torso, obs_shape)
    elif torso_kind == "small_cnn":
        torso = SmallConvTorso(obs_shape, hidden=cfg.mlp_hidden, init=cfg.mlp_init)
    elif torso_kind == "nature_cnn":
        torso = nets.NatureCNN(in_channels=obs_shape[0], out_features=512)
        if cfg.head_hidden > 0:
            # Dueling and noisy heads own their fully connected layer (Wang et al. 2016; Hessel et al.
            # 2018 make both layers noisy), so the torso stops after the convolutions.
            torso.linear = nn.Identity()
    else:
        torso = nn.Sequential(
            FlattenObs(), nets.MLP(math.prod(obs_shape), hidden=list(cfg.mlp_hidden), init=cfg.mlp_init)
        )
    features = _feature_size(torso, obs_shape)
    return QNetwork(torso, nets.QHead(features, **head_args), cfg.num_atoms, cfg.v_min, cfg.v_max)


def build_network_for_env(cfg: DQNConfig, env) -> tuple[torch.nn.Module, tuple[int, ...], int]:
    """(Q-network, one env's obs shape, number of actions) for a vector env from ``envs.make``.

    :raises RlkitError: an action space other than ``Discrete(n)`` (with start 0), or observations no torso fits.
    """
    obs_shape = tuple(env.single_observation_space.shape)
    space = env.single_action_space
    if not isinstance(space, gym.spaces.Discrete):
        raise RlkitError(f"DQN needs a Discrete action space; {cfg.env_id} has {space}")
    if int(space.start) != 0:
        raise RlkitError(f"DQN numbers actions from 0; {cfg.env_id} has {space} (actions from {int(space.start)})")
    num_actions = int(space.n)
    return build_q_network(cfg, obs_shape, num_actions), obs_shape, num_actions


def _feature_size(torso: nn.Module, obs_shape: tuple[int, ...]) -> int:
    with torch.no_grad():
        return torso(torch.zeros(1, *obs_shape)).shape[1]


def as_float(obs: torch.Tensor) -> torch.Tensor:
    """Observations as ``float32``: uint8 pixels scaled to [0, 1], bool planes to {0, 1}, floats unchanged."""
    if obs.dtype == torch.uint8:
        return obs.float().div_(255.0)
    return obs.float() if obs.dtype != torch.float32 else obs


class FlattenObs(nn.Module):
    """``[B, *obs_shape]`` -> ``float32 [B, prod(obs_shape)]``, uint8 pixels scaled to [0, 1], bool to {0, 1}."""

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return as_float(obs.flatten(1))


class SmallConvTorso(nn.Module):
    """MinAtar's torso (Young & Tian 2019): one 3x3 convolution of 16 channels, stride 1, no padding, ReLU.

    ``[B, C, H, W]`` (bool, uint8 or float) -> ``float32 [B, F]``: the flattened ``16 * (H-2) * (W-2)`` features,
    then the ``hidden`` fully connected ReLU layers (MinAtar's DQN: ``[128]``; Revisiting Rainbow: none, its
    dueling streams read the convolution's 1,024 features directly).
    """

    def __init__(
        self, obs_shape: tuple[int, ...], hidden: list[int] | tuple[int, ...] = (128,), init: str = "variance"
    ) -> None:
        super().__init__()
        channels, height, width = obs_shape
        self.conv = nn.Conv2d(channels, 16, kernel_size=3, stride=1)
        features = 16 * (height - 2) * (width - 2)
        self.mlp = nets.MLP(features, hidden=list(hidden), init=init) if hidden else nn.Identity()

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.mlp(torch.relu(self.conv(as_float(obs))).flatten(1))


def pretrained_torso(path: str, obs_shape: tuple[int, ...]) -> nn.Module:
    """The encoder of an unsupervised model saved by ``nets.save``, as a Q-network torso.

    An (denoising) ``nets.AutoEncoder`` gives its encoder MLP (input -> code), a ``nets.DBN`` its
    stack of RBMs as a sigmoid MLP: the lectures' pretrain-then-fine-tune recipe, where the
    Q-learning updates fine-tune the pretrained weights.

    :raises RlkitError: unreadable file, a model without an encoder, or one whose input width is not
        the flattened observation size.
    """
    try:
        model = nets.load(path)
    except ValueError as error:
        raise RlkitError(f"pretrained_torso: {error}") from error
    kind = model.spec["type"]
    if kind == "dbn":
        encoder = model.torso()
    elif kind == "autoencoder":
        encoder = model.encoder
    else:
        raise RlkitError(
            f"pretrained_torso {path!r} holds a {type(model).__name__}; expected an autoencoder or "
            "DBN file written by agents.dqn.pretrain"
        )
    if encoder.in_features != math.prod(obs_shape):
        raise RlkitError(
            f"pretrained_torso {path!r} encodes {encoder.in_features} inputs, but the observations "
            f"have shape {tuple(obs_shape)} ({math.prod(obs_shape)} values)"
        )
    return nn.Sequential(FlattenObs(), encoder)
