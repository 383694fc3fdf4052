"""A tiny deterministic environment for the reinforcement-learning tests (importable as `rl_envs:Corridor`)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np


class Corridor(gym.Env):
    """A 1-D corridor of `length` cells: start in cell 0, walk left (0) or right (1); the right end is the goal.

    Observation: the position, one-hot (float32, shape (length,)). Reward: +1 on reaching the goal (the
    episode terminates there), -0.01 for every other step. After `max_steps` steps without reaching the
    goal the episode is truncated. Walking left in cell 0 stays in cell 0.

    The optimal policy (always right) takes length - 1 steps: return 1 - 0.01 * (length - 2).
    Nothing is random: the reset seed only seeds `np_random`, which the dynamics never use.
    """

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self, length: int = 5, max_steps: int = 20) -> None:
        self.length, self.max_steps = length, max_steps
        self.observation_space = gym.spaces.Box(0.0, 1.0, (length,), np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self.position, self.elapsed = 0, 0

    def _obs(self) -> np.ndarray:
        obs = np.zeros(self.length, dtype=np.float32)
        obs[self.position] = 1.0
        return obs

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.position, self.elapsed = 0, 0
        return self._obs(), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.position = max(0, self.position - 1) if int(action) == 0 else self.position + 1
        self.elapsed += 1
        terminated = self.position == self.length - 1
        truncated = not terminated and self.elapsed >= self.max_steps
        return self._obs(), 1.0 if terminated else -0.01, terminated, truncated, {}

    def get_state(self) -> dict[str, int]:
        """What `neuronet.rl.envs.env_state` saves for an exact resume."""
        return {"position": self.position, "elapsed": self.elapsed}

    def set_state(self, state: dict[str, Any]) -> None:
        self.position, self.elapsed = int(state["position"]), int(state["elapsed"])


def optimal_return(length: int = 5) -> float:
    """Always right: length - 2 steps at -0.01, then +1 at the goal (1 - 0.01 * (length - 2), summed in the
    order an episode adds its rewards, so that it compares exactly with `evaluate_policy`'s float64 total)."""
    total = 0.0
    for reward in [-0.01] * (length - 2) + [1.0]:
        total += reward
    return total


class PixelCorridor(Corridor):
    """The corridor seen as a picture: an (8, 8 * length, 3) uint8 image with the walker's cell lit.

    The policy must read pixels (a CNN) to know where it is.
    """

    def __init__(self, length: int = 4, max_steps: int = 12) -> None:
        super().__init__(length, max_steps)
        self.observation_space = gym.spaces.Box(0, 255, (8, 8 * length, 3), np.uint8)

    def _obs(self) -> np.ndarray:
        image = np.zeros((8, 8 * self.length, 3), dtype=np.uint8)
        image[:, 8 * self.position:8 * self.position + 8, :] = 255
        return image


def corridor(length: int = 5) -> Corridor:
    """A factory (the `module:function` form of an env spec)."""
    return Corridor(length)


def not_an_env() -> dict:
    return {}


class DictCorridor(Corridor):
    """The corridor with a Dict observation space (not supported: the agents read one array)."""

    def __init__(self) -> None:
        super().__init__()
        self.observation_space = gym.spaces.Dict({"position": gym.spaces.Discrete(5)})

    def _obs(self) -> dict:
        return {"position": self.position}


class NaNCorridor(Corridor):
    """A broken environment: its observations turn NaN after two steps."""

    def _obs(self) -> np.ndarray:
        obs = super()._obs()
        return obs * np.nan if self.elapsed >= 2 else obs
