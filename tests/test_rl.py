"""Reinforcement learning: returns and advantages against worked examples and a float64 NumPy reference, PPO's
clipped loss and its gradient, the replay buffer, DQN's targets and target network, agents that learn the optimal
policy of a tiny corridor, seeded reproducibility, exact resume from a checkpoint, and the errors people see."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

gymnasium = pytest.importorskip("gymnasium", reason="gymnasium is not installed (neuronet[rl])")

import neuronet as nt  # noqa: E402
from neuronet.errors import ConfigError
from neuronet.rl import DQN, PPO, ReplayBuffer, discounted_returns, gae, ppo_loss
from neuronet.rl.dqn import dqn_targets, epsilon_at
from neuronet.train.callbacks import Callback
from neuronet.train.checkpoint import load_state, save_state
from rl_envs import Corridor, optimal_return

TINY = {"type": "mlp", "hidden": [16], "activation": "tanh"}


def f64(rows) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float64)


# --- returns and advantages -------------------------------------------------------------------------
# Time-major (T, N): three steps of three environments side by side.
REWARDS = f64([[1.0, 1.0, 1.0],
               [2.0, 1.0, 1.0],
               [3.0, 1.0, 1.0]])
DONES = f64([[0.0, 0.0, 0.0],
             [1.0, 0.0, 0.0],   # env 0's episode ends after step 1: step 2 starts a new one
             [0.0, 0.0, 1.0]])  # env 2's episode ends after the last step: its bootstrap must be ignored
LAST_VALUES = f64([10.0, 4.0, 100.0])


def test_discounted_returns_restart_at_episode_ends_and_bootstrap_the_tail():
    """A hand-worked example (gamma 0.5): the return restarts after a done, and last_values bootstraps only where
    the episode goes on past the rollout."""
    # env 0: G2 = 3 + 0.5 * 10 = 8;  G1 = 2 (done after step 1: nothing from step 2);  G0 = 1 + 0.5 * 2 = 2
    # env 1: G2 = 1 + 0.5 * 4 = 3;   G1 = 1 + 0.5 * 3 = 2.5;                           G0 = 1 + 0.5 * 2.5 = 2.25
    # env 2: G2 = 1 (done: the 100 is not used); G1 = 1 + 0.5 * 1 = 1.5;               G0 = 1 + 0.5 * 1.5 = 1.75
    expected = f64([[2.0, 2.25, 1.75],
                    [2.0, 2.5, 1.5],
                    [8.0, 3.0, 1.0]])
    torch.testing.assert_close(discounted_returns(REWARDS, DONES, 0.5, LAST_VALUES), expected, rtol=0, atol=1e-12)
    # Without last_values the tail is worth 0: env 0 G2 = 3, env 1 G2 = 1, G1 = 1.5, G0 = 1.75.
    no_bootstrap = f64([[2.0, 1.75, 1.75],
                        [2.0, 1.5, 1.5],
                        [3.0, 1.0, 1.0]])
    torch.testing.assert_close(discounted_returns(REWARDS, DONES, 0.5), no_bootstrap, rtol=0, atol=1e-12)


def test_discounted_returns_at_gamma_0_and_1():
    """gamma = 0: each return is its own reward. gamma = 1: the undiscounted sum to the episode's end (plus the
    bootstrap where it goes on)."""
    torch.testing.assert_close(discounted_returns(REWARDS, DONES, 0.0, LAST_VALUES), REWARDS, rtol=0, atol=0)
    # env 0: G2 = 3 + 10 = 13, G1 = 2, G0 = 1 + 2 = 3; env 1: 1 + 4 = 5, 6, 7; env 2: 1, 2, 3
    expected = f64([[3.0, 7.0, 3.0],
                    [2.0, 6.0, 2.0],
                    [13.0, 5.0, 1.0]])
    torch.testing.assert_close(discounted_returns(REWARDS, DONES, 1.0, LAST_VALUES), expected, rtol=0, atol=0)


def test_gae_on_a_worked_example_with_a_done():
    """Three steps of one environment (gamma 0.9, lambda 0.8), the episode ending after step 1."""
    rewards, values, dones = f64([[1.0], [0.0], [2.0]]), f64([[0.5], [1.0], [1.5]]), f64([[0.0], [1.0], [0.0]])
    # t=2: delta = 2 + 0.9 * 2.0 (last value) - 1.5 = 2.3;           A2 = 2.3
    # t=1: delta = 0 + 0 (done: no next value) - 1.0 = -1.0;          A1 = -1.0 (nothing carried across the done)
    # t=0: delta = 1 + 0.9 * 1.0 - 0.5 = 1.4;                         A0 = 1.4 + 0.9 * 0.8 * (-1.0) = 0.68
    advantages, returns = gae(rewards, values, dones, f64([2.0]), gamma=0.9, lam=0.8)
    torch.testing.assert_close(advantages, f64([[0.68], [-1.0], [2.3]]), rtol=0, atol=1e-12)
    torch.testing.assert_close(returns, f64([[1.18], [0.0], [3.8]]), rtol=0, atol=1e-12)  # A + V


def gae_reference(rewards: np.ndarray, values: np.ndarray, dones: np.ndarray, last: np.ndarray, gamma: float,
                  lam: float) -> np.ndarray:
    """A_t = sum_l (gamma * lam)^l * delta_{t+l}, summed forward until the episode ends (not the recursion)."""
    T, N = rewards.shape
    next_values = np.vstack([values[1:], last[None]])
    deltas = rewards + gamma * next_values * (1 - dones) - values
    out = np.zeros((T, N))
    for n in range(N):
        for t in range(T):
            weight = 1.0
            for k in range(t, T):
                out[t, n] += weight * deltas[k, n]
                if dones[k, n]:
                    break
                weight *= gamma * lam
    return out


@pytest.fixture
def random_rollout():
    g = torch.Generator().manual_seed(3)
    T, N = 9, 3
    rewards = torch.randn(T, N, generator=g, dtype=torch.float64)
    values = torch.randn(T, N, generator=g, dtype=torch.float64)
    dones = (torch.rand(T, N, generator=g) < 0.25).double()
    last = torch.randn(N, generator=g, dtype=torch.float64)
    assert 0 < dones.sum() < T * N  # some episode ends in the middle, and not everywhere
    return rewards, values, dones, last


def test_gae_matches_a_numpy_float64_reference(random_rollout):
    """GAE (lambda 0.95) equals the forward sum of discounted TD errors, to 1e-12."""
    rewards, values, dones, last = random_rollout
    advantages, returns = gae(rewards, values, dones, last, gamma=0.97, lam=0.95)
    expected = gae_reference(rewards.numpy(), values.numpy(), dones.numpy(), last.numpy(), 0.97, 0.95)
    np.testing.assert_allclose(advantages.numpy(), expected, rtol=0, atol=1e-12)
    torch.testing.assert_close(returns, advantages + values, rtol=0, atol=0)


def test_gae_at_lambda_1_is_the_bootstrapped_return_minus_the_value(random_rollout):
    """lambda = 1: A_t = G_t - V(s_t), with G the discounted return bootstrapped from last_values."""
    rewards, values, dones, last = random_rollout
    advantages, returns = gae(rewards, values, dones, last, gamma=0.97, lam=1.0)
    torch.testing.assert_close(advantages, discounted_returns(rewards, dones, 0.97, last) - values, rtol=0, atol=1e-12)
    torch.testing.assert_close(returns, discounted_returns(rewards, dones, 0.97, last), rtol=0, atol=1e-12)


def test_gae_at_lambda_0_is_the_one_step_td_error(random_rollout):
    """lambda = 0: A_t = r_t + gamma * V(s_{t+1}) * (1 - done_t) - V(s_t), with V(s_T) = last_values."""
    rewards, values, dones, last = random_rollout
    advantages, _ = gae(rewards, values, dones, last, gamma=0.97, lam=0.0)
    next_values = torch.cat([values[1:], last[None]])
    td = rewards + 0.97 * next_values * (1 - dones) - values
    torch.testing.assert_close(advantages, td, rtol=0, atol=1e-12)


# --- PPO's clipped loss ---------------------------------------------------------------------------------
# (ratio, advantage, the sample's loss -min(ratio * A, clip(ratio, 0.8, 1.2) * A), clipped?, d loss / d log_prob)
# d(ratio)/d(log_prob) = ratio, so the unclipped branch's gradient is -ratio * A, the clipped branch's 0.
PPO_CASES = [
    (1.1, 1.0, -1.1, 0.0, -1.1),   # A > 0, inside: -1.1
    (1.5, 1.0, -1.2, 1.0, 0.0),    # A > 0, above 1 + eps: min(1.5, 1.2) = 1.2; the clip blocks a further increase
    (0.5, 1.0, -0.5, 1.0, -0.5),   # A > 0, below 1 - eps: min(0.5, 0.8) = 0.5, unclipped: the gradient still pushes up
    (0.9, -2.0, 1.8, 0.0, 1.8),    # A < 0, inside: -(0.9 * -2) = 1.8
    (0.5, -2.0, 1.6, 1.0, 0.0),    # A < 0, below 1 - eps: min(-1.0, -1.6) = -1.6; the clip blocks a further decrease
    (1.5, -2.0, 3.0, 1.0, 3.0),    # A < 0, above 1 + eps: min(-3.0, -2.4) = -3.0, unclipped: the gradient pulls down
]


@pytest.mark.parametrize("ratio, advantage, loss, clipped, grad", PPO_CASES)
def test_ppo_loss_one_sample(ratio, advantage, loss, clipped, grad):
    """Each branch of the clipped objective (eps 0.2) on one sample: the loss, the clip fraction, and the autograd
    gradient with respect to the new log-probability (0 exactly where the clip blocks the move)."""
    old = torch.log(f64([0.4]))
    new = (old + math.log(ratio)).requires_grad_(True)
    value, fraction = ppo_loss(new, old, f64([advantage]), 0.2)
    value.backward()
    assert value.item() == pytest.approx(loss, abs=1e-12)
    assert fraction.item() == clipped  # |ratio - 1| > eps, whichever branch min() took (as Stable-Baselines3 counts)
    assert new.grad.item() == pytest.approx(grad, abs=1e-12)
    if grad == 0.0:
        assert new.grad.item() == 0.0


def test_ppo_loss_over_a_batch_is_the_mean_and_counts_the_clipped_share():
    """All six samples at once: the loss is the mean of the per-sample losses, the clip fraction 4/6, and each
    sample's gradient is its own divided by the batch size."""
    ratios, advantages, losses, _, grads = (list(c) for c in zip(*PPO_CASES))
    old = torch.log(f64([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]))
    new = (old + torch.log(f64(ratios))).requires_grad_(True)
    value, fraction = ppo_loss(new, old, f64(advantages), 0.2)
    value.backward()
    # (-1.1 - 1.2 - 0.5 + 1.8 + 1.6 + 3.0) / 6 = 3.6 / 6 = 0.6
    assert value.item() == pytest.approx(sum(losses) / 6, abs=1e-12) and value.item() == pytest.approx(0.6, abs=1e-12)
    assert fraction.item() == pytest.approx(4 / 6, abs=1e-7)
    torch.testing.assert_close(new.grad, f64(grads) / 6, rtol=0, atol=1e-12)


