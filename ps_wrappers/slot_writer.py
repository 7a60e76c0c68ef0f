"""The one writer of slot observations, shared by the vec env (training) and ``SharedPolicy`` (deployment).

:class:`SlotWriter` turns an agent's observation (after padding) and info, and whether it acts, into
its slot entries (:mod:`ps_wrappers.layout`): features or a channels-first image, the agent id, the
acting flag and the valid-action mask. :func:`ps_wrappers.make_vec_env` and
:class:`ps_wrappers.SharedPolicy` both write through it, so a model sees the same rows in training
and deployment (tested row for row). Observations outside their space raise
:class:`~ps_wrappers.errors.ObservationError` naming the agent, the value and the space.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from gymnasium import spaces

from ps_wrappers.encoding import FeatureEncoder, OutOfSpace, values_ok
from ps_wrappers.errors import EnvContractError, ObservationError
from ps_wrappers.images import ImageFeatures, ImageSpec
from ps_wrappers.layout import AnyLayout, SlotBox, SlotDict
from ps_wrappers.masks import AgentMask, env_mask_of
from ps_wrappers.obs_check import explain
from ps_wrappers.slot_buffers import Rows, SlotBuffers

__all__ = ["SlotSpec", "SlotBuffers", "SlotWriter"]



@dataclass(frozen=True)
class SlotSpec:
    """Everything needed to write the slots of one prepared env (built by ``describe``).

    Attributes:
        layout: The slot layout (:class:`~ps_wrappers.layout.SlotLayout` or ``ImageSlotLayout``).
        observation_space: The vec env's observation space (``SlotBox`` or ``SlotDict``).
        action_space: The vec env's action space (discrete spaces start at 0).
        action_offset: Added to a slot's action before it reaches the env (the padded space's
            ``start``), or None when it is 0.
        agents: The env's ``possible_agents``.
        obs_space: The (padded) observation space of every agent.
        own_spaces: Agent -> its own observation space, before padding (for error messages).
        encoder: How features are written (flat rows), or None for image slots.
        image: The image of each observation (image slots), or None.
        masks: Each agent's action masks (discrete actions), or None.
        low: Per-agent feature bounds ``[N, ...]`` when agents' spaces differ, else None.
        high: As ``low``.
        obs_masks: Observations are Dicts that carry an ``action_mask``.
    """

    layout: AnyLayout
    observation_space: SlotBox | SlotDict
    action_space: spaces.Space
    action_offset: np.ndarray | None
    agents: tuple[Any, ...]
    obs_space: spaces.Space
    own_spaces: dict[Any, spaces.Space]
    encoder: FeatureEncoder | None
    image: ImageSpec | None
    masks: tuple[AgentMask, ...] | None
    low: np.ndarray | None = None
    high: np.ndarray | None = None
    obs_masks: bool = False


class _FlatFeatures:
    """Writes feature rows with a :class:`FeatureEncoder`, many at once when they stack."""

    def __init__(self, encoder: FeatureEncoder, view: np.ndarray, low: np.ndarray | None, high: np.ndarray | None) -> None:
        self.encoder = encoder
        self.view = view
        self.write_one = encoder.write
        self.shape = encoder.shape
        self.low, self.high = low, high

    def write(self, rows: Rows, agents: Rows, observations: list) -> None:
        enc = self.encoder
        if enc.stackable:
            try:
                block = np.stack(observations)
            except (ValueError, TypeError):
                raise OutOfSpace from None
            if block.shape[1:] != self.shape or block.dtype.kind not in "biuf":
                raise OutOfSpace
            self.view[rows] = block.reshape(len(observations), -1)
        else:
            view, write = self.view, self.write_one
            for k, obs in zip(range(len(view))[rows] if isinstance(rows, slice) else rows, observations):
                write(obs, view[k])
        written = self.view[rows]
        if self.low is None:
            ok = enc.rows_ok(written)
        else:
            ok = values_ok(written, self.low[agents], self.high[agents], None)  # type: ignore[index]
        if not ok:
            raise OutOfSpace

    def zero(self, row: int) -> None:
        self.view[row] = 0.0


class SlotWriter:
    """Writes agents' observations, infos and acting flags into :class:`SlotBuffers`.

    ``rows`` index the buffers; ``agents`` are the matching indices into ``spec.agents`` (the
    same in a vec env copy, where row ``j`` is agent ``j``).
    """

    def __init__(self, spec: SlotSpec, buffers: SlotBuffers, owner: str = "make_vec_env") -> None:
        """Write into ``buffers`` for an env described by ``spec``; ``owner`` prefixes errors."""
        self.spec = spec
        self.buffers = buffers
        self.owner = owner
        self.features: _FlatFeatures | ImageFeatures
        if spec.image is not None:
            self.features = ImageFeatures(spec.image, buffers.features, spec.low, spec.high)
        else:
            assert spec.encoder is not None
            self.features = _FlatFeatures(spec.encoder, buffers.features, spec.low, spec.high)
        n_actions = spec.layout.n_actions
        self.agent_masks = spec.masks
        if spec.masks:
            self.static = np.stack([m.static for m in spec.masks])
            self.placeholders = np.stack([m.placeholder() for m in spec.masks])
        else:
            self.static = np.ones((len(spec.agents), n_actions), bool)
            self.placeholders = self.static
        self.dirty = False  # some acting row holds an env mask rather than its static mask

    # --- features ---------------------------------------------------------------------------------

    def write_observations(self, rows: Rows, agents: Rows, observations: list) -> None:
        """Write the features (or images) of ``observations``; raise naming the first bad one.

        Raises:
            ObservationError: if an observation is outside its agent's space.
        """
        try:
            self.features.write(rows, agents, observations)  # type: ignore[arg-type]
        except (OutOfSpace, ValueError, TypeError, KeyError, IndexError) as err:
            self._refuse(agents, observations, err)

    def write_image_block(self, rows: Rows, agents: Rows, block: np.ndarray) -> None:
        """Write env-layout images ``block`` (one array ``[m, *shape]``) of ``agents`` into ``rows``.

        Raises:
            ObservationError: if an image is outside its space, naming the agent.
        """
        assert isinstance(self.features, ImageFeatures)
        try:
            self.features.write_block(rows, agents, block)
        except OutOfSpace as err:
            self._refuse(agents, list(block), err)

    def _refuse(self, agents: Rows, observations: list, err: Exception) -> None:
        idx = range(len(self.spec.agents))[agents] if isinstance(agents, slice) else agents
        for j, obs in zip(idx, observations):
            why = explain(self.spec.obs_space, obs) or self._own_bounds(j, obs)
            if why:
                name = self.spec.agents[j]
                own = self.spec.own_spaces[name]
                padded = "" if own == self.spec.obs_space else f" (padded to {self.spec.obs_space})"
                clip = (
                    " If it only overshoots by rounding or noise (PettingZoo's knights_archers_zombies "
                    "vector mode, multiwalker), wrap it with ps_wrappers.clip_observations(env, "
                    "max_excess=...) to clip such values explicitly."
                    if "outside" in why and "bounds" in why else ""
                )
                raise ObservationError(
                    f"{self.owner}: the observation of agent {name!r} is outside its observation space "
                    f"{own}{padded}: {why}. Fix the environment so that it emits observations inside the "
                    f"space it declares, or declare the space it really emits.{clip}"
                ) from None
        raise ObservationError(f"{self.owner}: could not write the observations: {err!r}") from err

    def _own_bounds(self, j: int, obs: Any) -> str | None:
        low, high = self.spec.low, self.spec.high
        if low is None or high is None:
            return None
        if self.spec.image is not None:
            image = obs[self.spec.image.key] if self.spec.image.key else obs
            values = np.asarray(image, np.float64).reshape(-1)
        else:
            assert self.spec.encoder is not None
            row = np.zeros(self.spec.encoder.dim, np.float32)
            self.spec.encoder.write(obs, row)
            values = row.astype(np.float64)
        bad = np.flatnonzero((values < low[j].reshape(-1)) | (values > high[j].reshape(-1)))
        if not bad.size:
            return None
        i = int(bad[0])
        return (
            f"entry {i} (flattened) is {values[i]:g}, outside the agent's own bounds "
            f"[{float(low[j].reshape(-1)[i]):g}, {float(high[j].reshape(-1)[i]):g}]"
        )

    # --- flags and masks ---------------------------------------------------------------------------

    def write_masks(self, rows: Rows, agents: Rows, observations: list, infos: list) -> None:
        """Set the acting rows' masks: the env's current mask where it gave one, else the static one.

        An env mask is honoured whenever it is present (in a Dict observation or in the info);
        without one the agent's own actions are all valid.

        Raises:
            EnvContractError: for a mask of the wrong length, one that allows no action, or a mask
                given for actions that cannot be masked (Box, MultiBinary).
        """
        buffers = self.buffers
        if self.spec.obs_masks or any(infos):
            row_list = range(buffers.n_rows)[rows] if isinstance(rows, slice) else rows
            agent_list = range(len(self.spec.agents))[agents] if isinstance(agents, slice) else agents
            found = False
            for k, j, obs, info in zip(row_list, agent_list, observations, infos):
                source = env_mask_of(obs, info)
                if source is None:
                    if self.dirty:
                        buffers.masks[k] = self.static[j]
                    continue
                if self.agent_masks is None:
                    raise EnvContractError(
                        f"{self.owner}: agent {self.spec.agents[j]!r} gives an action mask in its "
                        f"{source[1]}, but its action space {self.spec.action_space} is not Discrete or "
                        "MultiDiscrete, so it cannot be masked; drop the mask or discretise the actions"
                    )
                try:
                    buffers.masks[k] = self.agent_masks[j].combine(*source)
                except EnvContractError as err:
                    raise EnvContractError(f"{self.owner}: {err}") from None
                found = True
            self.dirty = found
        elif self.dirty:
            buffers.masks[rows] = self.static[agents]
            self.dirty = False

    def set_live(self, rows: Rows, agents: Rows) -> None:
        """Mark rows acting with their static masks (rows that were placeholders before)."""
        self.buffers.acting[rows] = 1
        self.buffers.masks[rows] = self.static[agents]

    def set_waiting(self, row: int, agent: int) -> None:
        """A live agent that does not act now (turn-based): acting 0 and the one-action mask."""
        self.buffers.acting[row] = 0
        self.buffers.masks[row] = self.placeholders[agent]

    def set_placeholder(self, row: int, agent: int) -> None:
        """A dead or not yet spawned agent: zero features, acting 0, the one-action mask."""
        self.features.zero(row)
        self.set_waiting(row, agent)
