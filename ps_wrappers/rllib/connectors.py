"""Env-to-module connectors for :func:`ps_wrappers.rllib.to_rllib` envs.

They run on every env runner, rewrite the newest observation of each agent inside the episodes
(as RLlib's own ``MeanStdFilter`` does), so the learner trains on exactly what the module acted on.
Compose them in this order (:func:`policies.rllib.shared_ppo_config` does)::

    [SlotMeanStdFilter(), KeepTruncations(), AgentIdOneHot(agents)]

Stateful pieces (the filter) must come before stateless ones: RLlib 2.60's
``ConnectorPipelineV2.merge_states`` pairs the i-th non-empty state with the i-th connector, so a
stateless piece placed first would receive and drop the filter statistics of the env runners.

* :class:`SlotMeanStdFilter`: ``SlotVecNormalize``'s counterpart. RLlib's ``MeanStdFilter``
  standardises every Box of a Dict observation, the ``action_mask`` included (a mask entry that is
  always 1 becomes 0, i.e. "invalid"), and fails to build on these nested multi-agent Dict spaces;
  this one standardises ``observations`` only (one statistic shared by all agents by default) and
  leaves the mask untouched.
* :class:`AgentIdOneHot`: adds ``obs["agent_id"]``, the agent's one-hot in ``possible_agents``
  order. Placed after the filter it is never normalised, so the identity stays exact 0/1.
* :class:`KeepTruncations`: RLlib 2.60's ``MultiAgentEpisode`` marks every agent of a finished
  episode *terminated*, also agents cut by a time limit, so PPO stops bootstrapping at time limits.
  It restores ``truncated`` for them (see its docstring).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from ray.rllib.connectors.connector_v2 import ConnectorV2
from ray.rllib.connectors.env_to_module.mean_std_filter import MeanStdFilter
from ray.rllib.utils.filter import MeanStdFilter as _RunningFilter

from ps_wrappers.rllib.options import ID_KEY, OBS_KEY

__all__ = ["AgentIdOneHot", "KeepTruncations", "SlotMeanStdFilter"]


def _agent_spaces(space: gym.Space, owner: str) -> dict[Any, gym.spaces.Dict]:
    """The per-agent Dict spaces of a multi-agent observation space, checked."""
    if not isinstance(space, gym.spaces.Dict) or not all(
        isinstance(s, gym.spaces.Dict) and OBS_KEY in s.spaces for s in space.spaces.values()
    ):
        raise TypeError(
            f"{owner} needs the multi-agent observation space of a ps_wrappers.rllib.to_rllib env "
            f"(agent -> Dict with an {OBS_KEY!r} entry), got {space}. Use it with "
            "PettingZooMultiAgentEnv, before any connector that flattens the observations."
        )
    return {agent: s for agent, s in space.spaces.items() if isinstance(s, gym.spaces.Dict)}


def _stepped(episodes: list) -> Any:
    return ConnectorV2.single_agent_episode_iterator(episodes, agents_that_stepped_only=True)


class AgentIdOneHot(ConnectorV2):
    """Add each agent's one-hot id as ``obs["agent_id"]`` (float32, ``possible_agents`` order).

    Args:
        agents: The env's ``possible_agents`` (e.g. ``to_rllib(env_fn).possible_agents``); the
            order fixes which column is which agent on every runner and in checkpoints.

    Raises:
        ValueError: if ``agents`` is empty or has duplicates, or an agent of the env is missing.
    """

    def __init__(
        self,
        input_observation_space: gym.Space | None = None,
        input_action_space: gym.Space | None = None,
        *,
        agents: Sequence[Any] = (),
        **kwargs: Any,
    ) -> None:
        """Create the connector (RLlib passes the spaces when it builds the pipeline)."""
        agents = list(agents)
        if not agents or len(set(agents)) != len(agents):
            raise ValueError(
                f"AgentIdOneHot: agents must list the env's possible_agents once each, got {agents!r}"
            )
        self.agents = agents
        self._index = {a: i for i, a in enumerate(agents)}
        self._one_hot = np.eye(len(agents), dtype=np.float32)
        super().__init__(input_observation_space, input_action_space, **kwargs)

    def recompute_output_observation_space(self, input_observation_space: gym.Space, input_action_space: gym.Space) -> gym.Space:
        """Add the ``agent_id`` Box to every agent's Dict."""
        per_agent = _agent_spaces(input_observation_space, "AgentIdOneHot")
        missing = [a for a in per_agent if a not in self._index]
        if missing:
            raise ValueError(f"AgentIdOneHot: agents {missing} of the env are not in agents={self.agents!r}")
        box = gym.spaces.Box(0.0, 1.0, (len(self.agents),), np.float32)
        return gym.spaces.Dict({a: gym.spaces.Dict({**s.spaces, ID_KEY: box}) for a, s in per_agent.items()})  # type: ignore[arg-type]

    def __call__(self, *, rl_module: Any, batch: dict, episodes: list, explore: bool | None = None, shared_data: dict | None = None, **kwargs: Any) -> Any:
        """Write the one-hot into the newest observation of every agent that just stepped."""
        for sa_episode in _stepped(episodes):
            obs = sa_episode.get_observations(-1)
            if ID_KEY in obs:  # already processed (the pipeline may see a done episode again)
                continue
            agent = sa_episode.agent_id
            sa_episode.set_observations(at_indices=-1, new_data={**obs, ID_KEY: self._one_hot[self._index[agent]]})
            sa_episode.observation_space = self.observation_space[agent]
        return batch


