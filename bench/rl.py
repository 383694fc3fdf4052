"""Reinforcement learning: neuronet's PPO and DQN against Stable-Baselines3, same settings, same run.

Settings (both libraries get exactly these; everything not named is the library's default,
and neuronet's defaults are SB3's):
- ppo_zoo: PPO with RL Zoo's tuned CartPole-v1 settings (hyperparams/ppo.yml): 8 envs, 1e5 steps,
  n_steps 32, batch 256, gae_lambda 0.8, gamma 0.98, 20 epochs, lr lin_0.001, clip lin_0.2;
- ppo_default: PPO with SB3's defaults, 1 env, 1e5 steps;
- dqn_zoo: DQN with RL Zoo's CartPole-v1 settings (hyperparams/dqn.yml): 5e4 steps, lr 2.3e-3,
  batch 64, buffer 1e5, learning_starts 1000, target_update_interval 10, train_freq 256,
  gradient_steps 128, exploration 0.16 -> 0.04, MLP [256, 256];
- dqn_default: DQN with SB3's defaults, 1e5 steps (not expected to solve CartPole);
- lunar: PPO with RL Zoo's LunarLander settings (16 envs, 1e6 steps, n_steps 1024, batch 64,
  gae_lambda 0.98, gamma 0.999, 4 epochs, ent_coef 0.01); neuronet only unless --lunar-sb3.

Protocol, per setting and seed (0, 1, 2), on the CPU with one torch thread:
- every `eval_every` steps (CartPole 5000, LunarLander 100k) the greedy policy plays 100
  episodes; training stops once their mean return reaches the target (CartPole-v1: 475,
  "solved"; LunarLander: 200). Both libraries are scored by the same evaluator
  (`neuronet.rl.evaluate_policy`, the same seeded episodes), at the same step counts: neuronet's
  RLTrainer evaluates at the end of a record (log_every = eval_every, rounded up to whole
  iterations), and the SB3 callback below evaluates at the same iteration boundaries, after
  the iteration's update;
- training seconds exclude evaluation on both sides: neuronet sums its records' `time`;
  SB3's clock runs from `learn()` to each evaluation, minus the evaluations before it;
- the table gives, per setting and library: seeds solved, the median steps to solve, the
  median training seconds (to the solve, or for the whole budget when not solved), steps/s,
  the final mean ± std (the last evaluation's 100 episodes, pooled over seeds), and neuronet's
  median time as a ratio to SB3's. Goal: neuronet's PPO solves CartPole in less time than SB3's.

Run: .venv/bin/python bench/rl.py [--seeds 3 --only ppo_zoo,dqn_zoo,ppo_default,dqn_default,lunar
     --lunar-sb3 --eval-every 5000 --eval-episodes 100 --verbose]
     .venv/bin/python bench/rl.py --quick   (smoke run: 2k steps, 10 episodes, 1 seed; a minute or two;
     writes rl_quick.json)
The full run took about an hour here (2 cores; DQN with the zoo settings is most of it; --only picks settings). Needs stable-baselines3
and gymnasium[box2d]. JSON in bench/results/rl.json.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import gymnasium
import stable_baselines3 as sb3
import torch
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env

import neuronet as nt
from common import RESULTS, print_table, write_json
from neuronet.rl.trainer import EVAL_SEED

SB3 = "SB3"
NEURONET = "neuronet"


@dataclass(frozen=True)
class Setting:
    name: str  # the --only key
    title: str
    algo: str  # "ppo" or "dqn"
    env: str
    budget: int  # environment steps, over all environments
    target: float  # mean evaluation return that counts as solved
    n_envs: int = 1
    shared: dict[str, Any] = field(default_factory=dict)  # same name and meaning in both libraries
    lr: float | None = None  # None: the library's default
    clip_range: float | None = None
    linear: bool = False  # lr (and PPO's clip range) decay linearly to 0: the zoo's "lin_X"
    hidden: list[int] | None = None  # MLP widths (None: the default [64, 64])
    published: str = ""  # RL Zoo's benchmark.md figure, for reference


SETTINGS = [
    Setting("ppo_zoo", "PPO, RL Zoo's CartPole-v1", "ppo", "CartPole-v1", 100_000, 475, n_envs=8,
            shared=dict(n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20, ent_coef=0.0),
            lr=1e-3, clip_range=0.2, linear=True, published="500 ± 0 after 1e5 steps"),
    Setting("ppo_default", "PPO, SB3 defaults", "ppo", "CartPole-v1", 100_000, 475),
    Setting("dqn_zoo", "DQN, RL Zoo's CartPole-v1", "dqn", "CartPole-v1", 50_000, 475,
            shared=dict(batch_size=64, buffer_size=100_000, learning_starts=1000, gamma=0.99,
                        target_update_interval=10, train_freq=256, gradient_steps=128, exploration_fraction=0.16,
                        exploration_final_eps=0.04),
            lr=2.3e-3, hidden=[256, 256], published="500 ± 0 after 5e4 steps"),
    Setting("dqn_default", "DQN, SB3 defaults", "dqn", "CartPole-v1", 100_000, 475),
    Setting("lunar", "PPO, RL Zoo's LunarLander", "ppo", "LunarLander-v3", 1_000_000, 200, n_envs=16,
            shared=dict(n_steps=1024, batch_size=64, gae_lambda=0.98, gamma=0.999, n_epochs=4, ent_coef=0.01),
            published="242 ± 32 after 1e6 steps (LunarLander-v2)"),
]


@dataclass(frozen=True)
class Protocol:
    budget: int
    eval_every: int
    episodes: int
    verbose: bool


# --- the two libraries' arguments for one setting ---------------------------------------------------

def neuronet_kwargs(s: Setting) -> dict[str, Any]:
    kwargs = dict(s.shared)
    if s.lr is not None:
        kwargs["lr"] = s.lr
    if s.clip_range is not None:
        kwargs["clip_range"] = s.clip_range
    if s.linear:
        kwargs["lr_schedule"] = "linear"
        if s.algo == "ppo":
            kwargs["clip_schedule"] = "linear"
    if s.hidden:
        kwargs["model"] = {"type": "mlp", "hidden": s.hidden, "activation": "tanh" if s.algo == "ppo" else "relu"}
    return kwargs


def linear_schedule(start: float):
    """The zoo's lin_X: SB3 calls it with the share of training left (1 -> 0)."""
    return lambda progress_remaining: progress_remaining * start


