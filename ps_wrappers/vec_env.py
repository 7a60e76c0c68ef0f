"""``PettingZooVecEnv``: an SB3 VecEnv with one slot per (copy, agent), stepped in-process."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from gymnasium import spaces
from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices, VecEnvStepReturn

from ps_wrappers.action_guard import ActionGuard
from ps_wrappers.action_padding import InvalidActionMode
from ps_wrappers.copy_runner import CopyRunner
from ps_wrappers.layout import SlotBox, SlotLayout

__all__ = ["PettingZooVecEnv"]


class PettingZooVecEnv(VecEnv):
    """One SB3 slot per agent of each env copy; observations follow :mod:`ps_wrappers.layout`.

    Slot ``c * N + j`` is agent ``possible_agents[j]`` of copy ``c``. Build it with
    :func:`ps_wrappers.make_vec_env`. Per-agent episode statistics are in ``info["episode"]`` (so
    SB3's ``ep_info_buffer`` and logging work) and the team's in ``info["team_episode"]`` of each
    copy's first slot. ``get_attr`` / ``set_attr`` / ``env_method`` reach the PettingZoo env of a
    slot's copy; ``action_masks()`` returns the current valid-action masks (sb3-contrib's
    MaskablePPO uses it).
    """

    def __init__(
        self,
        runners: Sequence[CopyRunner],
        obs_buf: np.ndarray,
        observation_space: SlotBox,
        action_space: spaces.Space,
        invalid_action: InvalidActionMode = "raise",
    ) -> None:
        """Use :func:`ps_wrappers.make_vec_env` instead of calling this directly."""
        self.runners = list(runners)
        self.layout: SlotLayout = observation_space.layout
        self.n_agents = len(self.layout.agents)
        n = obs_buf.shape[0]
        self._obs = obs_buf
        self._rewards = np.zeros(n, dtype=np.float32)
        self._dones = np.zeros(n, dtype=bool)
        self._infos: list[dict] = [{} for _ in range(n)]
        self._actions: np.ndarray | None = None
        self.action_guard = ActionGuard(self.layout, invalid_action, n // self.n_agents)
        super().__init__(n, observation_space, action_space)

    @property
    def invalid_action_counts(self) -> dict[str, int]:
        """Agent name -> how many invalid actions were replaced (``invalid_action="random_valid"``)."""
        return dict(self.action_guard.counts)

    # --- core --------------------------------------------------------------------------------------

    def _copy_slice(self, c: int) -> slice:
        return slice(c * self.n_agents, (c + 1) * self.n_agents)

    def reset(self) -> np.ndarray:
        """Reset every copy (with the seeds from :meth:`seed`, then fresh derived ones)."""
        seeds = self._seeds[:: self.n_agents]
        options = self._options[:: self.n_agents]
        if seeds[0] is not None:
            self.action_guard.seed(seeds[0])
        self.reset_infos = reset_runners(self.runners, seeds, options)
        self._reset_seeds()
        self._reset_options()
        return self._obs.copy()

    def seed(self, seed: int | None = None) -> Sequence[int | None]:
        """Seed copy ``c`` with ``seed + c`` at the next reset; its auto-resets continue its RNG."""
        if seed is None:
            seed = int(np.random.randint(0, np.iinfo(np.uint32).max, dtype=np.uint32))
        self._seeds = [seed + i // self.n_agents for i in range(self.num_envs)]
        return self._seeds

    def step_async(self, actions: np.ndarray) -> None:
        """Store the actions for :meth:`step_wait`."""
        self._actions = actions

    def step_wait(self) -> VecEnvStepReturn:
        """Step every copy; copies whose agents are all done reset themselves."""
        actions = self._actions
        if actions is None:
            raise RuntimeError("PettingZooVecEnv.step_wait called without step_async")
        if len(actions) != self.num_envs:
            raise ValueError(
                f"PettingZooVecEnv: got {len(actions)} actions for {self.num_envs} slots "
                f"({len(self.runners)} copies x {self.n_agents} agents)"
            )
        actions, replaced = self.action_guard.check(self._obs, actions)
        step_runners(self.runners, actions, self._rewards, self._dones, self._infos)
        record_reset_infos(self.reset_infos, self._dones, self._infos)
        for i in replaced:
            self._infos[i] = {**self._infos[i], "invalid_action_replaced": True}
        self._actions = None
        return self._obs.copy(), self._rewards.copy(), self._dones.copy(), list(self._infos)

    def action_masks(self) -> np.ndarray:
        """Boolean valid-action masks ``[num_envs, M]`` of the current observations."""
        if self.layout.n_actions == 0:
            raise AttributeError(
                "action_masks: this vec env has continuous (Box) actions, which have no mask"
            )
        return self._obs[:, self.layout.mask_slice] > 0.5

    def close(self) -> None:
        """Close every copy."""
        for runner in self.runners:
            runner.env.close()

    # --- VecEnv plumbing ---------------------------------------------------------------------------

    def _runner_indices(self, indices: VecEnvIndices) -> list[int]:
        if indices is None:
            slots: Iterable[int] = range(self.num_envs)
        elif isinstance(indices, int):
            slots = [indices]
        else:
            slots = indices
        return [i // self.n_agents for i in slots]

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        """Attribute of each slot's PettingZoo env (``action_masks`` gives each slot's mask)."""
        if attr_name == "action_masks" and self.layout.n_actions:
            return [self.action_masks] * len(self._runner_indices(indices))
        if attr_name == "render_mode":  # optional in PettingZoo
            return [getattr(self.runners[c].env, attr_name, None) for c in self._runner_indices(indices)]
        return [getattr(self.runners[c].env, attr_name) for c in self._runner_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        """Set an attribute on each addressed slot's PettingZoo env."""
        for c in sorted(set(self._runner_indices(indices))):
            setattr(self.runners[c].env, attr_name, value)

    def env_method(self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **method_kwargs: Any) -> list[Any]:
        """Call a method of each slot's PettingZoo env (``action_masks``: the slot's own mask)."""
        if method_name == "action_masks":
            masks = self.action_masks()
            slots = range(self.num_envs) if indices is None else ([indices] if isinstance(indices, int) else indices)
            return [masks[i] for i in slots]
        return [
            getattr(self.runners[c].env, method_name)(*method_args, **method_kwargs)
            for c in self._runner_indices(indices)
        ]

    def env_is_wrapped(self, wrapper_class: type, indices: VecEnvIndices = None) -> list[bool]:
        """Whether each slot's PettingZoo env has ``wrapper_class`` in its wrapper chain."""
        out = []
        for c in self._runner_indices(indices):
            env, found = self.runners[c].env, False
            while env is not None and not found:
                found = isinstance(env, wrapper_class)
                env = env.__dict__.get("env") or env.__dict__.get("aec_env")
            out.append(found)
        return out

    def get_images(self) -> Sequence[np.ndarray | None]:
        """``render()`` of each copy (one image per copy, not per slot)."""
        return [runner.env.render() for runner in self.runners]


