"""A run directory: what ``ps-train train`` writes and what ``ps-train evaluate`` reads back.

``save_run`` writes::

    run.json          config, result and cluster map (JSON)
    policy/           the trained policy as data: policy.json + weights.npz (policies.export_policy)
    normalizer.npz    SlotVecNormalize statistics as data (runs trained with normalize=True)
    model.zip         SB3's own format, to resume training: it unpickles, so it is code
    rllib_checkpoint/ instead of model.zip for --backend rllib: RLlib's format (pickled: code)

:func:`load_run` reads only the data files: it never opens ``model.zip`` or any pickle, and
never imports a module because ``run.json`` names it (:func:`ps_toolkit.registry.trusted_env_fn`).
:func:`load_model` loads ``model.zip`` with SB3, for files you trust.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.policies import BasePolicy

import ps_wrappers
from policies import ClusterResult, export_policy, load_exported_policy
from ps_toolkit.registry import algorithm_class, trusted_env_fn
from ps_toolkit.training import Run, TrainConfig
from ps_toolkit.validation import check_config

__all__ = [
    "MODEL_FILE",
    "NORMALIZER_FILE",
    "POLICY_DIR",
    "RUN_FILE",
    "RUN_FORMAT",
    "LoadedRun",
    "load_model",
    "load_normalizer",
    "load_run",
    "read_config",
    "save_run",
]

RUN_FILE = "run.json"
MODEL_FILE = "model.zip"
POLICY_DIR = "policy"
NORMALIZER_FILE = "normalizer.npz"
RUN_FORMAT = "ps-toolkit.run/1"
"""``format`` entry of ``run.json``."""
_PICKLE_FILE = "vecnormalize.pkl"  # written by ps-toolkit 0.1; never read


@dataclass
class LoadedRun:
    """A run read back from its data files, ready to evaluate."""

    config: TrainConfig
    policy: BasePolicy
    """The trained policy (``policies.load_exported_policy``), in evaluation mode."""
    env_fn: Any
    """Zero-argument factory of the env the run was trained on."""
    normalizer: ps_wrappers.SlotVecNormalize | None
    """Frozen observation normaliser (runs trained with ``normalize=True``), else ``None``."""


def save_run(run: Run, directory: str | Path) -> Path:
    """Write ``run`` to ``directory`` (see the module docstring for the files)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    normalizer = None
    if run.config.backend == "rllib":
        from ps_toolkit.rllib_backend import save_rllib_checkpoint

        save_rllib_checkpoint(run, directory)
        export_policy(run.model.policy, directory / POLICY_DIR)
    else:
        run.model.save(directory / MODEL_FILE)
        export_policy(run.model, directory / POLICY_DIR)
        normalizer = run.model.get_vec_normalize_env()
    if normalizer is not None:
        if not isinstance(normalizer, ps_wrappers.SlotVecNormalize):
            raise TypeError(f"save_run: the model's normaliser must be a SlotVecNormalize, got {type(normalizer).__name__}")
        normalizer.save_statistics(directory / NORMALIZER_FILE)
    meta = {
        "format": RUN_FORMAT,
        "config": asdict(run.config),
        "result": asdict(run.result),
        "budget": None if run.budget is None else run.budget.describe(),
        "clusters": None if run.clusters is None else list(run.clusters.cluster_of_agent),
    }
    (directory / RUN_FILE).write_text(json.dumps(meta, indent=1, default=_jsonable) + "\n")
    return directory


