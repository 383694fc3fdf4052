"""REINFORCE with a baseline (Williams, 1992): Monte-Carlo policy gradient, a learned V(s) as the baseline.

Each iteration: act for `n_steps` in each environment; the return of each step is the
discounted sum of the rewards that followed it in its episode (an episode still running at
the end of the rollout is completed by the baseline's estimate of its last state). One
gradient step on

    -log pi(a|s) * (G - V(s)) + vf_coef * (V(s) - G)^2 - ent_coef * entropy

The baseline only lowers the variance of the gradient: it does not bias it.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from neuronet.params import Flag, Interval
from neuronet.rl.a2c import policy_gradient_loss
from neuronet.rl.agent import AGENTS, COMMON_PARAMS, COUNT, POSITIVE, fused
from neuronet.rl.returns import discounted_returns
from neuronet.rl.rollout import OnPolicyAgent, actor_critic

__all__ = ["REINFORCE"]


@AGENTS.register("reinforce", "REINFORCE: Monte-Carlo policy gradient with a learned baseline.")
class REINFORCE(OnPolicyAgent):
    """Monte-Carlo policy gradient with a value baseline (discrete or continuous actions).

    Args:
        env, n_envs, model, seed, device: See `Agent`.
        lr: Adam's learning rate; lr_schedule "linear" decays it to 0.
        n_steps: Steps per environment in each update (long enough to hold whole episodes).
        gamma: Discount factor.
        baseline: Subtract a learned V(s) from the returns (False: plain REINFORCE).
        normalize_advantage: Standardise G - V over each rollout.
        ent_coef, vf_coef: Weights of the entropy bonus and of the baseline's loss.
        max_grad_norm: Clip the global gradient norm to this.
    """

    name = "reinforce"
    params = {**COMMON_PARAMS, "n_steps": [COUNT], "baseline": [Flag()], "normalize_advantage": [Flag()],
              "ent_coef": [Interval(float, 0, None)], "vf_coef": [Interval(float, 0, None)], "max_grad_norm": [POSITIVE],
              "ortho_init": [Flag()]}

    def __init__(self, env: Any, n_envs: int = 1, model: dict[str, Any] | None = None, seed: int = 0,
                 device: str | torch.device = "auto", lr: float = 1e-3, lr_schedule: str = "constant",
                 n_steps: int = 1000, gamma: float = 0.99, baseline: bool = True, normalize_advantage: bool = True,
                 ent_coef: float = 0.0, vf_coef: float = 0.5, max_grad_norm: float = 0.5, ortho_init: bool = True) -> None:
        super().__init__(env, n_envs, model, seed, device, lr=lr, lr_schedule=lr_schedule, n_steps=n_steps, gamma=gamma,
                         baseline=baseline, normalize_advantage=normalize_advantage, ent_coef=ent_coef,
                         vf_coef=vf_coef, max_grad_norm=max_grad_norm, ortho_init=ortho_init)

    def build(self) -> None:
        self.net = actor_critic(self)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=self.lr, fused=fused(self.device))

    def iteration(self) -> dict[str, float]:
        rollout = self.rollout()
        lr = self.set_lr(self.optimizer)  # the schedule's value after this rollout
        tail = rollout.last_values if self.baseline else None
        returns = discounted_returns(rollout.rewards, rollout.dones, self.gamma, tail)
        data = rollout.flat(("returns", returns))
        log_probs, entropy, values = self.net.evaluate(data["obs"], data["actions"])
        adv = data["returns"] - values.detach() if self.baseline else data["returns"]
        if self.normalize_advantage and len(adv) > 1:
            adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        policy_loss = policy_gradient_loss(log_probs, adv)
        value_loss = nn.functional.mse_loss(values, data["returns"]) if self.baseline else torch.zeros((), device=self.device)
        loss = policy_loss + self.vf_coef * value_loss - self.ent_coef * entropy.mean()
        self.gradient_step(loss, self.net)
        return {"loss": loss.item(), "policy_loss": policy_loss.item(), "value_loss": value_loss.item(),
                "entropy": entropy.mean().item(), "lr": lr}
