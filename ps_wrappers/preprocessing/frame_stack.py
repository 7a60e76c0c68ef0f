"""``frame_stack``: each agent observes its last ``k`` frames, natively for Parallel and AEC.

What a stack holds: the observation the agent sees now, preceded by the observations it acted
on at its ``k - 1`` previous decisions (zeros, or copies of its first frame, before it has made
that many). So an agent's stack advances once per action it takes:

* Parallel: every live agent acts every step, so each step advances every live agent's stack.
* AEC: ``observe(agent)`` is the agent's history plus what it sees *now*, however often and
  whenever it is called; ``step`` commits the acting agent's current observation to its history.
  Turn-based games give each agent the positions it moved in; a parallelizable AEC env converted
  with ``aec_to_parallel`` gives exactly the stacks of its Parallel version (SuperSuit's
  ``frame_stack_v1`` lags such agents by one step: it stacks only at an agent's selection).
* An agent that terminates or is truncated emits its final stack and forgets its history; one
  that appears later (spawned, or revived under the same name) starts a fresh stack.

Emitted arrays are new every step and never touched again (SuperSuit returns one array per
agent and overwrites it in place at the next step).
"""

from __future__ import annotations

from collections import deque
from typing import Any, Literal, TypeVar

import numpy as np
from gymnasium import spaces
from pettingzoo.utils.env import AECEnv, ParallelEnv

from ps_wrappers.agent_indication import _channel_axis
from ps_wrappers.preprocessing.images import Channels, box_of, check_channels, check_positive_int
from ps_wrappers.transform import AECTransform, AgentTransform, ParallelTransform, check_env

__all__ = ["frame_stack", "FrameStacker", "ParallelFrameStack", "AECFrameStack"]

EnvT = TypeVar("EnvT", ParallelEnv, AECEnv)
Padding = Literal["zero", "reset"]


class FrameStacker:
    """Stacks frames of one Box space along one axis, oldest first.

    Rank 1 ``(d,)`` -> ``(k * d,)``; rank 2 ``(H, W)`` -> ``(H, W, k)`` (``channels="first"``:
    ``(k, H, W)``); rank 3 -> ``k * C`` channels on the channel axis (``(H, W, k*C)`` or
    ``(k*C, H, W)``).

    Args:
        agent: The agent (for error messages).
        space: Its observation space.
        k: Number of frames.
        channels: ``"auto"``, ``"last"`` or ``"first"`` (see :func:`frame_stack`).
        padding: ``"zero"`` or ``"reset"``.
    """

    def __init__(self, agent: Any, space: spaces.Space, k: int, channels: Channels, padding: Padding) -> None:
        if not isinstance(space, spaces.Box):
            raise NotImplementedError(
                f"frame_stack: the observation space of agent {agent!r} is {space}; only Box "
                "observations (vectors and images) can be stacked. Convert it to a Box first."
            )
        rank = len(space.shape)
        if rank not in (1, 2, 3):
            raise ValueError(
                f"frame_stack: the observation space of agent {agent!r} is {space} of rank {rank}; "
                "frame_stack stacks vectors (d,), images (H, W) and (H, W, C) / (C, H, W)."
            )
        self.k, self.dtype, self.padding = k, space.dtype, padding
        if rank == 2:  # a new channel axis
            self.axis = 0 if channels == "first" else 2
            self.frame_shape = (1, *space.shape) if self.axis == 0 else (*space.shape, 1)
        else:
            self.axis = 0 if rank == 1 else _channel_axis(space, channels)
            self.frame_shape = tuple(space.shape)
        low = space.low.reshape(self.frame_shape)
        high = space.high.reshape(self.frame_shape)
        if padding == "zero":  # older frames may be the zero padding
            old_low, old_high = np.minimum(low, 0), np.maximum(high, 0)
        else:
            old_low, old_high = low, high
        stacked_low = np.concatenate([old_low] * (k - 1) + [low], axis=self.axis)
        stacked_high = np.concatenate([old_high] * (k - 1) + [high], axis=self.axis)
        self.space = box_of(stacked_low, stacked_high, space.dtype)
        self._zeros = np.zeros(self.frame_shape, space.dtype)
        self._zeros.flags.writeable = False

    def frame(self, obs: Any) -> np.ndarray:
        """A private copy of one observation, shaped as a frame of the stack."""
        return np.array(obs, dtype=self.dtype, copy=True).reshape(self.frame_shape)

    def new_history(self, first: Any) -> deque[np.ndarray]:
        """The ``k - 1`` frames before an agent's first observation ``first``."""
        pad = self._zeros if self.padding == "zero" else self.frame(first)
        return deque([pad] * (self.k - 1), maxlen=max(self.k - 1, 0))

    def stack(self, history: deque[np.ndarray], current: Any) -> np.ndarray:
        """A new array: the history followed by ``current``."""
        now = np.asarray(current, dtype=self.dtype).reshape(self.frame_shape)
        if self.k == 1:
            return now.copy()
        return np.concatenate([*history, now], axis=self.axis)