# --- the replay buffer ------------------------------------------------------------------------------------
def transitions(first: int, n: int) -> tuple[torch.Tensor, ...]:
    """n transitions numbered i = first, first + 1, ...: obs [i, -i], action i % 2, reward i, next_obs [i + 1, -i - 1],
    terminated where i % 3 == 0."""
    i = torch.arange(first, first + n, dtype=torch.float32)
    return (torch.stack([i, -i], 1), (i % 2).long(), i, torch.stack([i + 1, -i - 1], 1), (i % 3 == 0).float())


def test_replay_buffer_overwrites_the_oldest_when_full():
    """Capacity 3: transitions 0..3 leave slot 0 holding 3 (0 overwritten), then 4 goes to slot 1; pos and size
    follow."""
    buf = ReplayBuffer(3, (2,))
    buf.add(*transitions(0, 2))
    assert (buf.pos, buf.size, len(buf)) == (2, 2, 2)
    buf.add(*transitions(2, 2))  # 2 -> slot 2, 3 -> slot 0
    assert (buf.pos, buf.size) == (1, 3)
    assert buf.rewards.tolist() == [3.0, 1.0, 2.0]
    buf.add(*transitions(4, 1))  # 4 -> slot 1 (1 was the oldest left)
    assert (buf.pos, buf.size) == (2, 3)
    assert buf.rewards.tolist() == [3.0, 4.0, 2.0]
    assert buf.obs.tolist() == [[3.0, -3.0], [4.0, -4.0], [2.0, -2.0]]
    assert buf.next_obs.tolist() == [[4.0, -4.0], [5.0, -5.0], [3.0, -3.0]]
    assert buf.actions.tolist() == [1, 0, 0] and buf.actions.dtype == torch.long
    assert buf.terminated.tolist() == [1.0, 0.0, 0.0]


