"""The on-policy agents' shared part: `collect_rollout` (T steps of every environment under the current
policy) and `OnPolicyAgent` (an actor-critic network that acts, the steps one iteration takes)."""

from __future__ import annotations

import torch

from neuronet.models.registry import init_seed
from neuronet.rl.agent import Agent
from neuronet.rl.buffers import Rollout
from neuronet.rl.collector import Collector
from neuronet.rl.policies import ActorCritic, build_network, orthogonal_init

__all__ = ["OnPolicyAgent", "actor_critic", "collect_rollout"]


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


def actor_critic(agent: Agent) -> ActorCritic:
    """Two networks of the agent's model (actor: one output per action; critic: one), orthogonally initialised."""
    actor = build_network(agent.model_spec, agent.obs_space, agent.action_dim, seed=agent.seed)
    critic = build_network(agent.model_spec, agent.obs_space, 1, seed=agent.seed + 1)
    if agent.ortho_init:
        with init_seed(agent.seed + 2):  # seeded here too: the global RNG stays the user's
            orthogonal_init(actor, 0.01)
            orthogonal_init(critic, 1.0)
    return ActorCritic(actor, critic, agent.discrete, agent.action_dim).to(agent.device)


class OnPolicyAgent(Agent):
    """An agent that learns from rollouts of its current policy (REINFORCE, A2C, PPO): `self.net` is an
    `ActorCritic`, each iteration takes `n_steps` steps in each environment."""

    net: ActorCritic

    @property
    def policy(self) -> ActorCritic:
        return self.net

    @property
    def steps_per_iteration(self) -> int:
        return self.n_steps * self.n_envs

    @torch.no_grad()
    def act(self, obs: torch.Tensor, deterministic: bool = True) -> torch.Tensor:
        return self.net.act(obs, self.generator, deterministic)[0]

    def rollout(self) -> Rollout:
        """`n_steps` steps of every environment under the current policy."""
        return collect_rollout(self.collector, self.net, self.n_steps, self.gamma, self.generator)
