"""Policies and value functions, built from the model registry (an MLP; a CNN for pixel observations).

Each network is a plain `nn.Module` from observations to outputs: `ActorCritic.forward`
gives the action logits (discrete) or means (continuous), `QNetwork.forward` the action
values. Either can be saved, exported and served like any other model.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from neuronet.errors import ConfigError
from neuronet.models import build_model

__all__ = ["ObservationInput", "ActorCritic", "QNetwork", "build_network", "action_info", "check_observations",
           "greedy_actions", "is_image", "policy_from_spec"]


def is_image(space: Any) -> bool:
    """Pixel observations: a 3-D Box of uint8 (H, W, C as Gymnasium renders, or C, H, W)."""
    return len(getattr(space, "shape", ()) or ()) == 3 and str(getattr(space, "dtype", "")) == "uint8"


def check_observations(space: Any) -> None:
    """Raise a ConfigError unless observations are one array (a Box): what the networks read."""
    from gymnasium import spaces

    if not isinstance(space, spaces.Box):
        raise ConfigError(f"The observation space {space} is not supported; the agents read one array (a Box). "
                          "Flatten it with gymnasium.wrappers.FlattenObservation in your environment factory.")


def action_info(space: Any) -> tuple[bool, int]:
    """(discrete, size): a Discrete space's number of actions, or a 1-D Box's dimension."""
    from gymnasium import spaces

    if isinstance(space, spaces.Discrete):
        return True, int(space.n)
    if isinstance(space, spaces.Box) and len(space.shape) == 1:
        return False, int(space.shape[0])
    raise ConfigError(f"The action space {space} is not supported; use Discrete(n) or a 1-D Box.")


class ObservationInput(nn.Module):
    """Observations as the network reads them: float32; pixels (H, W, C) uint8 → (C, H, W) in [0, 1]."""

    def __init__(self, image: bool = False, channels_last: bool = True) -> None:
        super().__init__()
        self.image, self.channels_last = image, channels_last

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        if not self.image:
            return obs.float()
        x = obs.float() / 255.0
        return x.permute(0, 3, 1, 2) if self.channels_last else x  # (B, H, W, C) -> (B, C, H, W)


def build_network(model: dict[str, Any], obs_space: Any, outputs: int, seed: int | None = None) -> nn.Sequential:
    """A registered model from observations to `outputs` numbers, with the observation step in front.

    Args:
        model: {"type": "mlp", "hidden": [64, 64], ...} (default type: cnn for pixels, else mlp).
        obs_space: The environment's observation space.
        outputs: Width of the output layer.
        seed: Seed of the initial weights.
    """
    spec = dict(model)
    image = is_image(obs_space)
    kind = spec.pop("type", "cnn" if image else "mlp")
    if kind == "cnn":  # an agent's CNN: no dropout, no batch norm, unless asked (see IMAGE_MODEL)
        spec = {"dropout": 0.0, "batch_norm": False, **spec}
    shape = tuple(obs_space.shape)
    channels_last = image and shape[-1] in (1, 3, 4) and shape[0] not in (1, 3, 4)
    if channels_last:
        shape = (shape[2], shape[0], shape[1])
    net = build_model(kind, shape, outputs, seed=seed, **spec)
    return nn.Sequential(ObservationInput(image, channels_last), net)


def orthogonal_init(net: nn.Module, last_gain: float) -> None:
    """Orthogonal weights (gain sqrt 2 in hidden layers, `last_gain` in the output layer), zero biases —
    the initialisation of the PPO paper's code and of Stable-Baselines3."""
    layers = [m for m in net.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    for i, layer in enumerate(layers):
        nn.init.orthogonal_(layer.weight, gain=last_gain if i == len(layers) - 1 else math.sqrt(2))
        if layer.bias is not None:  # (a convolution followed by batch norm has none)
            nn.init.zeros_(layer.bias)


class ActorCritic(nn.Module):
    """A policy (actor) and a state-value function (critic), as two networks.

    Discrete actions: the actor's outputs are logits of a categorical distribution. Continuous
    actions: they are the means of a Gaussian with a learned, state-independent log std.

    Args:
        actor, critic: Networks from observations to (actions,) and (1,) outputs.
        discrete: Whether the action space is Discrete.
        action_dim: Number of actions (discrete) or action dimensions.
    """

    def __init__(self, actor: nn.Module, critic: nn.Module, discrete: bool, action_dim: int) -> None:
        super().__init__()
        self.actor, self.critic, self.discrete = actor, critic, discrete
        self.log_std = None if discrete else nn.Parameter(torch.zeros(action_dim))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """Action logits (discrete) or means (continuous): the exported policy."""
        return self.actor(obs)

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        """V(s), shape (B,)."""
        return self.critic(obs).squeeze(-1)

    def act(self, obs: torch.Tensor, generator: torch.Generator | None = None,
            deterministic: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """(actions, their log-probabilities) sampled from the policy (the most likely ones if deterministic)."""
        out = self.actor(obs)
        if self.discrete:
            log_p = torch.log_softmax(out, dim=-1)  # (B, A)
            if deterministic:
                actions = out.argmax(dim=-1)
            else:
                actions = torch.multinomial(log_p.exp(), 1, generator=generator).squeeze(-1)
            return actions, log_p.gather(-1, actions.unsqueeze(-1)).squeeze(-1)
        std = self.log_std.exp().expand_as(out)
        actions = out if deterministic else out + std * torch.randn(out.shape, generator=generator, device=out.device)
        return actions, _normal_log_prob(actions, out, self.log_std)

    def evaluate(self, obs: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(log-probabilities of `actions`, entropies, values) under the current networks: what the losses need."""
        out = self.actor(obs)
        if self.discrete:
            log_p = torch.log_softmax(out, dim=-1)
            entropy = -(log_p.exp() * log_p).sum(-1)
            return log_p.gather(-1, actions.long().unsqueeze(-1)).squeeze(-1), entropy, self.value(obs)
        entropy = (0.5 + 0.5 * math.log(2 * math.pi) + self.log_std).sum().expand(len(out))
        return _normal_log_prob(actions, out, self.log_std), entropy, self.value(obs)


def _normal_log_prob(actions: torch.Tensor, mean: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
    """Log density of a diagonal Gaussian, summed over action dimensions: (B,)."""
    z = (actions - mean) / log_std.exp()
    return (-0.5 * z.pow(2) - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)


class QNetwork(nn.Module):
    """Action values Q(s, ·) for a Discrete action space; acting greedily takes their argmax."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(obs)  # (B, actions)


def policy_from_spec(spec: dict[str, Any]) -> nn.Module:
    """The policy network a run's model.json describes (weights not loaded): what serving needs, no environment.

    Example:
        >>> net = policy_from_spec({"agent": "dqn", "model": {"type": "mlp", "hidden": [8]}, "obs_shape": [4],
        ...                         "obs_dtype": "float32", "discrete": True, "action_dim": 2})
        >>> net(torch.zeros(3, 4)).shape
        torch.Size([3, 2])
    """
    from types import SimpleNamespace

    space = SimpleNamespace(shape=tuple(spec["obs_shape"]), dtype=spec["obs_dtype"])
    if spec["agent"] == "dqn":
        return QNetwork(build_network(spec["model"], space, spec["action_dim"]))
    return ActorCritic(build_network(spec["model"], space, spec["action_dim"]), build_network(spec["model"], space, 1),
                       spec["discrete"], spec["action_dim"])


def greedy_actions(outputs: torch.Tensor, spec: dict[str, Any]) -> torch.Tensor:
    """The actions a policy's outputs choose: the argmax (logits, Q-values), or the means clipped into the bounds."""
    if spec["discrete"]:
        return outputs.argmax(dim=-1)
    if "action_low" in spec:
        return outputs.clamp(torch.tensor(spec["action_low"]), torch.tensor(spec["action_high"]))
    return outputs