def _stackers(env: Any, k: int, channels: Channels, padding: Padding) -> dict[Any, FrameStacker]:
    return {a: FrameStacker(a, env.observation_space(a), k, channels, padding) for a in env.possible_agents}


def _stacker_of(stackers: dict[Any, FrameStacker], agent: Any) -> FrameStacker:
    try:
        return stackers[agent]
    except KeyError:
        raise ValueError(
            f"frame_stack: agent {agent!r} is not in the environment's possible_agents "
            f"{list(stackers)}. Envs must declare every agent in possible_agents before reset."
        ) from None


class ParallelFrameStack(ParallelTransform):
    """:func:`frame_stack` on a ParallelEnv (build it with :func:`frame_stack`)."""

    def __init__(self, env: ParallelEnv, transform: AgentTransform, stackers: dict[Any, FrameStacker]) -> None:
        """Wrap ``env``; ``stackers`` has one :class:`FrameStacker` per possible agent."""
        super().__init__(env, transform)
        self.stackers = stackers
        self._history: dict[Any, deque[np.ndarray]] = {}

    def _push(self, obs: dict) -> dict:
        out = {}
        for agent, o in obs.items():
            st = _stacker_of(self.stackers, agent)
            frame = st.frame(o)
            hist = self._history.get(agent)
            if hist is None:
                hist = self._history[agent] = st.new_history(o)
            out[agent] = st.stack(hist, frame)
            hist.append(frame)  # the agent acts on this observation: it becomes history
        return out

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        """Reset the inner env; every agent starts a fresh stack."""
        obs, infos = self.env.reset(seed=seed, options=options)
        self._history.clear()
        return self._push(obs), infos

    def step(self, actions: dict) -> tuple[dict, dict, dict, dict, dict]:
        """Step the inner env and advance the stack of every agent that observes."""
        obs, rew, term, trunc, infos = self.env.step(actions)
        out = self._push(obs)
        for agent in obs:
            if term.get(agent, False) or trunc.get(agent, False):
                self._history.pop(agent, None)
        return out, rew, term, trunc, infos


