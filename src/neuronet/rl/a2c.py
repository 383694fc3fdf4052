"""A2C: advantage actor-critic, the synchronous form of A3C (Mnih et al., 2016).

Each iteration: act for `n_steps` in each of the `n_envs` environments, then one gradient
step on

    -log pi(a|s) * A + vf_coef * (V - R)^2 - ent_coef * entropy

with advantages A from GAE (lambda 1: the n-step return minus V). Defaults are
Stable-Baselines3's (RMSprop, alpha 0.99, eps 1e-5).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from neuronet.params import Flag, Interval
from neuronet.rl.agent import AGENTS, COMMON_PARAMS, COUNT, POSITIVE, UNIT
from neuronet.rl.returns import explained_variance, gae
from neuronet.rl.rollout import OnPolicyAgent, actor_critic

__all__ = ["A2C", "policy_gradient_loss"]


def policy_gradient_loss(log_probs: torch.Tensor, advantages: torch.Tensor) -> torch.Tensor:
    """-mean(log pi(a|s) * A): its gradient is the policy gradient (advantages are constants here).

    Example:
        >>> policy_gradient_loss(torch.log(torch.tensor([0.5, 0.25])), torch.tensor([1.0, -1.0])).item() < 0
        True
    """
    return -(log_probs * advantages.detach()).mean()


@AGENTS.register("a2c", "Advantage actor-critic: n-step returns, one synchronous update per rollout.")
class A2C(OnPolicyAgent):
    """Advantage actor-critic (discrete or continuous actions).

    Args:
        env, n_envs, model, seed, device: See `Agent`.
        lr: RMSprop's learning rate; lr_schedule "linear" decays it to 0.
        n_steps: Steps per environment between updates.
        gamma: Discount factor.
        gae_lambda: GAE's lambda (1: plain n-step advantages).
        ent_coef, vf_coef: Weights of the entropy bonus and of the value loss.
        max_grad_norm: Clip the global gradient norm to this.
        normalize_advantage: Standardise the advantages of each rollout.
        ortho_init: Orthogonal initial weights.
    """

    name = "a2c"
    params = {**COMMON_PARAMS, "n_steps": [COUNT], "gae_lambda": [UNIT], "ent_coef": [Interval(float, 0, None)],
              "vf_coef": [Interval(float, 0, None)], "max_grad_norm": [POSITIVE], "normalize_advantage": [Flag()],
              "ortho_init": [Flag()]}

    def __init__(self, env: Any, n_envs: int = 1, model: dict[str, Any] | None = None, seed: int = 0,
                 device: str | torch.device = "auto", lr: float = 7e-4, lr_schedule: str = "constant", n_steps: int = 5,
                 gamma: float = 0.99, gae_lambda: float = 1.0, ent_coef: float = 0.0, vf_coef: float = 0.5,
                 max_grad_norm: float = 0.5, normalize_advantage: bool = False, ortho_init: bool = True) -> None:
        super().__init__(env, n_envs, model, seed, device, lr=lr, lr_schedule=lr_schedule, n_steps=n_steps, gamma=gamma,
                         gae_lambda=gae_lambda, ent_coef=ent_coef, vf_coef=vf_coef, max_grad_norm=max_grad_norm,
                         normalize_advantage=normalize_advantage, ortho_init=ortho_init)

    def build(self) -> None:
        self.net = actor_critic(self)
        self.optimizer = torch.optim.RMSprop(self.net.parameters(), lr=self.lr, alpha=0.99, eps=1e-5)

    def iteration(self) -> dict[str, float]:
        rollout = self.rollout()
        lr = self.set_lr(self.optimizer)  # the schedule's value after this rollout
        advantages, returns = gae(rollout.rewards, rollout.values, rollout.dones, rollout.last_values,
                                  self.gamma, self.gae_lambda)
        data = rollout.flat(("advantages", advantages), ("returns", returns))
        log_probs, entropy, values = self.net.evaluate(data["obs"], data["actions"])
        adv = data["advantages"]
        if self.normalize_advantage:
            adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        policy_loss = policy_gradient_loss(log_probs, adv)
        value_loss = nn.functional.mse_loss(values, data["returns"])
        loss = policy_loss + self.vf_coef * value_loss - self.ent_coef * entropy.mean()
        self.gradient_step(loss, self.net)
        return {"loss": loss.item(), "policy_loss": policy_loss.item(), "value_loss": value_loss.item(),
                "entropy": entropy.mean().item(), "lr": lr,
                "explained_variance": explained_variance(rollout.values.flatten(), returns.flatten())}