def test_replay_buffer_samples_reproducibly_and_only_whole_filled_transitions():
    """The same seeded generator gives the same minibatch; rows stay whole transitions; the empty slots of a
    part-filled buffer are never drawn."""
    buf = ReplayBuffer(10, (2,))
    buf.add(*transitions(0, 4))
    a = buf.sample(64, torch.Generator().manual_seed(7))
    b = buf.sample(64, torch.Generator().manual_seed(7))
    for key in ReplayBuffer._FIELDS:
        assert torch.equal(a[key], b[key])
    assert set(a["rewards"].tolist()) <= {0.0, 1.0, 2.0, 3.0} and len(set(a["rewards"].tolist())) > 1
    i = a["rewards"]
    assert torch.equal(a["obs"], torch.stack([i, -i], 1))
    assert torch.equal(a["next_obs"], torch.stack([i + 1, -i - 1], 1))
    assert torch.equal(a["actions"], (i % 2).long()) and torch.equal(a["terminated"], (i % 3 == 0).float())
    c = buf.sample(64, torch.Generator().manual_seed(8))
    assert not torch.equal(a["rewards"], c["rewards"])
    with pytest.raises(ValueError, match="empty"):
        ReplayBuffer(3, (2,)).sample(1, torch.Generator())


def test_replay_buffer_state_round_trips_through_a_checkpoint_file(tmp_path):
    """state_dict → safetensors → load_state_dict into a fresh buffer: the same contents, the same samples, and
    the same slots overwritten by the next additions."""
    buf = ReplayBuffer(5, (2,))
    buf.add(*transitions(0, 4))
    buf.add(*transitions(4, 3))  # wrapped: pos 2
    save_state(tmp_path / "buffer.safetensors", {"buffer": buf.state_dict()})
    fresh = ReplayBuffer(5, (2,))
    fresh.load_state_dict(load_state(tmp_path / "buffer.safetensors")["buffer"])
    assert (fresh.pos, fresh.size) == (buf.pos, buf.size) == (2, 5)
    for step in range(2):
        for key in ReplayBuffer._FIELDS:
            assert torch.equal(getattr(fresh, key), getattr(buf, key))
        a, b = buf.sample(16, torch.Generator().manual_seed(1)), fresh.sample(16, torch.Generator().manual_seed(1))
        assert all(torch.equal(a[k], b[k]) for k in ReplayBuffer._FIELDS)
        buf.add(*transitions(7, 2))
        fresh.add(*transitions(7, 2))