class AECFrameStack(AECTransform):
    """:func:`frame_stack` on an AECEnv (build it with :func:`frame_stack`)."""

    def __init__(self, env: AECEnv, transform: AgentTransform, stackers: dict[Any, FrameStacker]) -> None:
        """Wrap ``env``; ``stackers`` has one :class:`FrameStacker` per possible agent."""
        super().__init__(env, transform)
        self.stackers = stackers
        self._history: dict[Any, deque[np.ndarray]] = {}
        # Inner observations since the last step or reset: AEC observations change only when the
        # env steps, and `last()` then `step()` would otherwise compute them twice.
        self._current: dict[Any, Any] = {}

    def reset(self, seed: int | None = None, options: dict | None = None) -> None:
        """Reset the inner env; every agent starts a fresh stack."""
        self.env.reset(seed=seed, options=options)
        self._history.clear()
        self._current.clear()

    def _inner_observe(self, agent: Any) -> Any:
        try:
            return self._current[agent]
        except KeyError:
            obs = self._current[agent] = self.env.observe(agent)
            return obs

    def observe(self, agent: Any) -> Any:
        """``agent``'s history followed by what it observes now (no side effect)."""
        obs = self._inner_observe(agent)
        if obs is None:
            return None
        st = _stacker_of(self.stackers, agent)
        hist = self._history.get(agent)
        if hist is None:
            hist = st.new_history(obs)
        return st.stack(hist, obs)

    def step(self, action: Any) -> None:
        """Commit the acting agent's current observation to its history, then step."""
        agent = self.env.agent_selection
        live = not (self.env.terminations.get(agent, False) or self.env.truncations.get(agent, False))
        if live and action is not None:
            obs = self._inner_observe(agent)
            if obs is not None:
                st = _stacker_of(self.stackers, agent)
                hist = self._history.get(agent)
                if hist is None:
                    hist = self._history[agent] = st.new_history(obs)
                hist.append(st.frame(obs))
        self._current.clear()
        self.env.step(action)
        if not live:
            self._history.pop(agent, None)


def frame_stack(
    env: EnvT, stack_size: int = 4, *, channels: Channels = "auto", padding: Padding = "zero"
) -> EnvT:
    """Each agent observes its last ``stack_size`` observations, stacked on the channel axis.

    Vectors ``(d,)`` become ``(k * d,)``; single-channel images ``(H, W)`` become ``(H, W, k)``
    (``(k, H, W)`` with ``channels="first"``); images with channels get ``k * C`` channels on
    their channel axis, which is where SB3's ``VecFrameStack`` and CNNs expect them. Oldest
    frame first, newest last. See :mod:`ps_wrappers.preprocessing.frame_stack` for what a stack
    holds when agents act in turns, die or spawn.

    Bounds: older frames may be zero padding, so their bounds include 0 (SuperSuit declares the
    raw bounds and emits zeros outside them when ``low > 0``); the newest frame keeps its own.

    Args:
        env: A PettingZoo ParallelEnv or AECEnv with Box observations (spaces may differ per agent).
        stack_size: Number of frames ``k`` (>= 1).
        channels: Channel axis: ``"auto"`` (as :func:`ps_wrappers.agent_indicator`), ``"last"``
            or ``"first"``; for rank-2 images, where the new frame axis goes.
        padding: Frames before an agent's first: ``"zero"`` (SB3's ``VecFrameStack``) or
            ``"reset"`` (copies of its first observation, like SuperSuit's ``frame_stack_v2``).

    Returns:
        The same kind of env with stacked observations.

    Raises:
        TypeError: if ``env`` is not a PettingZoo env or ``stack_size`` not an int.
        ValueError: for ``stack_size < 1``, unknown ``channels`` / ``padding``, or a Box of rank > 3.
        NotImplementedError: for an agent whose observation space is not a Box.

    Example:
        >>> from pettingzoo.butterfly import pistonball_v6
        >>> from ps_wrappers import color_reduction, resize
        >>> env = frame_stack(resize(color_reduction(pistonball_v6.parallel_env()), 84, 84), 4)
        >>> env.observation_space("piston_0")
        Box(0, 255, (84, 84, 4), uint8)
    """
    check_env(env, "frame_stack")
    k = check_positive_int("frame_stack", "stack_size", stack_size)
    check_channels("frame_stack", channels)
    if padding not in ("zero", "reset"):
        raise ValueError(f"frame_stack: padding must be 'zero' or 'reset', got {padding!r}")
    stackers = _stackers(env, k, channels, padding)
    agents = list(env.possible_agents)
    transform = AgentTransform(
        name="frame_stack",
        observation_spaces={a: stackers[a].space for a in agents},
        action_spaces={a: env.action_space(a) for a in agents},
        obs_fns=dict.fromkeys(agents),
        inner_observation_spaces={a: env.observation_space(a) for a in agents},
    )
    if isinstance(env, ParallelEnv):
        return ParallelFrameStack(env, transform, stackers)  # type: ignore[return-value]
    return AECFrameStack(env, transform, stackers)  # type: ignore[return-value]
