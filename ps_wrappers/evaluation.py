"""Run a trained shared policy on a plain PettingZoo env: observation dict in, action dict out.

:class:`SharedPolicy` encodes each agent's raw observation exactly as :func:`make_vec_env` does
(padding, agent one-hot, acting flag, valid-action mask), asks the SB3 policy, and maps the
actions back into each agent's own action space, so it works on the env you deploy to, without
the vec env. :func:`evaluate` runs whole episodes with it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo.utils.env import AECEnv, ParallelEnv
from stable_baselines3.common.vec_env import VecNormalize

from ps_wrappers.action_padding import pad_actions
from ps_wrappers.encoding import make_encoder
from ps_wrappers.layout import get_flat_layout
from ps_wrappers.normalize import SlotVecNormalize
from ps_wrappers.observation_padding import pad_observations

__all__ = ["SharedPolicy", "EvaluationResult", "evaluate"]


class SharedPolicy:
    """A trained SB3 model (or policy) acting for every agent of a PettingZoo env.

    Args:
        model: An SB3 algorithm or policy trained on ``make_vec_env`` of this env.
        env: The PettingZoo env (Parallel or AEC) to act in; only its spaces are read.
        deterministic: Greedy actions (True) or sampled ones.
        normalizer: The :class:`~ps_wrappers.SlotVecNormalize` the model was trained with, if any:
            its feature statistics are applied to every batch (it is not updated).

    Raises:
        ValueError: if the env's agents or spaces do not match what the model was trained on.

    A recurrent policy (sb3-contrib's RecurrentPPO) keeps one LSTM state per agent between
    :meth:`act` calls; call :meth:`reset` when a new episode starts.

    Example:
        >>> actor = SharedPolicy(model, env)                         # doctest: +SKIP
        >>> obs, infos = env.reset(seed=0)                           # doctest: +SKIP
        >>> obs, rew, term, trunc, infos = env.step(actor.act(obs, infos))  # doctest: +SKIP
    """

    def __init__(
        self,
        model: Any,
        env: ParallelEnv | AECEnv,
        *,
        deterministic: bool = True,
        normalizer: VecNormalize | None = None,
    ) -> None:
        self.policy = getattr(model, "policy", model)
        self.layout = get_flat_layout(self.policy.observation_space, "SharedPolicy")
        self.deterministic = deterministic
        if normalizer is not None and not isinstance(normalizer, SlotVecNormalize):
            raise TypeError(
                f"SharedPolicy: normalizer must be a ps_wrappers.SlotVecNormalize, got {type(normalizer).__name__}; "
                "a plain VecNormalize also rescales the agent one-hot and action mask"
            )
        if normalizer is not None and normalizer.layout != self.layout:
            raise ValueError(
                "SharedPolicy: the normalizer was built on a vec env with another observation layout "
                f"({normalizer.layout}) than the model's ({self.layout})"
            )
        self.normalizer = normalizer
        agents = list(env.possible_agents)
        if tuple(str(a) for a in agents) != self.layout.agents:
            raise ValueError(
                f"SharedPolicy: the env's agents {agents} differ from the agents the model was "
                f"trained with {list(self.layout.agents)}"
            )
        obs_spaces = [env.observation_space(a) for a in agents]
        act_spaces = [env.action_space(a) for a in agents]
        wrapped: Any = env
        self._obs_fns: dict[Any, Any] = {}
        if any(s != obs_spaces[0] for s in obs_spaces):
            wrapped = pad_observations(wrapped)
            self._obs_fns = dict(wrapped.transform.obs_fns)
        self._mask_fns: dict[Any, Any] = {}
        self._act_fns: dict[Any, Any] = {}
        self._static: dict[Any, np.ndarray | None] = {a: None for a in agents}
        if isinstance(act_spaces[0], (spaces.Discrete, spaces.MultiDiscrete)) or any(s != act_spaces[0] for s in act_spaces):
            wrapped = pad_actions(wrapped)
            self._mask_fns = dict(wrapped.transform.obs_fns)
            self._act_fns = dict(wrapped.transform.act_fns)
            self._static = {a: wrapped.padding_mask(a) for a in agents}
        self.encoder = make_encoder(wrapped.observation_space(agents[0]))
        if self.encoder.dim != self.layout.feature_dim:
            raise ValueError(
                f"SharedPolicy: the env's observations encode to {self.encoder.dim} features but the "
                f"model expects {self.layout.feature_dim}; is this the env the model was trained on?"
            )
        self.index = {a: j for j, a in enumerate(agents)}
        # sb3-contrib's maskable policies take masks as an argument; ours read them from the row.
        self._pass_masks = "action_masks" in inspect.signature(self.policy.predict).parameters
        # Recurrent policies (sb3-contrib's RecurrentPPO): one LSTM state per agent, carried
        # between calls and advanced only when the agent acts (as a vec-env slot's).
        self._state_shape: tuple[int, ...] | None = getattr(self.policy, "lstm_hidden_state_shape", None)
        self._states: dict[Any, tuple[np.ndarray, np.ndarray]] = {}

    def reset(self) -> None:
        """Forget the agents' recurrent states (a new episode; :func:`evaluate` calls it)."""
        self._states.clear()

    def _row(self, agent: Any, obs: Any, info: dict | None, row: np.ndarray) -> None:
        lay = self.layout
        f = self._obs_fns.get(agent)
        obs = obs if f is None else f(obs)
        g = self._mask_fns.get(agent)
        obs = obs if g is None else g(obs)
        self.encoder.write(obs, row)
        if lay.agent_ids:
            row[lay.feature_dim + self.index[agent]] = 1.0
        row[lay.acting_index] = 1.0
        static = self._static[agent]
        if lay.n_actions and static is not None:
            mask = static.copy()
            if isinstance(obs, dict) and "action_mask" in obs:
                mask &= np.asarray(obs["action_mask"]).astype(bool).reshape(-1)
            elif info and "action_mask" in info and np.size(info["action_mask"]) == mask.size:
                mask &= np.asarray(info["action_mask"]).astype(bool).reshape(-1)
            row[lay.mask_slice] = mask
        elif lay.n_actions:
            row[lay.mask_slice] = 1.0

    def act(self, observations: dict, infos: dict | None = None) -> dict:
        """Actions for every agent in ``observations`` (each inside the agent's own space)."""
        agents = list(observations)
        batch = np.zeros((len(agents), self.layout.total_dim), np.float32)
        for k, a in enumerate(agents):
            self._row(a, observations[a], (infos or {}).get(a), batch[k])
        if self.normalizer is not None:
            batch = np.asarray(self.normalizer.normalize_obs(batch), np.float32)
        if self._state_shape is not None:
            actions = self._predict_recurrent(agents, batch)
        elif self._pass_masks and self.layout.n_actions:
            masks = batch[:, self.layout.mask_slice] > 0.5
            actions, _ = self.policy.predict(batch, deterministic=self.deterministic, action_masks=masks)
        else:
            actions, _ = self.policy.predict(batch, deterministic=self.deterministic)
        out = {}
        for k, a in enumerate(agents):
            f = self._act_fns.get(a)
            out[a] = actions[k] if f is None else f(actions[k])
        return out


    def _predict_recurrent(self, agents: list[Any], batch: np.ndarray) -> np.ndarray:
        zeros = np.zeros(self._state_shape or (), np.float32)
        held = [self._states.get(a, (zeros, zeros)) for a in agents]
        state = (np.concatenate([h for h, _ in held], axis=1), np.concatenate([c for _, c in held], axis=1))
        starts = np.array([a not in self._states for a in agents])
        actions, (h, c) = self.policy.predict(batch, state=state, episode_start=starts, deterministic=self.deterministic)
        for k, a in enumerate(agents):
            self._states[a] = (h[:, k : k + 1], c[:, k : k + 1])
        return actions


@dataclass
class EvaluationResult:
    """Returns of evaluation episodes.

    Attributes:
        team_returns: Sum over agents of each episode's rewards.
        agent_returns: Agent -> its return in each episode.
        lengths: Steps (Parallel) or agent turns (AEC) of each episode.
    """

    team_returns: list[float] = field(default_factory=list)
    agent_returns: dict[Any, list[float]] = field(default_factory=dict)
    lengths: list[int] = field(default_factory=list)

    @property
    def mean_team_return(self) -> float:
        """Mean team return over episodes."""
        return float(np.mean(self.team_returns)) if self.team_returns else float("nan")


def evaluate(
    model: Any,
    env_fn: Callable[[], ParallelEnv | AECEnv],
    n_episodes: int = 10,
    *,
    seed: int | None = 0,
    deterministic: bool = True,
    normalizer: VecNormalize | None = None,
) -> EvaluationResult:
    """Run ``n_episodes`` episodes of a fresh env with the shared policy acting for every agent.

    Episode ``k`` is reset with ``seed + k`` (``None``: unseeded). ``normalizer``: the
    :class:`~ps_wrappers.SlotVecNormalize` the model was trained with, if any.
    """
    if n_episodes < 1:
        raise ValueError(f"evaluate: n_episodes must be >= 1, got {n_episodes}")
    env = env_fn()
    actor = SharedPolicy(model, env, deterministic=deterministic, normalizer=normalizer)
    result = EvaluationResult(agent_returns={a: [] for a in env.possible_agents})
    for k in range(n_episodes):
        returns = dict.fromkeys(env.possible_agents, 0.0)
        length = 0
        s = None if seed is None else seed + k
        actor.reset()
        if isinstance(env, ParallelEnv):
            obs, infos = env.reset(seed=s)
            while env.agents:
                obs, rew, _, _, infos = env.step(actor.act(obs, infos))
                for a, r in rew.items():
                    returns[a] += float(r)
                length += 1
        else:
            env.reset(seed=s)
            for agent in env.agent_iter():
                obs, _, term, trunc, info = env.last()
                action = None if (term or trunc) else actor.act({agent: obs}, {agent: info})[agent]
                env.step(action)
                for a, r in env.rewards.items():
                    returns[a] += float(r)
                length += 1
        result.team_returns.append(float(sum(returns.values())))
        for a, r in returns.items():
            result.agent_returns[a].append(r)
        result.lengths.append(length)
    env.close()
    return result