# --- DQN -------------------------------------------------------------------------------------------------
def test_epsilon_schedule_values():
    """Linear from initial to final over the first `fraction` of training, then flat."""
    assert epsilon_at(0.0, 1.0, 0.05, 0.1) == 1.0
    assert epsilon_at(0.05, 1.0, 0.05, 0.1) == pytest.approx(0.525, abs=1e-12)  # 1 + (0.05 - 1) * 0.5
    assert epsilon_at(0.025, 1.0, 0.05, 0.1) == pytest.approx(0.7625, abs=1e-12)  # 1 - 0.95 * 0.25
    assert epsilon_at(0.1, 1.0, 0.05, 0.1) == 0.05
    assert epsilon_at(1.0, 1.0, 0.05, 0.1) == 0.05
    assert epsilon_at(0.3, 0.5, 0.1, 0.0) == 0.1  # no exploration phase


def test_dqn_sets_epsilon_from_the_steps_taken_before_each_step():
    """Budget 100 steps, fraction 0.5: the fourth step of the first iteration is chosen after 3 steps,
    epsilon = 1 + (0.05 - 1) * 0.03 / 0.5 = 0.943."""
    agent = DQN("CartPole-v1", learning_starts=1000, train_freq=4, exploration_fraction=0.5, buffer_size=100,
                model=TINY)
    agent.setup(100)
    assert agent.iteration()["epsilon"] == pytest.approx(0.943, abs=1e-12)
    assert agent.epsilon == pytest.approx(0.943, abs=1e-12)


def linear_net(weights: list[float]) -> nn.Module:
    net = nn.Linear(1, 2, bias=False).double()
    with torch.no_grad():
        net.weight.copy_(f64(weights).reshape(2, 1))
    return net


def test_dqn_targets_plain_versus_double_on_a_hand_built_network():
    """Q(s', ·) = w * s' with online w = (1, 2) and target w = (3, 0.5), s' = 1 for sample 0:
    plain DQN: y = 0.5 + 0.9 * max(3, 0.5) = 3.2; double: the online net picks action 1, the target scores it 0.5,
    y = 0.5 + 0.9 * 0.5 = 0.95. Sample 1 is terminal: y = r = -1 either way."""
    online, target = linear_net([1.0, 2.0]), linear_net([3.0, 0.5])
    rewards, next_obs, terminated = f64([0.5, -1.0]), f64([[1.0], [2.0]]), f64([0.0, 1.0])
    plain = dqn_targets(online, target, rewards, next_obs, terminated, 0.9, double=False)
    double = dqn_targets(online, target, rewards, next_obs, terminated, 0.9, double=True)
    torch.testing.assert_close(plain, f64([3.2, -1.0]), rtol=0, atol=1e-12)
    torch.testing.assert_close(double, f64([0.95, -1.0]), rtol=0, atol=1e-12)