def read_config(directory: str | Path) -> TrainConfig:
    """The :class:`TrainConfig` of a run directory, read from ``run.json`` (JSON only) and checked.

    Raises:
        FileNotFoundError: if ``directory`` holds no ``run.json``.
        ValueError: if ``run.json`` is not a run written by :func:`save_run`.
    """
    path = Path(directory) / RUN_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{str(directory)!r} has no {RUN_FILE}; pass the output directory of 'ps-train train'")
    try:
        meta = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{str(path)!r} is not JSON ({error})") from None
    config = meta.get("config") if isinstance(meta, dict) else None
    known = {f.name for f in fields(TrainConfig)}
    if not isinstance(config, dict) or not set(config) <= known:
        extra = sorted(set(config) - known) if isinstance(config, dict) else []
        raise ValueError(f"{str(path)!r} is not a run written by ps-train (config {'has unknown ' + str(extra) if extra else 'missing'})")
    result = TrainConfig(**config)
    try:
        check_config(result)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{str(path)!r}: {error}") from None
    return result


def load_normalizer(directory: str | Path, config: TrainConfig, env_fn: Any) -> ps_wrappers.SlotVecNormalize | None:
    """The frozen normaliser of a run trained with ``normalize=True`` (else ``None``), read as data.

    Raises:
        FileNotFoundError: if the run was trained with ``normalize=True`` but has no ``normalizer.npz``
            (a run of ps-toolkit 0.1 has ``vecnormalize.pkl``, a pickle, which is never opened).
    """
    if not config.normalize:
        return None
    path = Path(directory) / NORMALIZER_FILE
    if not path.is_file():
        old = " (its vecnormalize.pkl is a pickle and is never opened)" if (Path(directory) / _PICKLE_FILE).exists() else ""
        raise FileNotFoundError(f"{str(directory)!r} was trained with normalize=True but has no {NORMALIZER_FILE}{old}")
    venv = ps_wrappers.make_vec_env(env_fn, n_envs=1, seed=config.seed)
    normalizer = ps_wrappers.SlotVecNormalize.load_statistics(path, venv)
    normalizer.training = False
    normalizer.norm_reward = False
    return normalizer


def load_run(directory: str | Path, env: str | None = None) -> LoadedRun:
    """Read a run directory for evaluation from its data files only.

    Args:
        directory: Output directory of ``ps-train train`` (:func:`save_run`).
        env: The env module the user names (``ps-train evaluate --env``). Needed when the run was
            trained on a module that is not a bundled integration: a module named only by
            ``run.json`` is never imported.

    Raises:
        FileNotFoundError: if a file of the run is missing.
        ValueError: if a file is malformed, or the env is a module the user did not name.
    """
    directory = Path(directory)
    config = read_config(directory)
    env_fn = trusted_env_fn(config.env, config.env_kwargs, env)
    if not (directory / POLICY_DIR).is_dir():
        raise FileNotFoundError(
            f"{str(directory)!r} has no {POLICY_DIR}/ (the data-only policy). Its {MODEL_FILE} is SB3's pickled "
            "format, which ps-train never loads; if you trust it, export it with "
            "policies.export_policy(<Algo>.load(path), directory + '/policy')"
        )
    policy = load_exported_policy(directory / POLICY_DIR)
    return LoadedRun(config, policy, env_fn, load_normalizer(directory, config, env_fn))


def load_model(directory: str | Path) -> BaseAlgorithm:
    """Load ``model.zip`` of a run with SB3 (to resume training, say).

    SB3's format unpickles Python objects, so loading a model file runs code from it: call this
    only for files you trust (your own runs). To act with a run from elsewhere use :func:`load_run`.

    Raises:
        FileNotFoundError: if the run has no ``model.zip``.
    """
    config = read_config(directory)
    path = Path(directory) / MODEL_FILE
    if config.backend == "rllib":
        raise FileNotFoundError(
            f"{str(directory)!r} was trained with --backend rllib and has no {MODEL_FILE}; restore its RLlib "
            "checkpoint (a pickle: trusted files only) with policies.rllib.restore_algorithm(directory + '/rllib_checkpoint')"
        )
    if not path.is_file():
        raise FileNotFoundError(f"{str(directory)!r} has no {MODEL_FILE}")
    return algorithm_class(config.algorithm).load(path, device="cpu")


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, ClusterResult):
        return list(value.cluster_of_agent)
    return str(value)
