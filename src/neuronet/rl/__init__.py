"""Reinforcement learning: an agent acts in an environment, gets rewards, and improves its policy.

Environments come from Gymnasium (`make_env`, `register_env`); the algorithms — `DQN`,
`REINFORCE`, `A2C`, `PPO`, one file each — build their networks from the model registry;
`RLTrainer` runs them on the loop shell the supervised Trainer is built on (callbacks, history,
checkpoints, progress, the doctor).

Example:
    >>> import neuronet as nt
    >>> agent = nt.rl.PPO("CartPole-v1", n_envs=2, n_steps=16, batch_size=32, n_epochs=1, seed=0)
    >>> _ = nt.rl.RLTrainer(agent, steps=64, progress=False).fit()
    >>> nt.rl.evaluate_policy(agent.act, "CartPole-v1", episodes=2)["episodes"]
    2

Names are imported on first use, so that a process that only needs a policy network
(`neuronet.rl.policies`, as the policy service does) imports no training code.
"""

from __future__ import annotations

import importlib
from typing import Any

# name -> the module that defines it
_WHERE = {
    "A2C": "a2c", "AGENTS": "agent", "Agent": "agent", "ReplayBuffer": "buffers", "Rollout": "buffers", "DQN": "dqn",
    "make_env": "envs", "make_vec_env": "envs", "register_env": "envs", "evaluate_policy": "evaluate",
    "record_episode": "evaluate", "ActorCritic": "policies", "QNetwork": "policies", "PPO": "ppo", "ppo_loss": "ppo",
    "REINFORCE": "reinforce", "discounted_returns": "returns", "gae": "returns", "RLTrainer": "trainer",
}
_ALGORITHMS = ("a2c", "dqn", "ppo", "reinforce")  # each adds itself to AGENTS where it is defined

__all__ = ["A2C", "AGENTS", "ActorCritic", "Agent", "DQN", "PPO", "QNetwork", "REINFORCE", "RLTrainer", "ReplayBuffer",
           "Rollout", "discounted_returns", "evaluate_policy", "gae", "make_env", "make_vec_env", "ppo_loss",
           "record_episode", "register_env"]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'neuronet.rl' has no attribute {name!r}")
    if name == "AGENTS":  # the registry is whole once every algorithm is imported
        for module in _ALGORITHMS:
            importlib.import_module(f"neuronet.rl.{module}")
    value = getattr(importlib.import_module(f"neuronet.rl.{_WHERE[name]}"), name)
    globals()[name] = value  # later look-ups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
