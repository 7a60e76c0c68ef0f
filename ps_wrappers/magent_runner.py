"""``MagentRunner``: MAgent2's parallel envs stepped team by team, images taken as one array per team.

MAgent2 (``battle_v4``, ``adversarial_pursuit_v4``, ``gather_v5``, ``tiger_deer_v4``, ...) keeps a
team's observations in one C-filled array ``[n, H, W, C]``. Its PettingZoo ``step`` copies that
array, splits it into one dict entry per agent, builds reward, termination and truncation dicts
over every agent, and :class:`~ps_wrappers.parallel_runner.ParallelRunner` then gathers the entries
back into one array. With a few hundred agents that round trip costs more than the engine's step
(docs/benchmarks.md, "MAgent2"). This runner does the same step on the engine directly:

1. each team's actions go to ``set_action`` as one ``int32`` array, indexed by the engine's agent
   ids (a global id is the agent's index in ``possible_agents``, which is its slot);
2. the engine steps; the frame counter and truncation follow the env's own rule
   (``frames >= max_cycles``);
3. on a step where nobody dies and the episode goes on (the common step), each team's image array
   is bounds-checked and written channels-first into its slots in one copy, and its reward array
   into the reward slots; no per-agent dict is built;
4. on any other step (an agent died, the game or the time limit ended) the runner finishes the
   step with the env's own helpers, exactly as ``step`` would, and hands the five dicts to
   :meth:`ParallelRunner.finish_step`, which does the episode bookkeeping of every env.

It also corrects a MAgent2 0.3.4 defect that sends every team the first team's actions on the
first step of each episode (:func:`fix_team_sizes`). A test steps this runner and
``ParallelRunner`` (on the env with that one correction) side by side with the same actions through deaths,
truncation and auto-resets and compares every observation, reward, done and info. The fast path
is taken only where it is that exact equivalent: the env is a MAgent2 parallel env of the shape
checked by :func:`accepts` (no minimap or extra features, no ``"human"`` rendering, homogeneous
image slots, no action offset); anything else uses :class:`ParallelRunner`.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from ps_wrappers.parallel_runner import ParallelRunner
from ps_wrappers.slot_writer import SlotSpec

__all__ = ["MagentRunner", "accepts", "fix_team_sizes"]

_HELPERS = ("env", "handles", "frames", "max_cycles", "_compute_terminates", "_compute_observations", "_compute_rewards")


def accepts(env: Any, spec: SlotSpec) -> bool:
    """Whether ``env`` (as the vec env will step it) can use :class:`MagentRunner`."""
    module = sys.modules.get("magent2.environments.magent_env")  # never imports MAgent2 itself
    base = getattr(module, "magent_parallel_env", None)
    if base is None or not isinstance(env, base) or not all(hasattr(env, h) for h in _HELPERS):
        return False
    if getattr(env, "minimap_mode", True) or getattr(env, "extra_features", True) or getattr(env, "render_mode", None) == "human":
        return False
    image = spec.image
    if image is None or image.key is not None or not image.channels_last or spec.low is not None:
        return False
    if spec.action_offset is not None or spec.obs_masks:
        return False
    game = env.env
    return all(tuple(game.get_view_space(h)) == tuple(image.space.shape) for h in env.handles)


def fix_team_sizes(env: Any) -> None:
    """Set ``env.team_sizes`` to the engine's team sizes after a reset.

    MAgent2 0.3.4's ``reset`` counts the teams before ``generate_map`` places the agents, so its
    ``team_sizes`` are all 0 until the first step's termination check. Its ``step`` slices the
    action array by those sizes, so on the first step of every episode each team's ``set_action``
    gets an empty slice whose data pointer is the start of the array: every team is sent the
    first team's actions. :class:`MagentRunner` routes actions by the engine's agent ids (so it
    never depends on ``team_sizes``) and corrects the sizes too, for anything else that reads them.
    """
    env.team_sizes = [env.env.get_num(h) for h in env.handles]


class MagentRunner(ParallelRunner):
    """:class:`ParallelRunner` whose common step reads MAgent2's team arrays (see the module doc)."""

    def reset(self, options: dict | None = None) -> list[dict]:
        """Reset, then correct MAgent2's team sizes (see :func:`fix_team_sizes`)."""
        infos = super().reset(options)
        fix_team_sizes(self.env)
        return infos

    def step(self, actions: np.ndarray, rewards: np.ndarray, dones: np.ndarray, infos: Any) -> None:
        """Step the live agents; the common step writes each team's images and rewards as arrays."""
        env = self.env
        game = env.env
        handles = env.handles
        teams = [game.get_agent_id(h) for h in handles]
        acts = np.asarray(actions)
        for handle, ids in zip(handles, teams):
            game.set_action(handle, acts[ids].astype(np.int32))
        env.frames += 1
        game_over = game.step()
        if game_over or env.frames >= env.max_cycles or not all(game.get_alive(h).all() for h in handles):
            self.finish_step(self._env_step_rest(game_over), rewards, dones, infos)
            return
        self.length += 1
        dones[:] = False
        rewards[:] = 0.0
        writer = self.writer
        for handle, ids in zip(handles, teams):
            rows = ids.tolist()
            writer.write_image_block(rows, rows, game.get_observation(handle)[0])
            rewards[ids] = game.get_reward(handle)
        if not np.isfinite(rewards).all():
            self._bad_reward(self.live_agents, {a: float(rewards[self.index[a]]) for a in self.live_agents})
        game.clear_dead()
        writer.write_masks(self.live_rows, self.live_rows, [], [])
        infos[0 : self.n] = [{} for _ in range(self.n)]
        self.add_rewards(rewards)

    def _env_step_rest(self, game_over: bool) -> tuple[dict, dict, dict, dict, dict]:
        """The rest of MAgent2's ``step`` after the engine stepped: its five dicts, env state updated."""
        env = self.env
        truncations = {agent: env.frames >= env.max_cycles for agent in env.agents}
        terminations = env._compute_terminates(game_over)
        observations = env._compute_observations()
        env_rewards = env._compute_rewards()
        env_infos: dict = {agent: {} for agent in env.agents}
        env.env.clear_dead()
        env.agents = [a for a in env.agents if not (terminations[a] or truncations[a])]
        return observations, env_rewards, terminations, truncations, env_infos
