"""Data-only policy export: every policy class acts identically after export / load, without pickle."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from stable_baselines3 import A2C, PPO
from stable_baselines3.common.policies import BasePolicy

import policies
import ps_wrappers
from policies import (
    MASTDQN,
    ClusterResult,
    FullSharingPolicy,
    FullSharingQPolicy,
    LearnedMaskPolicy,
    LearnedMaskQPolicy,
    MaskedDQN,
    PrunedMaskPolicy,
    PrunedMaskQPolicy,
    SelectiveSharingPolicy,
    SelectiveSharingQPolicy,
    SparseEvolvedPolicy,
    SparseEvolvedQPolicy,
    SparsePrunedMaskPolicy,
    SparsePrunedMaskQPolicy,
    SparseSelectiveSharingPolicy,
    SparseSelectiveSharingQPolicy,
    export_policy,
    load_exported_policy,
    set_mask_schedule,
)
from ps_wrappers.testing import AgentIdentityEnv, sample_slot_observations

AGENTS = ("agent_0", "agent_1", "agent_2", "agent_3")
CLUSTERS = ClusterResult(AGENTS, (0, 0, 1, 1), np.array([[0.0, 1.0], [0.1, 0.9], [1.0, 0.0], [0.9, 0.2]]), {2: 0.3})
PPO_KW = {"n_steps": 16, "batch_size": 32, "n_epochs": 2}
DQN_KW = {"learning_starts": 16, "buffer_size": 500, "train_freq": 1, "target_update_interval": 20}
SPARSE = {"update_interval": 5}
CASES: list[tuple[type, type, dict[str, Any]]] = [
    (PPO, FullSharingPolicy, {}),
    (PPO, FullSharingPolicy, {"agent_id": True}),
    (A2C, SelectiveSharingPolicy, {"clusters": CLUSTERS}),
    (PPO, PrunedMaskPolicy, {}),
    (PPO, PrunedMaskPolicy, {"method": "adaps", "clusters": CLUSTERS}),
    (PPO, SparseEvolvedPolicy, {"agent_id": True, **SPARSE}),
    (PPO, SparsePrunedMaskPolicy, SPARSE),
    (PPO, SparseSelectiveSharingPolicy, {"clusters": [0, 1, 1, 0], **SPARSE}),
    (MaskedDQN, FullSharingQPolicy, {"agent_id": True}),
    (MaskedDQN, SelectiveSharingQPolicy, {"clusters": CLUSTERS}),
    (MaskedDQN, PrunedMaskQPolicy, {"pruning": 0.5}),
    (MaskedDQN, PrunedMaskQPolicy, {"method": "adaps", "clusters": CLUSTERS}),
    (MASTDQN, SparseEvolvedQPolicy, {"agent_id": True, **SPARSE}),
    (MaskedDQN, SparsePrunedMaskQPolicy, SPARSE),
    (MaskedDQN, SparseSelectiveSharingQPolicy, {"clusters": {"agent_0": 0, "agent_1": 1, "agent_2": 0, "agent_3": 1}}),
    (PPO, LearnedMaskPolicy, {"reset_interval": 32, "reset_ratio": 0.5}),
    (A2C, LearnedMaskPolicy, {"clusters": CLUSTERS, "agent_id": False, "coef_mode": "fixed"}),
    (MaskedDQN, LearnedMaskQPolicy, {"clusters": "type", "div_coef": 1.0}),
]
IDS = [f"{a.__name__}-{c.__name__}-{'-'.join(k)}" for a, c, k in CASES]
NOT_EXPORTED = {"AgentQNetwork", "SharingActorCriticPolicy", "SharingQPolicy"}  # a Q-network and two abstract bases


def _env() -> AgentIdentityEnv:
    return AgentIdentityEnv(n_agents=4, n_actions=4, obs_dim=4, max_steps=10)


def _trained(algo: type, cls: type, kwargs: dict[str, Any]) -> Any:
    venv = ps_wrappers.make_vec_env(_env, n_envs=2, seed=0)
    extra = PPO_KW if algo is PPO else {"n_steps": 4} if algo is A2C else DQN_KW
    model = algo(cls, venv, policy_kwargs=kwargs, seed=0, device="cpu", **extra)
    set_mask_schedule(model, 64)  # learned masks: resets on their schedule (no-op for other methods)
    return model.learn(64)


def _outputs(policy: BasePolicy, obs: np.ndarray) -> list[torch.Tensor]:
    tensor = torch.as_tensor(obs)
    with torch.no_grad():
        if hasattr(policy, "q_net"):
            return [policy.q_net(tensor)]
        return [policy.get_distribution(tensor).distribution.logits, policy.predict_values(tensor)]


def test_every_policy_class_is_covered() -> None:
    exported = {cls for _, cls, _ in CASES}
    for name in policies.__all__:
        value = getattr(policies, name)
        if isinstance(value, type) and issubclass(value, BasePolicy) and name not in NOT_EXPORTED:
            assert value in exported, f"{name} has no export round-trip case"


@pytest.mark.parametrize(("algo", "cls", "kwargs"), CASES, ids=IDS)
def test_exported_policy_acts_identically(algo: type, cls: type, kwargs: dict, tmp_path: Path) -> None:
    model = _trained(algo, cls, kwargs)
    export_policy(model, tmp_path / "export")
    torch.manual_seed(1234)  # anything drawn at construction would now differ
    loaded = load_exported_policy(tmp_path / "export")
    assert type(loaded) is cls and not loaded.training
    original = model.policy.state_dict()
    restored = loaded.state_dict()
    assert original.keys() == restored.keys()
    for name, value in original.items():
        assert torch.equal(value, restored[name]), name
    obs = sample_slot_observations(model.observation_space, 64, np.random.default_rng(0))
    for a, b in zip(_outputs(model.policy, obs), _outputs(loaded, obs)):
        assert torch.equal(a, b)
    np.testing.assert_array_equal(loaded.predict(obs, deterministic=True)[0], model.predict(obs, deterministic=True)[0])
    # On the vec env: the reloaded policy takes the trained model's actions at every step.
    venv = ps_wrappers.make_vec_env(_env, n_envs=2, seed=5)
    step_obs = venv.reset()
    for _ in range(25):
        actions = loaded.predict(step_obs, deterministic=True)[0]
        np.testing.assert_array_equal(actions, model.predict(step_obs, deterministic=True)[0])
        step_obs = venv.step(actions)[0]


def test_evaluate_and_shared_policy_accept_an_exported_policy(tmp_path: Path) -> None:
    model = _trained(PPO, PrunedMaskPolicy, {"method": "adaps", "clusters": CLUSTERS})
    export_policy(model.policy, tmp_path)  # a policy is accepted as well as an algorithm
    loaded = load_exported_policy(tmp_path)
    expected = ps_wrappers.evaluate(model, _env, n_episodes=3, seed=7)
    got = ps_wrappers.evaluate(loaded, _env, n_episodes=3, seed=7)
    assert got.team_returns == expected.team_returns and got.agent_returns == expected.agent_returns
    env = _env()
    obs, infos = env.reset(seed=3)
    assert ps_wrappers.SharedPolicy(loaded, env).act(obs, infos) == ps_wrappers.SharedPolicy(model, env).act(obs, infos)


def test_files_are_data_and_loading_never_unpickles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = _trained(PPO, SelectiveSharingPolicy, {"clusters": CLUSTERS})
    export_policy(model, tmp_path)
    header = json.loads((tmp_path / "policy.json").read_text())
    assert header["policy_class"] == {"__class__": "policies.SelectiveSharingPolicy"}
    assert header["options"]["activation_fn"] == {"__class__": "torch.nn.Tanh"}
    assert header["options"]["clusters"]["__dataclass__"] == "policies.ClusterResult"
    with np.load(tmp_path / "weights.npz", allow_pickle=False) as data:
        assert all(data[k].dtype != object for k in data.files)

    def refuse(*_: Any, **__: Any) -> None:
        raise AssertionError("unpickled")

    for target in (pickle, torch):
        monkeypatch.setattr(target, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    torch.manual_seed(0)
    before = torch.rand(3)
    torch.manual_seed(0)
    loaded = load_exported_policy(tmp_path)
    assert torch.equal(torch.rand(3), before)  # loading leaves torch's global RNG where it was
    clusters = loaded.sharing.clusters
    assert isinstance(clusters, ClusterResult) and clusters.agents == AGENTS and clusters.cluster_of_agent == (0, 0, 1, 1)
    np.testing.assert_array_equal(clusters.embeddings, CLUSTERS.embeddings)
    assert clusters.scores == {2: 0.3} and clusters.criterion == CLUSTERS.criterion


def _edit(path: Path, edit: Any) -> None:
    header = json.loads((path / "policy.json").read_text())
    edit(header)
    (path / "policy.json").write_text(json.dumps(header))


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda h: h.update(policy_class={"__class__": "os.system"}), r"names the class 'os.system', which is not in the allow-list"),
        (lambda h: h["options"].update(activation_fn={"__class__": "builtins.eval"}), "'builtins.eval', which is not in the allow-list"),
        (lambda h: h.update(policy_class={"__class__": "torch.nn.ReLU"}), "policy_class must name an SB3 policy class"),
        (lambda h: h["options"].update(net_arch={"__reduce__": "os.system"}), "unknown entry"),
        (lambda h: h["options"].update(clusters={"__dataclass__": "subprocess.Popen", "fields": {}}), "not one of"),
        (lambda h: h["options"].update(net_arch=[8, 8]), "weights do not fit"),
        (lambda h: h["options"].update(bogus=1), "options do not build a FullSharingPolicy"),
        (lambda h: h.update(format="something/else"), "expected 'ps-toolkit.policy/1'"),
        (lambda h: h["state"].update({"extra": "s999"}), "refers to the array 's999'"),
    ],
)
def test_malformed_or_untrusted_files_are_refused(edit: Any, match: str, tmp_path: Path) -> None:
    export_policy(_trained(PPO, FullSharingPolicy, {}), tmp_path)
    _edit(tmp_path, edit)
    with pytest.raises(ValueError, match=match):
        load_exported_policy(tmp_path)


def test_pickled_arrays_and_missing_files_are_refused(tmp_path: Path) -> None:
    export_policy(_trained(PPO, FullSharingPolicy, {}), tmp_path)
    np.savez(tmp_path / "weights.npz", s0=np.array([object()], dtype=object))
    with pytest.raises(ValueError, match="pickled data is never loaded"):
        load_exported_policy(tmp_path)
    (tmp_path / "weights.npz").unlink()
    with pytest.raises(FileNotFoundError, match="has no weights.npz; pass a directory written by policies.export_policy"):
        load_exported_policy(tmp_path)
    with pytest.raises(TypeError, match="export_policy: model must be an SB3 algorithm or policy, got str"):
        export_policy("model", tmp_path)


class _Extractor(torch.nn.Identity):
    """Stands for a user's own class, outside the allow-list."""


