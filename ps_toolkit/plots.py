"""Figures: learning curves per method, the SePS agent-cluster embedding, mask overlap (SNP-PS, AdaPS,
Kaleidoscope) and, for learned masks, overlap and density over training.

All functions write a PNG with matplotlib's Agg backend and return its path.

Example:
    >>> from ps_toolkit.plots import plot_learning_curves
    >>> plot_learning_curves({"FuPS": [([1, 2], [0.0, 1.0])]}, "/tmp/curves.png", "demo")
    PosixPath('/tmp/curves.png')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

import ps_wrappers
from policies import ClusterResult
from ps_toolkit.training import Run

__all__ = [
    "agent_names",
    "mask_overlap",
    "plot_cluster_embedding",
    "plot_learning_curves",
    "plot_mask_history",
    "plot_mask_overlap",
    "plot_run",
]

Curve = tuple[Sequence[int], Sequence[float]]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    _pyplot().close(fig)
    return path


def plot_learning_curves(
    curves: Mapping[str, Sequence[Curve]],
    path: str | Path,
    title: str,
    ylabel: str = "mean episode return per agent",
) -> Path:
    """Mean over seeds (line) and min-max over seeds (band) of each method's curve.

    Args:
        curves: Method -> one ``(steps, values)`` curve per seed.
        path: PNG to write.
        title: Figure title.
        ylabel: Label of the y axis.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for name, runs in curves.items():
        runs = [r for r in runs if len(r[0])]
        if not runs:
            continue
        n = min(len(r[0]) for r in runs)
        steps = np.asarray(runs[0][0][:n])
        values = np.asarray([r[1][:n] for r in runs], dtype=float)
        ax.plot(steps, values.mean(0), label=name)
        if len(runs) > 1:
            ax.fill_between(steps, values.min(0), values.max(0), alpha=0.2)
    ax.set_xlabel("environment steps (all agents)")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    if ax.get_lines():
        ax.legend()
    ax.grid(alpha=0.3)
    return _save(fig, path)


def plot_cluster_embedding(clusters: ClusterResult, path: str | Path, title: str = "SePS agent embedding") -> Path:
    """The identity-VAE embeddings of the agents, projected on their two principal axes.

    Points are coloured by cluster and labelled with agent names; the inset text gives the
    Davies-Bouldin index of every ``K`` tried.
    """
    if not isinstance(clusters, ClusterResult):
        raise TypeError(
            f"plot_cluster_embedding: clusters must be a policies.ClusterResult (from cluster_agents), "
            f"got {type(clusters).__name__}"
        )
    emb = np.asarray(clusters.embeddings, dtype=float)
    centred = emb - emb.mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    xy = centred @ vt[:2].T if vt.shape[0] >= 2 else np.c_[centred[:, :1], np.zeros(len(emb))]
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    ids = np.asarray(clusters.cluster_of_agent)
    scatter = ax.scatter(xy[:, 0], xy[:, 1], c=ids, cmap="tab10", vmin=0, vmax=9, s=60)
    for (x, y), name in zip(xy, clusters.agents):
        ax.annotate(str(name), (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
    if clusters.scores:
        label = {"gap": "Gap"}.get(getattr(clusters, "criterion", ""), "Davies-Bouldin")
        text = f"{label}: " + ", ".join(f"K={k}: {v:.2f}" for k, v in sorted(clusters.scores.items()))
        ax.text(0.01, 0.01, text, transform=ax.transAxes, fontsize=7, va="bottom")
    ax.set_xlabel("principal axis 1")
    ax.set_ylabel("principal axis 2")
    ax.set_title(f"{title} (K = {clusters.n_clusters})", fontsize=9)
    del scatter
    return _save(fig, path)


def agent_names(model: Any) -> list[str]:
    """Agent names of a model trained on a ``ps_wrappers.make_vec_env`` vec env, in slot order."""
    return [str(a) for a in ps_wrappers.get_layout(model.observation_space, owner="agent_names").agents]


def mask_overlap(network: Any) -> np.ndarray:
    """``[N, N]`` Jaccard overlap of the kept neurons of every pair of agents, over all hidden layers.

    Args:
        network: A masked network: ``policy.policy_network`` of a ``PrunedMaskPolicy`` or a
            ``LearnedMaskPolicy`` (weight masks), ``policy.q_network`` of their DQN policies.

    Raises:
        TypeError: if ``network`` has no per-agent neuron masks.
    """
    if not callable(getattr(network, "agent_masks", None)):
        raise TypeError(
            f"mask_overlap: network must carry neuron masks (policy.policy_network of a PrunedMaskPolicy), "
            f"got {type(network).__name__}"
        )
    kept = torch.cat([m.detach().float() for m in network.agent_masks()], dim=1).cpu().numpy() > 0.5
    inter = kept.astype(float) @ kept.T.astype(float)
    sizes = kept.sum(1)
    union = sizes[:, None] + sizes[None, :] - inter
    return np.divide(inter, union, out=np.ones_like(inter), where=union > 0)


def plot_mask_overlap(
    network: Any, agents: Sequence[str], path: str | Path, title: str = "mask overlap (Jaccard)"
) -> Path:
    """Heatmap of :func:`mask_overlap` with agent names on both axes."""
    overlap = mask_overlap(network)
    if len(agents) != overlap.shape[0]:
        raise ValueError(f"plot_mask_overlap: got {len(agents)} agent names for {overlap.shape[0]} agents")
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 4.8))
    image = ax.imshow(overlap, vmin=0, vmax=1, cmap="viridis")
    ax.set_xticks(range(len(agents)), [str(a) for a in agents], rotation=90, fontsize=7)
    ax.set_yticks(range(len(agents)), [str(a) for a in agents], fontsize=7)
    for i in range(len(agents)):
        for j in range(len(agents)):
            ax.text(j, i, f"{overlap[i, j]:.2f}", ha="center", va="center", fontsize=6,
                    color="white" if overlap[i, j] < 0.6 else "black")
    fig.colorbar(image, ax=ax, fraction=0.046)
    ax.set_title(title, fontsize=9)
    return _save(fig, path)


