"""Identity clustering shared by SePS and AdaPS, and the cluster maps the policies accept.

:func:`cluster_agents` is the pre-training stage of SePS (Christianos et al., 2021, section 3.1),
reused by AdaPS (Li et al., 2024, section 4.2): collect transitions of every agent with random
valid actions, train the identity VAE (:class:`policies.clustering.vae.IdentityVAE`, Eq. 1), run
k-means on the encoder means ``mu(i)`` and, when ``K`` is not given, pick the ``K`` with the lowest
Davies-Bouldin index (section 4.6), or by the gap statistic (Tibshirani, Walther & Hastie, 2001),
which can also answer ``K = 1`` (all agents alike). The result is the map ``mu: agent -> cluster`` with the
embeddings and the scores, ready to plot or to pass to a policy::

    clusters = cluster_agents(venv, seed=0)
    model = PPO(SelectiveSharingPolicy, venv, policy_kwargs=dict(clusters=clusters))

Without a clustering result the policies group agents by type, read from the agent names
(:func:`agent_types`): ``adversary_0`` and ``adversary_1`` share a cluster, ``agent_0`` does not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from gymnasium import spaces

from policies.clustering.vae import IdentityVAE
from policies.core.action_masks import random_valid_actions
from ps_wrappers.layout import AnyLayout, get_layout

__all__ = [
    "CRITERIA",
    "IMAGE_SIDE",
    "ClusterResult",
    "ClusterSpec",
    "agent_types",
    "cluster_agents",
    "resolve_clusters",
]


@dataclass(frozen=True, eq=False)
class ClusterResult:
    """The outcome of :func:`cluster_agents`.

    Attributes:
        agents: Agent names, in the vec env's one-hot order.
        cluster_of_agent: Cluster index ``mu(i)`` of every agent (clusters are numbered in order of
            their first agent).
        embeddings: ``[N, m]`` encoder means ``mu_theta(i)``.
        scores: The criterion's value for every ``K`` tried (empty when ``K`` was given or there
            were too few agents to compare): the Davies-Bouldin index (lower is better), or the
            gap ``Gap(K)``.
        criterion: ``"davies-bouldin"`` or ``"gap"``: how ``K`` was chosen.
    """

    agents: tuple[str, ...]
    cluster_of_agent: tuple[int, ...]
    embeddings: np.ndarray
    scores: dict[int, float] = field(default_factory=dict)
    criterion: str = "davies-bouldin"

    @property
    def n_clusters(self) -> int:
        """Number of clusters ``K``."""
        return max(self.cluster_of_agent) + 1

    @property
    def centres(self) -> np.ndarray:
        """``[K, m]`` mean embedding of every cluster (the AdaPS mapping-network input)."""
        ids = np.asarray(self.cluster_of_agent)
        return np.stack([self.embeddings[ids == k].mean(0) for k in range(self.n_clusters)])

    def groups(self) -> list[tuple[str, ...]]:
        """Agent names of every cluster."""
        return [
            tuple(a for a, c in zip(self.agents, self.cluster_of_agent) if c == k) for k in range(self.n_clusters)
        ]

    def as_dict(self) -> dict[str, int]:
        """``{agent name: cluster}``."""
        return dict(zip(self.agents, self.cluster_of_agent))


ClusterSpec = str | ClusterResult | Sequence[int] | Mapping[str, int] | None
"""What a policy accepts as ``clusters=``: ``"type"`` (default, by agent name), ``"agent"`` (one
cluster per agent), a :class:`ClusterResult`, a cluster id per agent, or ``{agent name: id}``."""


def agent_types(agents: Sequence[str]) -> tuple[str, ...]:
    """Type of every agent, read from its name: the part before a trailing ``_<number>``.

    ``("leadadversary_0", "adversary_0", "adversary_1", "agent_0")`` gives
    ``("leadadversary", "adversary", "adversary", "agent")``; a name without a numeric suffix is
    its own type.
    """
    types = []
    for name in agents:
        prefix, sep, suffix = str(name).rpartition("_")
        types.append(prefix if sep and prefix and suffix.isdigit() else str(name))
    return tuple(types)


def _canonical(ids: Sequence[Any]) -> tuple[int, ...]:
    order: dict[Any, int] = {}
    return tuple(order.setdefault(i, len(order)) for i in ids)


def resolve_clusters(spec: ClusterSpec, layout: AnyLayout, owner: str) -> tuple[tuple[int, ...], np.ndarray]:
    """Turn a ``clusters=`` argument into a cluster map and cluster centres.

    Returns:
        ``(cluster_of_agent, centres)``: cluster ids numbered ``0..K-1`` in order of first agent,
        and ``[K, m]`` centres (the VAE cluster means for a :class:`ClusterResult`, one-hot codes
        of the clusters otherwise).

    Raises:
        ValueError: if the spec names other agents or has the wrong length.
        TypeError: for an unsupported kind of spec.
    """
    agents = tuple(layout.agents)
    centres: np.ndarray | None = None
    if spec is None or (isinstance(spec, str) and spec == "type"):
        ids = _canonical(agent_types(agents))
    elif isinstance(spec, str) and spec == "agent":
        ids = tuple(range(len(agents)))
    elif isinstance(spec, str):
        raise ValueError(
            f"{owner}: clusters={spec!r} is not a clustering; use 'type', 'agent', a ClusterResult "
            "from policies.cluster_agents(venv), or one cluster id per agent"
        )
    elif isinstance(spec, ClusterResult):
        if tuple(spec.agents) != agents:
            raise ValueError(
                f"{owner}: the ClusterResult was computed for agents {list(spec.agents)} but this env "
                f"has {list(agents)}; run policies.cluster_agents on the same vec env"
            )
        ids = _canonical(spec.cluster_of_agent)
        centres = np.stack(
            [spec.embeddings[np.asarray(ids) == k].mean(0) for k in range(max(ids) + 1)]
        ).astype(np.float32)
    elif isinstance(spec, Mapping):
        if set(map(str, spec)) != set(agents):
            raise ValueError(
                f"{owner}: clusters must map every agent {list(agents)} to a cluster id, got keys "
                f"{sorted(map(str, spec))}"
            )
        named = {str(k): v for k, v in spec.items()}
        ids = _canonical([named[a] for a in agents])
    elif isinstance(spec, Sequence):
        if len(spec) != len(agents):
            raise ValueError(
                f"{owner}: clusters must give one cluster id per agent ({len(agents)}: {list(agents)}), "
                f"got {len(spec)} ids {list(spec)}"
            )
        ids = _canonical(list(spec))
    else:
        raise TypeError(
            f"{owner}: clusters must be 'type', 'agent', a ClusterResult, a sequence of ids or a "
            f"mapping agent -> id, got {type(spec).__name__}"
        )
    if not ids:
        raise ValueError(f"{owner}: the env has no agents to cluster")
    if centres is None:
        centres = np.eye(max(ids) + 1, dtype=np.float32)
    return ids, centres


def _encode_actions(actions: np.ndarray, action_space: spaces.Space, layout: AnyLayout) -> np.ndarray:
    actions = np.asarray(actions)
    if isinstance(action_space, spaces.Discrete):
        return np.eye(int(action_space.n), dtype=np.float32)[actions.reshape(-1) - int(action_space.start)]
    if isinstance(action_space, spaces.MultiDiscrete):
        flat = (actions - action_space.start).reshape(len(actions), -1)
        return np.concatenate(
            [np.eye(n, dtype=np.float32)[flat[:, d]] for d, n in enumerate(layout.action_nvec)], axis=1
        )
    return actions.reshape(len(actions), -1).astype(np.float32)


IMAGE_SIDE = 16
"""Images are average-pooled to at most ``IMAGE_SIDE x IMAGE_SIDE`` per channel before the VAE."""


def _features(obs: Any, layout: AnyLayout) -> np.ndarray:
    """``[B, D]`` float32 features of a batch: the feature segment of flat rows, or the image,
    average-pooled to at most :data:`IMAGE_SIDE` pixels a side, flattened."""
    features = np.asarray(layout.split(obs)[0], dtype=np.float32)
    if features.ndim == 4 and max(features.shape[2:]) > IMAGE_SIDE:
        size = (min(features.shape[2], IMAGE_SIDE), min(features.shape[3], IMAGE_SIDE))
        features = torch.nn.functional.adaptive_avg_pool2d(torch.from_numpy(features), size).numpy()
    return features.reshape(layout.n_rows(obs), -1)


def _one_row(obs: Any) -> Any:
    """A single slot observation (a terminal observation) as a batch of one."""
    if isinstance(obs, dict):
        return {key: np.asarray(value)[None] for key, value in obs.items()}
    return np.asarray(obs)[None]


def _collect(venv: Any, layout: AnyLayout, n_samples: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Transitions of acting rows under uniformly random valid actions (any slot layout)."""
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("agent", "obs", "action", "next_obs", "reward")}
    obs = venv.reset()
    features = _features(obs, layout)
    count = 0
    while count < n_samples:
        actions = random_valid_actions(obs, layout, venv.action_space, rng)
        next_obs, rewards, dones, infos = venv.step(actions)
        next_features = _features(next_obs, layout)  # the next step's inputs (reset rows: new episodes)
        real_next = next_features.copy()
        for i in np.flatnonzero(dones):
            terminal = infos[i].get("terminal_observation")
            if terminal is not None:
                real_next[i] = _features(_one_row(terminal), layout)[0]
        acting = np.asarray(layout.acting(obs)).reshape(-1) > 0.5
        if acting.any():
            parts["agent"].append(np.asarray(layout.agent_index(layout.take_rows(obs, acting))).reshape(-1))
            parts["obs"].append(features[acting])
            parts["action"].append(_encode_actions(np.asarray(actions)[acting], venv.action_space, layout))
            parts["next_obs"].append(real_next[acting])
            parts["reward"].append(np.asarray(rewards, dtype=np.float32)[acting])
            count += int(acting.sum())
        obs, features = next_obs, next_features
    return {k: np.concatenate(v) for k, v in parts.items()}


