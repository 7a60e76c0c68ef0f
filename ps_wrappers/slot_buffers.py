"""``SlotBuffers``: the preallocated arrays a batch of slot observations is written into.

Flat rows live in one ``float32`` array ``[rows, total_dim]``; image slots in one array per key
(``image``, ``agent``, ``acting``, ``action_mask``). Both expose the same views (``features``,
``acting``, ``masks``) so the writer and the action guard work on either.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ps_wrappers.layout import (
    ACTING_KEY,
    AGENT_KEY,
    IMAGE_KEY,
    MASK_KEY,
    AnyLayout,
    SlotLayout,
    agent_index_dtype,
)

__all__ = ["Rows", "SlotBuffers"]

Rows = slice | list[int]


class SlotBuffers:
    """The arrays of a batch of slot observations: one flat array, or one array per image-slot key."""

    def __init__(self, layout: AnyLayout, n_rows: int, data: Any = None) -> None:
        """Allocate zeroed buffers for ``n_rows`` rows (or wrap ``data``, a view of other buffers)."""
        self.layout = layout
        self.n_rows = n_rows
        if data is None:
            data = self._allocate(layout, n_rows)
        self.data = data
        if layout.is_image:
            self.features = data[IMAGE_KEY]
            self.acting = data[ACTING_KEY][:, 0]
            self.masks = data[MASK_KEY] if MASK_KEY in data else np.zeros((n_rows, 0), np.uint8)
        else:
            assert isinstance(layout, SlotLayout)
            self.features = data[:, : layout.feature_dim]
            self.acting = data[:, layout.acting_index]
            self.masks = data[:, layout.mask_slice]

    @staticmethod
    def _allocate(layout: AnyLayout, n: int) -> Any:
        if not layout.is_image:
            return np.zeros((n, layout.total_dim), np.float32)  # type: ignore[union-attr]
        data = {IMAGE_KEY: np.zeros((n, *layout.image_shape), np.dtype(layout.image_dtype))}  # type: ignore[union-attr]
        if layout.n_agents:
            data[AGENT_KEY] = np.zeros((n, 1), agent_index_dtype(layout.n_agents))
        data[ACTING_KEY] = np.zeros((n, 1), np.uint8)
        if layout.n_actions:
            data[MASK_KEY] = np.zeros((n, layout.n_actions), np.uint8)
        return data

    def view(self, rows: slice) -> SlotBuffers:
        """The buffers of ``rows`` (views, written through)."""
        n = len(range(self.n_rows)[rows])
        if isinstance(self.data, dict):
            return SlotBuffers(self.layout, n, {k: v[rows] for k, v in self.data.items()})
        return SlotBuffers(self.layout, n, self.data[rows])

    def copy(self) -> Any:
        """A copy of every row, as SB3 expects observations (an array or a dict of arrays)."""
        if isinstance(self.data, dict):
            return {k: v.copy() for k, v in self.data.items()}
        return self.data.copy()

    def row(self, k: int) -> Any:
        """A copy of row ``k`` (e.g. a terminal observation)."""
        if isinstance(self.data, dict):
            return {key: v[k].copy() for key, v in self.data.items()}
        return self.data[k].copy()

    def assign(self, rows: slice, obs: Any) -> None:
        """Overwrite ``rows`` with ``obs`` (what :meth:`copy` of another buffer returned)."""
        if isinstance(self.data, dict):
            for k, v in self.data.items():
                v[rows] = obs[k]
        else:
            self.data[rows] = obs

    def set_ids(self, rows: Rows, agents: Rows) -> None:
        """Write the agent id of each row (a one-hot, or an index for image slots)."""
        lay = self.layout
        if not lay.n_agents:
            return
        if isinstance(self.data, dict):
            self.data[AGENT_KEY][rows, 0] = np.arange(lay.n_agents)[agents]
            return
        ids = self.data[:, lay.id_slice]  # type: ignore[union-attr]
        ids[rows] = np.eye(lay.n_agents, dtype=np.float32)[agents]
