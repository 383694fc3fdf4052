"""Environments through Gymnasium: by id, by {id, kwargs}, by a Python callable, or by "module:function".

`make_vec_env` steps N copies side by side (Gymnasium's `SyncVectorEnv`, resetting an
episode that ended in the same step and keeping its last observation in
`info["final_obs"]`), so that the policy sees one batch of N observations per step.

Resuming a run exactly needs the environments' state too. `env_state` / `load_env_state`
save it without pickle: an environment that defines `get_state()` / `set_state(state)`
(JSON-able values and numpy arrays) is asked; Gymnasium's classic-control environments
(CartPole, Acrobot, MountainCar, Pendulum) hold plain arrays and numbers, read directly; the
episode counters of the wrappers, and every random generator's state, are saved for all.
An environment that cannot be saved (Box2D's LunarLander holds a physics world) restarts
its episodes on resume, from seeds derived from the run's seed and step count.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from neuronet.errors import ConfigError

__all__ = ["EnvSpec", "make_env", "make_vec_env", "register_env", "env_state", "load_env_state", "env_name",
           "code_target", "check_trusted"]

EnvSpec = str | dict[str, Any] | Callable[..., Any]
_WRAPPER_FIELDS = ("_elapsed_steps", "_has_reset")  # TimeLimit's step count, OrderEnforcing's flag
_SIMPLE = (int, float, bool, str, type(None), np.ndarray, np.generic)


def _gym():
    try:
        import gymnasium
    except ImportError:  # pragma: no cover - gymnasium is in neuronet[rl]
        raise ConfigError("Reinforcement learning needs Gymnasium: pip install 'neuronet[rl]'.") from None
    return gymnasium


def _parts(spec: EnvSpec) -> tuple[Any, dict[str, Any]]:
    """(an id or a callable, its keyword arguments) from any accepted spec."""
    if isinstance(spec, dict):
        unknown = [k for k in spec if k not in ("id", "kwargs")]
        if "id" not in spec or unknown:
            raise ConfigError(f"An environment is {{id: ..., kwargs: {{...}}}}; got the keys {sorted(spec)}.")
        return spec["id"], dict(spec.get("kwargs") or {})
    return spec, {}


def code_target(spec: EnvSpec) -> str | None:
    """The 'module:function' a spec names, which making it would import and call; None for a Gymnasium id.

    Example:
        >>> code_target({"id": "myenv:make"}), code_target("CartPole-v1")
        ('myenv:make', None)
    """
    target, _ = _parts(spec)
    if isinstance(target, str) and ":" in target and target not in _gym().registry:
        return target
    return None


def check_trusted(spec: EnvSpec, where: str, command: str) -> None:
    """Refuse an environment named by code ('module:function') read from a run directory, unless trusted.

    A config the user runs is theirs, as a script is; a run directory someone handed over is
    data, and importing and calling code it names needs the user's word (`--trust-code`).

    Raises:
        ConfigError: naming what would run.
    """
    target = code_target(spec)
    if target is not None:
        _, kwargs = _parts(spec)
        raise ConfigError(f"{where} names the environment '{target}': Python code that `{command}` would import and "
                          f"call (with {kwargs or 'no arguments'}); a run directory is data, so this is refused. If you "
                          f"trust where the run came from, add --trust-code.")


def _resolve(target: Any) -> Any:
    """An id string stays; "package.module:function" becomes that callable (never one from Python's standard library)."""
    if isinstance(target, str) and ":" in target and target not in _gym().registry:
        module, _, name = target.partition(":")
        if os.getcwd() not in sys.path:  # a module beside the config, as `python -m` would find it
            sys.path.append(os.getcwd())
        if _standard(module):
            raise ConfigError(f"env.id '{target}' names {module!r}, a module of Python's standard library, not an "
                              "environment; give "
                              "'package.module:function' of your module returning a gymnasium.Env, or a Gymnasium id.")
        try:
            found = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as err:
            raise ConfigError(f"Cannot import the environment '{target}' ({err}); give 'package.module:function' "
                              "of a module in the current folder or on PYTHONPATH, or a registered Gymnasium id "
                              "(at env.id).") from None
        if _standard(getattr(found, "__module__", None) or "builtins"):
            raise ConfigError(f"env.id '{target}' is {getattr(found, '__module__', 'builtins')}."
                              f"{getattr(found, '__name__', name)} from Python's standard library, not an environment "
                              "factory; give a function or class of your own returning a gymnasium.Env.")
        return found
    return target


def _standard(module: str) -> bool:
    """Whether `module` is part of Python itself (os, subprocess, builtins...): never an environment."""
    top = module.split(".")[0].lstrip("_")
    return top in sys.stdlib_module_names or top in ("builtins", "posix", "nt") or module in sys.builtin_module_names


def env_name(spec: EnvSpec) -> str:
    """A short name for a spec (for run-directory names and reports)."""
    target, _ = _parts(spec)
    if isinstance(target, str):
        return target.rsplit(":", 1)[-1]
    return getattr(target, "__name__", type(target).__name__)


def make_env(spec: EnvSpec, render_mode: str | None = None) -> Any:
    """One environment.

    Args:
        spec: A registered id ("CartPole-v1"), {"id": ..., "kwargs": {...}}, a callable returning a
            Gymnasium `Env` (called with the kwargs, and `render_mode` when given), or "module:function".
        render_mode: e.g. "rgb_array" to record frames.

    Raises:
        ConfigError: an unknown id (with the closest registered ones), or something that is not an Env.

    Example:
        >>> make_env("CartPole-v1").observation_space.shape
        (4,)
    """
    gym = _gym()
    target, kwargs = _parts(spec)
    target = _resolve(target)
    if render_mode is not None:
        kwargs["render_mode"] = render_mode
    if isinstance(target, str):
        if target not in gym.registry:
            from neuronet.registry import suggest

            raise ConfigError(f"Unknown environment '{target}'.{suggest(target, list(gym.registry))} Use a Gymnasium id "
                              "(CartPole-v1, Acrobot-v1, MountainCar-v0, LunarLander-v3, ...), or register your own with "
                              "neuronet.rl.register_env.")
        try:
            return gym.make(target, **kwargs)
        except gym.error.DependencyNotInstalled as err:
            raise ConfigError(f"Environment '{target}' needs a package that is missing: {err}") from None
        except TypeError as err:
            raise ConfigError(f"Environment '{target}' does not take the arguments {sorted(kwargs)} (at env.kwargs): "
                              f"{str(err).split(' was raised')[0]}.") from None
    if not callable(target):
        raise ConfigError(f"An environment must be a Gymnasium id, a mapping {{id, kwargs}} or a callable; got {target!r}.")
    try:
        env = target(**kwargs)
    except TypeError as err:
        if render_mode is not None and "render_mode" in str(err):
            raise ConfigError(f"The environment {env_name(target)} cannot be recorded: it takes no render_mode "
                              "argument.") from None
        raise ConfigError(f"The environment {env_name(target)} does not take the arguments {sorted(kwargs)} "
                          f"(at env.kwargs): {err}.") from None
    if not isinstance(env, gym.Env):
        raise ConfigError(f"The environment factory {env_name(target)} returned {type(env).__name__}, not a "
                          "gymnasium.Env (at env.id).")
    return env


def make_vec_env(spec: EnvSpec, n_envs: int = 1) -> Any:
    """N environments stepped together (`SyncVectorEnv`, same-step autoreset).

    Example:
        >>> envs = make_vec_env("CartPole-v1", 4)
        >>> envs.reset(seed=0)[0].shape
        (4, 4)
    """
    gym = _gym()
    if not isinstance(n_envs, int) or n_envs < 1:
        raise ConfigError(f"n_envs must be an int >= 1. Got {n_envs!r} instead.")
    first = make_env(spec)  # errors surface here, once
    factories = [lambda first=first: first] + [lambda: make_env(spec) for _ in range(n_envs - 1)]
    return gym.vector.SyncVectorEnv(factories, autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)


def register_env(id: str, entry_point: str | Callable[..., Any], max_episode_steps: int | None = None,
                 **kwargs: Any) -> None:
    """Register a user environment under `id` (Gymnasium's `register`), so that configs can name it.

    Example:
        >>> register_env("MyCartPole-v0", "gymnasium.envs.classic_control:CartPoleEnv", max_episode_steps=50)
        >>> make_env("MyCartPole-v0").spec.max_episode_steps
        50
    """
    _gym().register(id=id, entry_point=entry_point, max_episode_steps=max_episode_steps, kwargs=kwargs)


# --- saving an environment's state, without pickle -----------------------------------------------

def _layers(env: Any) -> list[Any]:
    """The wrapper chain of one environment, outermost first, the bare environment last."""
    chain = [env]
    while hasattr(chain[-1], "env") and chain[-1] is not chain[-1].unwrapped:
        chain.append(chain[-1].env)
    return chain


def _plain_fields(env: Any) -> dict[str, Any] | None:
    """The bare environment's simple attributes, for environments known to hold nothing else."""
    module = type(env).__module__
    if not module.startswith("gymnasium.envs.classic_control"):
        return None
    return {k: v for k, v in vars(env).items()
            if not k.startswith("_np_random") and k not in ("screen", "clock")
            and (isinstance(v, _SIMPLE) or (isinstance(v, (tuple, list)) and all(isinstance(x, _SIMPLE) for x in v)))}


def _to_json(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return {"__array__": value.tolist(), "dtype": str(value.dtype)}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {k: _to_json(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_to_json(v) for v in value]
    return value


def _from_json(value: Any) -> Any:
    if isinstance(value, dict) and "__array__" in value:
        dtype = np.dtype(str(value["dtype"]))
        if dtype.kind not in "biuf":  # numbers only: a checkpoint holds no objects
            raise ValueError(f"an environment state array of dtype {dtype}")
        return np.asarray(value["__array__"], dtype=dtype)
    if isinstance(value, dict):
        return {k: _from_json(v) for k, v in value.items()}
    return value


def env_state(envs: Any) -> list[dict[str, Any]] | None:
    """A JSON-able snapshot of every environment of a SyncVectorEnv, or None where one cannot be saved."""
    states = []
    for env in envs.envs:
        bare = env.unwrapped
        own = bare.get_state() if callable(getattr(bare, "get_state", None)) else _plain_fields(bare)
        if own is None:
            return None
        wrappers = [{k: getattr(w, k) for k in _WRAPPER_FIELDS if hasattr(w, k)} for w in _layers(env)[:-1]]
        rng = bare.np_random.bit_generator.state if bare._np_random is not None else None
        states.append(_to_json({"env": own, "wrappers": wrappers, "rng": rng}))
    return states


def load_env_state(envs: Any, states: list[dict[str, Any]]) -> None:
    """Restore what `env_state` returned (the environments must have been reset once)."""
    for env, saved in zip(envs.envs, states):
        saved = _from_json(saved)
        bare = env.unwrapped
        if callable(getattr(bare, "set_state", None)):
            bare.set_state(saved["env"])
        else:
            known = _plain_fields(bare) or {}
            for key, value in saved["env"].items():
                if key not in known:  # only the plain fields the environment has: a checkpoint sets nothing else
                    raise ValueError(f"the environment state names an unknown field {key!r}")
                setattr(bare, key, tuple(value) if isinstance(getattr(bare, key, None), tuple) else value)
        for wrapper, fields in zip(_layers(env)[:-1], saved["wrappers"]):
            for key, value in fields.items():
                setattr(wrapper, key, value)
        if saved["rng"] is not None:
            bare.np_random.bit_generator.state = saved["rng"]
