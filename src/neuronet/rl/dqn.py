"""DQN: deep Q-learning with a replay buffer and a target network (Mnih et al., 2015), optionally double.

Each iteration: act epsilon-greedily for `train_freq` steps in each environment, storing
transitions in the replay buffer; then (once `learning_starts` steps are stored) take
`gradient_steps` steps on minibatches, regressing Q(s, a) onto

    r + gamma * (1 - terminated) * Q_target(s', argmax_a' Q(s', a'))   (double DQN)
    r + gamma * (1 - terminated) * max_a' Q_target(s', a')              (DQN)

with the Huber loss. The target network copies the online one every `target_update_interval`
environment steps (tau = 1), or follows it by Polyak averaging (tau < 1). Epsilon falls
linearly from `exploration_initial_eps` to `exploration_final_eps` over the first
`exploration_fraction` of training. Defaults are Stable-Baselines3's.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from neuronet.params import Flag, Interval
from neuronet.rl.agent import AGENTS, COMMON_PARAMS, COUNT, POSITIVE, UNIT, Agent, check_discrete, fused
from neuronet.rl.buffers import ReplayBuffer
from neuronet.rl.policies import QNetwork, build_network

__all__ = ["DQN", "dqn_targets", "epsilon_at"]


def epsilon_at(progress: float, initial: float, final: float, fraction: float) -> float:
    """Epsilon after `progress` (0..1) of training: linear from `initial` to `final` over `fraction`, then flat.

    Example:
        >>> epsilon_at(0.05, 1.0, 0.05, 0.1), epsilon_at(0.5, 1.0, 0.05, 0.1)
        (0.525, 0.05)
    """
    if fraction <= 0 or progress >= fraction:
        return final
    return initial + (final - initial) * progress / fraction


@torch.no_grad()
def dqn_targets(q_net: nn.Module, target_net: nn.Module, rewards: torch.Tensor, next_obs: torch.Tensor,
                terminated: torch.Tensor, gamma: float, double: bool) -> torch.Tensor:
    """The regression targets y = r + gamma * (1 - terminated) * Q_target(s', a*)."""
    next_q = target_net(next_obs)  # (B, A)
    if double:  # the online network picks a*, the target network scores it (van Hasselt et al., 2016)
        best = q_net(next_obs).argmax(dim=1, keepdim=True)
        value = next_q.gather(1, best).squeeze(1)
    else:
        value = next_q.max(dim=1).values
    return rewards + gamma * (1.0 - terminated) * value


@AGENTS.register("dqn", "Deep Q-network: replay buffer, target network, epsilon-greedy, double DQN.")
class DQN(Agent):
    """Deep Q-learning for Discrete action spaces.

    Args:
        env, n_envs, model, seed, device: See `Agent` (default model: an MLP [64, 64] with ReLU).
        lr: Adam's learning rate.
        buffer_size: Transitions the replay buffer holds.
        learning_starts: Environment steps taken at random before learning starts.
        batch_size: Minibatch size.
        tau: Target update coefficient (1: hard copy).
        gamma: Discount factor.
        train_freq: Steps per environment between learning phases.
        gradient_steps: Gradient steps in each learning phase.
        target_update_interval: Environment steps between target updates.
        exploration_fraction, exploration_initial_eps, exploration_final_eps: The epsilon schedule.
        max_grad_norm: Clip the global gradient norm to this.
        double: Double DQN targets.

    Example:
        >>> agent = DQN("CartPole-v1", learning_starts=0, train_freq=4, batch_size=8)
        >>> agent.setup(1000)
        >>> sorted(agent.iteration()), len(agent.buffer)  # learning starts at once here
        (['epsilon', 'loss', 'lr', 'q_mean'], 4)
    """

    name = "dqn"
    default_model = {"type": "mlp", "hidden": [64, 64], "activation": "relu"}
    params = {**COMMON_PARAMS, "buffer_size": [COUNT], "learning_starts": [Interval(int, 0, None)], "batch_size": [COUNT],
              "tau": [Interval(float, 0, 1, closed="right")], "train_freq": [COUNT], "gradient_steps": [COUNT],
              "target_update_interval": [COUNT], "exploration_fraction": [UNIT], "exploration_initial_eps": [UNIT],
              "exploration_final_eps": [UNIT], "max_grad_norm": [POSITIVE], "double": [Flag()]}

    def __init__(self, env: Any, n_envs: int = 1, model: dict[str, Any] | None = None, seed: int = 0,
                 device: str | torch.device = "auto", lr: float = 1e-4, lr_schedule: str = "constant",
                 buffer_size: int = 1_000_000, learning_starts: int = 100, batch_size: int = 32, tau: float = 1.0,
                 gamma: float = 0.99, train_freq: int = 4, gradient_steps: int = 1, target_update_interval: int = 10_000,
                 exploration_fraction: float = 0.1, exploration_initial_eps: float = 1.0,
                 exploration_final_eps: float = 0.05, max_grad_norm: float = 10.0, double: bool = False) -> None:
        super().__init__(env, n_envs, model, seed, device, lr=lr, lr_schedule=lr_schedule, buffer_size=buffer_size,
                         learning_starts=learning_starts, batch_size=batch_size, tau=tau, gamma=gamma,
                         train_freq=train_freq, gradient_steps=gradient_steps,
                         target_update_interval=target_update_interval, exploration_fraction=exploration_fraction,
                         exploration_initial_eps=exploration_initial_eps, exploration_final_eps=exploration_final_eps,
                         max_grad_norm=max_grad_norm, double=double)

    def build(self) -> None:
        check_discrete(self)
        self.q_net = QNetwork(build_network(self.model_spec, self.obs_space, self.action_dim, seed=self.seed)).to(self.device)
        self.target_net = copy.deepcopy(self.q_net).requires_grad_(False)
        self.optimizer = torch.optim.Adam(self.q_net.parameters(), lr=self.lr, fused=fused(self.device))
        obs_dtype = torch.uint8 if str(self.obs_space.dtype) == "uint8" else torch.float32
        self.buffer = ReplayBuffer(self.buffer_size, tuple(self.obs_space.shape), obs_dtype, device=self.device)
        self.epsilon = self.exploration_initial_eps

    @property
    def policy(self) -> QNetwork:
        return self.q_net

    @property
    def steps_per_iteration(self) -> int:
        return self.train_freq * self.n_envs

    @torch.no_grad()
    def act(self, obs: torch.Tensor, deterministic: bool = True) -> torch.Tensor:
        """Greedy actions; while training (not deterministic), a random one with probability epsilon, and
        only random ones before `learning_starts` steps."""
        if not deterministic and self.collector.steps < self.learning_starts:
            return torch.randint(self.action_dim, (len(obs),), generator=self.generator, device=self.device)
        greedy = self.q_net(obs).argmax(dim=1)
        if deterministic:
            return greedy
        explore = torch.rand(len(obs), generator=self.generator, device=self.device) < self.epsilon
        random = torch.randint(self.action_dim, (len(obs),), generator=self.generator, device=self.device)
        return torch.where(explore, random, greedy)

    def iteration(self) -> dict[str, float]:
        for _ in range(self.train_freq):
            self.epsilon = epsilon_at(1.0 - self.remaining, self.exploration_initial_eps, self.exploration_final_eps,
                                      self.exploration_fraction)
            step = self.collector.step(self.act(self.collector.obs, deterministic=False))
            self.buffer.add(step.obs, step.actions, step.rewards, step.next_obs, step.terminated)
            if self.collector.steps % self.target_update_interval < self.n_envs:  # an interval boundary was crossed
                self.update_target()
        lr = self.set_lr(self.optimizer)  # the schedule's value after this collection (as Stable-Baselines3)
        logs = {"epsilon": self.epsilon, "lr": lr}
        if self.collector.steps > self.learning_starts:  # before that: no loss to log
            stats = torch.stack([self.update() for _ in range(self.gradient_steps)]).mean(dim=0)
            logs["loss"], logs["q_mean"] = stats.tolist()
        return logs

    def update(self) -> torch.Tensor:
        """One gradient step on a replayed minibatch; returns (loss, mean Q(s, a))."""
        batch = self.buffer.sample(self.batch_size, self.generator)
        targets = dqn_targets(self.q_net, self.target_net, batch["rewards"], batch["next_obs"], batch["terminated"],
                              self.gamma, self.double)
        q = self.q_net(batch["obs"]).gather(1, batch["actions"].long().unsqueeze(1)).squeeze(1)
        loss = nn.functional.smooth_l1_loss(q, targets)
        self.gradient_step(loss, self.q_net)
        return torch.stack([loss.detach(), q.detach().mean()])

    @torch.no_grad()
    def update_target(self) -> None:
        """Copy (tau = 1) or Polyak-average (tau < 1) the online weights into the target network."""
        if self.tau >= 1.0:
            self.target_net.load_state_dict(self.q_net.state_dict())
            return
        for target, online in zip(self.target_net.parameters(), self.q_net.parameters()):
            target.lerp_(online, self.tau)

    def networks(self) -> dict[str, nn.Module]:
        return {"policy": self.q_net, "target": self.target_net}

    def extra_state(self) -> dict[str, Any]:
        return {"buffer": self.buffer.state_dict(), "epsilon": self.epsilon}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.buffer.load_state_dict(state["buffer"])
        self.epsilon = float(state["epsilon"])
