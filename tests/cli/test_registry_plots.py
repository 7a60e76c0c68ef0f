"""The method / env registry, the mask-overlap measure, the figures and the suite's report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from stable_baselines3 import PPO

import ps_wrappers
from policies import (
    ClusterResult,
    FullSharingQPolicy,
    LearnedMaskPolicy,
    LearnedMaskQPolicy,
    PrunedMaskPolicy,
    SelectiveSharingPolicy,
)
from ps_toolkit.plots import (
    mask_overlap,
    plot_cluster_embedding,
    plot_learning_curves,
    plot_mask_history,
    plot_mask_overlap,
)
from ps_toolkit.registry import (
    ALGORITHMS,
    METHODS,
    algorithm_class,
    make_env_fn,
    method_spec,
    policy_class,
)


def _venv() -> object:
    return ps_wrappers.make_vec_env(make_env_fn("bps", {"group_sizes": (2, 2)}), n_envs=1, seed=0)


def test_env_names_resolve_to_integrations_and_module_paths() -> None:
    assert sorted(make_env_fn("bps", {"group_sizes": (1, 2)})().possible_agents) == ["group0_0", "group1_0", "group1_1"]
    assert len(make_env_fn("mpe2.simple_spread_v3", {"N": 2})().possible_agents) == 2
    with pytest.raises(ValueError, match=r"has neither parallel_env\(\) nor env\(\); give a PettingZoo env module"):
        make_env_fn("ps_toolkit.registry")


def test_aec_only_modules_are_accepted() -> None:
    from pettingzoo.utils.env import AECEnv

    connect_four = pytest.importorskip("pettingzoo.classic.connect_four_v3")
    assert not hasattr(connect_four, "parallel_env")
    env = make_env_fn("pettingzoo.classic.connect_four_v3")()
    assert isinstance(env, AECEnv) and env.possible_agents == ["player_0", "player_1"]


def test_methods_map_to_their_policies() -> None:
    assert policy_class("nops", "ppo") is SelectiveSharingPolicy
    assert method_spec("NoPS").kwargs == {"clusters": "agent"}
    assert policy_class("FuPS", "dqn") is FullSharingQPolicy
    assert method_spec("SePS").identity_clusters and method_spec("AdaPS").kwargs == {"method": "adaps"}
    with pytest.raises(ValueError, match="algorithm=.impala. is not supported; use one of ppo"):
        algorithm_class("impala")
    assert policy_class("kaleidoscope", "a2c") is LearnedMaskPolicy and policy_class("Kaleidoscope", "dqn") is LearnedMaskQPolicy
    from policies import recurrent, sac, td3
    from policies.dqn import qrdqn

    assert policy_class("SNP-PS", "sac") is sac.PrunedMaskPolicy and policy_class("SePS", "ddpg") is td3.SelectiveSharingPolicy
    assert policy_class("Kaleidoscope", "qrdqn") is qrdqn.QuantileLearnedMaskPolicy
    assert policy_class("FuPS+id", "recurrent-ppo") is recurrent.FullSharingPolicy
    for method in METHODS:  # every method exists in every family, under the same class name
        for algorithm in ALGORITHMS:
            assert method_spec(method).actor_critic.__name__.removesuffix("Policy") in policy_class(method, algorithm).__name__


def test_learned_mask_overlap_and_history_figures(tmp_path: Path) -> None:
    model = PPO(LearnedMaskPolicy, _venv(), seed=0, device="cpu")
    overlap = mask_overlap(model.policy.policy_network)  # weight masks, per agent, as for SNP-PS
    assert overlap.shape == (4, 4) and np.all(overlap > 0.9)  # the released initialisation keeps nearly all
    history = [{"timesteps": t, "network": n, "overlap": 1 - t / 1e4, "density": 0.99}
               for t in (100, 200) for n in ("policy_net", "value_net")]
    assert plot_mask_history(history, tmp_path / "h.png").stat().st_size > 1000
    with pytest.raises(ValueError, match="plot_mask_history: history is empty"):
        plot_mask_history([], tmp_path / "empty.png")


def test_snp_ps_mask_overlap_is_a_jaccard_matrix() -> None:
    model = PPO(PrunedMaskPolicy, _venv(), policy_kwargs={"actor_pruning": 0.5}, seed=0, device="cpu")
    overlap = mask_overlap(model.policy.policy_network)
    assert overlap.shape == (4, 4)
    np.testing.assert_allclose(np.diag(overlap), 1.0)
    np.testing.assert_allclose(overlap, overlap.T)
    off = overlap[~np.eye(4, dtype=bool)]
    assert np.all((off > 0) & (off < 1))  # independent random masks: partial overlap


def test_adaps_agents_of_one_cluster_share_their_mask(tmp_path: Path) -> None:
    model = PPO(PrunedMaskPolicy, _venv(), policy_kwargs={"method": "adaps", "clusters": [0, 0, 1, 1]}, seed=0, device="cpu")
    overlap = mask_overlap(model.policy.policy_network)
    assert overlap[0, 1] == 1.0 and overlap[2, 3] == 1.0 and overlap[0, 2] < 1.0
    path = plot_mask_overlap(model.policy.policy_network, ["a", "b", "c", "d"], tmp_path / "m.png")
    assert path.stat().st_size > 1000


def test_mask_overlap_needs_a_masked_network() -> None:
    model = PPO(SelectiveSharingPolicy, _venv(), seed=0, device="cpu")
    with pytest.raises(TypeError, match="mask_overlap: network must carry neuron masks"):
        mask_overlap(model.policy.policy_network)


def test_cluster_and_curve_figures(tmp_path: Path) -> None:
    result = ClusterResult(("a_0", "a_1", "b_0"), (0, 0, 1), np.array([[0.0, 1, 0], [0.1, 1, 0], [2, 0, 1]]), {2: 0.1})
    assert plot_cluster_embedding(result, tmp_path / "c.png").stat().st_size > 1000
    with pytest.raises(TypeError, match="must be a policies.ClusterResult"):
        plot_cluster_embedding([0, 1], tmp_path / "x.png")  # type: ignore[arg-type]
    curves = {"FuPS": [([1, 2, 3], [0.0, 1.0, 2.0]), ([1, 2], [1.0, 1.0])], "none": [([], [])]}
    assert plot_learning_curves(curves, tmp_path / "l.png", "t").stat().st_size > 1000


def test_suite_report_aggregates_seeds(tmp_path: Path) -> None:
    from benchmarks.suite import Args, write_results

    records = [
        {"key": "bps", "method": m, "seed": s, "steps": 100, "eval_return": e, "train_return": e, "params": 10,
         "train_seconds": 1.0, "cluster_seconds": 0.0, "clusters": None, "curve": [[1, 2], [e, e]]}
        for m, s, e in (("FuPS", 0, -2.0), ("FuPS", 1, -4.0), ("SNP-PS", 0, -1.0))
    ]
    text = write_results(records, tmp_path, Args(out=tmp_path))
    assert "| FuPS | -3.000 ± 1.000 |" in text and "| SNP-PS | -1.000 ± 0.000 |" in text
    assert (tmp_path / "curves_bps.png").is_file() and (tmp_path / "results.md").read_text().strip() == text.strip()
