"""Names for the command line and the benchmark suite: sharing methods, algorithms and envs.

Example:
    >>> from ps_toolkit.registry import make_env_fn, method_spec
    >>> env_fn = make_env_fn("bps", {"group_sizes": (2, 2, 2)})
    >>> sorted(env_fn().possible_agents)[:2]
    ['group0_0', 'group0_1']
    >>> method_spec("snp-ps").name
    'SNP-PS'
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gymnasium import spaces
from sb3_contrib import TRPO, RecurrentPPO
from stable_baselines3 import A2C, DDPG, PPO, TD3
from stable_baselines3.common.base_class import BaseAlgorithm

from policies import (
    MASTDQN,
    FullSharingPolicy,
    FullSharingQPolicy,
    LearnedMaskPolicy,
    LearnedMaskQPolicy,
    MaskedDQN,
    PrunedMaskPolicy,
    PrunedMaskQPolicy,
    SelectiveSharingPolicy,
    SelectiveSharingQPolicy,
    SparseEvolvedPolicy,
    SparseEvolvedQPolicy,
)
from policies.dqn import MaskedQRDQN
from policies.sac import MaskedSAC

__all__ = [
    "ACTION_SPACES",
    "ALGORITHMS",
    "FAMILIES",
    "INTEGRATIONS",
    "METHODS",
    "MethodSpec",
    "algorithm_class",
    "check_action_space",
    "make_env_fn",
    "method_spec",
    "policy_class",
    "trusted_env_fn",
]


@dataclass(frozen=True)
class MethodSpec:
    """A sharing method: its policy classes, fixed options and whether it needs clustering."""

    name: str
    """Display name (as in the papers)."""
    actor_critic: type
    """Policy class for PPO and A2C."""
    q: type
    """Policy class for the DQN variants."""
    kwargs: dict[str, Any] = field(default_factory=dict)
    """Policy kwargs that define the method (user options are merged on top)."""
    identity_clusters: bool = False
    """Pass ``clusters=policies.cluster_agents(venv)`` (SePS section 3.1) unless given."""
    description: str = ""
    """One line for ``--help``."""


METHODS: dict[str, MethodSpec] = {
    spec.name.lower(): spec
    for spec in (
        MethodSpec("NoPS", SelectiveSharingPolicy, SelectiveSharingQPolicy, {"clusters": "agent"},
                   description="one separate network per agent (no sharing, the reference)"),
        MethodSpec("FuPS", FullSharingPolicy, FullSharingQPolicy,
                   description="one network, agent not observed"),
        MethodSpec("FuPS+id", FullSharingPolicy, FullSharingQPolicy, {"agent_id": True},
                   description="one network, one-hot agent id appended to the input"),
        MethodSpec("SePS", SelectiveSharingPolicy, SelectiveSharingQPolicy, identity_clusters=True,
                   description="one network per cluster of agents (identity VAE + k-means)"),
        MethodSpec("SNP-PS", PrunedMaskPolicy, PrunedMaskQPolicy,
                   description="one network, fixed random neuron mask per agent"),
        MethodSpec("AdaPS", PrunedMaskPolicy, PrunedMaskQPolicy, {"method": "adaps"}, identity_clusters=True,
                   description="one network, neuron mask per identity cluster"),
        MethodSpec("Sparse+id", SparseEvolvedPolicy, SparseEvolvedQPolicy, {"agent_id": True},
                   description="FuPS+id with 90%-sparse RigL-evolved weights (MAST)"),
        MethodSpec("Kaleidoscope", LearnedMaskPolicy, LearnedMaskQPolicy,
                   description="one network, learned weight mask per agent, diversity term and reset"),
    )
}
"""Lower-case method name -> :class:`MethodSpec`."""

ALGORITHMS: dict[str, type[BaseAlgorithm]] = {
    "ppo": PPO,
    "a2c": A2C,
    "trpo": TRPO,
    "recurrent-ppo": RecurrentPPO,
    "dqn": MaskedDQN,
    "mast-dqn": MASTDQN,
    "qrdqn": MaskedQRDQN,
    "sac": MaskedSAC,
    "td3": TD3,
    "ddpg": DDPG,
}
"""Algorithm name -> SB3 / sb3-contrib algorithm class (DQN variants mask their exploration, SAC its
entropy target per agent)."""

FAMILIES: dict[str, str] = {
    "ppo": "policies.ppo",
    "a2c": "policies.ppo",
    "trpo": "policies.ppo",
    "recurrent-ppo": "policies.recurrent",
    "dqn": "policies.dqn",
    "mast-dqn": "policies.dqn",
    "qrdqn": "policies.dqn.qrdqn",
    "sac": "policies.sac",
    "td3": "policies.td3",
    "ddpg": "policies.td3",
}
"""Algorithm name -> the module of its policy family; each names a method's class alike
(``FullSharingPolicy``, ``SelectiveSharingPolicy``, ``PrunedMaskPolicy``, ...)."""

ACTION_SPACES: dict[str, tuple[type[spaces.Space], ...]] = {
    "dqn": (spaces.Discrete,),
    "mast-dqn": (spaces.Discrete,),
    "qrdqn": (spaces.Discrete,),
    "sac": (spaces.Box,),
    "td3": (spaces.Box,),
    "ddpg": (spaces.Box,),
}
"""The action spaces of the algorithms that take only some (the others take every space SB3 does)."""

INTEGRATIONS = ("bps", "lbforaging", "crware", "rware", "smac")
"""Short env names resolved to ``integrations.<name>.parallel_env``."""


def method_spec(name: str) -> MethodSpec:
    """The :class:`MethodSpec` of a method name (case-insensitive).

    Raises:
        ValueError: for an unknown name.
    """
    try:
        return METHODS[name.lower()]
    except KeyError:
        known = ", ".join(spec.name for spec in METHODS.values())
        raise ValueError(f"method={name!r} is not a sharing method; use one of {known}") from None


def algorithm_class(name: str) -> type[BaseAlgorithm]:
    """The SB3 algorithm class of ``name`` (a key of :data:`ALGORITHMS`, case-insensitive).

    Raises:
        ValueError: for an unknown name.
    """
    try:
        return ALGORITHMS[name.lower()]
    except KeyError:
        raise ValueError(f"algorithm={name!r} is not supported; use one of {', '.join(ALGORITHMS)}") from None


def policy_class(method: str, algorithm: str) -> type:
    """The policy class that implements ``method`` for ``algorithm``: the class of the same name
    in the algorithm's family module (:data:`FAMILIES`)."""
    spec = method_spec(method)
    algorithm_class(algorithm)  # refuses an unknown name
    family = importlib.import_module(FAMILIES[algorithm.lower()])
    return getattr(family, spec.actor_critic.__name__)


