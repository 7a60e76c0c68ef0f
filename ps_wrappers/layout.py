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

Image observations (a rank-3 Box, or a rank-2 ``uint8`` Box) are not flattened: the vec env emits
a :class:`SlotDict` whose layout is an :class:`ImageSlotLayout`::

    {"image": (C, H, W) in the env's dtype, channels first,   # uint8 stays uint8 in every buffer
     "agent": (1,) integer index into possible_agents,        # absent with agent_ids=False
     "acting": (1,) uint8 acting flag,
     "action_mask": (M,) uint8 valid-action mask}             # absent when M == 0

Both layouts answer the same questions (:meth:`SlotLayout.split`, ``agent_index``, ``acting``,
``action_mask``, ``check_indicators``) on numpy arrays and torch tensors alike, so code that
consumes slot observations is written once for both.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from gymnasium import spaces

__all__ = [
    "ACTING_KEY",
    "AGENT_KEY",
    "IMAGE_KEY",
    "MASK_KEY",
    "AnyLayout",
    "ImageSlotLayout",
    "SlotBox",
    "SlotDict",
    "SlotLayout",
    "agent_index_dtype",
    "get_flat_layout",
    "get_layout",
    "real_action_mask",
]

IMAGE_KEY = "image"
"""Key of the (channels-first) image in a :class:`SlotDict` observation."""
AGENT_KEY = "agent"
"""Key of the agent index (into ``possible_agents``) in a :class:`SlotDict` observation."""
ACTING_KEY = "acting"
"""Key of the acting flag in a :class:`SlotDict` observation."""
MASK_KEY = "action_mask"
"""Key of the valid-action mask in a :class:`SlotDict` observation."""


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
        action_shapes: Each agent's own Box action shape when agents' Box action spaces were
            padded to one larger Box (:func:`ps_wrappers.pad_actions` keeps the leading
            ``action_shapes[i]`` block of a padded action and drops the rest); empty when every
            dimension is real for every agent (same Box for all, or non-Box actions). See
            :meth:`real_action_mask`.
    """

    feature_dim: int
    agents: tuple[str, ...]
    n_actions: int
    action_nvec: tuple[int, ...] = ()
    agent_ids: bool = True
    feature_shape: tuple[int, ...] = ()
    action_shapes: tuple[tuple[int, ...], ...] = ()

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

    @property
    def is_image(self) -> bool:
        """False: features are a flat vector (see :class:`ImageSlotLayout`)."""
        return False

    def real_action_mask(self, action_shape: tuple[int, ...]) -> np.ndarray:
        """``[len(agents), prod(action_shape)]`` bool: which flattened Box action dims are real per agent.

        See :func:`real_action_mask`.
        """
        return real_action_mask(self.action_shapes, self.agents, action_shape)

    def acting(self, obs: Any) -> Any:
        """Acting flag of each row, ``[...]`` (1.0 acting, 0.0 placeholder)."""
        return obs[..., self.acting_index]

    def action_mask(self, obs: Any) -> Any:
        """Valid-action mask segment of each row, ``[..., M]``."""
        return obs[..., self.mask_slice]

    def n_rows(self, obs: Any) -> int:
        """Number of rows in a batch of slot observations (any leading shape)."""
        return int(np.prod(obs.shape[:-1]))

    def agent_one_hot(self, obs: Any) -> Any:
        """The agent one-hot segment of each row, ``[..., N]``."""
        return obs[..., self.id_slice]

    def take_rows(self, obs: Any, index: Any) -> Any:
        """The rows ``index`` (an int array or boolean mask) of a batch, as ``[k, total_dim]``."""
        return np.asarray(obs).reshape(-1, self.total_dim)[index]

    def latent(self, feature_dim: int) -> SlotLayout:
        """This layout with the features replaced by ``feature_dim`` trunk outputs."""
        return replace(self, feature_dim=int(feature_dim), feature_shape=(int(feature_dim),))

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


def real_action_mask(
    action_shapes: tuple[tuple[int, ...], ...], agents: tuple[str, ...], action_shape: tuple[int, ...]
) -> np.ndarray:
    """Which entries of a flattened padded Box action are real, per agent: ``[len(agents), A]`` bool.

    Agent ``i``'s real entries are the leading ``action_shapes[i]`` block of the padded
    ``action_shape`` (C order), the entries :func:`ps_wrappers.pad_actions` passes to the env; the
    others are dropped by the env side. With no ``action_shapes`` every entry is real.

    Raises:
        ValueError: if the shapes do not fit inside ``action_shape`` or do not match the agents.
    """
    shape = tuple(int(d) for d in action_shape)
    size = int(np.prod(shape)) if shape else 1
    if not action_shapes:
        return np.ones((len(agents), size), dtype=bool)
    if len(action_shapes) != len(agents):
        raise ValueError(
            f"real_action_mask: {len(action_shapes)} action shapes for {len(agents)} agents {list(agents)}; "
            "the layout's action_shapes must give one shape per agent"
        )
    out = np.zeros((len(agents), *shape), dtype=bool)
    for i, (agent, own) in enumerate(zip(agents, action_shapes)):
        if len(own) != len(shape) or any(o > p for o, p in zip(own, shape)):
            raise ValueError(
                f"real_action_mask: agent {agent!r} has action shape {tuple(own)}, which does not fit in "
                f"the padded action shape {shape}; the layout and the action space must come from "
                "the same ps_wrappers.make_vec_env"
            )
        region: tuple[Any, ...] = (i, *(slice(0, int(o)) for o in own))
        out[region] = True
    return out.reshape(len(agents), size)


def agent_index_dtype(n_agents: int) -> type[np.unsignedinteger]:
    """Smallest unsigned integer dtype that holds the indices ``0 .. n_agents - 1``."""
    if n_agents <= 1 << 8:
        return np.uint8
    if n_agents <= 1 << 16:
        return np.uint16
    return np.uint32


def _as_index(values: Any) -> Any:
    if isinstance(values, torch.Tensor):
        return values.reshape(values.shape[:-1]).long()
    return np.asarray(values).reshape(np.shape(values)[:-1]).astype(np.int64)


@dataclass(frozen=True)
class ImageSlotLayout:
    """The segments of an image slot observation (a :class:`SlotDict`; see the module docstring).

    The image keeps its dtype (``uint8`` images stay ``uint8`` in SB3's rollout and replay
    buffers) and is channels first, as SB3's CNNs expect, so SB3 never inserts
    ``VecTransposeImage``. The agent travels as an integer index, not a one-hot: one to four bytes
    per row instead of ``N``, which keeps the stored row within a few percent of the image for
    envs with hundreds of agents (MAgent2).

    Attributes:
        image_shape: ``(C, H, W)`` of the (padded) image, channels first.
        image_dtype: Name of the image dtype (``"uint8"``, ``"float32"``, ...).
        agents: Names of the env's ``possible_agents`` (as strings) in index order.
        n_actions: Length ``M`` of the action mask (0 for Box / MultiBinary actions).
        action_nvec: Sizes of the discrete action dimensions (as :class:`SlotLayout`).
        agent_ids: Whether the ``"agent"`` entry is present.
        channels_last: Whether the env emits its images channels last (the vec env transposes).
        action_shapes: Each agent's own Box action shape (as :class:`SlotLayout`).
    """

    image_shape: tuple[int, int, int]
    image_dtype: str
    agents: tuple[str, ...]
    n_actions: int
    action_nvec: tuple[int, ...] = ()
    agent_ids: bool = True
    channels_last: bool = True
    action_shapes: tuple[tuple[int, ...], ...] = ()

    @property
    def is_image(self) -> bool:
        """True: features are a channels-first image."""
        return True

    def real_action_mask(self, action_shape: tuple[int, ...]) -> np.ndarray:
        """``[len(agents), prod(action_shape)]`` bool: the real Box action dims (:func:`real_action_mask`)."""
        return real_action_mask(self.action_shapes, self.agents, action_shape)

    @property
    def n_agents(self) -> int:
        """Number of agents ``N`` the index ranges over (0 when ``agent_ids`` is False)."""
        return len(self.agents) if self.agent_ids else 0

    @property
    def feature_shape(self) -> tuple[int, ...]:
        """Shape of the features of one row: the channels-first image."""
        return tuple(self.image_shape)

    @property
    def feature_dim(self) -> int:
        """Number of feature values of one row (pixels times channels)."""
        return int(np.prod(self.image_shape))

    @property
    def is_uint8(self) -> bool:
        """Whether the image is ``uint8`` (SB3 then scales it by 1/255 before a policy sees it)."""
        return self.image_dtype == "uint8"

    def keys(self) -> tuple[str, ...]:
        """The keys of a :class:`SlotDict` observation with this layout, in order."""
        keys = [IMAGE_KEY]
        if self.n_agents:
            keys.append(AGENT_KEY)
        keys.append(ACTING_KEY)
        if self.n_actions:
            keys.append(MASK_KEY)
        return tuple(keys)

    def n_rows(self, obs: Any) -> int:
        """Number of rows in a batch of slot observations (any leading shape)."""
        return int(np.prod(obs[ACTING_KEY].shape[:-1]))

    def agent_index(self, obs: Any) -> Any:
        """Integer agent index of each row of a batch of slot observations.

        Raises:
            ValueError: if the layout carries no agent index (built with ``agent_ids=False``).
        """
        if not self.agent_ids:
            raise ValueError(
                "This vec env was built with agent_ids=False, so observations carry no agent "
                "identity; rebuild it with ps_wrappers.make_vec_env(..., agent_ids=True) to use "
                "an agent-conditioned policy."
            )
        return _as_index(obs[AGENT_KEY])

    def take_rows(self, obs: Any, index: Any) -> dict[str, Any]:
        """The rows ``index`` (an int array or boolean mask) of a ``[B, ...]`` batch of every entry."""
        return {key: np.asarray(value)[index] for key, value in obs.items()}

    def agent_one_hot(self, obs: Any) -> Any:
        """``[..., N]`` one-hot of each row's agent (``[..., 0]`` without agent ids)."""
        acting = obs[ACTING_KEY]
        lead = tuple(acting.shape[:-1])
        if isinstance(acting, torch.Tensor):
            if not self.n_agents:
                return acting.new_zeros((*lead, 0), dtype=torch.float32)
            return torch.nn.functional.one_hot(self.agent_index(obs), self.n_agents).to(torch.float32)
        if not self.n_agents:
            return np.zeros((*lead, 0), np.float32)
        return np.eye(self.n_agents, dtype=np.float32)[self.agent_index(obs)]

    def acting(self, obs: Any) -> Any:
        """Acting flag of each row, ``[...]`` (1 acting, 0 placeholder)."""
        flag = obs[ACTING_KEY]
        return flag[..., 0]

    def action_mask(self, obs: Any) -> Any:
        """Valid-action mask of each row, ``[..., M]`` (``[..., 0]`` for continuous actions)."""
        if self.n_actions:
            return obs[MASK_KEY]
        flag = obs[ACTING_KEY]
        return flag[..., :0]

    def split(self, obs: Any) -> tuple[Any, Any, Any, Any]:
        """``(image, agent_one_hot, acting, action_mask)`` of a batch (numpy or torch).

        The acting flag keeps its trailing axis (``[..., 1]``), as :meth:`SlotLayout.split`.
        """
        return obs[IMAGE_KEY], self.agent_one_hot(obs), obs[ACTING_KEY], self.action_mask(obs)

    def check_indicators(self, obs: Any, owner: str = "policy") -> None:
        """Raise if the acting flag or mask is not 0/1, or an agent index is out of range.

        Raises:
            ValueError: naming the entry, the value and the likely cause.
        """
        for key in (ACTING_KEY, MASK_KEY):
            if key not in obs:
                continue
            values = obs[key]
            bad = (values != 0) & (values != 1)
            if bool(bad.any()):
                value = float(values[bad].reshape(-1)[0])
                raise ValueError(
                    f"{owner}: the {key!r} entry of the slot observations holds {value:g}, but it "
                    "must be 0 or 1. The observations were changed after ps_wrappers.make_vec_env "
                    "(a vec wrapper that rescales or stacks every entry, e.g. VecNormalize or "
                    "VecFrameStack); normalise or stack the image itself instead, e.g. with "
                    "ps_wrappers.frame_stack before make_vec_env."
                )
        if self.n_agents:
            raw = obs[AGENT_KEY]
            bad = (raw < 0) | (raw > self.n_agents - 1) | (raw != raw.round() if isinstance(raw, torch.Tensor) else raw != np.round(raw))
            if bool(bad.any()):
                value = float(raw[bad].reshape(-1)[0])
                raise ValueError(
                    f"{owner}: the 'agent' entry of the slot observations holds {value:g}, but it "
                    f"must be an agent index in 0..{self.n_agents - 1}. The observations were "
                    "changed after ps_wrappers.make_vec_env (e.g. by VecNormalize)."
                )

    def latent(self, feature_dim: int) -> SlotLayout:
        """The flat :class:`SlotLayout` of ``[trunk features (feature_dim) | one-hot | acting | mask]``."""
        return SlotLayout(
            feature_dim=int(feature_dim),
            agents=self.agents,
            n_actions=self.n_actions,
            action_nvec=self.action_nvec,
            agent_ids=self.agent_ids,
            feature_shape=(int(feature_dim),),
            action_shapes=self.action_shapes,
        )