def test_classes_outside_the_allow_list_need_an_explicit_entry(tmp_path: Path) -> None:
    venv = ps_wrappers.make_vec_env(_env, n_envs=1, seed=0)
    model = PPO(FullSharingPolicy, venv, policy_kwargs={"activation_fn": _Extractor}, n_steps=16, batch_size=16, seed=0)
    with pytest.raises(TypeError, match=r"options\['activation_fn'\] is the class .*_Extractor, which is not in the allow-list"):
        export_policy(model, tmp_path)
    export_policy(model, tmp_path, classes={"my.Extractor": _Extractor})
    with pytest.raises(ValueError, match="names the class 'my.Extractor'"):
        load_exported_policy(tmp_path)
    loaded = load_exported_policy(tmp_path, classes={"my.Extractor": _Extractor})
    obs = sample_slot_observations(model.observation_space, 8, np.random.default_rng(0))
    np.testing.assert_array_equal(loaded.predict(obs, deterministic=True)[0], model.predict(obs, deterministic=True)[0])
    with pytest.raises(TypeError, match="cannot store options\\['optimizer_kwargs'\\]\\['betas_fn'\\]"):
        model.policy.optimizer_kwargs["betas_fn"] = print
        export_policy(model, tmp_path / "again", classes={"my.Extractor": _Extractor})