def _standardise(x: np.ndarray) -> np.ndarray:
    std = x.std(0)
    return ((x - x.mean(0)) / np.where(std > 1e-8, std, 1.0)).astype(np.float32)


CRITERIA = ("davies-bouldin", "gap")
"""How :func:`cluster_agents` chooses ``K`` when it is not given."""

GAP_REFERENCES = 20
"""Uniform reference data sets per ``K`` of the gap statistic."""


def _log_dispersion(x: np.ndarray, k: int, seed: int) -> tuple[float, np.ndarray]:
    """``log W_k`` (k-means within-cluster sum of squares) and the labels."""
    from sklearn.cluster import KMeans

    km = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(x)
    return float(np.log(max(float(km.inertia_), 1e-12))), km.labels_


def _gap_choice(embeddings: np.ndarray, upper: int, seed: int) -> tuple[np.ndarray, dict[int, float]]:
    """The gap statistic's ``K`` in ``1 .. upper`` (Tibshirani, Walther & Hastie, 2001).

    ``Gap(k) = mean_b log W*_kb - log W_k`` (their Eq. 3), with ``B`` data sets drawn uniformly
    from the box that bounds the embeddings along their principal axes, and
    ``s_k = sd_b(log W*_kb) sqrt(1 + 1/B)``. ``K`` is the smallest ``k`` with
    ``Gap(k) >= Gap(k*) - s_k*`` where ``k*`` maximises the gap (Dudoit & Fridlyand's "global
    SE max" rule): Tibshirani's "first ``k`` with ``Gap(k) >= Gap(k+1) - s_(k+1)``" stops at
    ``K = 1`` whenever two of three groups merged leave ``Gap(2)`` no better than ``Gap(1)``, which
    happens with as few points as agents.
    """
    n = len(embeddings)
    centred = embeddings - embeddings.mean(0)
    if float(np.abs(centred).max()) < 1e-8:  # all embeddings equal: one cluster
        return np.zeros(n, dtype=int), {1: 0.0}
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    rotated = centred @ vt.T
    low, high = rotated.min(0), rotated.max(0)
    rng = np.random.default_rng(seed)
    refs = [rng.uniform(low, high, size=rotated.shape) for _ in range(GAP_REFERENCES)]
    gaps: dict[int, float] = {}
    spread: dict[int, float] = {}
    labels: dict[int, np.ndarray] = {}
    for k in range(1, upper + 1):
        log_w, labels[k] = _log_dispersion(rotated, k, seed)
        ref = np.array([_log_dispersion(r, k, seed)[0] for r in refs])
        gaps[k] = float(ref.mean() - log_w)
        spread[k] = float(ref.std() * np.sqrt(1.0 + 1.0 / GAP_REFERENCES))
    best = max(gaps, key=gaps.__getitem__)
    chosen = min(k for k in gaps if gaps[k] >= gaps[best] - spread[best])
    return labels[chosen], gaps