AnyLayout = SlotLayout | ImageSlotLayout
"""Either slot layout; both offer ``split``, ``agent_index``, ``acting``, ``action_mask``."""


class SlotDict(spaces.Dict):
    """The Dict observation space of image slots, carrying its :class:`ImageSlotLayout`.

    It compares equal to a plain Dict with the same entries, so SB3's space checks on ``load``
    pass, and SB3's ``MultiInputPolicy`` trains on it (NatureCNN on the image, the other entries
    flattened).
    """

    def __init__(self, image: spaces.Box, layout: ImageSlotLayout, seed: Any = None) -> None:
        """Create the space from the channels-first image space and the layout."""
        if tuple(image.shape) != tuple(layout.image_shape):
            raise ValueError(
                f"SlotDict: the image space has shape {image.shape} but the layout says {layout.image_shape}"
            )
        entries: dict[str, spaces.Space] = OrderedDict({IMAGE_KEY: image})  # keep this order (gymnasium sorts a dict)
        if layout.n_agents:
            dtype = agent_index_dtype(layout.n_agents)
            entries[AGENT_KEY] = spaces.Box(0, layout.n_agents - 1, (1,), dtype=dtype)
        entries[ACTING_KEY] = spaces.Box(0, 1, (1,), dtype=np.uint8)
        if layout.n_actions:
            entries[MASK_KEY] = spaces.Box(0, 1, (layout.n_actions,), dtype=np.uint8)
        super().__init__(entries, seed=seed)
        self.layout = layout

    def __repr__(self) -> str:
        """Short description with the entry sizes."""
        lay = self.layout
        return (
            f"SlotDict(image={lay.image_shape} {lay.image_dtype}, agents={lay.n_agents}, acting=1, "
            f"mask={lay.n_actions})"
        )