def reset_runners(runners: Sequence[CopyRunner], seeds: Sequence[int | None], options: Sequence[dict]) -> list[dict]:
    """Reset each runner (seeding it first when its seed is given); returns per-slot reset infos."""
    infos: list[dict] = []
    for runner, seed, opts in zip(runners, seeds, options):
        if seed is not None:
            runner.seed(seed)
        infos.extend(runner.reset(options=opts or None))
    return infos


def step_runners(runners: Sequence[CopyRunner], actions: np.ndarray, rewards: np.ndarray, dones: np.ndarray, infos: list[dict]) -> None:
    """Step each runner on its block of slots, writing rewards, dones and infos in place."""
    for c, runner in enumerate(runners):
        n = len(runner.agents)
        s = slice(c * n, (c + 1) * n)
        runner.step(actions[s], rewards[s], dones[s], _ListView(infos, s))


def record_reset_infos(reset_infos: list[dict], dones: np.ndarray, infos: Sequence[dict]) -> None:
    """Keep ``reset_infos`` current after auto-resets, as SB3's ``DummyVecEnv`` does.

    When a copy resets itself, its runner puts each slot's reset info in ``info["reset_info"]``
    (those slots are all done; a slot can also be done alone, when its agent leaves mid-episode).
    """
    for i in np.flatnonzero(dones).tolist():
        if "reset_info" in infos[i]:
            reset_infos[i] = infos[i]["reset_info"]


class _ListView:
    """A list slice that writes through to the underlying list."""

    __slots__ = ("_data", "_start", "_len")

    def __init__(self, data: list, s: slice) -> None:
        self._data, self._start, self._len = data, s.start, s.stop - s.start

    def __len__(self) -> int:
        return self._len

    def __getitem__(self, j: int) -> Any:
        return self._data[self._start + j]

    def __setitem__(self, j: int | slice, value: Any) -> None:
        if isinstance(j, slice):
            start, stop, _ = j.indices(self._len)
            self._data[self._start + start : self._start + stop] = value
        else:
            self._data[self._start + j] = value