def sb3_kwargs(s: Setting) -> dict[str, Any]:
    kwargs = dict(s.shared)
    if s.lr is not None:
        kwargs["learning_rate"] = linear_schedule(s.lr) if s.linear else s.lr
    if s.clip_range is not None:
        kwargs["clip_range"] = linear_schedule(s.clip_range) if s.linear and s.algo == "ppo" else s.clip_range
    if s.hidden:
        kwargs["policy_kwargs"] = {"net_arch": s.hidden}
    return kwargs


# --- one run of each library -------------------------------------------------------------------------

def run_row(library: str, s: Setting, seed: int, curve: list[dict[str, Any]], eval_s: float) -> dict[str, Any]:
    """The per-seed row: the run stopped at its last evaluation (the solve, or the end of the budget)."""
    last = curve[-1]
    return {"library": library, "setting": s.name, "seed": seed, "solved": last["mean"] >= s.target,
            "steps": last["steps"], "train_s": last["train_s"], "fps": last["steps"] / last["train_s"],
            "final_mean": last["mean"], "final_std": last["std"], "eval_s": eval_s, "evaluations": curve}


def show_eval(library: str, point: dict[str, Any]) -> None:
    print(f"    {library:8} {point['steps']:>9,} steps  {point['train_s']:7.1f} s  "
          f"eval {point['mean']:7.1f} ± {point['std']:.1f}", flush=True)


class TimedTrainer(nt.rl.RLTrainer):
    """The RLTrainer, also clocking its evaluations (to check the records' time against fit()'s wall time)."""

    eval_s = 0.0

    def evaluate(self, episodes: int = 10, seed: int | None = None) -> dict[str, Any]:
        start = time.perf_counter()
        try:
            return super().evaluate(episodes, seed)
        finally:
            self.eval_s += time.perf_counter() - start


class ShowEvaluations(nt.callbacks.Callback):
    """--verbose: print each evaluation as it happens, with the training seconds so far."""

    def __init__(self) -> None:
        self.train_s = 0.0

    def after_epoch(self, trainer, logs):
        self.train_s += logs["time"]
        if "eval_return" in logs:
            show_eval(NEURONET, {"steps": logs["steps"], "train_s": self.train_s, "mean": logs["eval_return"],
                                 "std": logs["eval_std"]})


def run_neuronet(s: Setting, seed: int, p: Protocol) -> dict[str, Any]:
    agent = (nt.rl.PPO if s.algo == "ppo" else nt.rl.DQN)(s.env, n_envs=s.n_envs, seed=seed, device="cpu",
                                                         **neuronet_kwargs(s))
    trainer = TimedTrainer(agent, steps=p.budget, log_every=p.eval_every, eval_every=p.eval_every,
                           eval_episodes=p.episodes, target_return=s.target, progress=False, doctor=False,
                           callbacks=[ShowEvaluations()] if p.verbose else [])
    start = time.perf_counter()
    history = trainer.fit()
    fit_s = time.perf_counter() - start
    agent.close()
    curve, train_s = [], 0.0
    for record in history.epochs:
        train_s += record["time"]  # training only: the trainer's records leave evaluation out
        if "eval_return" in record:
            curve.append({"steps": record["steps"], "train_s": train_s, "mean": record["eval_return"],
                          "std": record["eval_std"]})
    return {**run_row(NEURONET, s, seed, curve, trainer.eval_s), "fit_minus_eval_s": fit_s - trainer.eval_s}


