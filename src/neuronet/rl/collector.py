"""`Collector`: steps N environments together and keeps the score of every episode.

The agents call `step(actions)`; the collector returns the transition (with each ended
episode's real last observation, not the reset one) and records finished episodes' returns
and lengths. Its state — current observations, running episode sums, counters, and the
environments' own state where they can give it — goes into the checkpoint.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from neuronet.errors import DataError
from neuronet.rl.envs import env_state, load_env_state

__all__ = ["Collector", "Step", "clip_actions"]


def clip_actions(actions: torch.Tensor, space: Any) -> np.ndarray:
    """Actions as the environments take them: a Gaussian policy's samples clipped into a Box's bounds."""
    sent = actions.detach().cpu().numpy()
    low, high = getattr(space, "low", None), getattr(space, "high", None)
    return sent if low is None or sent.dtype.kind != "f" else np.clip(sent, low, high)


@dataclass
class Step:
    """One step of N environments, as tensors on the agent's device."""

    obs: torch.Tensor  # (N, *obs) before the step
    actions: torch.Tensor
    rewards: torch.Tensor  # (N,)
    next_obs: torch.Tensor  # (N, *obs) after the step: the final observation where an episode ended
    terminated: torch.Tensor  # (N,) 1.0 at a true end of the episode
    truncated: torch.Tensor  # (N,) 1.0 where a time limit cut the episode off


class Collector:
    """Steps a vector environment, one batch of actions at a time.

    Args:
        envs: A Gymnasium vector environment (see `make_vec_env`).
        seed: Seeds the first reset (environment i gets seed + i).
        device: Where the returned tensors live.
        window: Episodes averaged for `mean_return`.
    """

    def __init__(self, envs: Any, seed: int, device: torch.device, window: int = 100) -> None:
        self.envs, self.seed, self.device = envs, seed, device
        self.n = envs.num_envs
        self.steps, self.episodes = 0, 0
        self.recent: deque[tuple[float, int]] = deque(maxlen=window)  # (return, length) of the last episodes
        self.resumed_fresh = False  # resumed without the environments' state: episodes restarted
        self._reset(seed)

    def _reset(self, seed: int) -> None:
        obs, _ = self.envs.reset(seed=[seed + i for i in range(self.n)])
        self.obs = self._tensor(obs)
        self._returns = np.zeros(self.n)
        self._lengths = np.zeros(self.n, dtype=np.int64)

    def _tensor(self, array: Any) -> torch.Tensor:
        return torch.as_tensor(np.asarray(array), device=self.device)

    def step(self, actions: torch.Tensor) -> Step:
        """Apply one action per environment; ended episodes restart at once (their final obs is returned)."""
        obs_before = self.obs
        obs, rewards, terminated, truncated, info = self.envs.step(clip_actions(actions, self.envs.single_action_space))
        ended = terminated | truncated
        self._returns += rewards
        self._lengths += 1
        next_obs = self._tensor(obs)
        if next_obs.is_floating_point() and not torch.isfinite(next_obs).all():
            raise DataError(f"The environment returned a NaN or infinite observation at step {self.steps + self.n}; "
                            "check its step() (or clip its observations).")
        self.obs = next_obs
        if ended.any():
            next_obs = next_obs.clone()  # the episodes that ended: their real last observation, not the reset one
            for i in np.flatnonzero(ended):
                next_obs[i] = torch.as_tensor(info["final_obs"][i])
                self.recent.append((float(self._returns[i]), int(self._lengths[i])))
                self.episodes += 1
                self._returns[i], self._lengths[i] = 0.0, 0
        flags = self._tensor(np.stack([rewards, terminated, truncated])).float()  # one transfer for the three
        self.steps += self.n
        return Step(obs_before, actions, flags[0], next_obs, flags[1], flags[2])

    @property
    def mean_return(self) -> float:
        """Mean return of the last `window` finished episodes (NaN before the first one ends)."""
        return float(np.mean([r for r, _ in self.recent])) if self.recent else float("nan")

    @property
    def mean_length(self) -> float:
        return float(np.mean([n for _, n in self.recent])) if self.recent else float("nan")

    def state_dict(self) -> dict[str, Any]:
        return {"steps": self.steps, "episodes": self.episodes, "recent": [list(e) for e in self.recent],
                "obs": self.obs, "returns": self._returns.tolist(), "lengths": self._lengths.tolist(),
                "envs": env_state(self.envs)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.steps, self.episodes = int(state["steps"]), int(state["episodes"])
        self.recent.clear()
        self.recent.extend((float(r), int(n)) for r, n in state["recent"])
        if state["envs"] is None:  # the environments could not be saved: start fresh episodes, seeded
            self._reset(self.seed + self.steps)
            self.resumed_fresh = True
            return
        load_env_state(self.envs, state["envs"])
        self.obs = state["obs"].to(self.device)
        self._returns = np.asarray(state["returns"], dtype=np.float64)
        self._lengths = np.asarray(state["lengths"], dtype=np.int64)
