"""Scoring a policy: N seeded episodes, and one episode recorded as a GIF."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neuronet.rl.collector import clip_actions
from neuronet.errors import ConfigError
from neuronet.rl.envs import EnvSpec, env_name, make_env, make_vec_env

__all__ = ["evaluate_policy", "record_episode"]

Actor = Callable[[torch.Tensor], torch.Tensor]  # observations (B, ...) -> actions (B, ...)


@torch.no_grad()
def evaluate_policy(act: Actor, env: EnvSpec, episodes: int = 10, seed: int = 0, batch: int = 50,
                    device: torch.device | str = "cpu") -> dict[str, Any]:
    """Play `episodes` episodes (episode i starts from reset seed `seed + i`), acting with `act`.

    The episodes run side by side, up to `batch` at a time, so the result does not depend on
    how many run together.

    Returns:
        {"episodes", "mean_return", "std_return", "min_return", "max_return", "mean_length", "returns", "lengths"}.

    Example:
        >>> result = evaluate_policy(lambda obs: torch.zeros(len(obs), dtype=torch.long), "CartPole-v1", episodes=3)
        >>> result["episodes"], result["mean_return"] < 20
        (3, True)
    """
    returns, lengths = [], []
    for first in range(0, episodes, batch):
        n = min(batch, episodes - first)
        envs = make_vec_env(env, n)
        obs, _ = envs.reset(seed=[seed + first + i for i in range(n)])
        total, length = np.zeros(n), np.zeros(n, dtype=int)
        running = np.ones(n, dtype=bool)
        while running.any():
            actions = clip_actions(act(torch.as_tensor(np.asarray(obs), device=device)), envs.single_action_space)
            obs, rewards, terminated, truncated, _ = envs.step(actions)
            total += rewards * running
            length += running
            running &= ~(terminated | truncated)
        envs.close()
        returns += total.tolist()
        lengths += length.tolist()
    r = np.asarray(returns)
    return {"episodes": episodes, "mean_return": float(r.mean()), "std_return": float(r.std()),
            "min_return": float(r.min()), "max_return": float(r.max()), "mean_length": float(np.mean(lengths)),
            "returns": [float(x) for x in returns], "lengths": [int(x) for x in lengths]}


@torch.no_grad()
def record_episode(act: Actor, env: EnvSpec, path: str | Path, seed: int = 0, fps: int = 30,
                   max_frames: int = 1000, device: torch.device | str = "cpu") -> dict[str, Any]:
    """Play one episode with Gymnasium's rgb_array rendering and write its frames as an animated GIF.

    Returns:
        {"path", "return", "length", "frames"}.
    """
    import os

    from PIL import Image

    from neuronet.atomic import atomic_path

    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # pygame draws off-screen: no display, no warnings
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

    one = make_env(env, render_mode="rgb_array")
    obs, _ = one.reset(seed=seed)
    frames, total, length, done = [one.render()], 0.0, 0, False
    while not done:
        action = clip_actions(act(torch.as_tensor(np.asarray(obs)[None], device=device)), one.action_space)[0]
        obs, reward, terminated, truncated, _ = one.step(action.item() if action.ndim == 0 else action)
        total, length, done = total + float(reward), length + 1, terminated or truncated
        if len(frames) < max_frames:
            frames.append(one.render())
    one.close()
    images = [Image.fromarray(np.asarray(f, dtype=np.uint8)) for f in frames if f is not None]
    if not images:
        raise ConfigError(f"The environment {env_name(env)} returned no frames with render_mode='rgb_array', so it "
                          "cannot be recorded; give it a render() that returns an RGB array.")
    path = Path(path)
    with atomic_path(path) as tmp:
        images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:], duration=int(1000 / fps), loop=0)
    return {"path": str(path), "return": total, "length": length, "frames": len(images)}
