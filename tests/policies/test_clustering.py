"""Identity clustering (SePS section 3.1) recovers true groups; cluster maps reach the policies."""

from __future__ import annotations

import numpy as np
import pytest
from stable_baselines3 import PPO

import ps_wrappers
from policies import (
    ClusterResult,
    PrunedMaskPolicy,
    SelectiveSharingPolicy,
    agent_types,
    cluster_agents,
    resolve_clusters,
)
from ps_wrappers.testing.grouped_env import GroupedAgentsEnv
from tests.policies.policy_test_utils import slot_space

GROUPS = (0, 1, 2, 0, 1, 2)


def _grouped_venv(differ: str, seed: int = 0):
    return ps_wrappers.make_vec_env(lambda: GroupedAgentsEnv(GROUPS, differ=differ), n_envs=2, seed=seed)


def _same_partition(a, b) -> bool:
    return all((a[i] == a[j]) == (b[i] == b[j]) for i in range(len(a)) for j in range(len(a)))


@pytest.mark.parametrize("differ", ["reward", "dynamics"])
def test_clustering_recovers_groups_that_differ_in_reward_or_dynamics(differ):
    result = cluster_agents(_grouped_venv(differ), n_samples=4000, n_updates=800, seed=0)
    assert result.n_clusters == 3, result.scores
    assert _same_partition(result.cluster_of_agent, GROUPS)
    assert result.cluster_of_agent == (0, 1, 2, 0, 1, 2)  # numbered by first agent
    assert min(result.scores, key=result.scores.get) == 3  # Davies-Bouldin picked K = 3
    assert result.embeddings.shape == (6, 5) and result.centres.shape == (3, 5)
    assert result.groups() == [("agent_0", "agent_3"), ("agent_1", "agent_4"), ("agent_2", "agent_5")]


def test_clustering_is_reproducible_with_a_seed():
    a = cluster_agents(_grouped_venv("reward"), n_samples=1000, n_updates=100, seed=3)
    b = cluster_agents(_grouped_venv("reward"), n_samples=1000, n_updates=100, seed=3)
    np.testing.assert_array_equal(a.embeddings, b.embeddings)
    assert a.cluster_of_agent == b.cluster_of_agent and a.scores == b.scores


def test_given_k_skips_the_index():
    result = cluster_agents(_grouped_venv("reward"), n_clusters=2, n_samples=1000, n_updates=100, seed=0)
    assert result.n_clusters == 2 and result.scores == {}


def test_cluster_result_drives_seps_and_adaps_and_survives_save_load(tmp_path):
    venv = _grouped_venv("reward")
    result = cluster_agents(venv, n_samples=2000, n_updates=300, seed=0)
    for cls, kwargs in ((SelectiveSharingPolicy, {}), (PrunedMaskPolicy, {"method": "adaps"})):
        model = PPO(cls, venv, n_steps=8, batch_size=48, n_epochs=1, seed=0, policy_kwargs=dict(clusters=result, **kwargs))
        model.learn(96)
        groups = model.policy.policy_network.state_dict().get(
            "cluster_of_agent", model.policy.policy_network.state_dict().get("group_of_agent")
        )
        assert groups.tolist() == list(result.cluster_of_agent)
        model.save(tmp_path / cls.__name__)
        loaded = PPO.load(tmp_path / cls.__name__, env=venv)
        obs = venv.reset()
        np.testing.assert_array_equal(loaded.predict(obs, deterministic=True)[0], model.predict(obs, deterministic=True)[0])


def test_agent_types_from_names():
    names = ("leadadversary_0", "adversary_0", "adversary_1", "agent_0", "agent_1", "solo", "red_team_2")
    assert agent_types(names) == ("leadadversary", "adversary", "adversary", "agent", "agent", "solo", "red_team")


def test_resolve_clusters_accepts_every_spec():
    layout = slot_space(agents=("a_0", "b_0", "a_1")).layout
    assert resolve_clusters(None, layout, "P")[0] == (0, 1, 0)
    assert resolve_clusters("type", layout, "P")[0] == (0, 1, 0)
    assert resolve_clusters("agent", layout, "P")[0] == (0, 1, 2)
    assert resolve_clusters([7, 7, 3], layout, "P")[0] == (0, 0, 1)
    assert resolve_clusters({"a_0": 1, "b_0": 0, "a_1": 0}, layout, "P")[0] == (0, 1, 1)
    result = ClusterResult(("a_0", "b_0", "a_1"), (0, 1, 0), np.array([[0.0], [5.0], [1.0]]))
    ids, centres = resolve_clusters(result, layout, "P")
    assert ids == (0, 1, 0)
    np.testing.assert_allclose(centres, [[0.5], [5.0]])


