"""Checks of a run's settings, made before anything is built or trained.

Each check raises a ``ValueError`` (``TypeError`` for the wrong kind) naming the setting, the
value and the fix, so that ``ps-train`` can stop with one line before the first training step.
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from policies import cluster_agents
from ps_toolkit.registry import ALGORITHMS, algorithm_class, method_spec, policy_class

if TYPE_CHECKING:
    from ps_toolkit.training import TrainConfig

__all__ = [
    "BACKENDS",
    "MAX_SEED",
    "check_algo_kwargs",
    "check_method_kwargs",
    "check_cluster_kwargs",
    "check_config",
    "check_int",
    "check_output_dir",
]

MAX_SEED = 2**32 - 1
"""Largest seed numpy accepts."""

BACKENDS = ("sb3", "rllib")
"""Training backends: Stable-Baselines3, Ray RLlib (``ps-toolkit[rllib]``)."""

_SET_BY_TRAIN = ("policy", "env", "policy_kwargs", "seed", "device", "tensorboard_log", "_init_setup_model")


def check_int(name: str, value: Any, low: int, high: int | None = None) -> int:
    """``value`` if it is an integer in ``[low, high]``.

    Raises:
        TypeError: if it is not an integer (``bool`` included).
        ValueError: if it is out of range.
    """
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    if value < low or (high is not None and value > high):
        bound = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be {bound}, got {value}")
    return value


def _parameters(cls_or_fn: Any) -> set[str]:
    """Keyword parameters of a function, or of a class's constructor (up its MRO while an
    ``__init__`` passes ``**kwargs`` on)."""
    if not isinstance(cls_or_fn, type):
        return set(inspect.signature(cls_or_fn).parameters) - {"self"}
    names: set[str] = set()
    for cls in cls_or_fn.__mro__:
        init = vars(cls).get("__init__")
        if init is None:
            continue
        params = inspect.signature(init).parameters.values()
        names.update(p.name for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break
    return names - {"self"}


def check_algo_kwargs(algorithm: str, kwargs: dict[str, Any]) -> None:
    """Refuse hyperparameters the algorithm does not take, or that ``ps-train`` sets itself."""
    known = _parameters(algorithm_class(algorithm)) - set(_SET_BY_TRAIN)
    reserved = sorted(set(kwargs) & set(_SET_BY_TRAIN))
    if reserved:
        raise ValueError(f"--algo-kwargs: {reserved} are set by ps-train (use --seed, --method-kwargs, ...)")
    unknown = sorted(set(kwargs) - known)
    if unknown:
        raise ValueError(f"--algo-kwargs: {algorithm} takes no {unknown}; it takes {', '.join(sorted(known))}")


def check_method_kwargs(method: str, algorithm: str, kwargs: dict[str, Any]) -> None:
    """Refuse options the method's policy class for ``algorithm`` does not take (before any env is built)."""
    cls = policy_class(method, algorithm)
    known = _parameters(cls) - {"observation_space", "action_space", "lr_schedule"}
    unknown = sorted(set(kwargs) - known)
    if unknown:
        raise ValueError(
            f"--method-kwargs: {cls.__name__} ({method_spec(method).name} for {algorithm}) takes no {unknown}; "
            f"it takes {', '.join(sorted(known))}"
        )


def check_cluster_kwargs(kwargs: dict[str, Any]) -> None:
    """Refuse arguments ``policies.cluster_agents`` does not take."""
    known = _parameters(cluster_agents) - {"venv", "seed"}
    unknown = sorted(set(kwargs) - known)
    if unknown:
        raise ValueError(f"--cluster-kwargs: cluster_agents takes no {unknown}; it takes {', '.join(sorted(known))}")


def check_config(config: TrainConfig) -> None:
    """Check every field of a :class:`~ps_toolkit.training.TrainConfig` that can be checked without
    building the env (the env module itself is imported by ``make_env_fn``)."""
    if not isinstance(config.env, str) or not config.env:
        raise TypeError(f"env must be an integration name or a module path, got {config.env!r}")
    for name in ("env_kwargs", "method_kwargs", "algo_kwargs", "cluster_kwargs"):
        value = getattr(config, name)
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            raise TypeError(f"{name} must be a dict with string keys, got {value!r}")
    method_spec(config.method)
    if not isinstance(config.algorithm, str) or config.algorithm.lower() not in ALGORITHMS:
        raise ValueError(f"algorithm={config.algorithm!r} is not supported; use one of {', '.join(ALGORITHMS)}")
    check_int("steps", config.steps, 1)
    check_int("seed", config.seed, 0, MAX_SEED)
    check_int("n_envs", config.n_envs, 1)
    if not isinstance(config.normalize, bool):
        raise TypeError(f"normalize must be True or False, got {config.normalize!r}")
    if config.backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {config.backend!r}")
    check_int("num_env_runners", config.num_env_runners, 0)
    if config.backend == "sb3" and config.num_env_runners:
        raise ValueError(f"num_env_runners={config.num_env_runners} needs --backend rllib (SB3 runs in this process)")
    check_algo_kwargs(config.algorithm, config.algo_kwargs)
    check_method_kwargs(config.method, config.algorithm, config.method_kwargs)
    check_cluster_kwargs(config.cluster_kwargs)


def check_output_dir(path: Path, overwrite: bool = False) -> None:
    """Check that a run can be written to ``path`` (without creating anything).

    Raises:
        FileExistsError: if ``path`` is a file, or already holds a run and ``overwrite`` is False.
        PermissionError: if the directory (or the nearest existing parent) is not writable.
        NotADirectoryError: if a parent of ``path`` is a file.
    """
    if path.exists() and not path.is_dir():
        raise FileExistsError(f"--out {path} is an existing file; give a directory")
    if path.is_dir() and not overwrite and any((path / name).exists() for name in ("run.json", "model.zip")):
        raise FileExistsError(f"--out {path} already holds a run; pass --overwrite or another --out")
    parent = path
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise NotADirectoryError(f"--out {path}: {parent} is a file, not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise PermissionError(f"--out {path}: {parent} is not writable")
