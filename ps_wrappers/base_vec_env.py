"""``SlotVecEnv``: what the in-process and the subprocess vec envs share (SB3's ``VecEnv`` contract).

One SB3 slot per (copy, agent). The base owns the observation buffers, the action check, the
seeds, ``reset_infos``, ``action_masks()`` and the slot -> copy addressing of ``get_attr`` and
friends; a subclass says how copies are reset, stepped and reached (:meth:`_reset_copies`,
:meth:`_step_copies`, :meth:`_call_copies`, :meth:`_close`). The two vec envs are siblings over
this base, as SB3's ``DummyVecEnv`` and ``SubprocVecEnv`` are over ``VecEnv``.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
from stable_baselines3.common.vec_env.base_vec_env import (
    VecEnv,
    VecEnvIndices,
    VecEnvObs,
    VecEnvStepReturn,
)

from ps_wrappers.action_guard import ActionGuard
from ps_wrappers.action_padding import InvalidActionMode
from ps_wrappers.layout import AnyLayout
from ps_wrappers.slot_writer import SlotBuffers, SlotSpec

__all__ = ["SlotVecEnv", "call_env", "check_seed"]


def check_seed(seed: Any, owner: str) -> int | None:
    """``seed`` as an int (None passes), refusing non-integers and negative values."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{owner}: seed must be a non-negative integer or None, got {seed!r} ({type(seed).__name__})")
    if seed < 0:
        raise ValueError(f"{owner}: seed must be a non-negative integer (NumPy refuses negative seeds), got {seed}")
    return int(seed)


