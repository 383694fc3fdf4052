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
"""

from neuronet.rl.a2c import A2C
from neuronet.rl.agent import AGENTS, Agent
from neuronet.rl.buffers import ReplayBuffer, Rollout
from neuronet.rl.dqn import DQN
from neuronet.rl.envs import make_env, make_vec_env, register_env
from neuronet.rl.evaluate import evaluate_policy, record_episode
from neuronet.rl.policies import ActorCritic, QNetwork
from neuronet.rl.ppo import PPO, ppo_loss
from neuronet.rl.reinforce import REINFORCE
from neuronet.rl.returns import discounted_returns, gae
from neuronet.rl.trainer import RLTrainer

__all__ = ["A2C", "AGENTS", "ActorCritic", "Agent", "DQN", "PPO", "QNetwork", "REINFORCE", "RLTrainer", "ReplayBuffer",
           "Rollout", "discounted_returns", "evaluate_policy", "gae", "make_env", "make_vec_env", "ppo_loss",
           "record_episode", "register_env"]