@pytest.mark.parametrize(
    ("spec", "error", "match"),
    [
        ([0, 1], ValueError, r"P: clusters must give one cluster id per agent \(3"),
        ({"a_0": 0}, ValueError, r"P: clusters must map every agent"),
        ("kmeans", ValueError, r"P: clusters='kmeans' is not a clustering"),
        (3.5, TypeError, r"P: clusters must be 'type', 'agent', a ClusterResult"),
        (
            ClusterResult(("x_0", "x_1", "x_2"), (0, 0, 1), np.zeros((3, 2))),
            ValueError,
            r"computed for agents \['x_0', 'x_1', 'x_2'\] but this env has",
        ),
    ],
)
def test_resolve_clusters_rejects_bad_specs(spec, error, match):
    layout = slot_space(agents=("a_0", "b_0", "a_1")).layout
    with pytest.raises(error, match=match):
        resolve_clusters(spec, layout, "P")


def test_cluster_agents_rejects_bad_arguments():
    venv = _grouped_venv("reward")
    with pytest.raises(ValueError, match=r"cluster_agents: n_clusters must be between 1 and the number of agents \(6\), got 7"):
        cluster_agents(venv, n_clusters=7)
    with pytest.raises(ValueError, match="cluster_agents: n_samples must be a positive integer, got 0"):
        cluster_agents(venv, n_samples=0)
    with pytest.raises(TypeError, match="cluster_agents needs an observation space built by ps_wrappers.make_vec_env"):
        from stable_baselines3.common.env_util import make_vec_env

        cluster_agents(make_vec_env("CartPole-v1"))


def test_gap_statistic_answers_one_cluster_for_one_blob_and_three_for_three() -> None:
    from policies.clustering.clustering import _choose_k

    rng = np.random.default_rng(0)
    blob = rng.normal(size=(8, 5))
    labels, gaps = _choose_k(blob, None, None, seed=0, criterion="gap")
    assert len(set(labels.tolist())) == 1 and 1 in gaps
    db_labels, _ = _choose_k(blob, None, None, seed=0)
    assert len(set(db_labels.tolist())) >= 2  # Davies-Bouldin cannot say "one group"
    centres = np.array([[0.0] * 5, [5.0] * 5, [-5.0, 5.0, -5.0, 5.0, -5.0]])
    three = np.concatenate([c + 0.3 * rng.normal(size=(3, 5)) for c in centres])
    labels, gaps = _choose_k(three, None, 4, seed=0, criterion="gap")
    assert _same_partition(labels.tolist(), [0, 0, 0, 1, 1, 1, 2, 2, 2]), gaps
    same, _ = _choose_k(np.ones((4, 5)), None, None, seed=0, criterion="gap")
    assert same.tolist() == [0, 0, 0, 0]


def test_gap_criterion_keeps_alike_agents_together_and_splits_groups() -> None:
    alike = ps_wrappers.make_vec_env(lambda: GroupedAgentsEnv((0, 0, 0, 0, 0, 0), differ="reward"), n_envs=2, seed=0)
    result = cluster_agents(alike, n_samples=4000, n_updates=800, criterion="gap", seed=0)
    assert result.n_clusters == 1 and result.criterion == "gap", result.scores
    assert cluster_agents(alike, n_samples=4000, n_updates=800, seed=0).n_clusters >= 2
    grouped = cluster_agents(_grouped_venv("reward"), n_samples=4000, n_updates=800, criterion="gap", seed=0)
    assert grouped.cluster_of_agent == (0, 1, 2, 0, 1, 2), grouped.scores
    with pytest.raises(ValueError, match="criterion must be one of"):
        cluster_agents(alike, criterion="silhouette")


def test_image_slots_are_clustered_from_pooled_images_and_drive_seps():
    """Agents i and i + 2 are rewarded for the same action (i % 2): two groups, seen through images."""
    import torch

    from policies.clustering import clustering
    from ps_wrappers.testing import ImageIdentityEnv

    def env_fn() -> ImageIdentityEnv:
        return ImageIdentityEnv(n_agents=4, n_actions=2, image_size=24, channels=3)

    venv = ps_wrappers.make_vec_env(env_fn, n_envs=2, seed=0)
    assert venv.observation_space["image"].shape == (3, 24, 24)
    seen: list[int] = []
    original = clustering.IdentityVAE

    def spy(n_agents: int, obs_dim: int, *args: object) -> object:
        seen.append(obs_dim)
        return original(n_agents, obs_dim, *args)

    clustering.IdentityVAE = spy  # type: ignore[assignment, misc]
    try:
        result = cluster_agents(venv, n_samples=3000, n_updates=600, seed=0)
    finally:
        clustering.IdentityVAE = original  # type: ignore[misc]
    assert seen == [3 * 16 * 16]  # 24x24 images pooled to 16x16 per channel
    assert result.groups() == [("agent_0", "agent_2"), ("agent_1", "agent_3")], result.scores
    model = PPO(SelectiveSharingPolicy, venv, n_steps=8, batch_size=64, n_epochs=1, seed=0,
                policy_kwargs={"clusters": result, "features_extractor_kwargs": {"features_dim": 16, "channels": (4,)}})
    model.learn(64)
    assert torch.equal(model.policy.mlp_extractor.policy_net.cluster_of_agent.cpu(), torch.tensor([0, 1, 0, 1]))
