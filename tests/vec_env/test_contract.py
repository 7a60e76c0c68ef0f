"""The SB3 VecEnv contract of make_vec_env: spaces, layout, plumbing, seeding, errors."""

from __future__ import annotations

import numpy as np
import pytest
from mpe2 import simple_spread_v3, simple_world_comm_v3
from stable_baselines3.common.vec_env import VecEnv

import ps_wrappers as pw
from ps_wrappers.subproc_vec_env import SubprocPettingZooVecEnv
from ps_wrappers.testing import AgentIdentityEnv
from ps_wrappers.transform import ParallelTransform
from tests.vec_env.conftest import random_masked_actions


def spread(max_cycles: int = 25):
    return lambda: simple_spread_v3.parallel_env(max_cycles=max_cycles)


def rollout(venv: VecEnv, steps: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    obs = [venv.reset()]
    rews, dones = [], []
    for _ in range(steps):
        o, r, d, _ = venv.step(random_masked_actions(venv, rng))
        obs.append(o)
        rews.append(r)
        dones.append(d)
    return np.array(obs), np.array(rews), np.array(dones)


def test_layout_segments_and_masks_on_heterogeneous_env() -> None:
    venv = pw.make_vec_env(simple_world_comm_v3.parallel_env, n_envs=2, seed=0)
    lay = venv.layout
    assert isinstance(venv, VecEnv) and venv.num_envs == 12
    assert lay.agents == ("leadadversary_0", "adversary_0", "adversary_1", "adversary_2", "agent_0", "agent_1")
    assert (lay.feature_dim, lay.n_agents, lay.n_actions) == (34, 6, 20)
    obs = venv.reset()
    assert obs.shape == (12, lay.total_dim) and obs.dtype == np.float32
    assert venv.observation_space.contains(obs[0])
    features, ids, acting, masks = lay.split(obs)
    np.testing.assert_array_equal(ids.argmax(1), np.tile(np.arange(6), 2))
    np.testing.assert_array_equal(ids.sum(1), np.ones(12))
    assert (acting == 1).all()
    assert masks[0].sum() == 20  # leadadversary: all 20 actions
    np.testing.assert_array_equal(masks[1], np.r_[np.ones(5), np.zeros(15)])  # adversaries: 5 real
    assert (features[4, 28:] == 0).all()  # good agents' 28-dim obs zero padded to 34
    np.testing.assert_array_equal(lay.agent_index(obs), np.tile(np.arange(6), 2))


def test_every_observation_inside_declared_space() -> None:
    venv = pw.make_vec_env(simple_world_comm_v3.parallel_env, n_envs=2, seed=0)
    obs, _, _ = rollout(venv, 60, seed=1)
    space = venv.observation_space
    assert all(space.contains(o) for step in obs for o in step)


def test_seeding_gives_identical_rollouts_including_auto_resets() -> None:
    a = rollout(pw.make_vec_env(spread(max_cycles=7), n_envs=3, seed=5), 40, seed=0)
    b = rollout(pw.make_vec_env(spread(max_cycles=7), n_envs=3, seed=5), 40, seed=0)
    c = rollout(pw.make_vec_env(spread(max_cycles=7), n_envs=3, seed=6), 40, seed=0)
    assert a[2].sum() >= 5 * 9  # several auto-resets happened
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0])
    # copies differ from each other, and successive episodes of one copy differ
    assert not np.array_equal(a[0][0, 0], a[0][0, 3])
    first_ep, second_ep = a[0][1, 0], a[0][8, 0]
    assert not np.array_equal(first_ep, second_ep)


def test_vec_env_seed_method_reseeds_next_reset() -> None:
    venv = pw.make_vec_env(spread(), n_envs=2)
    venv.seed(3)
    first = venv.reset()
    venv.seed(3)
    np.testing.assert_array_equal(venv.reset(), first)
    assert venv.seed(3) == [3, 3, 3, 4, 4, 4]


def test_truncation_is_reported_with_terminal_observation() -> None:
    venv = pw.make_vec_env(spread(max_cycles=4), n_envs=2, seed=0)
    venv.reset()
    rng = np.random.default_rng(0)
    for t in range(4):
        obs, rew, dones, infos = venv.step(random_masked_actions(venv, rng))
        if t < 3:
            assert not dones.any()
    assert dones.all()
    for info in infos:
        assert info["TimeLimit.truncated"] is True
        assert info["terminal_observation"].shape == (venv.layout.total_dim,)
        assert info["episode"]["l"] == 4
    assert "team_episode" in infos[0] and "team_episode" in infos[3]
    assert not np.array_equal(infos[0]["terminal_observation"], obs[0])  # obs is the reset one


def test_plumbing_get_set_attr_env_method_is_wrapped_and_masks() -> None:
    venv = pw.make_vec_env(simple_world_comm_v3.parallel_env, n_envs=2, seed=0)
    venv.reset()
    assert venv.get_attr("possible_agents", 7)[0][0] == "leadadversary_0"
    venv.set_attr("custom_flag", 42, indices=[6])
    assert venv.get_attr("custom_flag", [6, 11]) == [42, 42]
    assert str(venv.env_method("action_space", "adversary_0", indices=0)[0]) == "Discrete(20)"
    assert venv.env_is_wrapped(ParallelTransform) == [True] * 12
    assert venv.has_attr("action_masks")
    masks = np.stack(venv.env_method("action_masks"))
    assert masks.shape == (12, 20) and masks.dtype == bool
    assert len(venv.reset_infos) == 12


