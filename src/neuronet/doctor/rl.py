"""The doctor's rules for reinforcement learning: on the records of an agent's run.

- Exploding value loss: the critic's (or Q-network's) loss grows by orders of magnitude, or Q-values run far
  above every return earned.
- Collapsed entropy: the policy turned (almost) deterministic while the return is still poor (below the
  environment's `reward_threshold`, or no longer rising where it has none).
- No progress: the mean return at the end is no better than at the start.
- A loss that became NaN or infinite: the learning rate was too high.

`neuronet.rl.doctor.RLDoctor` runs them during `RLTrainer.fit`, as `neuronet.train.Doctor` runs
the supervised rules (`training.py`).
"""

from __future__ import annotations

import math
from typing import Any

from neuronet.doctor.findings import Finding, sort_findings

__all__ = ["diagnose_rl"]


def _series(epochs: list[dict[str, Any]], key: str) -> list[tuple[int, float]]:
    return [(r["epoch"], float(r[key])) for r in epochs if isinstance(r.get(key), (int, float)) and math.isfinite(r[key])]


def _improved(epochs: list[dict[str, Any]]) -> tuple[float, float] | None:
    """(mean return of the first quarter of records, of the last quarter), when both are known."""
    returns = [v for _, v in _series(epochs, "mean_return")]
    if len(returns) < 4:
        return None
    k = max(1, len(returns) // 4)
    return sum(returns[:k]) / k, sum(returns[-k:]) / k


def diagnose_rl(epochs: list[dict[str, Any]], discrete: bool, action_dim: int, agent: str,
                solved_at: float | None = None, diverged: dict[str, Any] | None = None) -> list[Finding]:
    """Findings from an RL run's records (each with steps, mean_return and the agent's losses).

    Args:
        epochs: The run's records.
        discrete, action_dim: The action space (the entropy's ceiling is log(actions)).
        agent: The algorithm's name (fixes differ).
        solved_at: The return at which the environment counts as solved (its spec's reward_threshold), if known.
        diverged: Where the loss became NaN / inf ({"epoch", "batch", "value", "lr"}), if it did: listed first.

    Returns:
        The findings, the divergence first, then the most severe.

    Example:
        >>> records = [{"epoch": i, "steps": 100 * i, "mean_return": 20.0, "loss": 1.0} for i in range(1, 9)]
        >>> [f.code for f in diagnose_rl(records, discrete=True, action_dim=2, agent="ppo")]
        ['no_progress']
    """
    findings = _rules(epochs, discrete, action_dim, agent, solved_at)
    if diverged:
        findings.insert(0, Finding(
            "lr_too_high", "error", "Learning rate too high", f"The loss became {diverged['value']} at "
            f"record {diverged['epoch']}.", "A step too large sent the weights where the loss overflows.",
            "a smaller agent.lr or agent.max_grad_norm", diverged["epoch"], values=dict(diverged)))
    return findings


def _rules(epochs: list[dict[str, Any]], discrete: bool, action_dim: int, agent: str,
           solved_at: float | None) -> list[Finding]:
    """The rules on the records, most severe finding first."""
    findings: list[Finding] = []
    if len(epochs) < 3:
        return findings
    loss_key = "value_loss" if any("value_loss" in r for r in epochs) else "loss"
    losses = _series(epochs, loss_key)
    if len(losses) >= 3:
        low = min(v for _, v in losses[: max(2, len(losses) // 4)])
        epoch, high = max(losses[len(losses) // 4:], key=lambda p: p[1])
        if low > 0 and high / low > 1e4 and high > 1e3:
            findings.append(Finding(
                "exploding_value_loss", "error", "Exploding value loss",
                f"The {loss_key.replace('_', ' ')} grew from {low:.3g} to {high:.3g} (record {epoch}).",
                "The value estimates feed their own targets; once they overshoot, each update makes the next "
                "target larger, and the policy learns from noise.",
                "a smaller agent.lr, a smaller agent.max_grad_norm, or rewards scaled into [-1, 1]"
                + (" (DQN: a larger agent.target_update_interval)" if agent == "dqn" else ""), epoch,
                values={"first": low, "peak": high}))
    q = _series(epochs, "q_mean")
    best = max((abs(v) for key in ("mean_return", "eval_return") for _, v in _series(epochs, key)), default=0.0)
    if q:
        epoch, value = max(q, key=lambda p: abs(p[1]))
        if abs(value) > 100 and abs(value) > 10 * best:
            findings.append(Finding(
                "exploding_q_values", "error", "Exploding Q-values",
                f"The mean Q(s, a) reached {value:.4g} (record {epoch}), over 10x the largest return any episode "
                f"earned ({best:.4g}).",
                "A Q-value estimates the (discounted) return, so values far above every return seen mean that "
                "the bootstrapped targets are chasing themselves upwards.",
                "a smaller agent.lr, agent.double: true, or a larger agent.target_update_interval", epoch,
                values={"q_mean": value, "best_return": best}))
    entropy = _series(epochs, "entropy")
    returns = [v for _, v in _series(epochs, "mean_return")]
    if discrete and entropy and action_dim > 1 and len(returns) >= 4:
        epoch, value = entropy[-1]
        most = math.log(action_dim)
        k = max(1, len(returns) // 4)
        end, before = sum(returns[-k:]) / k, sum(returns[-2 * k:-k]) / k
        poor = end < solved_at if solved_at is not None else end <= before + 0.05 * abs(before)  # else: stalled
        if value < 0.05 * most and poor:
            target = f" (solved at {solved_at:g})" if solved_at is not None else ", no longer rising"
            findings.append(Finding(  # without a threshold it may be solved: only a note
                "entropy_collapse", "warning" if solved_at is not None else "info", "Collapsed entropy",
                f"The policy's entropy fell to {value:.3g} (of at most {most:.3g}) while the mean return is "
                f"{end:.4g}{target}.",
                "The policy picks the same actions almost always, so it no longer explores, and it settled before "
                "it found what pays.",
                "a larger agent.ent_coef (e.g. 0.01), or a smaller agent.lr", epoch,
                values={"entropy": value, "max_entropy": most, "mean_return": end}))
    progress = _improved(epochs)
    if progress is not None and not findings:
        start, end = progress
        if end <= start + 0.01 * abs(start) and (solved_at is None or end < solved_at):
            findings.append(Finding(
                "no_progress", "warning", "No progress",
                f"The mean return of the last records ({end:.4g}) is no better than of the first ({start:.4g}).",
                "The agent has not learned yet: too few steps, a learning rate too high or low, or rewards too "
                "rare to find by chance.",
                "more train.steps, another agent.lr, or the RL Zoo's settings for this environment", None,
                values={"start": start, "end": end}))
    return sort_findings(findings)
