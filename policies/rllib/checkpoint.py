"""``restore_algorithm``: ``Algorithm.from_checkpoint`` whose env runners surely act like the learner.

RLlib 2.60 syncs the restored weights to the remote env runners fire-and-forget, with at most one
request of a kind in flight per runner (``max_requests_in_flight_per_env_runner=1``): when the
runner is still busy with the weight sync of the algorithm's construction, the restored weights
are dropped and the runner samples its next batch with freshly initialised weights. Seen here on
a loaded 2-core machine; this function pushes the restored module state to every remote runner
and waits for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ray.rllib.algorithms.algorithm import Algorithm
from ray.rllib.core import COMPONENT_LEARNER, COMPONENT_RL_MODULE

__all__ = ["restore_algorithm", "sync_runner_weights"]


def sync_runner_weights(algo: Algorithm) -> None:
    """Copy the learner's module state to every remote env runner, waiting for each to apply it."""
    learners, runners = algo.learner_group, algo.env_runner_group
    if learners is None or runners is None:
        raise ValueError("sync_runner_weights: the algorithm has no learner group or env runner group")
    state = learners.get_state(components=f"{COMPONENT_LEARNER}/{COMPONENT_RL_MODULE}", inference_only=True)
    module_state = {COMPONENT_RL_MODULE: state[COMPONENT_LEARNER][COMPONENT_RL_MODULE]}  # no seq. number: forced

    def apply(runner: Any) -> None:
        runner.set_state(module_state)

    runners.foreach_env_runner(apply, local_env_runner=False)
    if algo.env_runner is not None:
        apply(algo.env_runner)


def restore_algorithm(path: str | Path) -> Any:
    """Restore an algorithm from ``algo.save(path)`` and sync its env runners' weights.

    The module classes are imported from their modules (e.g. ``policies.rllib.module``), so this
    works in any process that has ``ps-toolkit[rllib]`` installed.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
    """
    if not Path(path).exists():
        raise FileNotFoundError(f"restore_algorithm: no checkpoint at {path!s}; pass the directory given to algo.save()")
    algo = Algorithm.from_checkpoint(str(path))
    sync_runner_weights(algo)
    return algo
