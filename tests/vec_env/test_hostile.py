"""Hypothesis family over generated hostile envs (issue 12).

Every example is a :class:`~ps_wrappers.testing.HostileEnv` with a random space pair and a random
script of faults: masks appearing and disappearing at any step, out-of-space observations of every
space type, malformed rewards and infos, agents dying and respawning, broken termination. The
property: either no invalid action reaches the env and every row the policy sees is exactly the
encoding of what the env emitted (features, agent id, acting flag, mask), or a specific
``EnvContractError`` is raised at the step where the env broke the contract, and never otherwise.
The deployment writer (``SharedPolicy.observe``) must produce the same rows as the vec env.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ps_wrappers as pw
from ps_wrappers.testing import BENIGN_FAULTS, BREAKING_FAULTS, Fault, HostileEnv

OBS_SPACES: dict[str, spaces.Space] = {
    "box": spaces.Box(-1.0, 1.0, (3,), np.float32),
    "int_box": spaces.Box(-3, 3, (2, 2), np.int16),
    "discrete": spaces.Discrete(4, start=2),
    "multidiscrete": spaces.MultiDiscrete([3, 2], start=[1, -1]),
    "multibinary": spaces.MultiBinary(3),
    "image": spaces.Box(0, 255, (5, 4, 2), np.uint8),
}
ACT_SPACES: dict[str, spaces.Space] = {
    "discrete": spaces.Discrete(3, start=1),
    "multidiscrete": spaces.MultiDiscrete([2, 3], start=[0, 2]),
}
STEPS = 9


class _Stub:
    """The part of an SB3 policy that ``SharedPolicy.observe`` reads."""

    def __init__(self, observation_space: spaces.Space) -> None:
        self.observation_space = observation_space

    def predict(self, obs: Any, deterministic: bool = True) -> tuple[Any, None]:
        raise NotImplementedError


def _features(space: spaces.Space, obs: Any) -> np.ndarray:
    """The flat feature encoding of ``obs``, written independently of the library."""
    if isinstance(space, spaces.Discrete):
        return np.eye(int(space.n), dtype=np.float32)[int(obs) - int(space.start)]
    if isinstance(space, spaces.MultiDiscrete):
        parts = [np.eye(int(n), dtype=np.float32)[int(v) - int(s)] for n, v, s in zip(space.nvec, obs, space.start)]
        return np.concatenate(parts)
    return np.asarray(obs, np.float32).reshape(-1)


def _check_rows(venv: Any, env: HostileEnv, obs: Any) -> None:
    lay = venv.layout
    space = env.observation_space(None)
    live = set(env.agents)
    masks = venv.action_masks()
    acting = lay.acting(obs)
    n = len(env.possible_agents)
    np.testing.assert_array_equal(lay.agent_index(obs), np.arange(n))
    for j, a in enumerate(env.possible_agents):
        row = {k: v[j] for k, v in obs.items()} if lay.is_image else obs[j]
        assert venv.observation_space.contains(row), f"slot {j} outside the declared space"
        if a in live:
            assert acting[j] == 1
            if lay.is_image:
                np.testing.assert_array_equal(obs["image"][j], np.moveaxis(env.emitted[a], -1, 0))
            else:
                np.testing.assert_array_equal(obs[j, : lay.feature_dim], _features(space, env.emitted[a]))
            expected = np.ones(lay.n_actions, bool) if env.masks.get(a) is None else env.masks[a].astype(bool)
            np.testing.assert_array_equal(masks[j], expected)
        else:
            assert acting[j] == 0
            features = obs["image"][j] if lay.is_image else obs[j, : lay.feature_dim]
            assert not np.any(features)
            assert masks[j].sum() == len(lay.action_nvec)  # one forced action per dimension


def _check_deployment_rows(venv: Any, env: HostileEnv, obs: Any) -> None:
    actor = pw.SharedPolicy(_Stub(venv.observation_space), env)
    live = [a for a in env.possible_agents if a in env.agents]
    rows = actor.observe({a: env.emitted[a] for a in live}, env.last_infos)
    slots = [env.possible_agents.index(a) for a in live]
    if venv.layout.is_image:
        for key, value in rows.items():
            np.testing.assert_array_equal(value, obs[key][slots])
    else:
        np.testing.assert_array_equal(rows, obs[slots])


def _broke(env: HostileEnv, step: int) -> bool:
    return any(f.breaks_contract and f.step == step for f in env.fired)


benign = st.lists(st.builds(Fault, step=st.integers(0, STEPS), agent=st.integers(0, 2), kind=st.sampled_from(BENIGN_FAULTS)), max_size=4)
breaking = st.builds(
    lambda kind, step, agent: None if kind is None else Fault(step, agent, kind),
    st.sampled_from((None, *BREAKING_FAULTS)), st.integers(0, 4), st.integers(0, 2),
)


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    obs_kind=st.sampled_from(sorted(OBS_SPACES)),
    act_kind=st.sampled_from(sorted(ACT_SPACES)),
    n_agents=st.integers(1, 3),
    script=benign,
    broken=breaking,
    max_steps=st.integers(2, 6),
    seed=st.integers(0, 2**16),
)
def test_hostile_env_gives_correct_rows_and_valid_actions_or_a_specific_error(
    obs_kind: str, act_kind: str, n_agents: int, script: list[Fault], broken: Fault | None, max_steps: int, seed: int
) -> None:
    faults = script if broken is None else [*script, broken]
    env = HostileEnv(OBS_SPACES[obs_kind], ACT_SPACES[act_kind], n_agents, faults, max_steps=max_steps)
    rng = np.random.default_rng(seed)
    try:
        venv = pw.make_vec_env(env, seed=seed)
        obs = venv.reset()
    except pw.EnvContractError:
        assert _broke(env, 0), f"raised at reset, but the env broke nothing: fired {env.fired}"
        return
    assert not _broke(env, 0), f"a broken reset went unnoticed: {env.fired}"
    _check_rows(venv, env, obs)
    _check_deployment_rows(venv, env, obs)
    for step in range(1, STEPS + 1):
        actions = [rng.choice(np.flatnonzero(m)) for m in venv.action_masks()]
        if act_kind == "multidiscrete":  # one choice per dimension of the concatenated mask
            nvec = venv.layout.action_nvec
            starts = np.cumsum((0, *nvec[:-1]))
            actions = [
                [rng.choice(np.flatnonzero(m[s : s + k])) for s, k in zip(starts, nvec)] for m in venv.action_masks()
            ]
        try:
            obs, rewards, _, _ = venv.step(np.array(actions))
        except pw.EnvContractError:
            assert _broke(env, step), f"raised at step {step}, but the env broke nothing: fired {env.fired}"
            assert env.violations == []
            return
        assert not _broke(env, step), f"step {step}: a broken env went unnoticed: {env.fired}"
        assert env.violations == [], env.violations
        assert np.isfinite(rewards).all()
        _check_rows(venv, env, obs)
        _check_deployment_rows(venv, env, obs)
