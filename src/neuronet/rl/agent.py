"""`Agent`: what every algorithm shares — environments, networks, one RNG, schedules, saving.

An algorithm subclasses `Agent`, builds its networks in `build`, and implements
`iteration()`: collect some experience with `self.collector`, learn from it, return the
numbers to log. `RLTrainer` calls `iteration()` until the step budget is spent.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from neuronet.errors import ConfigError
from neuronet.params import Interval, Options, validate_params
from neuronet.registry import Registry
from neuronet.rl.collector import Collector
from neuronet.rl.envs import EnvSpec, make_vec_env
from neuronet.rl.policies import action_info, check_observations, is_image
from neuronet.train.options import resolve_device

__all__ = ["AGENTS", "Agent", "COMMON_PARAMS", "fused", "linear"]

AGENTS: Registry[type["Agent"]] = Registry("agent")

POSITIVE = Interval(float, 0, None, closed="neither")
UNIT = Interval(float, 0, 1, closed="both")
COUNT = Interval(int, 0, None, closed="neither")
COMMON_PARAMS = {
    "n_envs": [COUNT],
    "lr": [POSITIVE],
    "lr_schedule": [Options("constant", "linear")],
    "gamma": [UNIT],
}


# Pixel observations: the registry's CNN without dropout or batch norm (noise and batch statistics that
# differ between acting and learning do not help an agent).
IMAGE_MODEL = {"type": "cnn", "channels": [16, 32], "hidden": 128, "dropout": 0.0, "batch_norm": False}


def linear(start: float, remaining: float) -> float:
    """A value decayed linearly to 0 over training (`remaining`: 1 at the start, 0 at the end)."""
    return start * remaining


class Agent:
    """Base class of the algorithms. Subclasses set `name`, `params`, `policy_model` and implement `build`
    and `iteration`.

    Args:
        env: The environment (see `neuronet.rl.make_env`).
        n_envs: Environments stepped together.
        model: The network, e.g. {"type": "mlp", "hidden": [64, 64], "activation": "tanh"} (default: that MLP;
            for pixel observations a CNN without dropout or batch norm, `IMAGE_MODEL`).
        seed: Seeds the networks, the environments' resets and every random choice of the agent.
        device: "auto", "cpu" or "cuda".
    """

    name: ClassVar[str] = "agent"
    params: ClassVar[dict[str, list[Any]]] = COMMON_PARAMS
    default_model: ClassVar[dict[str, Any]] = {"type": "mlp", "hidden": [64, 64], "activation": "tanh"}

    def __init__(self, env: EnvSpec, n_envs: int = 1, model: dict[str, Any] | None = None, seed: int = 0,
                 device: str | torch.device = "auto", **hparams: Any) -> None:
        validate_params(self.params, {"n_envs": n_envs, **hparams}, type(self).__name__)
        self.env_spec, self.n_envs, self.seed = env, n_envs, seed
        self.hparams = {"n_envs": n_envs, **hparams}
        for key, value in hparams.items():
            setattr(self, key, value)
        self.device = resolve_device(device)
        self.envs = make_vec_env(env, n_envs)
        self.obs_space = self.envs.single_observation_space
        self.action_space = self.envs.single_action_space
        check_observations(self.obs_space)
        self.discrete, self.action_dim = action_info(self.action_space)
        self.model_spec = dict(model if model is not None else
                               IMAGE_MODEL if is_image(self.obs_space) else self.default_model)
        self.generator = torch.Generator(device=self.device).manual_seed(seed)
        self.collector = Collector(self.envs, seed, self.device)
        self.total_steps = 0  # the training budget, set by `setup`
        self.updates = 0  # gradient steps taken
        self.build()

    # --- what subclasses write ------------------------------------------------------------
    def build(self) -> None:
        """Build the networks and optimizers."""
        raise NotImplementedError

    def iteration(self) -> dict[str, float]:
        """Collect experience and learn from it once; returns what to log (losses, entropy, epsilon, ...)."""
        raise NotImplementedError

    @property
    def policy(self) -> nn.Module:
        """The network that acts: observations → action logits, means or Q-values (what is saved and served)."""
        raise NotImplementedError

    def act(self, obs: torch.Tensor, deterministic: bool = True) -> torch.Tensor:
        """Actions for a batch of observations (the greedy ones by default: evaluation)."""
        raise NotImplementedError

    # --- shared -----------------------------------------------------------------------------
    @property
    def steps_per_iteration(self) -> int:
        """Environment steps one `iteration` takes."""
        raise NotImplementedError

    def setup(self, total_steps: int) -> None:
        """Tell the agent its step budget (schedules decay over it)."""
        self.total_steps = total_steps

    @property
    def remaining(self) -> float:
        """Share of the step budget left: 1 at the start, 0 at the end."""
        return max(0.0, 1.0 - self.collector.steps / self.total_steps) if self.total_steps else 1.0

    def current_lr(self) -> float:
        return linear(self.lr, self.remaining) if self.lr_schedule == "linear" else self.lr

    def set_lr(self, optimizer: torch.optim.Optimizer) -> float:
        lr = self.current_lr()
        for group in optimizer.param_groups:
            group["lr"] = lr
        return lr

    def gradient_step(self, loss: torch.Tensor, net: nn.Module) -> None:
        """Backpropagate `loss`, clip the global gradient norm of `net` to `max_grad_norm`, step the optimizer."""
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(net.parameters(), self.max_grad_norm, foreach=True)
        self.optimizer.step()
        self.updates += 1

    def networks(self) -> dict[str, nn.Module]:
        """The modules whose weights a checkpoint saves, by name."""
        return {"policy": self.policy}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"optimizer": self.optimizer}

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly: weights, optimizers, RNG, counters, the environments."""
        return {"networks": {k: dict(m.state_dict()) for k, m in self.networks().items()},
                "optimizers": {k: o.state_dict() for k, o in self.optimizers().items()},
                "generator": self.generator.get_state(), "updates": self.updates,
                "collector": self.collector.state_dict(), **self.extra_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key, module in self.networks().items():
            module.load_state_dict(state["networks"][key])
        for key, optimizer in self.optimizers().items():
            optimizer.load_state_dict(state["optimizers"][key])
        self.generator.set_state(state["generator"].cpu())
        self.updates = int(state["updates"])
        self.collector.load_state_dict(state["collector"])
        self.load_extra_state(state)

    def extra_state(self) -> dict[str, Any]:
        """Algorithm-specific state (DQN: the replay buffer, the target network)."""
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        pass

    def spec(self) -> dict[str, Any]:
        """What rebuilds the policy network: the algorithm, the model, the spaces (model.json)."""
        bounds = {} if self.discrete else {"action_low": self.action_space.low.tolist(),
                                            "action_high": self.action_space.high.tolist()}
        return {"agent": self.name, "model": self.model_spec, "obs_shape": list(self.obs_space.shape),
                "obs_dtype": str(self.obs_space.dtype), "discrete": self.discrete, "action_dim": self.action_dim,
                **bounds, "hparams": self.hparams}

    def close(self) -> None:
        self.envs.close()


def fused(device: torch.device) -> bool:
    """Whether Adam's fused kernel runs here (one kernel for every parameter: ~12% faster updates on a small network)."""
    return device.type in ("cpu", "cuda")


def check_discrete(agent: Agent) -> None:
    if not agent.discrete:
        raise ConfigError(f"{type(agent).__name__} needs a Discrete action space; {agent.action_space} is continuous. "
                          "Use ppo, a2c or reinforce.")