def _choose_k(
    embeddings: np.ndarray, n_clusters: int | None, max_clusters: int | None, seed: int, criterion: str = "davies-bouldin"
) -> tuple[np.ndarray, dict[int, float]]:
    from sklearn.cluster import KMeans
    from sklearn.metrics import davies_bouldin_score

    n = len(embeddings)
    if n_clusters is not None:
        labels = KMeans(n_clusters=n_clusters, n_init=10, random_state=seed).fit_predict(embeddings)
        return labels, {}
    upper = min(n - 1, max_clusters if max_clusters is not None else max(2, n // 2))
    if criterion == "gap":
        if n == 1:
            return np.zeros(1, dtype=int), {}
        # W_k is 0 once every agent has its own cluster, so K stays below N (upper <= N - 1).
        return _gap_choice(embeddings, max(upper, 1), seed)
    if upper < 2:
        # Davies-Bouldin needs 2 <= K <= N - 1: one agent is one cluster, two agents two clusters.
        return np.arange(n), {}
    best: tuple[float, np.ndarray] | None = None
    scores: dict[int, float] = {}
    for k in range(2, upper + 1):
        labels = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(embeddings)
        if len(np.unique(labels)) < 2:
            continue
        scores[k] = float(davies_bouldin_score(embeddings, labels))
        if best is None or scores[k] < best[0]:
            best = (scores[k], labels)
    if best is None:
        return np.zeros(n, dtype=int), scores
    return best[1], scores


def cluster_agents(
    venv: Any,
    n_clusters: int | None = None,
    *,
    n_samples: int = 10_000,
    n_updates: int = 2_000,
    latent_dim: int = 5,
    hidden: int = 64,
    kl_weight: float = 1e-4,
    batch_size: int = 128,
    learning_rate: float = 1e-3,
    max_clusters: int | None = None,
    criterion: str = "davies-bouldin",
    seed: int | None = None,
) -> ClusterResult:
    """Cluster the agents of a vec env by identity (SePS section 3.1; AdaPS section 4.2).

    Steps the vec env with uniformly random valid actions until ``n_samples`` acting transitions
    are collected, trains :class:`~policies.clustering.vae.IdentityVAE` on them (negative ELBO of
    Eq. 1, KL weight 1e-4), runs k-means on the encoder means and chooses ``K`` in
    ``2 .. min(N - 1, max_clusters)`` by the Davies-Bouldin index unless ``n_clusters`` is given.
    The index is not defined for one cluster, so it always splits the agents; with
    ``criterion="gap"`` ``K`` is chosen in ``1 .. min(N - 1, max_clusters)`` by the gap statistic,
    which answers ``K = 1`` when the embeddings form one group (agents that are all alike).
    ``max_clusters`` defaults to ``N // 2`` (at least two agents per cluster on average): agents of
    one group get close but not identical embeddings, so the index keeps improving as groups are
    split into singletons, and singleton clusters would turn SePS into no sharing at all.
    The vec env is reset before and left mid-episode after (SB3's ``learn`` resets it).
    Image slots: the VAE reads each image average-pooled to at most 16 x 16 pixels per channel
    (:data:`IMAGE_SIDE`), flattened, in place of the feature vector.

    Args:
        venv: A vec env from :func:`ps_wrappers.make_vec_env` (with agent ids).
        n_clusters: ``K``; chosen by Davies-Bouldin when ``None``.
        n_samples: Acting transitions to collect.
        n_updates: VAE gradient steps.
        latent_dim: Embedding size ``m`` (5 in the paper).
        hidden: Width of the VAE's hidden layers.
        kl_weight: Scale of the KL term (1e-4 in the paper).
        batch_size: VAE batch size (128 in the paper).
        learning_rate: Adam learning rate of the VAE.
        max_clusters: Upper bound on ``K`` when it is chosen automatically (default ``N // 2``).
        criterion: ``"davies-bouldin"`` (the papers' choice, default) or ``"gap"``.
        seed: Seeds action sampling, VAE initialisation and batches, and k-means.

    Returns:
        The cluster map, the embeddings and the criterion's scores.

    Raises:
        TypeError: if ``venv`` was not built by :func:`ps_wrappers.make_vec_env`.
        ValueError: for a ``n_clusters`` outside ``1..N``, an unknown ``criterion`` or
            non-positive sizes.

    Example:
        >>> clusters = cluster_agents(venv, seed=0)           # doctest: +SKIP
        >>> clusters.groups()                                  # doctest: +SKIP
        [('agent_0', 'agent_3'), ('agent_1', 'agent_4'), ('agent_2', 'agent_5')]
    """
    layout = get_layout(venv.observation_space, owner="cluster_agents")
    n_agents = len(layout.agents)
    if n_clusters is not None and not 1 <= n_clusters <= n_agents:
        raise ValueError(
            f"cluster_agents: n_clusters must be between 1 and the number of agents ({n_agents}), "
            f"got {n_clusters}; pass None to choose it by the Davies-Bouldin index"
        )
    if criterion not in CRITERIA:
        raise ValueError(f"cluster_agents: criterion must be one of {CRITERIA}, got {criterion!r}")
    for name, value in (("n_samples", n_samples), ("n_updates", n_updates), ("latent_dim", latent_dim), ("batch_size", batch_size)):
        if value < 1:
            raise ValueError(f"cluster_agents: {name} must be a positive integer, got {value}")
    seed = int(np.random.randint(2**31 - 1)) if seed is None else int(seed)
    rng = np.random.default_rng(seed)
    data = _collect(venv, layout, n_samples, rng)
    tensors = {
        "agent": torch.as_tensor(data["agent"], dtype=torch.long),
        "obs": torch.as_tensor(_standardise(data["obs"])),
        "action": torch.as_tensor(data["action"]),
        "next_obs": torch.as_tensor(_standardise(data["next_obs"])),
        "reward": torch.as_tensor(_standardise(data["reward"][:, None])[:, 0]),
    }
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        vae = IdentityVAE(n_agents, tensors["obs"].shape[1], tensors["action"].shape[1], latent_dim, hidden)
        optimizer = torch.optim.Adam(vae.parameters(), lr=learning_rate)
        size = len(tensors["agent"])
        for _ in range(n_updates):
            idx = torch.randint(size, (min(batch_size, size),))
            batch = {k: v[idx] for k, v in tensors.items()}
            loss = vae.loss(
                batch["agent"], batch["obs"], batch["action"], batch["next_obs"], batch["reward"], kl_weight
            )
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            embeddings = vae.encode(torch.arange(n_agents))[0].numpy().astype(np.float64)
    labels, scores = _choose_k(embeddings, n_clusters, max_clusters, seed, criterion)
    return ClusterResult(
        agents=tuple(layout.agents),
        cluster_of_agent=_canonical(labels.tolist()),
        embeddings=embeddings,
        scores=scores,
        criterion=criterion,
    )
