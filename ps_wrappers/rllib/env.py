"""``to_rllib``: any PettingZoo env as an RLlib ``MultiAgentEnv`` (new API stack).

Every agent observes ``{"observations": ..., "action_mask": float32[M]}`` (RLlib's
action-masking convention; ``"action_mask"`` is absent for Box / MultiBinary actions):

* ``observations``: the agent's padded observation as the SB3 vec env writes its slot, by the same
  :class:`~ps_wrappers.slot_writer.SlotWriter` (same encoder, same in-space checks): for vector
  observations the flat ``float32`` feature row (:mod:`ps_wrappers.encoding`); for image
  observations (a rank-3 Box, a rank-2 ``uint8`` Box, or a Dict of one such Box and a mask) the
  image channels first in the env's dtype (``uint8`` stays ``uint8``), as in an image slot;
* ``action_mask``: 1.0 for each valid action now, padding and the env's own mask combined (the
  masks :func:`ps_wrappers.pad_actions` computes); MultiDiscrete masks are concatenated per
  dimension.

Agents appear in ``possible_agents`` order in every dict this env returns. Dead agents simply stop
appearing (RLlib's episodes handle that natively, so no placeholder rows are needed as in the SB3
vec env); turn-based AEC games emit only the agent whose turn it is, and the others collect their
rewards until their next turn. An agent that terminates gets ``terminated``; one cut by a time
limit gets ``truncated`` (never both), and the episode-level ``"__all__"`` flags are set so that
:class:`ps_wrappers.rllib.KeepTruncations` can undo RLlib's merging of the two (see there).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo.utils.env import AECEnv, ParallelEnv
from ray.rllib.env.multi_agent_env import MultiAgentEnv

from ps_wrappers.action_padding import InvalidActionMode
from ps_wrappers.construction import AECMode, describe, prepare_env
from ps_wrappers.images import ImageMode
from ps_wrappers.layout import IMAGE_KEY, AnyLayout
from ps_wrappers.masks import env_mask_of
from ps_wrappers.rllib.options import ID_KEY, MASK_KEY, OBS_KEY, OPTIONS, EnvFn, env_config
from ps_wrappers.slot_writer import SlotBuffers, SlotWriter
from ps_wrappers.testing.checks import sample_valid_action

__all__ = ["ID_KEY", "MASK_KEY", "OBS_KEY", "PettingZooMultiAgentEnv", "env_config", "to_rllib"]

def to_rllib(
    env_fn: EnvFn,
    *,
    pad: bool = True,
    aec_mode: AECMode = "auto",
    invalid_action: InvalidActionMode = "raise",
    images: ImageMode = "auto",
) -> PettingZooMultiAgentEnv:
    """Turn a PettingZoo env (Parallel or AEC) into an RLlib ``MultiAgentEnv``.

    Heterogeneous agents are padded (:func:`ps_wrappers.pad_observations`,
    :func:`ps_wrappers.pad_actions`); observations follow this module's docstring.

    Args:
        env_fn: Zero-argument callable returning a fresh PettingZoo env.
        pad: Pad heterogeneous spaces (an error if False and they differ).
        aec_mode: For AEC envs: ``"auto"`` converts parallelizable envs to Parallel and steps
            others turn by turn; ``"parallel"`` or ``"turns"`` force one.
        invalid_action: What an action outside the agent's current mask does: ``"raise"`` (a
            ``ValueError`` naming the agent, action and valid actions) or ``"random_valid"``
            (replaced by a uniformly random valid action, counted in
            ``env.invalid_action_counts``). Either way it never reaches the PettingZoo env.
        images: As :func:`ps_wrappers.make_vec_env`: ``"auto"`` emits image observations
            channels first (the smallest axis is the channel axis), ``"channels_last"`` /
            ``"channels_first"`` force the env's order, ``"flatten"`` flattens them into features.

    Returns:
        The env. For training, give RLlib the class and :func:`env_config` instead (see
        :func:`policies.rllib.shared_ppo_config`, which does).

    Example:
        >>> from mpe2 import simple_world_comm_v3
        >>> env = to_rllib(simple_world_comm_v3.parallel_env)
        >>> obs, infos = env.reset(seed=0)
        >>> list(obs)[:3], obs["agent_0"]["action_mask"].sum()
        (['leadadversary_0', 'adversary_0', 'adversary_1'], np.float32(5.0))
    """
    return PettingZooMultiAgentEnv(
        env_config(env_fn, pad=pad, aec_mode=aec_mode, invalid_action=invalid_action, images=images)
    )


class PettingZooMultiAgentEnv(MultiAgentEnv):
    """A PettingZoo env as an RLlib ``MultiAgentEnv``; build it with :func:`to_rllib`.

    RLlib constructs it as ``PettingZooMultiAgentEnv(env_config)`` on every env runner, with the
    dict from :func:`env_config`.

    Attributes:
        pettingzoo_env: The padded PettingZoo env that is stepped.
        layout: The slot layout of the SB3 vec env of the same env (without agent ids): what
            ``observations`` holds (:class:`ps_wrappers.SlotLayout` or
            :class:`ps_wrappers.ImageSlotLayout`).
        possible_agents: The PettingZoo env's ``possible_agents`` (the order of every dict).
        invalid_action_counts: Agent -> invalid actions replaced (``invalid_action="random_valid"``).
    """

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        """Build the env from ``config`` (see :func:`env_config`)."""
        super().__init__()
        cfg = dict(config or {})
        unknown = sorted(set(cfg) - set(OPTIONS))
        if "env_fn" not in cfg or unknown:
            raise ValueError(
                f"PettingZooMultiAgentEnv: env_config must be made by ps_wrappers.rllib.env_config"
                f"(env_fn, ...), got keys {sorted(cfg)}"
                + (f" (unknown: {unknown})" if unknown else " (no 'env_fn')")
            )
        cfg = env_config(**cfg)
        raw = cfg["env_fn"]()
        if not isinstance(raw, (ParallelEnv, AECEnv)):
            raise TypeError(
                f"to_rllib: env_fn returned {type(raw).__name__}, not a PettingZoo ParallelEnv or "
                "AECEnv. For a module, pass `module.parallel_env` (the function), not the module."
            )
        own = {a: raw.observation_space(a) for a in raw.possible_agents}
        own_actions = {a: raw.action_space(a) for a in raw.possible_agents}
        env, self._turn_based = prepare_env(
            raw, pad=cfg["pad"], aec_mode=cfg["aec_mode"], invalid_action=cfg["invalid_action"]
        )
        self.pettingzoo_env = env
        self._mode: InvalidActionMode = cfg["invalid_action"]
        # The vec env's description of the slots and its writer: the same features (or images),
        # in-space checks, masks and action offsets, so RLlib and SB3 see the same observations.
        spec = describe(env, agent_ids=False, images=cfg["images"], own_spaces=own, own_actions=own_actions)
        layout = spec.layout
        self.layout: AnyLayout = layout
        self._index = {a: j for j, a in enumerate(spec.agents)}
        self._buffers = SlotBuffers(layout, len(spec.agents))
        self._writer = SlotWriter(spec, self._buffers, owner="to_rllib")
        self._nvec = np.asarray(layout.action_nvec, np.int64)
        self._offsets = np.concatenate([[0], np.cumsum(self._nvec)[:-1]]).astype(np.int64)
        self._discrete = layout.n_actions > 0
        self._start: Any = 0 if spec.action_offset is None else spec.action_offset
        space = spec.action_space  # RLlib's categorical actions start at 0, as SB3's
        self._agent_masks = dict(zip(spec.agents, spec.masks or ()))
        self._static = {a: m.static.astype(np.float32) for a, m in self._agent_masks.items()}
        if spec.encoder is not None:
            features: spaces.Space = spaces.Box(spec.encoder.low, spec.encoder.high, (spec.encoder.dim,), np.float32)
        else:
            features = spec.observation_space[IMAGE_KEY]  # type: ignore[index]  # an image slot: SlotDict
        obs_entries: dict[str, spaces.Space] = {OBS_KEY: features}
        if self._discrete:
            obs_entries[MASK_KEY] = spaces.Box(0.0, 1.0, (layout.n_actions,), np.float32)
        obs_space = spaces.Dict(obs_entries)
        self.possible_agents = list(env.possible_agents)
        self.agents = []
        self.observation_spaces = {a: obs_space for a in self.possible_agents}
        self._action_space = space
        self.action_spaces = {a: space for a in self.possible_agents}
        self.invalid_action_counts: dict[Any, int] = {}
        self._masks: dict[Any, np.ndarray] = {}
        self._to_act: list[Any] = []
        self._done: set[Any] = set()
        self._rng = np.random.default_rng()

    # --- observations ------------------------------------------------------------------------------

    def _observe(self, agent: Any, obs: Any, info: Any = None, acting: bool = True) -> dict[str, np.ndarray]:
        row = self._index[agent]
        self._writer.write_observations([row], [row], [obs])  # ObservationError if outside its space
        features = self._buffers.features[row].copy()
        if not self._discrete:
            return {OBS_KEY: features}
        found = env_mask_of(obs, info)  # the env's own mask is honoured whenever it appears
        if found is None:
            mask = self._static[agent]
        else:
            mask = self._agent_masks[agent].combine(*found, require_valid=acting).astype(np.float32)
        self._masks[agent] = mask
        return {OBS_KEY: features, MASK_KEY: mask}

    def _ordered(self, present: Any) -> list[Any]:
        return [a for a in self.possible_agents if a in present]

    # --- actions -----------------------------------------------------------------------------------

    def _action(self, agent: Any, action: Any) -> Any:
        """Check a discrete action against the agent's current mask and shift it by ``start``."""
        if not self._discrete:
            return action
        mask = self._masks[agent]
        values = np.asarray(action).reshape(-1).astype(np.int64)
        ok = values.size == self._nvec.size and bool(((values >= 0) & (values < self._nvec)).all())
        if ok:
            ok = bool((mask[self._offsets + values] > 0.5).all())
        if not ok:
            if self._mode == "raise":
                raise ValueError(
                    f"to_rllib: agent {agent!r} chose action {np.asarray(action).tolist()!r}, which its "
                    f"action mask forbids (valid mask indices: {np.flatnonzero(mask > 0.5).tolist()}); "
                    "it must never reach the environment. The RLModule must mask its logits with "
                    "obs['action_mask'] (the modules in policies.rllib do). If this came from RLlib's "
                    "env checker, which samples the padded action space, build the config with "
                    "config.environment(disable_env_checking=True) and check the env with "
                    "ps_wrappers.rllib.check_rllib_env instead (policies.rllib.shared_ppo_config does "
                    "both), or pass invalid_action='random_valid' to replace such actions."
                )
            self.invalid_action_counts[agent] = self.invalid_action_counts.get(agent, 0) + 1
            action = sample_valid_action(self._action_space, mask > 0.5, self._rng)
            values = np.asarray(action).reshape(-1).astype(np.int64)
        if values.size == 1 and np.ndim(self._start) == 0:
            return int(values[0]) + int(self._start)
        return values + self._start

    def _check_keys(self, actions: Mapping[Any, Any]) -> None:
        expected = self._to_act
        if len(actions) != len(expected) or any(a not in actions for a in expected):
            raise ValueError(
                f"to_rllib: step() needs one action for each agent that was just observed "
                f"({[str(a) for a in expected]}), got actions for {[str(a) for a in actions]}"
            )

    # --- gymnasium / RLlib API ---------------------------------------------------------------------

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        """Reset the PettingZoo env (``seed`` passed on) and observe the agents that act first."""
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self._done = set()
        self._masks = {}
        env = self.pettingzoo_env
        if self._turn_based:
            env.reset(seed=seed, options=options)
            self._skip_dead()
            self.agents = self._ordered(env.agents)
            first = env.agent_selection
            self._to_act = [first]
            info = env.infos.get(first, {})
            return {first: self._observe(first, env.observe(first), info)}, {first: dict(info)}
        obs, infos = env.reset(seed=seed, options=options)
        order = self._ordered(obs)
        self.agents = list(order)
        self._to_act = list(order)
        return {a: self._observe(a, obs[a], infos.get(a)) for a in order}, {a: dict(infos.get(a, {})) for a in order}

    def step(self, action_dict: dict) -> tuple[dict, dict, dict, dict, dict]:  # type: ignore[override]
        """Step the agents that were observed last; see the module docstring for what comes back."""
        self._check_keys(action_dict)
        if self._turn_based:
            return self._step_turn(action_dict)
        env = self.pettingzoo_env
        acts = {a: self._action(a, action_dict[a]) for a in self._to_act}
        obs, rew, term, trunc, infos = env.step(acts)
        order = self._ordered(obs)
        back = [a for a in order if a in self._done]
        if back:
            raise ValueError(
                f"to_rllib: agents {back} came back after they had terminated in this episode; "
                "RLlib cannot continue an agent's episode after it ended. Give a respawned agent a "
                "new id in the PettingZoo env (or use ps_wrappers.make_vec_env, which supports it)."
            )
        out_obs = {a: self._observe(a, obs[a], infos.get(a), not (term.get(a) or trunc.get(a))) for a in order}
        terminated = {a: bool(term.get(a, False)) for a in order}
        truncated = {a: bool(trunc.get(a, False)) and not terminated[a] for a in order}
        ended = [a for a in order if terminated[a] or truncated[a]]
        self._done.update(ended)
        self._to_act = [a for a in order if a not in ended]
        self.agents = self._ordered(env.agents)
        rewards = {a: float(rew[a]) for a in self._ordered(rew) if a not in self._done or a in ended}
        self._set_all(terminated, truncated, ended, finished=not env.agents)
        return out_obs, rewards, terminated, truncated, {a: dict(infos.get(a, {})) for a in order}

    def _step_turn(self, action_dict: dict) -> tuple[dict, dict, dict, dict, dict]:
        env = self.pettingzoo_env
        actor = self._to_act[0]
        env.step(self._action(actor, action_dict[actor]))
        rewards = {a: float(env.rewards[a]) for a in self._ordered(env.rewards) if a not in self._done}
        out_obs: dict[Any, Any] = {}
        terminated: dict[Any, bool] = {}
        truncated: dict[Any, bool] = {}
        infos: dict[Any, dict] = {}
        ended = []
        for a in self._ordered(env.agents):
            if a in self._done or not (env.terminations[a] or env.truncations[a]):
                continue
            out_obs[a] = self._observe(a, env.observe(a), env.infos.get(a), acting=False)  # final, for bootstrapping
            terminated[a] = bool(env.terminations[a])
            truncated[a] = bool(env.truncations[a]) and not terminated[a]
            infos[a] = dict(env.infos.get(a, {}))
            ended.append(a)
        self._done.update(ended)
        self._skip_dead()
        self.agents = self._ordered(env.agents)
        if env.agents:
            nxt = env.agent_selection
            out_obs[nxt] = self._observe(nxt, env.observe(nxt), env.infos.get(nxt))
            infos[nxt] = dict(env.infos.get(nxt, {}))
            self._to_act = [nxt]
        else:
            self._to_act = []
        self._set_all(terminated, truncated, ended, finished=not env.agents)
        order = self._ordered(out_obs)
        return {a: out_obs[a] for a in order}, rewards, terminated, truncated, {a: infos[a] for a in order}

    def _skip_dead(self) -> None:
        """Step ``None`` for every selected agent that is already done (PettingZoo's dead steps)."""
        env = self.pettingzoo_env
        while env.agents:
            sel = env.agent_selection
            if not (env.terminations[sel] or env.truncations[sel]):
                return
            env.step(None)

    @staticmethod
    def _set_all(terminated: dict, truncated: dict, ended: list, finished: bool) -> None:
        """Episode flags: ``truncated["__all__"]`` only when every agent ending now was truncated.

        RLlib marks every agent of a finished episode terminated when ``"__all__"`` is set;
        setting ``"__all__"`` of ``truncated`` only in the all-truncated case makes "terminated and
        truncated" on an agent mean exactly "truncated", which :class:`KeepTruncations` undoes.
        """
        all_truncated = finished and bool(ended) and not any(terminated[a] for a in ended)
        terminated["__all__"] = finished and not all_truncated
        truncated["__all__"] = all_truncated

    def render(self) -> Any:
        """Render the PettingZoo env."""
        return self.pettingzoo_env.render()

    def close(self) -> None:
        """Close the PettingZoo env."""
        self.pettingzoo_env.close()
