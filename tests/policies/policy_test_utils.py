"""Helpers of the policy tests: hand-built slot spaces and observations."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ps_wrappers.layout import ImageSlotLayout, SlotBox, SlotDict, SlotLayout


def slot_space(
    feature_dim: int = 3,
    agents: Sequence[str] = ("a_0", "a_1", "b_0"),
    n_actions: int = 4,
    action_nvec: tuple[int, ...] | None = None,
) -> SlotBox:
    """A SlotBox built by hand (for unit tests without an env)."""
    nvec = action_nvec if action_nvec is not None else ((n_actions,) if n_actions else ())
    layout = SlotLayout(feature_dim=feature_dim, agents=tuple(agents), n_actions=n_actions, action_nvec=nvec)
    low = np.full(layout.total_dim, -10.0, dtype=np.float32)
    high = np.full(layout.total_dim, 10.0, dtype=np.float32)
    return SlotBox(low, high, layout)


def slot_obs(
    space: SlotBox, agent: np.ndarray, mask: np.ndarray | None = None, acting: np.ndarray | None = None, seed: int = 0
) -> torch.Tensor:
    """Slot observations for the given agent indices (random features)."""
    lay = space.layout
    rng = np.random.default_rng(seed)
    obs = np.zeros((len(agent), lay.total_dim), dtype=np.float32)
    obs[:, : lay.feature_dim] = rng.normal(size=(len(agent), lay.feature_dim))
    obs[np.arange(len(agent)), lay.feature_dim + agent] = 1.0
    obs[:, lay.acting_index] = 1.0 if acting is None else acting
    if lay.n_actions:
        obs[:, lay.mask_slice] = 1.0 if mask is None else mask
    return torch.as_tensor(obs)


def lr(_: float) -> float:
    """Constant learning-rate schedule."""
    return 3e-4


def image_space(
    shape: tuple[int, int, int] = (3, 10, 10),
    agents: Sequence[str] = ("a_0", "a_1", "b_0"),
    n_actions: int = 4,
    dtype: type = np.uint8,
) -> SlotDict:
    """An image-slot SlotDict built by hand (channels first)."""
    from gymnasium import spaces

    uint8 = np.dtype(dtype) == np.uint8
    layout = ImageSlotLayout(
        image_shape=shape,
        image_dtype=np.dtype(dtype).name,
        agents=tuple(agents),
        n_actions=n_actions,
        action_nvec=(n_actions,) if n_actions else (),
    )
    image = spaces.Box(0, 255 if uint8 else 2.0, shape, dtype=dtype)
    return SlotDict(image, layout)


def image_obs(space: SlotDict, agent: np.ndarray, image: np.ndarray | None = None, seed: int = 0) -> dict[str, np.ndarray]:
    """Image-slot observations for the given agent indices (one shared random image unless given)."""
    lay = space.layout
    rng = np.random.default_rng(seed)
    n = len(agent)
    if image is None:
        image = rng.integers(0, 256, size=lay.image_shape) if lay.is_uint8 else rng.random(lay.image_shape) * 2
    obs = {
        "image": np.repeat(np.asarray(image, dtype=space["image"].dtype)[None], n, axis=0),
        "agent": np.asarray(agent).reshape(n, 1).astype(space["agent"].dtype),
        "acting": np.ones((n, 1), np.uint8),
    }
    if lay.n_actions:
        obs["action_mask"] = np.ones((n, lay.n_actions), np.uint8)
    return obs


def box_slot_space(
    feature_dim: int = 3,
    agents: Sequence[str] = ("a_0", "b_0", "c_0"),
    action_shapes: tuple[tuple[int, ...], ...] = ((1,), (2,), (3,)),
    agent_ids: bool = True,
) -> SlotBox:
    """A SlotBox for Box actions whose agents have the given own action shapes (padded to the largest)."""
    layout = SlotLayout(
        feature_dim=feature_dim, agents=tuple(agents), n_actions=0, agent_ids=agent_ids, action_shapes=action_shapes
    )
    low = np.full(layout.total_dim, -10.0, dtype=np.float32)
    high = np.full(layout.total_dim, 10.0, dtype=np.float32)
    return SlotBox(low, high, layout)