def perturbed(agent: DQN) -> dict[str, torch.Tensor]:
    """Move the online weights away from the target's; returns the target's weights from before."""
    before = {k: v.clone() for k, v in agent.target_net.state_dict().items()}
    with torch.no_grad():
        g = torch.Generator().manual_seed(0)
        for p in agent.q_net.parameters():
            p.add_(torch.randn(p.shape, generator=g))
    return before


def test_update_target_with_tau_1_copies_the_online_weights():
    agent = DQN("CartPole-v1", tau=1.0, buffer_size=10, model=TINY)
    before = perturbed(agent)
    online = agent.q_net.state_dict()
    assert not all(torch.equal(before[k], online[k]) for k in online)
    agent.update_target()
    target = agent.target_net.state_dict()
    assert all(torch.equal(target[k], online[k]) for k in online)
    assert all(not p.requires_grad for p in agent.target_net.parameters())


def test_update_target_with_tau_half_gives_the_average():
    """tau = 0.5: target <- target + 0.5 * (online - target) = the mean, to one float32 rounding (1e-6 here); the
    online weights are untouched."""
    agent = DQN("CartPole-v1", tau=0.5, buffer_size=10, model=TINY)
    before = perturbed(agent)
    online = {k: v.clone() for k, v in agent.q_net.state_dict().items()}
    agent.update_target()
    for k, value in agent.target_net.state_dict().items():
        expected = (before[k].double() + online[k].double()) / 2
        torch.testing.assert_close(value.double(), expected, rtol=0, atol=1e-6)
        assert torch.equal(agent.q_net.state_dict()[k], online[k])


@pytest.mark.parametrize("n_envs, interval", [(1, 5), (2, 10)])
def test_the_target_network_is_copied_at_each_interval_boundary_and_only_then(n_envs, interval):
    """train_freq 3, learning from the first step. An iteration takes its env steps, then one gradient step; the
    copy happens at the env step that crosses a multiple of `interval`, so after an iteration that crossed one the
    target equals the online weights from *before* that iteration's gradient step, and after one that did not it is
    unchanged."""
    agent = DQN("CartPole-v1", n_envs=n_envs, learning_starts=0, train_freq=3, batch_size=8, lr=1e-2, buffer_size=200,
                target_update_interval=interval, model=TINY, seed=0)
    agent.setup(1000)
    crossings = []
    for _ in range(7):
        start = agent.collector.steps
        online = {k: v.clone() for k, v in agent.q_net.state_dict().items()}
        target = {k: v.clone() for k, v in agent.target_net.state_dict().items()}
        agent.iteration()
        now = agent.collector.steps
        crossed = now // interval > start // interval
        crossings.append(crossed)
        after = agent.target_net.state_dict()
        assert all(torch.equal(after[k], (online if crossed else target)[k]) for k in after), (start, now)
        assert not all(torch.equal(after[k], agent.q_net.state_dict()[k]) for k in after)  # the online net moved on
    # n_envs 1, interval 5: iterations cover steps 1-3, 4-6 (5), 7-9, 10-12 (10), 13-15 (15), 16-18, 19-21 (20).
    # n_envs 2, interval 10: steps 0-6, 6-12 (10), 12-18, 18-24 (20), 24-30 (30), 30-36, 36-42 (40).
    assert crossings == [False, True, False, True, True, False, True]


# --- agents solve a tiny corridor ---------------------------------------------------------------------------
CORRIDOR_ID = "NeuronetTestCorridor-v0"
OPTIMAL = optimal_return(5)  # 4 steps right: 3 * -0.01 + 1 = 0.97


@pytest.fixture(scope="module")
def corridor_id():
    """The corridor registered from Python by id (TimeLimit from max_episode_steps, kwargs passed on)."""
    nt.rl.register_env(CORRIDOR_ID, entry_point="rl_envs:Corridor", max_episode_steps=20, length=5, max_steps=1000)
    yield CORRIDOR_ID
    gymnasium.registry.pop(CORRIDOR_ID, None)