def plot_mask_history(history: Sequence[Mapping[str, Any]], path: str | Path, title: str = "learned masks") -> Path:
    """Mean pairwise overlap (Jaccard) and mean density of every learned-mask network over training.

    Args:
        history: Records of :class:`policies.LearnedMaskCallback` (``timesteps``, ``network``,
            ``overlap``, ``density``), e.g. ``run.result.mask_history``.
        path: PNG to write.
        title: Figure title.

    Raises:
        ValueError: if ``history`` is empty.
    """
    if not history:
        raise ValueError("plot_mask_history: history is empty; train with policies.LearnedMaskCallback()")
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for network in dict.fromkeys(str(r["network"]) for r in history):
        rows = [r for r in history if r["network"] == network]
        steps = [r["timesteps"] for r in rows]
        axes[0].plot(steps, [r["overlap"] for r in rows], label=network)
        axes[1].plot(steps, [r["density"] for r in rows], label=network)
    for ax, label in zip(axes, ("mean pairwise mask overlap (Jaccard)", "mean mask density")):
        ax.set_xlabel("environment steps (all agents)")
        ax.set_ylabel(label, fontsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    return _save(fig, path)


def plot_run(run: Run, directory: str | Path) -> list[Path]:
    """The figures of a trained run: ``learning_curve.png``, and ``clusters.png`` (SePS / AdaPS
    identity clustering), ``mask_overlap.png`` (SNP-PS / AdaPS / Kaleidoscope) and
    ``mask_history.png`` (Kaleidoscope: overlap and density over training) where they apply."""
    directory = Path(directory)
    config = run.config
    written = [plot_learning_curves({config.method: [(run.result.steps, run.result.returns)]},
                                    directory / "learning_curve.png", f"{config.env}: {config.method} ({config.algorithm})")]
    if run.clusters is not None:
        written.append(plot_cluster_embedding(run.clusters, directory / "clusters.png"))
    network = getattr(run.model.policy, "policy_network", None) or getattr(run.model.policy, "q_network", None)
    if callable(getattr(network, "agent_masks", None)):
        written.append(plot_mask_overlap(network, agent_names(run.model), directory / "mask_overlap.png"))
    if run.result.mask_history:
        written.append(plot_mask_history(run.result.mask_history, directory / "mask_history.png",
                                         f"{config.env}: {config.method} learned masks over training"))
    return written