class SlotVecEnv(VecEnv):
    """Base of the parameter-sharing vec envs: one slot per agent of each copy.

    Slot ``c * N + j`` is agent ``possible_agents[j]`` of copy ``c``. Observations follow
    :mod:`ps_wrappers.layout` (flat rows, or image slots). Build it with
    :func:`ps_wrappers.make_vec_env`.
    """

    def __init__(self, spec: SlotSpec, buffers: SlotBuffers, n_copies: int, invalid_action: InvalidActionMode = "raise") -> None:
        """Use :func:`ps_wrappers.make_vec_env` instead of calling this directly."""
        self.spec = spec
        self.layout: AnyLayout = spec.layout
        self.n_agents = len(spec.agents)
        self.n_copies = n_copies
        n = n_copies * self.n_agents
        self._buffers = buffers
        self._rewards = np.zeros(n, dtype=np.float32)
        self._dones = np.zeros(n, dtype=bool)
        self._infos: list[dict] = [{} for _ in range(n)]
        self._actions: np.ndarray | None = None
        self._replaced: list[int] = []
        self.closed = False
        self.action_guard = ActionGuard(self.layout, invalid_action, n_copies, spec.action_offset)
        super().__init__(n, spec.observation_space, spec.action_space)

    @property
    def invalid_action_counts(self) -> dict[str, int]:
        """Agent name -> how many invalid actions were replaced (``invalid_action="random_valid"``)."""
        return dict(self.action_guard.counts)

    def _check_open(self, what: str) -> None:
        if self.closed:
            raise RuntimeError(
                f"{type(self).__name__}.{what}() after close(): the environments are closed. Build a new "
                "vec env with ps_wrappers.make_vec_env."
            )

    # --- the subclass's part -------------------------------------------------------------------------

    def _reset_copies(self, seeds: list[int | None], options: list[dict]) -> list[dict]:
        """Reset every copy (seeding those with a seed), writing the buffers; per-slot reset infos."""
        raise NotImplementedError

    def _step_copies(self, actions: np.ndarray) -> None:
        """Step every copy with its slots' env actions, filling buffers, rewards, dones and infos."""
        raise NotImplementedError

    def _call_copies(self, kind: str, name: Any, copies: list[int], args: Any = (), kwargs: dict | None = None) -> list[Any]:
        """``get``/``set``/``method``/``wrapped`` on the PettingZoo env of each copy (one result each)."""
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError

    # --- core ----------------------------------------------------------------------------------------

    def reset(self) -> VecEnvObs:
        """Reset every copy (with the seeds from :meth:`seed`, then fresh derived ones)."""
        self._check_open("reset")
        seeds = self._seeds[:: self.n_agents]
        options = self._options[:: self.n_agents]
        if seeds[0] is not None:
            self.action_guard.seed(seeds[0])
        self.reset_infos = self._reset_copies(seeds, options)
        self._reset_seeds()
        self._reset_options()
        return self._buffers.copy()

    def seed(self, seed: int | None = None) -> Sequence[int | None]:
        """Seed copy ``c`` with ``seed + c`` at the next reset; its auto-resets continue its RNG."""
        seed = check_seed(seed, f"{type(self).__name__}.seed")
        if seed is None:
            seed = int(np.random.randint(0, np.iinfo(np.uint32).max, dtype=np.uint32))
        self._seeds = [seed + i // self.n_agents for i in range(self.num_envs)]
        return self._seeds

    def step_async(self, actions: np.ndarray) -> None:
        """Check the actions against the current masks and keep the env actions for :meth:`step_wait`."""
        self._check_open("step")
        actions = np.asarray(actions)
        if len(actions) != self.num_envs:
            raise ValueError(
                f"{type(self).__name__}: got {len(actions)} actions for {self.num_envs} slots "
                f"({self.n_copies} copies x {self.n_agents} agents)"
            )
        buffers = self._buffers
        self._actions, self._replaced = self.action_guard.apply(buffers.masks, buffers.acting, actions)

    def step_wait(self) -> VecEnvStepReturn:
        """Step every copy; copies whose agents are all done reset themselves."""
        actions = self._actions
        if actions is None:
            raise RuntimeError(f"{type(self).__name__}.step_wait called without step_async")
        self._actions = None
        self._step_copies(actions)
        if self._dones.any():  # keep reset_infos current after auto-resets (SB3's DummyVecEnv does)
            for i in np.flatnonzero(self._dones).tolist():
                if "reset_info" in self._infos[i]:
                    self.reset_infos[i] = self._infos[i]["reset_info"]
        for i in self._replaced:
            self._infos[i] = {**self._infos[i], "invalid_action_replaced": True}
        return self._buffers.copy(), self._rewards.copy(), self._dones.copy(), list(self._infos)

    def action_masks(self) -> np.ndarray:
        """Boolean valid-action masks ``[num_envs, M]`` of the current observations."""
        if self.layout.n_actions == 0:
            raise AttributeError("action_masks: this vec env has continuous (Box) actions, which have no mask")
        return self._buffers.masks > 0

    def close(self) -> None:
        """Close every copy (idempotent)."""
        if self.closed:
            return
        self._close()
        self.closed = True

    # --- VecEnv plumbing -----------------------------------------------------------------------------

    def _slots(self, indices: VecEnvIndices) -> list[int]:
        if indices is None:
            return list(range(self.num_envs))
        if isinstance(indices, (int, np.integer)):
            return [int(indices)]
        return [int(i) for i in indices]

    def _copies(self, indices: VecEnvIndices) -> list[int]:
        return [i // self.n_agents for i in self._slots(indices)]

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        """Attribute of each slot's PettingZoo env (``action_masks`` gives the masks method)."""
        copies = self._copies(indices)
        if attr_name == "action_masks" and self.layout.n_actions:
            return [self.action_masks] * len(copies)
        return self._call_copies("get", attr_name, copies)

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        """Set an attribute on each addressed slot's PettingZoo env."""
        self._call_copies("set", attr_name, sorted(set(self._copies(indices))), value)

    def env_method(self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **method_kwargs: Any) -> list[Any]:
        """Call a method of each slot's PettingZoo env (``action_masks``: the slot's own mask)."""
        if method_name == "action_masks":
            masks = self.action_masks()
            return [masks[i] for i in self._slots(indices)]
        return self._call_copies("method", method_name, self._copies(indices), method_args, method_kwargs)

    def env_is_wrapped(self, wrapper_class: type, indices: VecEnvIndices = None) -> list[bool]:
        """Whether each slot's PettingZoo env has ``wrapper_class`` in its wrapper chain."""
        return self._call_copies("wrapped", wrapper_class, self._copies(indices))

    def get_images(self) -> Sequence[np.ndarray | None]:
        """``render()`` of each copy (one image per copy, not per slot)."""
        return self._call_copies("method", "render", list(range(self.n_copies)))


def call_env(env: Any, kind: str, name: Any, args: Any = (), kwargs: dict | None = None) -> Any:
    """One ``get``/``set``/``method``/``wrapped`` call on a copy's PettingZoo env."""
    if kind == "get":
        if name == "render_mode":  # optional in PettingZoo
            return getattr(env, name, None)
        return getattr(env, name)
    if kind == "set":
        setattr(env, name, args)
        return None
    if kind == "wrapped":
        return _is_wrapped(env, name)
    if kind == "method":
        return getattr(env, name)(*args, **(kwargs or {}))
    raise ValueError(f"unknown call kind {kind!r}")


def _is_wrapped(env: Any, cls: type) -> bool:
    while env is not None:
        if isinstance(env, cls):
            return True
        env = env.__dict__.get("env") or env.__dict__.get("aec_env")
    return False

