"""`collect_rollout`: T steps of every environment under the current policy, for the on-policy agents."""

from __future__ import annotations

import torch

from neuronet.rl.buffers import Rollout
from neuronet.rl.collector import Collector
from neuronet.rl.policies import ActorCritic

__all__ = ["collect_rollout"]


@torch.no_grad()
def collect_rollout(collector: Collector, policy: ActorCritic, steps: int, gamma: float,
                    generator: torch.Generator) -> Rollout:
    """Act for `steps` steps in each environment, recording what the losses need.

    Where a time limit cuts an episode off (truncated, not terminated), its last reward gets
    gamma * V(final observation) added: the episode would have gone on, so its value is
    bootstrapped instead of counted as 0 (as Stable-Baselines3 does).
    """
    obs, actions, log_probs, values, rewards, dones = [], [], [], [], [], []
    for _ in range(steps):
        x = collector.obs
        action, log_p = policy.act(x, generator)
        step = collector.step(action)
        reward = step.rewards
        if step.truncated.any():
            cut = step.truncated.bool() & ~step.terminated.bool()
            if cut.any():
                reward = reward.clone()
                reward[cut] += gamma * policy.value(step.next_obs[cut])
        obs.append(x)
        actions.append(action)
        log_probs.append(log_p)
        values.append(policy.value(x))
        rewards.append(reward)
        dones.append(torch.maximum(step.terminated, step.truncated))  # either way, the next obs starts a new episode
    return Rollout(torch.stack(obs), torch.stack(actions), torch.stack(log_probs), torch.stack(values),
                   torch.stack(rewards), torch.stack(dones), policy.value(collector.obs))