def test_the_corridor_scores_known_policies(corridor_id):
    """evaluate_policy on hand-computed policies, both ways of naming the environment: always right reaches the goal
    in 4 steps (0.97), always left is cut off at 20 steps (20 * -0.01 = -0.2)."""
    right = lambda obs: torch.ones(len(obs), dtype=torch.long)  # noqa: E731
    left = lambda obs: torch.zeros(len(obs), dtype=torch.long)  # noqa: E731
    assert OPTIMAL == pytest.approx(0.97, abs=1e-12)
    for spec in (Corridor, corridor_id):
        best = nt.rl.evaluate_policy(right, spec, episodes=3)
        assert best["returns"] == [OPTIMAL] * 3 and best["lengths"] == [4] * 3
        worst = nt.rl.evaluate_policy(left, spec, episodes=2)
        assert worst["lengths"] == [20, 20] and worst["mean_return"] == pytest.approx(-0.2, abs=1e-12)
    made = nt.rl.make_env(corridor_id)
    assert made.spec.max_episode_steps == 20 and made.unwrapped.length == 5 and made.unwrapped.max_steps == 1000


def learns_the_corridor(agent, steps: int) -> None:
    untrained = nt.rl.evaluate_policy(agent.act, agent.env_spec, episodes=5)
    assert untrained["mean_return"] != OPTIMAL  # the test can fail: the greedy policy is not already optimal
    nt.rl.RLTrainer(agent, steps=steps, log_every=256, progress=False, doctor=False).fit()
    trained = nt.rl.evaluate_policy(agent.act, agent.env_spec, episodes=5)
    assert trained["returns"] == [OPTIMAL] * 5 and trained["lengths"] == [4] * 5


def test_ppo_learns_the_corridor_given_as_a_callable():
    """PPO on the environment class passed as the env spec: optimal greedy return after 1024 steps (~1 s; each of
    16 seeds tried reaches it in this budget)."""
    agent = PPO(Corridor, n_envs=2, n_steps=32, batch_size=32, n_epochs=4, lr=3e-3, model=TINY, seed=0)
    learns_the_corridor(agent, steps=1024)


def test_dqn_learns_the_corridor_registered_by_id(corridor_id):
    """DQN on the corridor registered with register_env and named by id: optimal greedy return after 1200 steps
    (~2.5 s; each of 16 seeds tried reaches it in this budget, about half by 800)."""
    agent = DQN(corridor_id, n_envs=2, learning_starts=64, buffer_size=2000, batch_size=32, lr=3e-3, train_freq=1,
                target_update_interval=32, exploration_fraction=0.3,
                model={"type": "mlp", "hidden": [16], "activation": "relu"}, seed=0)
    learns_the_corridor(agent, steps=1200)


# --- reproducibility ------------------------------------------------------------------------------------------
def weights(agent) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in agent.policy.state_dict().items()}


def same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("name", ["ppo", "a2c", "reinforce", "dqn"])
def test_the_seed_alone_sets_the_initial_weights(name):
    """Two agents with seed=0 start from identical weights whatever the global torch RNG holds (Habit 7)."""
    kwargs = {"buffer_size": 10} if name == "dqn" else {}
    torch.manual_seed(1)
    a = nt.rl.AGENTS.get(name)("CartPole-v1", model=TINY, seed=0, **kwargs)
    torch.manual_seed(2)
    b = nt.rl.AGENTS.get(name)("CartPole-v1", model=TINY, seed=0, **kwargs)
    assert same(weights(a), weights(b))


def ppo_cartpole(seed: int) -> PPO:
    return PPO("CartPole-v1", n_envs=2, n_steps=16, batch_size=16, n_epochs=2, model=TINY, seed=seed)


def test_seeded_ppo_runs_are_bit_identical():
    """Two PPO runs on CartPole-v1 with the same seed (256 steps) end with bit-identical weights; another seed
    differs."""
    results = []
    for seed in (0, 0, 1):
        agent = ppo_cartpole(seed)
        nt.rl.RLTrainer(agent, steps=256, progress=False, doctor=False).fit()
        results.append(weights(agent))
    assert same(results[0], results[1])
    assert not any(torch.equal(results[0][k], results[2][k]) for k in results[0])


# --- exact resume ------------------------------------------------------------------------------------------
class InterruptAfter(Callback):
    """Stands in for Ctrl-C after the n-th iteration (before that iteration's checkpoint is written)."""

    def __init__(self, iterations: int) -> None:
        self.iterations, self.seen = iterations, 0

    def after_batch(self, trainer, loss):
        self.seen += 1
        if self.seen == self.iterations:
            raise KeyboardInterrupt