class Evaluations(BaseCallback):
    """SB3's side of the protocol: evaluate where neuronet's trainer would, clock training without it, stop when solved.

    `_on_rollout_start` runs after the previous iteration's update, at `num_timesteps` steps; the
    records are `record_steps` long (eval_every rounded up to whole iterations, as RLTrainer does).
    """

    def __init__(self, s: Setting, seed: int, p: Protocol) -> None:
        super().__init__()
        self.s, self.seed, self.p = s, seed, p
        self.curve: list[dict[str, Any]] = []
        self.start = self.eval_s = 0.0
        self.solved = False
        self.record_steps = 0

    def _on_training_start(self) -> None:
        model = self.model
        per = model.n_steps * model.n_envs if self.s.algo == "ppo" else model.train_freq.frequency * model.n_envs
        self.record_steps = math.ceil(self.p.eval_every / per) * per

    def _on_rollout_start(self) -> None:
        steps, every = self.model.num_timesteps, self.p.eval_every
        if steps and steps % self.record_steps == 0 and steps // every > (steps - self.record_steps) // every:
            self.evaluate()

    def _on_step(self) -> bool:
        return not self.solved  # False ends learn() after this step

    def act(self, obs: torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(self.model.predict(obs.numpy(), deterministic=True)[0])

    def evaluate(self) -> None:
        now = time.perf_counter()
        point = {"steps": self.model.num_timesteps, "train_s": now - self.start - self.eval_s}
        result = nt.rl.evaluate_policy(self.act, self.s.env, self.p.episodes, self.seed + EVAL_SEED)
        self.eval_s += time.perf_counter() - now
        point.update(mean=result["mean_return"], std=result["std_return"])
        self.curve.append(point)
        self.solved = point["mean"] >= self.s.target
        if self.p.verbose:
            show_eval(SB3, point)


def run_sb3(s: Setting, seed: int, p: Protocol) -> dict[str, Any]:
    algo = sb3.PPO if s.algo == "ppo" else sb3.DQN
    model = algo("MlpPolicy", make_vec_env(s.env, n_envs=s.n_envs, seed=seed), seed=seed, device="cpu", verbose=0,
                 **sb3_kwargs(s))
    callback = Evaluations(s, seed, p)
    callback.start = time.perf_counter()
    model.learn(total_timesteps=p.budget, callback=callback)
    if not callback.solved:  # the end of the budget: the last evaluation, as RLTrainer makes one
        callback.evaluate()
    model.get_env().close()
    return run_row(SB3, s, seed, callback.curve, callback.eval_s)


def report(row: dict[str, Any], p: Protocol) -> None:
    done = f"solved at {row['steps']:,} steps" if row["solved"] else f"not solved in {row['steps']:,} steps"
    check = f", fit() wall − eval {row['fit_minus_eval_s']:.1f} s" if "fit_minus_eval_s" in row else ""
    print(f"  {row['setting']:11} {row['library']:8} seed {row['seed']}: {done}, {row['train_s']:.1f} s training "
          f"({row['fps']:,.0f} steps/s{check}); final {row['final_mean']:.1f} ± {row['final_std']:.1f} over "
          f"{p.episodes} episodes; {len(row['evaluations'])} evaluations took {row['eval_s']:.1f} s", flush=True)


# --- aggregates and the table ------------------------------------------------------------------------------

def aggregate(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Over seeds: how many solved, median steps to solve, median seconds (to solve or whole budget), pooled final."""
    solved = [r for r in rows if r["solved"]]
    mean = statistics.fmean(r["final_mean"] for r in rows)  # equal episodes per seed: pooled over all episodes
    var = statistics.fmean(r["final_std"] ** 2 + r["final_mean"] ** 2 for r in rows) - mean ** 2
    return {"seeds": len(rows), "solved": len(solved),
            "median_steps_to_solve": statistics.median(r["steps"] for r in solved) if solved else None,
            "median_train_s": statistics.median(r["train_s"] for r in rows),
            "median_fps": statistics.median(r["fps"] for r in rows),
            "final_mean": mean, "final_std": math.sqrt(max(var, 0.0)),
            "final_mean_per_seed": [r["final_mean"] for r in rows]}


def time_ratio(ours: dict[str, Any], theirs: dict[str, Any]) -> tuple[float, str]:
    """neuronet's median seconds / SB3's, and what they are seconds of."""
    n = ours["seeds"]
    if ours["solved"] == theirs["solved"] == n:
        basis = "to solve"
    elif ours["solved"] == theirs["solved"] == 0:
        basis = "whole budget (neither solved)"
    else:
        basis = f"mixed: to solve or whole budget (solved {ours['solved']}/{n} vs {theirs['solved']}/{n})"
    return ours["median_train_s"] / theirs["median_train_s"], basis


def table_rows(s: Setting, aggregates: dict[str, dict[str, Any]]) -> list[list[Any]]:
    rows = []
    for library, a in aggregates.items():
        vs = ""
        if library == NEURONET and SB3 in aggregates:
            ratio, basis = time_ratio(a, aggregates[SB3])
            vs = f"{ratio:.2f}x ({basis})"
        steps = a["median_steps_to_solve"]
        rows.append([s.name, library, f"{a['solved']}/{a['seeds']}", "-" if steps is None else f"{steps:,.0f}",
                     f"{a['median_train_s']:.1f}", f"{a['median_fps']:,.0f}",
                     f"{a['final_mean']:.1f} ± {a['final_std']:.1f}", vs])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0 .. N-1")
    parser.add_argument("--only", default=",".join(s.name for s in SETTINGS),
                        help="comma-separated settings: " + ",".join(s.name for s in SETTINGS))
    parser.add_argument("--eval-every", type=int, default=5000, help="CartPole: evaluate every N steps")
    parser.add_argument("--lunar-eval-every", type=int, default=100_000)
    parser.add_argument("--eval-episodes", type=int, default=100)
    parser.add_argument("--lunar-sb3", action="store_true", help="also run SB3 on LunarLander (slow)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 2048 steps (LunarLander: one 16k-step iteration), 10 episodes, 1 seed")
    parser.add_argument("--verbose", action="store_true", help="print every evaluation")
    args = parser.parse_args()
    torch.set_num_threads(1)
    chosen = args.only.split(",")
    unknown = sorted(set(chosen) - {s.name for s in SETTINGS})
    if unknown:
        parser.error(f"unknown settings {unknown}")
    seeds = list(range(1 if args.quick else args.seeds))
    episodes = 10 if args.quick else args.eval_episodes
    results, rows = {}, []
    for s in (s for s in SETTINGS if s.name in chosen):
        lunar = s.env.startswith("LunarLander")
        budget = (16_384 if lunar else 2_048) if args.quick else s.budget
        every = (budget if lunar else 1_024) if args.quick else args.lunar_eval_every if lunar else args.eval_every
        p = Protocol(budget, every, episodes, args.verbose)
        runners = {NEURONET: run_neuronet, **({SB3: run_sb3} if not lunar or args.lunar_sb3 else {})}
        print(f"\n{s.title} ({s.name}): {budget:,} steps, evaluate every {every:,} steps over {episodes} "
              f"episodes, target {s.target:g}", flush=True)
        per_seed: dict[str, list[dict[str, Any]]] = {library: [] for library in runners}
        for seed in seeds:
            for library, run in runners.items():  # the libraries take turns, so that drift hits both
                row = run(s, seed, p)
                report(row, p)
                per_seed[library].append(row)
        aggregates = {library: aggregate(r) for library, r in per_seed.items()}
        results[s.name] = {"setting": asdict(s), "protocol": asdict(p), "runs": per_seed, "aggregates": aggregates}
        rows += table_rows(s, aggregates)
    print_table(f"mean greedy return over {episodes} episodes reaching the target (CartPole-v1 475, LunarLander 200), "
                f"seeds {seeds}, 1 torch thread; medians over seeds; train s excludes evaluation",
                ["setting", "library", "solved", "steps to solve", "train s", "steps/s", "final mean ± std",
                 "time vs SB3"], rows)
    for s in SETTINGS:
        if s.name in results and s.published:
            print(f"RL Zoo's published {s.title}: {s.published}")
    name = "rl_quick" if args.quick else "rl"
    earlier = RESULTS / f"{name}.json"
    if earlier.is_file():  # a run of some settings (--only) keeps the others' results from earlier runs
        kept = json.loads(earlier.read_text()).get("results", {})
        results = {**{k: v for k, v in kept.items() if k not in results}, **results}
    write_json(name,
               {"versions": {"neuronet": nt.__version__, "torch": torch.__version__,
                             "stable_baselines3": sb3.__version__, "gymnasium": gymnasium.__version__},
                "threads": torch.get_num_threads(), "seeds": seeds, "quick": args.quick,
                "published": {s.name: s.published for s in SETTINGS if s.published}, "results": results})


if __name__ == "__main__":
    main()
