"""Observation padding (Terry et al. 2020, section 5 and appendix A.2.1).

An observation ``(w_1, ..., w_{o_i})`` of agent ``i`` becomes ``(w_1, ..., w_{o_i}, 0, ..., 0)`` of
size ``bar{o} = max_i o_i``, so one shared network can read every agent's observations.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pettingzoo.utils.env import AECEnv, ParallelEnv

from ps_wrappers.space_padding import SpacePaddingError, make_padder, make_unpadder, padded_space
from ps_wrappers.transform import AECTransform, AgentTransform, ParallelTransform, check_env, wrap

__all__ = ["pad_observations", "unpad_observation"]

EnvT = TypeVar("EnvT", ParallelEnv, AECEnv)


def pad_observations(env: EnvT) -> EnvT:
    """Zero-pad every agent's observations to the largest observation space.

    Supported spaces: Box of any rank (each axis padded to its largest size; images keep their
    layout), Discrete (the union range, honouring ``start``), MultiDiscrete, MultiBinary, and Dict
    or Tuple of those with the same keys for every agent. A Dict ``action_mask`` is padded with
    zeros, so padded actions stay invalid. Bounds are the element-wise union of the agents'
    bounds, with 0 included where a value is padding: every emitted observation is inside the
    declared space. Agents whose space already is the padded one pass through untouched.

    Args:
        env: A PettingZoo ParallelEnv or AECEnv.

    Returns:
        The same kind of env with padded observation spaces.

    Raises:
        TypeError: if ``env`` is not a PettingZoo env.
        ValueError: if the agents' observation spaces are of different types or ranks.
        NotImplementedError: for spaces that cannot be padded (e.g. Text).

    Example:
        >>> from mpe2 import simple_world_comm_v3
        >>> env = pad_observations(simple_world_comm_v3.parallel_env())
        >>> {env.observation_space(a).shape for a in env.possible_agents}
        {(34,)}
    """
    check_env(env, "pad_observations")
    agents = list(env.possible_agents)
    src = {a: env.observation_space(a) for a in agents}
    try:
        dst_space = padded_space(agents, [src[a] for a in agents], "observation")
    except (SpacePaddingError, NotImplementedError) as err:
        raise type(err)(f"pad_observations: {err}") from None
    transform = AgentTransform(
        name="pad_observations",
        observation_spaces={a: dst_space for a in agents},
        action_spaces={a: env.action_space(a) for a in agents},
        obs_fns={a: make_padder(src[a], dst_space) for a in agents},
    )
    transform.inner_observation_spaces = src
    return wrap(env, transform)


def unpad_observation(env: Any, agent: Any, observation: Any) -> Any:
    """Recover ``agent``'s original observation from a padded one.

    Args:
        env: An env returned by :func:`pad_observations`.
        agent: The agent whose observation it is.
        observation: A padded observation of that agent.

    Raises:
        TypeError: if ``env`` was not made by :func:`pad_observations`.
        ValueError: if ``agent`` is not one of the env's ``possible_agents``.
    """
    if not isinstance(env, (ParallelTransform, AECTransform)) or env.transform.name != "pad_observations":
        raise TypeError(
            f"unpad_observation needs the env returned by pad_observations itself, got {env}. "
            "Keep a reference to the pad_observations env (not one wrapped further, e.g. by "
            "pad_actions or agent_indicator) and pass that."
        )
    if agent not in env.transform.inner_observation_spaces:
        raise ValueError(
            f"unpad_observation: agent {agent!r} is not in the environment's possible_agents "
            f"{list(env.transform.inner_observation_spaces)}"
        )
    src = env.transform.inner_observation_spaces[agent]
    return make_unpadder(src, env.observation_space(agent))(observation)