def get_layout(space: spaces.Space, owner: str = "policy") -> AnyLayout:
    """Return the :class:`SlotLayout` or :class:`ImageSlotLayout` carried by an observation space.

    Args:
        space: The vec env's (or the saved model's) observation space.
        owner: Name used in the error message (the class asking).

    Raises:
        TypeError: if the space was not produced by :func:`ps_wrappers.make_vec_env`.
    """
    layout = getattr(space, "layout", None)
    if not isinstance(layout, (SlotLayout, ImageSlotLayout)):
        raise TypeError(
            f"{owner} needs an observation space built by ps_wrappers.make_vec_env (a SlotBox or "
            f"SlotDict that records which agent each row belongs to), but got {space!r}. "
            f"{_rebuilt_by(space)}Build the env with `venv = ps_wrappers.make_vec_env(env_fn, "
            "n_envs=...)` and give it to the model directly: SB3's VecFrameStack, "
            "VecTransposeImage and VecNormalize(norm_obs=True) rebuild or rescale every entry of "
            "the slot, including the agent id, acting flag and mask. Stack frames before "
            "make_vec_env with a PettingZoo-level frame-stack wrapper (e.g. "
            "supersuit.frame_stack_v1 on the PettingZoo env); image slots are already channels "
            "first, so VecTransposeImage is never needed."
        )
    if isinstance(layout, ImageSlotLayout) and isinstance(space, spaces.Dict) and IMAGE_KEY in space.spaces:
        shape = tuple(space[IMAGE_KEY].shape or ())
        if shape != tuple(layout.image_shape):
            raise TypeError(
                f"{owner}: the slot image has shape {shape} but make_vec_env wrote {tuple(layout.image_shape)} "
                "(channels first): a vec wrapper transposed it, most likely SB3's VecTransposeImage, which "
                "SB3 adds by itself to uint8 images whose channel axis is not the smallest. Make the "
                "channels the smallest axis (e.g. fewer stacked frames, or a larger image), or build "
                "the vec env with images='flatten'."
            )
    return layout