class SlotMeanStdFilter(MeanStdFilter):
    """RLlib's ``MeanStdFilter`` applied to ``obs["observations"]`` only.

    ``observations`` becomes ``clip((x - mean) / std, -clip_by_value, clip_by_value)``; the action
    mask (and an ``agent_id`` added before it) passes through unchanged. By default
    (``multi_agent=False``) one running statistic covers every agent, as ``SlotVecNormalize`` pools
    the acting rows of all slots; ``multi_agent=True`` keeps one per agent. The arguments, state
    synchronisation across env runners and checkpointing are ``MeanStdFilter``'s (its
    ``get_state``, ``set_state`` and ``merge_states``).
    """

    def recompute_output_observation_space(self, input_observation_space: gym.Space, input_action_space: gym.Space) -> gym.Space:
        """Only the ``observations`` Box changes (to ``[-clip, clip]`` when clipping)."""
        per_agent = _agent_spaces(input_observation_space, "SlotMeanStdFilter")
        out = {}
        for agent, space in per_agent.items():
            features = space[OBS_KEY]
            if len(features.shape or ()) != 1:
                raise TypeError(
                    f"SlotMeanStdFilter standardises flat feature vectors, but agent {agent!r} observes an "
                    f"image {features} (to_rllib keeps images as images). Drop the filter (normalize=False): "
                    "uint8 images are scaled to [0, 1] by the module, as SB3 does; or build the env with "
                    "images='flatten' to standardise every pixel"
                )
            if self.clip_by_value is not None and isinstance(features, gym.spaces.Box):
                features = gym.spaces.Box(-self.clip_by_value, self.clip_by_value, features.shape, features.dtype)  # type: ignore[arg-type]
            out[agent] = gym.spaces.Dict({**space.spaces, OBS_KEY: features})
        return gym.spaces.Dict(out)  # type: ignore[arg-type]  # agent ids need not be str

    def _init_new_filters(self) -> None:
        per_agent = _agent_spaces(self.input_observation_space, "SlotMeanStdFilter")
        keys = list(per_agent) if self._multi_agent else [None]
        shape = np.array(next(iter(per_agent.values()))[OBS_KEY].shape)
        self._filters = {
            key: _RunningFilter(shape, demean=self.de_mean_to_zero, destd=self.de_std_to_one, clip=self.clip_by_value)
            for key in keys
        }

    def __call__(self, *, rl_module: Any, batch: dict, episodes: list, explore: bool | None = None, persistent_data: dict | None = None, **kwargs: Any) -> Any:
        """Standardise the features of the newest observation of every agent that just stepped."""
        if self._filters is None:
            self._init_new_filters()
        filters: dict = self._filters  # type: ignore[assignment]
        for sa_episode in _stepped(episodes):
            agent = sa_episode.agent_id
            obs = sa_episode.get_observations(-1)
            running = filters[agent if self._multi_agent else None]
            features = np.asarray(running(obs[OBS_KEY], update=self._update_stats), np.float32)
            sa_episode.set_observations(at_indices=-1, new_data={**obs, OBS_KEY: features})
            sa_episode.observation_space = self.observation_space[agent]
        return batch


class KeepTruncations(ConnectorV2):
    """Restore ``truncated`` for agents that RLlib marked terminated when their episode ended.

    RLlib 2.60's ``MultiAgentEpisode.add_env_step`` declares the whole episode terminated as soon as
    every agent is done, and marks each agent of that last step terminated, even when the env said
    truncated (a time limit): PPO then treats the time limit as a terminal state and stops
    bootstrapping. :class:`~ps_wrappers.rllib.PettingZooMultiAgentEnv` sets ``"__all__"`` so that an
    agent is flagged both terminated and truncated exactly when the env truncated it; this
    connector, which sees every finished episode before it leaves the env runner, clears
    ``terminated`` on those agents. Use it only with that env (another env may flag an agent both
    terminated and truncated for other reasons).
    """

    def __call__(self, *, rl_module: Any, batch: dict, episodes: list, explore: bool | None = None, shared_data: dict | None = None, **kwargs: Any) -> Any:
        """Fix the flags of the agents of every finished episode in ``episodes``."""
        for episode in episodes:
            if not getattr(episode, "is_done", False) or not hasattr(episode, "agent_episodes"):
                continue
            for sa_episode in episode.agent_episodes.values():
                if sa_episode.is_terminated and sa_episode.is_truncated:
                    sa_episode.is_terminated = False
        return batch
