"""An RLlib-trained sharing module as the SB3 policy it mirrors: evaluate and export it as data.

A :class:`~policies.rllib.SharingRLModule` is built from a PPO policy class of :mod:`policies.ppo`
and its kwargs, by the same method object, so its trained weights *are* that policy's weights
under other names. :func:`module_policy` builds the SB3 policy on the observation space
:func:`ps_wrappers.make_vec_env` gives the env and loads the module's state into it (every key
accounted for: ``strict=True``). The result is an ordinary policy of this package:
:class:`ps_wrappers.SharedPolicy`, :func:`ps_wrappers.evaluate` and :func:`policies.export_policy`
(data only, no pickle) take it, and ``ps-train evaluate`` reads the export of an RLlib run as it
reads an SB3 run's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from ray.rllib.algorithms.algorithm import Algorithm
from ray.rllib.core import COMPONENT_LEARNER, COMPONENT_RL_MODULE

from policies.methods.learned import REGULARIZER_ATTRIBUTE
from policies.methods.pruned import PrunedMask
from policies.ppo import SharingActorCriticPolicy
from policies.rllib.module import SharingRLModule
from ps_wrappers.construction import describe, make_env, prepare_env
from ps_wrappers.rllib.options import EnvFn

__all__ = ["module_policy", "sb3_key_map"]

_PREFIXES = (
    ("mlp_extractor.policy_net.", "pi."),
    ("mlp_extractor.value_net.", "vf."),
    ("mlp_extractor.log_std.", "log_std."),
    ("features_extractor.trunk.", "trunk."),
    ("pi_features_extractor.trunk.", "trunk."),
    ("sparse_topology.", "sparse_topology."),
    ("learned_masks.", "learned_masks."),
)


def sb3_key_map(policy_keys: list[str], share_trunk: bool) -> dict[str, str]:
    """SB3 state-dict key -> module state-dict key (``log_std`` -> row 0 of ``log_std.log_std``).

    Raises:
        KeyError: for an SB3 key this mapping does not know (a policy it was not written for).
    """
    vf_trunk = ("vf_features_extractor.trunk.", "trunk." if share_trunk else "vf_trunk.")
    out = {}
    for key in policy_keys:
        if key == "log_std":
            out[key] = "log_std.log_std"
            continue
        for sb3, ours in (*_PREFIXES, vf_trunk):
            if key.startswith(sb3):
                out[key] = ours + key[len(sb3) :]
                break
        else:
            raise KeyError(f"module_policy: no module entry for the SB3 policy's state key {key!r}")
    return out


def _source(source: Any, module_id: str) -> tuple[SharingRLModule, dict[str, Any]]:
    """The module (for its config) and its full training state (critic included)."""
    if isinstance(source, Algorithm):
        module = source.get_module(module_id)
        path = f"{COMPONENT_LEARNER}/{COMPONENT_RL_MODULE}/{module_id}"
        if source.learner_group is None:
            raise ValueError("module_policy: this algorithm has no learner group (restored for inference only?); pass a learner-side module")
        state = source.learner_group.get_state(components=path)[COMPONENT_LEARNER][COMPONENT_RL_MODULE][module_id]
    else:
        module, state = source, source.state_dict()
        if module.inference_only:
            raise ValueError(
                "module_policy: this module was built inference-only (an env runner's: no critic); pass the "
                "algorithm, or the learner's module (algo.learner_group._learner.module[module_id])"
            )
    if not isinstance(module, SharingRLModule):
        raise TypeError(f"module_policy: module {module_id!r} is a {type(module).__name__}, not a SharingRLModule")
    return module, state


def _constant(_: float) -> float:
    return 0.0


def module_policy(source: Algorithm | SharingRLModule, env_fn: EnvFn, *, module_id: str = "shared", pad: bool = True) -> SharingActorCriticPolicy:
    """The SB3 policy (its :mod:`policies.ppo` class) holding an RLlib sharing module's weights.

    Args:
        source: The algorithm (its learner's state is used) or a learner-side module.
        env_fn: The env the module was trained on; the policy gets the observation and action
            spaces ``ps_wrappers.make_vec_env(env_fn)`` gives it.
        module_id: The shared module's id.
        pad: As given to ``to_rllib``.

    Returns:
        The policy, in evaluation mode, acting as the module does.

    Raises:
        TypeError: if the module is not a :class:`SharingRLModule`.
        ValueError: if the env does not fit the module, or the states do not match.
    """
    module, state = _source(source, module_id)
    env = make_env(env_fn, first=True)
    own = {a: env.observation_space(a) for a in env.possible_agents}
    own_act = {a: env.action_space(a) for a in env.possible_agents}
    prepared, _ = prepare_env(env, pad=pad)
    spec = describe(prepared, True, "auto" if module.layout.is_image else "flatten", own, own_act)
    env.close()
    if tuple(spec.layout.agents) != tuple(module.layout.agents):
        raise ValueError(f"module_policy: the env's agents {list(spec.layout.agents)} are not the module's {list(module.layout.agents)}")
    config = module._config
    kwargs = dict(config.kwargs)
    if isinstance(module.method, PrunedMask):
        kwargs.setdefault("mask_seed", module.method.mask_seed)
    with torch.random.fork_rng(devices=[]):
        policy: SharingActorCriticPolicy = config.policy(spec.observation_space, spec.action_space, _constant, **kwargs)
    own_state = policy.state_dict()
    # The algorithm's module may be an env runner's (inference-only: no critic); the learner's state tells.
    mapping = sb3_key_map(list(own_state), not any(k.startswith("vf_trunk.") for k in state))
    loaded = {}
    for key, ours in mapping.items():
        if ours not in state and key.startswith(f"{REGULARIZER_ATTRIBUTE}."):
            loaded[key] = own_state[key]  # a module built outside a learner: no training schedule yet
            continue
        if ours not in state:
            raise ValueError(f"module_policy: the module's state has no {ours!r} (for the SB3 policy's {key!r})")
        value = torch.as_tensor(np.asarray(state[ours]))
        loaded[key] = value[0] if key == "log_std" else value
    policy.load_state_dict(loaded, strict=True)
    policy.set_training_mode(False)
    return policy
