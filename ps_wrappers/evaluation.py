"""Run a trained shared policy on a plain PettingZoo env: observation dict in, action dict out.

:class:`SharedPolicy` builds the slots of each agent with the vec env's own pieces: the same
wrappers (:func:`~ps_wrappers.construction.prepare_env`), the same
:class:`~ps_wrappers.slot_writer.SlotWriter` (features or image, agent id, acting flag, valid-action
mask from padding and the env's own mask) and the same :class:`~ps_wrappers.action_guard.ActionGuard`
(mask check, Discrete ``start`` offset), so a model sees in deployment exactly the rows it was
trained on, and its actions reach the env as they did in training. :func:`evaluate` runs whole
episodes with it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pettingzoo.utils.env import AECEnv, ParallelEnv
from stable_baselines3.common.vec_env import VecNormalize

from ps_wrappers.action_guard import ActionGuard
from ps_wrappers.action_padding import InvalidActionMode
from ps_wrappers.construction import check_agents, describe, prepare_env
from ps_wrappers.images import ImageMode
from ps_wrappers.layout import get_layout
from ps_wrappers.normalize import SlotVecNormalize
from ps_wrappers.slot_writer import SlotBuffers, SlotWriter
from ps_wrappers.transform import obs_error, transform_chain

__all__ = ["SharedPolicy", "EvaluationResult", "evaluate"]


class SharedPolicy:
    """A trained SB3 model (or policy) acting for every agent of a PettingZoo env.

    Args:
        model: An SB3 algorithm or policy trained on ``make_vec_env`` of this env.
        env: The PettingZoo env (Parallel or AEC) to act in; only its spaces are read.
        deterministic: Greedy actions (True) or sampled ones.
        normalizer: The :class:`~ps_wrappers.SlotVecNormalize` the model was trained with, if any:
            its feature statistics are applied to every batch (it is not updated).
        invalid_action: What happens to an action the agent's mask forbids (``"raise"`` or
            ``"random_valid"``, as in :func:`~ps_wrappers.make_vec_env`); it never reaches the env.

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
        invalid_action: InvalidActionMode = "raise",
    ) -> None:
        self.policy = getattr(model, "policy", model)
        self.layout = get_layout(self.policy.observation_space, "SharedPolicy")
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
        agents = check_agents(env, "SharedPolicy")
        if tuple(str(a) for a in agents) != self.layout.agents:
            raise ValueError(
                f"SharedPolicy: the env's agents {agents} differ from the agents the model was "
                f"trained with {list(self.layout.agents)}"
            )
        own = {a: env.observation_space(a) for a in agents}
        own_act = {a: env.action_space(a) for a in agents}
        prepared, _ = prepare_env(env, aec_mode="auto", invalid_action=invalid_action)
        images: ImageMode = "flatten"
        if self.layout.is_image:
            images = "channels_last" if self.layout.channels_last else "channels_first"  # type: ignore[union-attr]
        try:
            self.spec = describe(prepared, self.layout.agent_ids, images, own, own_act)
        except ValueError as err:
            raise ValueError(f"SharedPolicy: the env does not fit the model: {err}") from None
        if self.spec.layout != self.layout:
            raise ValueError(
                f"SharedPolicy: the env's observations give the slot layout {self.spec.layout}, but the model "
                f"was trained on {self.layout}; is this the env the model was trained on (and built "
                "with the same make_vec_env options)?"
            )
        self._layers = transform_chain(prepared, stop=env)  # only the padding added here, not the user's wrappers
        self.index = {a: j for j, a in enumerate(agents)}
        self.buffers = SlotBuffers(self.layout, len(agents))
        self.writer = SlotWriter(self.spec, self.buffers, owner="SharedPolicy")
        self.guard = ActionGuard(self.layout, invalid_action, 1, self.spec.action_offset)
        # sb3-contrib's maskable policies take masks as an argument; ours read them from the row.
        self._pass_masks = "action_masks" in inspect.signature(self.policy.predict).parameters
        # Recurrent policies (sb3-contrib's RecurrentPPO): one LSTM state per agent, carried
        # between calls and advanced only when the agent acts (as a vec-env slot's).
        self._state_shape: tuple[int, ...] | None = getattr(self.policy, "lstm_hidden_state_shape", None)
        self._states: dict[Any, tuple[np.ndarray, np.ndarray]] = {}

    def reset(self) -> None:
        """Forget the agents' recurrent states (a new episode; :func:`evaluate` calls it)."""
        self._states.clear()

    def _transform(self, agent: Any, obs: Any) -> Any:
        for layer in self._layers:
            f = layer.obs_fns.get(agent)
            if f is not None:
                try:
                    obs = f(obs)
                except Exception as err:
                    raise obs_error(layer, {agent: obs}, err) from None
        return obs

    def _action(self, agent: Any, action: Any) -> Any:
        for layer in reversed(self._layers):
            f = layer.act_fns.get(agent)
            if f is not None:
                action = f(action)
        return action

    def observe(self, observations: dict, infos: dict | None = None) -> Any:
        """The slot observations of the agents in ``observations`` (rows in dict order).

        Exactly what :func:`~ps_wrappers.make_vec_env` writes for these agents when they act, before
        any normaliser: the same writer builds both.
        """
        agents = list(observations)
        try:
            js = [self.index[a] for a in agents]
        except KeyError as err:
            raise ValueError(
                f"SharedPolicy: agent {err.args[0]!r} is not one of the env's possible_agents {list(self.index)}"
            ) from None
        rows = list(range(len(agents)))
        values = [self._transform(a, observations[a]) for a in agents]
        info_list = [((infos or {}).get(a) or {}) for a in agents]
        self.buffers.set_ids(rows, js)
        self.writer.write_observations(rows, js, values)
        self.writer.set_live(rows, js)
        self.writer.write_masks(rows, js, values, info_list)
        return self.buffers.view(slice(0, len(agents))).copy()

    def act(self, observations: dict, infos: dict | None = None) -> dict:
        """Actions for every agent in ``observations`` (each inside the agent's own space)."""
        agents = list(observations)
        batch = self.observe(observations, infos)
        masks = self.buffers.masks[: len(agents)]
        if self.normalizer is not None:
            batch = np.asarray(self.normalizer.normalize_obs(batch), np.float32)
        if self._state_shape is not None:
            actions = self._predict_recurrent(agents, batch)
        elif self._pass_masks and self.layout.n_actions:
            actions, _ = self.policy.predict(batch, deterministic=self.deterministic, action_masks=masks > 0)
        else:
            actions, _ = self.policy.predict(batch, deterministic=self.deterministic)
        actions, _ = self.guard.apply(masks, np.ones(len(agents)), actions, [str(a) for a in agents])
        return {a: self._action(a, actions[k]) for k, a in enumerate(agents)}


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
            while env.agents:  # act for the live agents only (obs may hold terminal observations)
                obs, rew, _, _, infos = env.step(actor.act({a: obs[a] for a in env.agents}, infos))
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
