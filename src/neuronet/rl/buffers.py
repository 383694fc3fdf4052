"""Experience storage: a replay buffer (off-policy, DQN) and a rollout (on-policy: REINFORCE, A2C, PPO).

Both hold tensors only, so that a checkpoint saves them in safetensors (no pickle).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import torch

__all__ = ["ReplayBuffer", "Rollout"]


class ReplayBuffer:
    """A circular buffer of transitions (obs, action, reward, next_obs, terminated); uniform sampling.

    When full, the oldest transitions are overwritten. `terminated` is 1 only for a true end of
    an episode: a time-limit cut-off keeps bootstrapping from `next_obs` (its real last observation).

    Args:
        capacity: The most transitions kept.
        obs_shape: Shape of one observation.
        obs_dtype: Observations' dtype (uint8 pixels stay uint8: 4x less memory).
        action_shape: Shape of one action (() for a discrete action).
        action_dtype: torch.long for discrete actions, torch.float32 for continuous ones.
        device: Where the tensors live.

    Example:
        >>> buf = ReplayBuffer(3, (2,))
        >>> buf.add(torch.zeros(2, 2), torch.tensor([0, 1]), torch.ones(2), torch.ones(2, 2), torch.zeros(2))
        >>> len(buf), buf.sample(4, torch.Generator().manual_seed(0))["obs"].shape
        (2, torch.Size([4, 2]))
    """

    _FIELDS = ("obs", "actions", "rewards", "next_obs", "terminated")

    def __init__(self, capacity: int, obs_shape: tuple[int, ...], obs_dtype: torch.dtype = torch.float32,
                 action_shape: tuple[int, ...] = (), action_dtype: torch.dtype = torch.long,
                 device: torch.device | str = "cpu") -> None:
        if capacity < 1:
            raise ValueError(f"The replay buffer's capacity must be >= 1. Got {capacity} instead.")
        self.capacity = capacity
        self.obs = torch.zeros((capacity, *obs_shape), dtype=obs_dtype, device=device)
        self.next_obs = torch.zeros_like(self.obs)
        self.actions = torch.zeros((capacity, *action_shape), dtype=action_dtype, device=device)
        self.rewards = torch.zeros(capacity, device=device)
        self.terminated = torch.zeros(capacity, device=device)
        self.pos, self.size = 0, 0  # next slot to write; transitions held

    def __len__(self) -> int:
        return self.size

    def add(self, obs: torch.Tensor, actions: torch.Tensor, rewards: torch.Tensor, next_obs: torch.Tensor,
            terminated: torch.Tensor) -> None:
        """Store a batch of transitions (one per environment), oldest overwritten first."""
        n = len(obs)
        if self.pos + n <= self.capacity:  # one slice (the common case: no wrap-around)
            where: Any = slice(self.pos, self.pos + n)
        else:
            where = ((self.pos + torch.arange(n)) % self.capacity).to(self.obs.device)
        for name, value in zip(self._FIELDS, (obs, actions, rewards, next_obs, terminated)):
            getattr(self, name)[where] = value
        self.pos = (self.pos + n) % self.capacity
        self.size = min(self.size + n, self.capacity)

    def sample(self, batch_size: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
        """`batch_size` transitions drawn uniformly with replacement, as {field: tensor}."""
        if self.size == 0:
            raise ValueError("Cannot sample from an empty replay buffer.")
        index = torch.randint(self.size, (batch_size,), generator=generator).to(self.obs.device)
        return {name: getattr(self, name)[index] for name in self._FIELDS}

    def state_dict(self) -> dict[str, Any]:
        """The held transitions (only the filled part) and the write position."""
        return {"pos": self.pos, "size": self.size, **{name: getattr(self, name)[:self.size] for name in self._FIELDS}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.pos, self.size = int(state["pos"]), int(state["size"])
        for name in self._FIELDS:
            getattr(self, name)[:self.size] = state[name].to(getattr(self, name).device)


@dataclass
class Rollout:
    """T steps of N environments, time-major: each field is (T, N, ...).

    `dones` is 1 where an episode ended after the step (terminated or cut off by a time limit);
    at a cut-off, `rewards` already include gamma * V(last observation).
    """

    obs: torch.Tensor
    actions: torch.Tensor
    log_probs: torch.Tensor
    values: torch.Tensor
    rewards: torch.Tensor
    dones: torch.Tensor
    last_values: torch.Tensor  # (N,) V of the observation after the last step

    def flat(self, *extra: tuple[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Every per-step field (and `extra` ones) with (T, N) merged into one batch dimension."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "last_values"}
        out.update(dict(extra))
        return {k: v.reshape(-1, *v.shape[2:]) for k, v in out.items()}