def check_action_space(algorithm: str, action_space: spaces.Space, env: str) -> None:
    """Refuse an env whose (padded) action space the algorithm cannot train.

    Raises:
        ValueError: naming the algorithm, the space and the algorithms that take it.
    """
    allowed = ACTION_SPACES.get(algorithm.lower())
    if allowed is None or isinstance(action_space, allowed):
        return
    takes = [name for name in ALGORITHMS if name not in ACTION_SPACES or isinstance(action_space, ACTION_SPACES[name])]
    raise ValueError(
        f"--algo {algorithm} trains only {' or '.join(c.__name__ for c in allowed)} actions, but {env} has "
        f"{action_space} (the agents' action spaces, padded); use --algo {' / '.join(takes)}"
    )


def make_env_fn(env: str, env_kwargs: dict[str, Any] | None = None) -> Callable[[], Any]:
    """A picklable zero-argument callable that builds the PettingZoo env ``env``.

    Imports the module ``env`` names: call it only with a name the user gave (see
    :func:`trusted_env_fn` for names read from a file).

    Args:
        env: One of :data:`INTEGRATIONS` or a module path with a ``parallel_env`` function
            (``"mpe2.simple_world_comm_v3"``) or, for AEC-only modules such as PettingZoo's
            classic games, an ``env`` function (``"pettingzoo.classic.connect_four_v3"``).
            ``parallel_env`` is used when the module has both.
        env_kwargs: Keyword arguments of that function.

    Raises:
        ValueError: if the module cannot be imported or has neither ``parallel_env`` nor ``env``.
    """
    path = f"integrations.{env}" if env in INTEGRATIONS else env
    try:
        module = importlib.import_module(path)
    except ImportError as error:
        raise ValueError(
            f"env={env!r}: cannot import module {path!r} ({error}); use one of {', '.join(INTEGRATIONS)} "
            f"or a PettingZoo module path such as 'mpe2.simple_spread_v3'"
        ) from error
    for name in ("parallel_env", "env"):
        factory = getattr(module, name, None)
        if callable(factory):
            return functools.partial(factory, **(env_kwargs or {}))
    raise ValueError(
        f"env={env!r}: module {path!r} has neither parallel_env() nor env(); give a PettingZoo env module "
        "such as 'mpe2.simple_spread_v3' or 'pettingzoo.classic.connect_four_v3'"
    )


def trusted_env_fn(saved_env: str, env_kwargs: dict[str, Any] | None, given_env: str | None) -> Callable[[], Any]:
    """The env factory of a saved run, importing only what the user named.

    A run's ``run.json`` may come from anyone, and importing a module runs its code. An env saved
    as one of :data:`INTEGRATIONS` is rebuilt from this package; any other module is imported only
    when the user names it again (``given_env``, e.g. ``ps-train evaluate --env MODULE``).

    Args:
        saved_env: The env name read from the run.
        env_kwargs: Its keyword arguments (data).
        given_env: The env the user passed on the command line, or ``None``.

    Raises:
        ValueError: if the saved env is a module the user did not name, or ``given_env`` names
            another env than the run was trained on.
    """
    if not isinstance(saved_env, str):
        raise ValueError(f"the run's env must be a name, got {saved_env!r}")
    if given_env is not None and given_env != saved_env:
        raise ValueError(
            f"--env {given_env} differs from the env the run was trained on ({saved_env}); pass --env {saved_env}"
        )
    if saved_env not in INTEGRATIONS and given_env is None:
        raise ValueError(
            f"the run was trained on the module {saved_env!r}, which is not a bundled integration; "
            f"ps-train imports only modules you name, so if you trust it pass --env {saved_env}"
        )
    return make_env_fn(saved_env, env_kwargs)
