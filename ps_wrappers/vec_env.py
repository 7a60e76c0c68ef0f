"""``PettingZooVecEnv``: an SB3 VecEnv with one slot per (copy, agent), stepped in-process."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ps_wrappers.action_padding import InvalidActionMode
from ps_wrappers.base_vec_env import SlotVecEnv, call_env
from ps_wrappers.copy_runner import CopyRunner, reset_runners, step_runners
from ps_wrappers.slot_writer import SlotBuffers, SlotSpec

__all__ = ["PettingZooVecEnv"]


class PettingZooVecEnv(SlotVecEnv):
    """One SB3 slot per agent of each env copy; observations follow :mod:`ps_wrappers.layout`.

    Slot ``c * N + j`` is agent ``possible_agents[j]`` of copy ``c``. Build it with
    :func:`ps_wrappers.make_vec_env`. Per-agent episode statistics are in ``info["episode"]`` (so
    SB3's ``ep_info_buffer`` and logging work) and the team's in ``info["team_episode"]`` of each
    copy's first slot. ``get_attr`` / ``set_attr`` / ``env_method`` reach the PettingZoo env of a
    slot's copy; ``action_masks()`` returns the current valid-action masks (sb3-contrib's
    MaskablePPO uses it).
    """

    def __init__(self, runners: Sequence[CopyRunner], buffers: SlotBuffers, spec: SlotSpec, invalid_action: InvalidActionMode = "raise") -> None:
        """Use :func:`ps_wrappers.make_vec_env` instead of calling this directly."""
        self.runners = list(runners)
        super().__init__(spec, buffers, len(self.runners), invalid_action)

    def _reset_copies(self, seeds: list[int | None], options: list[dict]) -> list[dict]:
        return reset_runners(self.runners, seeds, options)

    def _step_copies(self, actions: np.ndarray) -> None:
        step_runners(self.runners, actions, self._rewards, self._dones, self._infos)

    def _call_copies(self, kind: str, name: Any, copies: list[int], args: Any = (), kwargs: dict | None = None) -> list[Any]:
        return [call_env(self.runners[c].env, kind, name, args, kwargs) for c in copies]

    def _close(self) -> None:
        for runner in self.runners:
            runner.env.close()