def dqn_cartpole(seed: int = 0) -> DQN:
    # 8 env steps per iteration; the buffer (300) is smaller than the run (480), so it wraps around.
    return DQN("CartPole-v1", n_envs=2, train_freq=4, learning_starts=100, buffer_size=300, batch_size=16, lr=1e-3,
               lr_schedule="linear", target_update_interval=40, exploration_fraction=0.5, model=TINY, seed=seed)


def ppo_cartpole_resumable(seed: int = 0) -> PPO:
    # 32 env steps per iteration; linear LR and clip schedules depend on the budget.
    return PPO("CartPole-v1", n_envs=2, n_steps=16, batch_size=16, n_epochs=2, lr_schedule="linear",
               clip_schedule="linear", ent_coef=0.01, model=TINY, seed=seed)


def comparable(records: list[dict]) -> list[dict]:
    """History records without the wall-clock keys, NaN made comparable."""
    return [{k: "nan" if isinstance(v, float) and math.isnan(v) else v
             for k, v in r.items() if k not in ("time", "fps")} for r in records]


RESUME_CASES = {  # make, steps, log_every, interrupt after, checkpoint options, (records made, iterations of the next)
    # 8 iterations a record; the file is from iteration 26: 3 records made, 2 iterations into the 4th
    "dqn-mid-record": (dqn_cartpole, 480, 64, 27, {"every_steps": 1}, (3, 2)),
    # 3 iterations a record; the file is from iteration 7: 2 records made, 1 iteration into the 3rd
    "ppo-mid-record": (ppo_cartpole_resumable, 384, 96, 8, {"every_steps": 1}, (2, 1)),
    # the file is from iteration 24, the 3rd record's last, saved by after_batch before that record was made
    "dqn-at-a-record-end": (dqn_cartpole, 480, 64, 25, {"every_steps": 1, "every_epoch": False}, (2, 8)),
}


@pytest.mark.parametrize("case", list(RESUME_CASES))
def test_a_run_interrupted_and_resumed_ends_bit_identical(case, tmp_path):
    """Interrupted (Ctrl-C) after some iterations with a checkpoint every iteration, then resumed in a new agent and
    trainer: the final policy (and DQN's target network and replay buffer), the counters and the history match an
    uninterrupted run of the same budget. The last case resumes from a checkpoint written after a record's last
    iteration but before the record was made (a kill in that window)."""
    make, steps, log_every, interrupt, checkpoint, position = RESUME_CASES[case]
    path = tmp_path / "ckpt.safetensors"

    def trainer(agent, *callbacks, **options):
        return nt.rl.RLTrainer(agent, steps=steps, log_every=log_every, progress=False, callbacks=list(callbacks),
                               **options)

    torch.manual_seed(1)  # a different global RNG for each construction: the seed and the checkpoint hold everything
    straight = make()
    reference = trainer(straight)
    reference.fit()

    torch.manual_seed(2)
    first = make()
    with pytest.raises(KeyboardInterrupt):
        trainer(first, InterruptAfter(interrupt), checkpoint={"path": str(path), **checkpoint}).fit()
    assert first.collector.steps < steps

    torch.manual_seed(3)
    resumed = make()
    again = trainer(resumed)
    again.load_checkpoint(path)
    assert 0 < resumed.collector.steps == (interrupt - 1) * resumed.steps_per_iteration
    assert (len(again.history.epochs), again.batch) == position
    again.fit()

    assert resumed.collector.steps == straight.collector.steps >= steps
    assert same(weights(resumed), weights(straight))
    assert resumed.updates == straight.updates and resumed.collector.episodes == straight.collector.episodes
    if isinstance(straight, DQN):
        assert same(dict(resumed.target_net.state_dict()), dict(straight.target_net.state_dict()))
        assert (resumed.buffer.pos, resumed.buffer.size) == (straight.buffer.pos, straight.buffer.size)
        assert straight.buffer.size == 300  # it did wrap around
        for key in ReplayBuffer._FIELDS:
            assert torch.equal(getattr(resumed.buffer, key), getattr(straight.buffer, key)), key
    assert torch.equal(resumed.generator.get_state(), straight.generator.get_state())
    assert comparable(again.history.epochs) == comparable(reference.history.epochs)
    assert len(reference.history.epochs) == math.ceil(steps / log_every)


# --- errors -----------------------------------------------------------------------------------------------
def test_an_unknown_environment_id_names_it_and_suggests_the_closest():
    with pytest.raises(ConfigError, match="Unknown environment 'CartPol-v1'") as err:
        PPO("CartPol-v1")
    assert "CartPole-v1" in str(err.value)
    with pytest.raises(ConfigError, match="'CartPol-v1'"):
        nt.rl.make_env("CartPol-v1")


