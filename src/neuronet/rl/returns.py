"""Returns and advantages: what each action was worth, from the rewards that followed it.

Both functions take time-major arrays `(T, N)` — T steps of N environments side by side — and
a `dones` mask that is 1 where an episode ended *after* that step, so that the next step
belongs to a new episode. Where a time limit cut an episode off, its last reward already
includes the bootstrapped value of the state it stopped in (see `neuronet.rl.rollout`).
"""

from __future__ import annotations

import torch

__all__ = ["discounted_returns", "explained_variance", "gae"]


def discounted_returns(rewards: torch.Tensor, dones: torch.Tensor, gamma: float,
                       last_values: torch.Tensor | None = None) -> torch.Tensor:
    """G_t = r_t + gamma * G_{t+1}, restarted at each episode end (REINFORCE's returns).

    Args:
        rewards: (T, N) rewards.
        dones: (T, N) 1.0 where the episode ended after step t.
        gamma: Discount factor in [0, 1].
        last_values: (N,) value of the state after the last step (0 when None: no bootstrap).

    Returns:
        (T, N) returns.

    Example:
        >>> r = torch.tensor([[1.0], [1.0], [1.0]])
        >>> discounted_returns(r, torch.tensor([[0.0], [1.0], [0.0]]), 0.5).squeeze(1).tolist()
        [1.5, 1.0, 1.0]
    """
    returns = torch.zeros_like(rewards)
    running = torch.zeros_like(rewards[0]) if last_values is None else last_values.to(rewards.dtype)
    for t in reversed(range(len(rewards))):
        running = rewards[t] + gamma * running * (1.0 - dones[t])
        returns[t] = running
    return returns


def gae(rewards: torch.Tensor, values: torch.Tensor, dones: torch.Tensor, last_values: torch.Tensor,
        gamma: float, lam: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimation (Schulman et al., 2016).

    delta_t = r_t + gamma * V(s_{t+1}) * (1 - done_t) - V(s_t);
    A_t = delta_t + gamma * lam * (1 - done_t) * A_{t+1}. lam = 1 gives the Monte-Carlo
    advantage G_t - V(s_t), lam = 0 the one-step TD error.

    Args:
        rewards, values, dones: (T, N).
        last_values: (N,) V of the state after the last step.
        gamma: Discount factor.
        lam: The GAE lambda in [0, 1].

    Returns:
        (advantages, returns) with returns = advantages + values (the value function's targets).

    Example:
        >>> adv, ret = gae(torch.tensor([[1.0]]), torch.tensor([[0.5]]), torch.tensor([[0.0]]),
        ...                torch.tensor([2.0]), gamma=0.9, lam=0.95)
        >>> round(adv.item(), 4), round(ret.item(), 4)
        (2.3, 2.8)
    """
    advantages = torch.zeros_like(rewards)
    next_adv = torch.zeros_like(rewards[0])
    next_values = last_values.to(rewards.dtype)
    for t in reversed(range(len(rewards))):
        alive = 1.0 - dones[t]
        delta = rewards[t] + gamma * next_values * alive - values[t]
        next_adv = delta + gamma * lam * alive * next_adv
        advantages[t] = next_adv
        next_values = values[t]
    return advantages, advantages + values


def explained_variance(predicted: torch.Tensor, target: torch.Tensor) -> float:
    """1 - Var[target - predicted] / Var[target]: 1 is a perfect value function, <= 0 no better than a constant.

    Example:
        >>> explained_variance(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1.0, 2.0, 3.0]))
        1.0
    """
    var = target.var()
    return float("nan") if var == 0 else float(1 - (target - predicted).var() / var)