@pytest.mark.parametrize(
    "kwargs",
    [{"agent_id": True, "id_input": "planes"}, {"mask_channels": True}],
    ids=["FuPS+id planes", "SNP-PS channel masks"],
)
def test_image_slot_policies_export_and_act_identically(kwargs: dict, tmp_path: Path) -> None:
    from gymnasium import spaces

    from tests.policies.policy_test_utils import image_obs, image_space

    cls = FullSharingPolicy if "agent_id" in kwargs else PrunedMaskPolicy
    space = image_space((3, 9, 9))
    policy = cls(space, spaces.Discrete(4), lambda _: 3e-4, **kwargs)
    export_policy(policy, tmp_path)
    loaded = load_exported_policy(tmp_path)
    assert type(loaded.observation_space).__name__ == "SlotDict"
    obs = image_obs(space, np.array([0, 1, 2, 2, 1]), seed=4)
    np.testing.assert_array_equal(loaded.predict(obs, deterministic=True)[0], policy.predict(obs, deterministic=True)[0])
    for key, value in policy.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[key], value)


FAMILY_ENVS = {"box": "ContinuousIdentityEnv", "discrete": "AgentIdentityEnv"}


def _family_cases() -> list[tuple[str, str, str]]:
    """(family module, class name, env kind) for every concrete policy class of every family."""
    import importlib

    families = {"policies.sac": "box", "policies.td3": "box", "policies.recurrent": "discrete", "policies.dqn.qrdqn": "discrete"}
    bases = {"SharingSACActor", "SharingSACPolicy", "SharingTD3Actor", "SharingTD3Policy", "SharingRecurrentPolicy",
             "SharingQuantilePolicy", "AgentQuantileNetwork"}
    cases = []
    for module_name, kind in families.items():
        module, seen = importlib.import_module(module_name), set()
        for name in module.__all__:
            value = getattr(module, name)
            if isinstance(value, type) and issubclass(value, BasePolicy) and name not in bases and value not in seen:
                seen.add(value)  # qrdqn exports each class under two names
                cases.append((module_name, name, kind))
    return cases