@pytest.mark.parametrize("env", ["Pendulum-v1", "MountainCarContinuous-v0"])
def test_dqn_on_a_continuous_action_space_asks_for_discrete(env):
    with pytest.raises(ConfigError, match="DQN needs a Discrete action space"):
        DQN(env, buffer_size=10)


@pytest.mark.parametrize("name", ["ppo", "a2c", "reinforce", "dqn"])
def test_a_negative_learning_rate_is_a_config_error(name):
    agent = nt.rl.AGENTS.get(name)
    with pytest.raises(ConfigError, match=rf"The 'lr' parameter of {agent.__name__} must be .*Got -1 instead"):
        agent("CartPole-v1", lr=-1)


def test_bad_trainer_and_agent_options_are_config_errors():
    with pytest.raises(ConfigError, match="'steps' parameter of RLTrainer"):
        nt.rl.RLTrainer(ppo_cartpole(0), steps=0)
    with pytest.raises(ConfigError, match="RLTrainer trains a neuronet.rl agent"):
        nt.rl.RLTrainer(nn.Linear(2, 2), steps=10)
    with pytest.raises(ConfigError, match="'gamma' parameter of PPO"):
        PPO("CartPole-v1", gamma=1.5)


def test_one_ppo_update_matches_stable_baselines3():
    """The reference implementation, same weights, same rollout (SB3's own), one full-batch update: the same GAE
    (exactly) and the same weights afterwards (to float32 rounding; the update moves them by ~3e-4)."""
    pytest.importorskip("stable_baselines3", reason="stable-baselines3 is not installed (neuronet[bench])")
    from stable_baselines3 import PPO as SB3PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    class Quiet(BaseCallback):
        def _on_step(self) -> bool:
            return True

    settings = dict(n_steps=32, batch_size=64, n_epochs=1, gamma=0.98, gae_lambda=0.8, seed=0, device="cpu")
    sb3 = SB3PPO("MlpPolicy", make_vec_env("CartPole-v1", n_envs=2, seed=0), **settings)
    ours = nt.rl.PPO("CartPole-v1", n_envs=2, **settings)
    names = {"mlp_extractor.policy_net.0": "actor.1.net.1", "mlp_extractor.policy_net.2": "actor.1.net.3",
             "action_net": "actor.1.net.5", "mlp_extractor.value_net.0": "critic.1.net.1",
             "mlp_extractor.value_net.2": "critic.1.net.3", "value_net": "critic.1.net.5"}
    before = {k: v.clone() for k, v in sb3.policy.state_dict().items()}
    ours.net.load_state_dict({f"{b}.{p}": before[f"{a}.{p}"] for a, b in names.items() for p in ("weight", "bias")})
    sb3._setup_learn(10_000, None)
    callback = Quiet()
    callback.init_callback(sb3)
    sb3.collect_rollouts(sb3.env, callback, sb3.rollout_buffer, n_rollout_steps=32)
    buf = sb3.rollout_buffer  # (T, N) arrays
    rewards, values = torch.as_tensor(buf.rewards), torch.as_tensor(buf.values)
    dones = torch.zeros(32, 2)
    dones[:-1] = torch.as_tensor(buf.episode_starts)[1:]  # an episode starting at t+1 ended after t
    last = (torch.as_tensor(buf.advantages)[-1] - rewards[-1] + values[-1]) / 0.98  # V(s_T) * (1 - done_T), as SB3 used
    advantages, returns = nt.rl.gae(rewards, values, dones, last, 0.98, 0.8)
    assert torch.equal(advantages, torch.as_tensor(buf.advantages)) and torch.equal(returns, torch.as_tensor(buf.returns))
    batch = {"obs": torch.as_tensor(buf.observations).reshape(-1, 4), "actions": torch.as_tensor(buf.actions).reshape(-1).long(),
             "log_probs": torch.as_tensor(buf.log_probs).reshape(-1), "advantages": advantages.reshape(-1),
             "returns": returns.reshape(-1)}
    ours.update(batch, clip=0.2)
    sb3.train()
    after = sb3.policy.state_dict()
    for a, b in names.items():
        moved = (after[f"{a}.weight"] - before[f"{a}.weight"]).abs().max()
        assert moved > 1e-5  # the update did something
        torch.testing.assert_close(ours.net.state_dict()[f"{b}.weight"], after[f"{a}.weight"], rtol=0, atol=1e-7)
        torch.testing.assert_close(ours.net.state_dict()[f"{b}.bias"], after[f"{a}.bias"], rtol=0, atol=1e-7)