def _rebuilt_by(space: spaces.Space) -> str:
    """Which SB3 vec wrapper most likely rebuilt a slot observation space (empty if unknown)."""
    if not isinstance(space, spaces.Dict) or ACTING_KEY not in space.spaces:
        return ""
    acting, image = space[ACTING_KEY], space.spaces.get(IMAGE_KEY)
    if acting.shape and acting.shape[-1] > 1:
        return (
            f"It is a make_vec_env slot space whose acting flag has shape {acting.shape}: VecFrameStack "
            "stacked every entry. "
        )
    if isinstance(image, spaces.Box) and len(image.shape) == 3:
        return (
            f"It is a make_vec_env slot space rebuilt by a vec wrapper (its image is {image.shape}); most "
            "likely VecTransposeImage, which transposed the (already channels-first) image. "
        )
    return "It is a make_vec_env slot space rebuilt by a vec wrapper. "


def get_flat_layout(space: spaces.Space, owner: str = "policy") -> SlotLayout:
    """Return the flat :class:`SlotLayout` of a vector-observation vec env.

    For code that reads rows of a :class:`SlotBox` directly (normalisers, flat-row utilities).

    Raises:
        TypeError: if the space was not produced by :func:`ps_wrappers.make_vec_env`, or carries
            image slots (:class:`ImageSlotLayout`), which ``owner`` does not support.
    """
    layout = get_layout(space, owner)
    if not isinstance(layout, SlotLayout):
        raise TypeError(
            f"{owner} works on vector observations (a SlotBox of flat rows), but this vec env emits "
            f"image slots {space!r}; use it on an env with vector observations"
        )
    return layout
