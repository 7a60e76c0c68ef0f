"""Route the rows of a batch through one of ``K`` modules by cluster (SePS), without a per-row loop.

Used by the routed heads (:class:`~policies.core.heads.RoutedMLP`) and the routed trunks
(:class:`~policies.core.trunks.RoutedTrunk`): one implementation of the routing for both.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

__all__ = ["route_rows"]


def route_rows(
    run: Callable[[int, torch.Tensor, torch.Tensor], torch.Tensor],
    clusters: torch.Tensor,
    n_clusters: int,
    inputs: torch.Tensor,
    agent_one_hot: torch.Tensor,
    split_ids: bool = True,
) -> torch.Tensor:
    """Evaluate ``run(k, rows, one_hot)`` on the rows of each cluster ``k`` and reassemble the batch.

    The rows are sorted by cluster once (a stable sort), each cluster's module runs on its
    contiguous block, and the sort is undone with one ``index_select``; gathering weights per row
    instead was 20-100x slower (DESIGN.md).

    Args:
        run: ``run(k, rows, one_hot) -> out`` for the rows of cluster ``k``.
        clusters: ``[B]`` cluster index of every row.
        n_clusters: Number of clusters ``K``.
        inputs: ``[B, ...]`` rows (vectors or images).
        agent_one_hot: ``[B, N]`` agent one-hot of every row.
        split_ids: Route the one-hot with the rows; ``False`` passes the whole one-hot to every
            call (cheaper, for modules that ignore it).

    Returns:
        ``[B, ...]`` outputs in the order of ``inputs``.
    """
    order = torch.argsort(clusters, stable=True)
    counts = torch.bincount(clusters, minlength=n_clusters).tolist()
    blocks: Sequence[torch.Tensor] = inputs.index_select(0, order).split(counts)
    ids: Sequence[torch.Tensor] = (
        agent_one_hot.index_select(0, order).split(counts) if split_ids else [agent_one_hot] * len(counts)
    )
    outs = [run(k, rows, oh) for k, (rows, oh, n) in enumerate(zip(blocks, ids, counts)) if n]
    return torch.cat(outs).index_select(0, torch.argsort(order))