def test_homogeneous_env_is_not_padded_and_box_actions_have_no_mask() -> None:
    from pettingzoo.sisl import multiwalker_v9

    venv = pw.make_vec_env(lambda: multiwalker_v9.parallel_env(max_cycles=20), n_envs=1, seed=0)
    assert venv.layout.n_actions == 0 and venv.action_space.shape == (4,)
    with pytest.raises(AttributeError, match="continuous"):
        venv.action_masks()
    assert not venv.has_attr("action_masks")


def test_no_agent_ids_layout() -> None:
    venv = pw.make_vec_env(AgentIdentityEnv(), seed=0, agent_ids=False)
    assert venv.layout.n_agents == 0 and venv.reset().shape[1] == 4 + 1 + 4
    with pytest.raises(ValueError, match="agent_ids=False"):
        venv.layout.agent_index(venv.reset())


def test_invalid_action_raises_naming_slot_and_agent() -> None:
    venv = pw.make_vec_env(simple_world_comm_v3.parallel_env, seed=0)
    venv.reset()
    actions = np.zeros(6, dtype=np.int64)
    actions[1] = 12  # adversary_0 has 5 actions
    with pytest.raises(ValueError, match=r"slot 1 \(agent 'adversary_0'\) chose action 12.*MaskablePPO"):
        venv.step(actions)


def test_invalid_action_random_valid_is_replaced_flagged_and_counted() -> None:
    venv = pw.make_vec_env(simple_world_comm_v3.parallel_env, seed=0, invalid_action="random_valid")
    venv.reset()
    actions = np.zeros(6, dtype=np.int64)
    actions[1] = 12
    _, _, _, infos = venv.step(actions)
    assert infos[1]["invalid_action_replaced"] is True
    assert "invalid_action_replaced" not in infos[0]
    assert venv.invalid_action_counts == {"adversary_0": 1}


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(n_envs=0), ValueError, "n_envs must be a positive integer"),
        (dict(aec_mode="fast"), ValueError, "aec_mode must be"),
        (dict(vec_env_cls="threads"), ValueError, "vec_env_cls must be"),
        (dict(invalid_action="ignore"), ValueError, "invalid_action must be"),
    ],
)
def test_bad_arguments(kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        pw.make_vec_env(spread(), **kwargs)


def test_bad_env_sources() -> None:
    with pytest.raises(ValueError, match="fresh env per copy.*callable"):
        pw.make_vec_env(simple_spread_v3.parallel_env(), n_envs=2)
    with pytest.raises(TypeError, match="zero-argument callable"):
        pw.make_vec_env(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="pass `module.parallel_env`"):
        pw.make_vec_env(lambda: simple_spread_v3)
    with pytest.raises(ValueError, match="different observation spaces.*pad=False"):
        pw.make_vec_env(simple_world_comm_v3.parallel_env, pad=False)
    with pytest.raises(ValueError, match="aec_mode='turns' needs an AECEnv"):
        pw.make_vec_env(spread(), aec_mode="turns")


def test_subprocess_vec_env_matches_in_process() -> None:
    local = pw.make_vec_env(spread(max_cycles=6), n_envs=3, seed=1)
    remote = pw.make_vec_env(spread(max_cycles=6), n_envs=3, seed=1, vec_env_cls="subproc", n_workers=2)
    try:
        assert isinstance(remote, SubprocPettingZooVecEnv) and remote.num_envs == 9
        a, b = rollout(local, 15, seed=2), rollout(remote, 15, seed=2)
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)
        assert remote.get_attr("possible_agents", 4) == [["agent_0", "agent_1", "agent_2"]]
        assert np.stack(remote.env_method("action_masks")).shape == (9, 5)
    finally:
        remote.close()


class _CountingResets(AgentIdentityEnv):
    """AgentIdentityEnv whose reset infos carry the episode number."""

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        self.resets = getattr(self, "resets", 0) + 1
        obs, _ = super().reset(seed=seed, options=options)
        return obs, {a: {"episode_no": self.resets} for a in self.agents}


@pytest.mark.parametrize("vec_env_cls", ["dummy", "subproc"])
def test_reset_infos_follow_auto_resets(vec_env_cls: str) -> None:
    kwargs = {"vec_env_cls": "subproc", "n_workers": 2} if vec_env_cls == "subproc" else {}
    venv = pw.make_vec_env(lambda: _CountingResets(n_agents=2, max_steps=3), n_envs=2, seed=0, **kwargs)
    try:
        venv.reset()
        assert [i["episode_no"] for i in venv.reset_infos] == [1, 1, 1, 1]
        actions = np.zeros(4, dtype=np.int64)
        for step in range(1, 7):
            _, _, dones, infos = venv.step(actions)
            assert dones.all() == (step % 3 == 0)
            expected = 1 + step // 3
            assert [i["episode_no"] for i in venv.reset_infos] == [expected] * 4
            if dones.all():
                assert [i["reset_info"] for i in infos] == [{"episode_no": expected}] * 4
    finally:
        venv.close()