@pytest.mark.parametrize(("module_name", "name", "kind"), _family_cases(), ids=lambda v: str(v).rsplit(".", 1)[-1])
def test_every_algorithm_family_exports_and_acts_identically(module_name: str, name: str, kind: str, tmp_path: Path) -> None:
    """SAC, TD3, RecurrentPPO and QR-DQN policies of every method round-trip through the data-only export."""
    import importlib

    from sb3_contrib import RecurrentPPO
    from stable_baselines3 import TD3

    from policies.dqn import MaskedQRDQN
    from policies.sac import MaskedSAC
    from ps_wrappers import testing

    cls = getattr(importlib.import_module(module_name), name)
    env_cls = getattr(testing, FAMILY_ENVS[kind])
    algo, extra = {
        "policies.sac": (MaskedSAC, {"learning_starts": 8, "buffer_size": 200}),
        "policies.td3": (TD3, {"learning_starts": 8, "buffer_size": 200}),
        "policies.recurrent": (RecurrentPPO, {"n_steps": 8, "batch_size": 16, "n_epochs": 1}),
        "policies.dqn.qrdqn": (MaskedQRDQN, {"learning_starts": 8, "buffer_size": 200}),
    }[module_name]
    kwargs: dict[str, Any] = {"clusters": "type"} if "Selective" in name else {}
    if "Sparse" in name:
        kwargs["update_interval"] = 5
    venv = ps_wrappers.make_vec_env(env_cls, n_envs=1, seed=0)
    model = algo(cls, venv, policy_kwargs=kwargs, seed=0, device="cpu", **extra).learn(48)
    export_policy(model, tmp_path / "export")
    torch.manual_seed(99)
    loaded = load_exported_policy(tmp_path / "export")
    assert type(loaded) is cls and not loaded.training
    original, restored = model.policy.state_dict(), loaded.state_dict()
    assert original.keys() == restored.keys()
    for key, value in original.items():
        assert torch.equal(value, restored[key]), key
    obs = sample_slot_observations(model.observation_space, 32, np.random.default_rng(1))
    np.testing.assert_array_equal(loaded.predict(obs, deterministic=True)[0], model.predict(obs, deterministic=True)[0])
