"""PPO: proximal policy optimisation with a clipped objective (Schulman et al., 2017).

Each iteration: act for `n_steps` in each of the `n_envs` environments; compute advantages
with GAE; then `n_epochs` passes over the rollout in shuffled minibatches of `batch_size`,
minimising

    -min(ratio * A, clip(ratio, 1 - eps, 1 + eps) * A) + vf_coef * (V - R)^2 - ent_coef * entropy

where ratio = pi(a|s) / pi_old(a|s). Defaults are Stable-Baselines3's.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from neuronet.params import Flag, Interval, NoneOk, Options
from neuronet.rl.agent import AGENTS, COMMON_PARAMS, COUNT, POSITIVE, UNIT, fused, linear
from neuronet.rl.returns import explained_variance, gae
from neuronet.rl.rollout import OnPolicyAgent, actor_critic

__all__ = ["PPO", "ppo_loss"]


def ppo_loss(log_probs: torch.Tensor, old_log_probs: torch.Tensor, advantages: torch.Tensor, clip_range: float
             ) -> tuple[torch.Tensor, torch.Tensor]:
    """The clipped surrogate loss (to minimise) and the share of samples whose ratio was clipped.

    Example:
        >>> loss, clipped = ppo_loss(torch.log(torch.tensor([0.6])), torch.log(torch.tensor([0.4])),
        ...                          torch.tensor([1.0]), 0.2)
        >>> round(loss.item(), 4), clipped.item()
        (-1.2, 1.0)
    """
    ratio = torch.exp(log_probs - old_log_probs)
    unclipped = ratio * advantages
    clipped = torch.clamp(ratio, 1 - clip_range, 1 + clip_range) * advantages
    fraction = ((ratio - 1).abs() > clip_range).float().mean()
    return -torch.min(unclipped, clipped).mean(), fraction


@AGENTS.register("ppo", "Proximal policy optimisation: clipped objective, GAE, minibatch epochs.")
class PPO(OnPolicyAgent):
    """Proximal policy optimisation (discrete or continuous actions).

    Args:
        env, n_envs, model, seed, device: See `Agent`.
        lr: Adam's learning rate (eps 1e-5).
        lr_schedule: "constant", or "linear" (decays to 0 over the training steps).
        n_steps: Steps per environment in each rollout.
        batch_size: Minibatch size.
        n_epochs: Passes over each rollout.
        gamma: Discount factor.
        gae_lambda: GAE's lambda.
        clip_range: The ratio's clip epsilon; clip_schedule "linear" decays it like the LR.
        ent_coef: Weight of the entropy bonus.
        vf_coef: Weight of the value loss.
        max_grad_norm: Clip the global gradient norm to this.
        normalize_advantage: Standardise the advantages of each minibatch.
        target_kl: Stop an iteration's epochs early once the approximate KL passes this (None: never).
        ortho_init: Orthogonal initial weights (as in the PPO paper's code).

    Example:
        >>> agent = PPO("CartPole-v1", n_envs=2, n_steps=8, batch_size=8, n_epochs=1)
        >>> logs = agent.iteration()
        >>> sorted(logs)[:3], agent.collector.steps
        (['approx_kl', 'clip_fraction', 'entropy'], 16)
    """

    name = "ppo"
    params = {**COMMON_PARAMS, "n_steps": [COUNT], "batch_size": [COUNT], "n_epochs": [COUNT], "gae_lambda": [UNIT],
              "clip_range": [POSITIVE], "clip_schedule": [Options("constant", "linear")], "ent_coef": [Interval(float, 0, None)],
              "vf_coef": [Interval(float, 0, None)], "max_grad_norm": [POSITIVE], "normalize_advantage": [Flag()],
              "target_kl": [POSITIVE, NoneOk()], "ortho_init": [Flag()]}

    def __init__(self, env: Any, n_envs: int = 1, model: dict[str, Any] | None = None, seed: int = 0,
                 device: str | torch.device = "auto", lr: float = 3e-4, lr_schedule: str = "constant",
                 n_steps: int = 2048, batch_size: int = 64, n_epochs: int = 10, gamma: float = 0.99,
                 gae_lambda: float = 0.95, clip_range: float = 0.2, clip_schedule: str = "constant",
                 ent_coef: float = 0.0, vf_coef: float = 0.5, max_grad_norm: float = 0.5,
                 normalize_advantage: bool = True, target_kl: float | None = None, ortho_init: bool = True) -> None:
        super().__init__(env, n_envs, model, seed, device, lr=lr, lr_schedule=lr_schedule, n_steps=n_steps,
                         batch_size=batch_size, n_epochs=n_epochs, gamma=gamma, gae_lambda=gae_lambda,
                         clip_range=clip_range, clip_schedule=clip_schedule, ent_coef=ent_coef, vf_coef=vf_coef,
                         max_grad_norm=max_grad_norm, normalize_advantage=normalize_advantage, target_kl=target_kl,
                         ortho_init=ortho_init)

    def build(self) -> None:
        self.net = actor_critic(self)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=self.lr, eps=1e-5, fused=fused(self.device))

    def iteration(self) -> dict[str, float]:
        rollout = self.rollout()
        lr = self.set_lr(self.optimizer)  # the schedules' values after this rollout (as Stable-Baselines3)
        clip = linear(self.clip_range, self.remaining) if self.clip_schedule == "linear" else self.clip_range
        advantages, returns = gae(rollout.rewards, rollout.values, rollout.dones, rollout.last_values,
                                  self.gamma, self.gae_lambda)
        data = rollout.flat(("advantages", advantages), ("returns", returns))
        size = len(data["obs"])
        sums = torch.zeros(5, device=self.device)  # policy loss, value loss, entropy, approx KL, clip fraction
        count = 0
        stopped = False
        for _ in range(self.n_epochs):
            order = torch.randperm(size, generator=self.generator, device=self.device)
            for start in range(0, size, self.batch_size):
                batch = {k: v[order[start:start + self.batch_size]] for k, v in data.items()}
                stats = self.update(batch, clip)
                if stats is None:  # the policy moved too far from the one that collected the data
                    stopped = True
                    break
                sums += stats
                count += 1
            if stopped:
                break
        policy_loss, value_loss, entropy, kl, clipped = (sums / max(count, 1)).tolist()
        return {"loss": policy_loss + self.vf_coef * value_loss - self.ent_coef * entropy, "policy_loss": policy_loss,
                "value_loss": value_loss, "entropy": entropy, "approx_kl": kl, "clip_fraction": clipped, "lr": lr,
                "explained_variance": explained_variance(rollout.values.flatten(), returns.flatten())}

    def update(self, batch: dict[str, torch.Tensor], clip: float) -> torch.Tensor | None:
        """One gradient step on a minibatch; returns its (policy loss, value loss, entropy, KL, clip fraction),
        or None, without a step, when the approximate KL passed 1.5 x target_kl."""
        log_probs, entropy, values = self.net.evaluate(batch["obs"], batch["actions"])
        advantages = batch["advantages"]
        if self.normalize_advantage and len(advantages) > 1:
            advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
        policy_loss, clipped = ppo_loss(log_probs, batch["log_probs"], advantages, clip)
        value_loss = nn.functional.mse_loss(values, batch["returns"])
        entropy_mean = entropy.mean()
        loss = policy_loss + self.vf_coef * value_loss - self.ent_coef * entropy_mean
        with torch.no_grad():
            log_ratio = log_probs - batch["log_probs"]
            approx_kl = ((log_ratio.exp() - 1) - log_ratio).mean()  # the low-variance estimator (Schulman, 2020)
        if self.target_kl is not None and approx_kl.item() > 1.5 * self.target_kl:
            return None  # stop this iteration before the step (as Stable-Baselines3 does)
        self.gradient_step(loss, self.net)
        return torch.stack([policy_loss.detach(), value_loss.detach(), entropy_mean.detach(), approx_kl, clipped])
