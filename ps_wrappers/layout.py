"""The observation layout of a parameter-sharing vec env slot.

SB3's buffers do not keep the VecEnv slot index, so everything an agent-conditioned policy needs
travels inside the observation. Every row that :func:`ps_wrappers.make_vec_env` emits is one flat
``float32`` vector made of four consecutive segments::

    [ features (D) | agent one-hot (N) | acting flag (1) | action mask (M) ]

* ``features``: the agent's padded observation, flattened (Discrete / MultiDiscrete entries are
  one-hot encoded, Dict entries other than ``action_mask`` are concatenated by sorted key).
* ``agent one-hot``: which of the env's ``possible_agents`` the row belongs to (``N`` entries,
  in ``possible_agents`` order). Absent (``N == 0``) when the vec env was built with
  ``agent_ids=False``.
* ``acting flag``: 1.0 when the action chosen for this row is sent to the environment; 0.0 for a
  placeholder row (an agent that is dead, or waiting for its turn in a turn-based game). The
  action of a placeholder row is ignored, and its mask allows exactly one action so that it
  contributes no policy gradient.
* ``action mask``: 1.0 for every valid action of the row's agent right now (padding and the env's
  own mask combined). ``M`` is ``n`` for a Discrete action space, ``sum(nvec)`` for MultiDiscrete,
  and 0 for Box / MultiBinary actions.

The layout is attached to the vec env's observation space (:class:`SlotBox`, a ``gymnasium`` Box
subclass), so it is saved with every SB3 model and policies read it without any user argument.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from gymnasium import spaces

__all__ = ["SlotLayout", "SlotBox", "get_layout"]


@dataclass(frozen=True)
class SlotLayout:
    """Sizes and names of the segments of a slot observation.

    Attributes:
        feature_dim: Length ``D`` of the flattened, padded observation features.
        agents: Names of the env's ``possible_agents`` (as strings) in one-hot order.
        n_actions: Length ``M`` of the action-mask segment (0 when actions are not discrete).
        action_nvec: Sizes of the discrete action dimensions (``(n,)`` for Discrete, ``nvec`` for
            MultiDiscrete, empty otherwise). ``sum(action_nvec) == n_actions``.
        agent_ids: Whether the agent one-hot segment is present.
        feature_shape: Shape of the padded observation before flattening (for image-aware
            extractors); ``(feature_dim,)`` when it was not a single Box.
    """

    feature_dim: int
    agents: tuple[str, ...]
    n_actions: int
    action_nvec: tuple[int, ...] = ()
    agent_ids: bool = True
    feature_shape: tuple[int, ...] = ()

    @property
    def n_agents(self) -> int:
        """Number of agents ``N`` in the one-hot segment (0 when ``agent_ids`` is False)."""
        return len(self.agents) if self.agent_ids else 0

    @property
    def id_slice(self) -> slice:
        """Slice of the agent one-hot segment."""
        return slice(self.feature_dim, self.feature_dim + self.n_agents)

    @property
    def acting_index(self) -> int:
        """Index of the acting flag."""
        return self.feature_dim + self.n_agents

    @property
    def mask_slice(self) -> slice:
        """Slice of the action-mask segment."""
        start = self.acting_index + 1
        return slice(start, start + self.n_actions)

    @property
    def total_dim(self) -> int:
        """Length of a whole slot observation."""
        return self.feature_dim + self.n_agents + 1 + self.n_actions

    def split(self, obs: Any) -> tuple[Any, Any, Any, Any]:
        """Split a batch of slot observations ``[..., total_dim]`` into its four segments.

        Works on numpy arrays and torch tensors alike (views, no copies).

        Returns:
            ``(features, agent_one_hot, acting, action_mask)`` with trailing sizes
            ``D``, ``N``, ``1`` and ``M``.
        """
        a = self.acting_index
        return (
            obs[..., : self.feature_dim],
            obs[..., self.id_slice],
            obs[..., a : a + 1],
            obs[..., self.mask_slice],
        )

    def agent_index(self, obs: Any) -> Any:
        """Integer agent index of each row of a batch of slot observations.

        Raises:
            ValueError: if the layout carries no agent one-hot (built with ``agent_ids=False``).
        """
        if not self.agent_ids:
            raise ValueError(
                "This vec env was built with agent_ids=False, so observations carry no agent "
                "identity; rebuild it with ps_wrappers.make_vec_env(..., agent_ids=True) to use "
                "an agent-conditioned policy."
            )
        return obs[..., self.id_slice].argmax(-1)

    def check_indicators(self, obs: Any, owner: str = "policy") -> None:
        """Raise if the agent one-hot, acting flag or action mask of a batch are not all 0 or 1.

        They are 0/1 as the vec env writes them; anything else means a wrapper rescaled whole
        slot observations (typically SB3's ``VecNormalize``), which silently breaks agent
        identification and action masking. Works on numpy arrays and torch tensors.

        Raises:
            ValueError: naming the first offending segment and value, and the fix.
        """
        flags = obs[..., self.feature_dim :]
        bad = (flags != 0) & (flags != 1)
        if not bool(bad.any()):
            return
        width = flags.shape[-1]
        bad = bad.reshape(-1, width)
        j = bad.any(0).tolist().index(True)
        i = bad[:, j].tolist().index(True)
        value = float(flags.reshape(-1, width)[i, j])
        column = self.feature_dim + j
        segment = (
            "agent one-hot"
            if column < self.acting_index
            else ("acting flag" if column == self.acting_index else "action mask")
        )
        raise ValueError(
            f"{owner}: the {segment} of the slot observations (column {column}) holds {value:g}, "
            "but it must be 0 or 1. The observations were rescaled after ps_wrappers.make_vec_env, "
            "most likely by stable_baselines3 VecNormalize(norm_obs=True), which also normalises "
            "the agent one-hot, acting flag and action mask. Wrap the vec env in "
            "ps_wrappers.SlotVecNormalize instead (it normalises the features only), or use "
            "VecNormalize(venv, norm_obs=False)."
        )


class SlotBox(spaces.Box):
    """A flat ``float32`` Box that also carries the :class:`SlotLayout` of its observations.

    It compares equal to a plain Box with the same bounds, so SB3's space checks on ``load`` pass.
    """

    def __init__(self, low: np.ndarray, high: np.ndarray, layout: SlotLayout, seed: Any = None):
        """Create the space; ``low``/``high`` must have length ``layout.total_dim``."""
        if low.shape != (layout.total_dim,) or high.shape != (layout.total_dim,):
            raise ValueError(
                f"SlotBox bounds must have shape ({layout.total_dim},) to match the layout, "
                f"got {low.shape} and {high.shape}"
            )
        super().__init__(low=low, high=high, dtype=np.float32, seed=seed)
        self.layout = layout

    def __repr__(self) -> str:
        """Short description with the segment sizes."""
        lay = self.layout
        return (
            f"SlotBox(features={lay.feature_dim}, agents={lay.n_agents}, acting=1, "
            f"mask={lay.n_actions})"
        )


def get_layout(space: spaces.Space, owner: str = "policy") -> SlotLayout:
    """Return the :class:`SlotLayout` carried by an observation space.

    Args:
        space: The vec env's (or the saved model's) observation space.
        owner: Name used in the error message (the class asking).

    Raises:
        TypeError: if the space was not produced by :func:`ps_wrappers.make_vec_env`.
    """
    layout = getattr(space, "layout", None)
    if not isinstance(layout, SlotLayout):
        raise TypeError(
            f"{owner} needs an observation space built by ps_wrappers.make_vec_env (a SlotBox "
            f"that records which agent each row belongs to), but got {space!r}. Build the env "
            "with `venv = ps_wrappers.make_vec_env(env_fn, n_envs=...)`, and do not wrap it in "
            "vec wrappers that replace the observation space."
        )
    return layout
