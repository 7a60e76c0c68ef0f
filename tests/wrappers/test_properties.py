"""Property tests of the wrappers on generated heterogeneous agents (issue 2, "What it must show").

Every test draws a per-agent space map (see :mod:`.strategies`) and checks one promise for
ParallelEnv and, where it applies, AECEnv: emitted observations are inside their declared spaces,
padding round-trips, padded actions never reach the environment, masks exclude exactly the
padded actions, indicators are injective, Box actions are trimmed and clipped.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import numpy as np
import pytest
from gymnasium import spaces
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pettingzoo.utils.conversions import parallel_to_aec

from ps_wrappers import (
    agent_indicator,
    agent_type,
    pad_actions,
    pad_observations,
    unpad_observation,
)
from ps_wrappers.space_padding import make_padder, make_unpadder, padded_space
from ps_wrappers.testing import (
    SpaceMapEnv,
    check_aec_env,
    check_in_space,
    check_parallel_env,
    sample_valid_action,
)

from .helpers import assert_same, same
from .strategies import SpaceMap, box_spaces, space_maps, typed_agent_names

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FEW = settings(SETTINGS, max_examples=30)


def _mask(env: Any, agent: Any) -> np.ndarray | None:
    return env.action_mask(agent)


def _own_range(space: spaces.Discrete) -> range:
    return range(int(space.start), int(space.start) + int(space.n))


def _expected_padding_mask(own: spaces.Space, dst: spaces.Space) -> np.ndarray:
    """True exactly for the values of ``own`` inside ``dst`` (per dimension for MultiDiscrete)."""
    if isinstance(dst, spaces.Discrete):
        values = range(int(dst.start), int(dst.start) + int(dst.n))
        return np.array([v in _own_range(own) for v in values])  # type: ignore[arg-type]
    parts = []
    assert isinstance(own, spaces.MultiDiscrete) and isinstance(dst, spaces.MultiDiscrete)
    for d in range(len(dst.nvec)):
        values = range(int(dst.start[d]), int(dst.start[d] + dst.nvec[d]))
        if d < len(own.nvec):
            lo, hi = int(own.start[d]), int(own.start[d] + own.nvec[d])
            parts.append(np.array([lo <= v < hi for v in values]))
        else:  # a dimension the agent does not have: only the padding value 0
            parts.append(np.array([v == 0 for v in values]))
    return np.concatenate(parts)


def _unmasked_action(env: Any, agent: Any, obs: Any) -> Any:
    """A random action of ``agent`` that its Dict observation's ``action_mask`` allows."""
    mask = obs["action_mask"] if isinstance(obs, dict) else None
    return sample_valid_action(env.action_space(agent), mask, np.random.default_rng(0))


# --- space padding on space samples ---------------------------------------------------------------


@SETTINGS
@given(space_maps(), st.integers(0, 2**16))
def test_padder_output_inside_padded_space_and_unpadder_inverts_it(m: SpaceMap, seed: int) -> None:
    for what, space_map in (("observation", m.observation_spaces), ("action", m.action_spaces)):
        dst = padded_space(m.agents, [space_map[a] for a in m.agents], what)
        for i, a in enumerate(m.agents):
            src = space_map[a]
            src.seed(seed + i)
            pad, unpad = make_padder(src, dst), make_unpadder(src, dst)
            for _ in range(3):
                x = src.sample()
                y = x if pad is None else pad(x)
                check_in_space(dst, y, f"padded {what} of agent {a!r}")
                assert_same(unpad(y), x, f"round trip of {what} of agent {a!r}")


@SETTINGS
@given(space_maps(obs_kinds=("box",)))
def test_padded_box_is_the_union_with_zero_padding(m: SpaceMap) -> None:
    boxes = [m.observation_spaces[a] for a in m.agents]
    dst = padded_space(m.agents, boxes, "observation")
    assert isinstance(dst, spaces.Box)
    assert dst.shape == tuple(np.max([b.shape for b in boxes], axis=0))
    for b in boxes:
        own = tuple(slice(0, n) for n in b.shape)
        assert np.all(dst.low[own] <= b.low) and np.all(dst.high[own] >= b.high)
        outside = np.ones(dst.shape, bool)
        outside[own] = False
        assert np.all(dst.low[outside] <= 0) and np.all(dst.high[outside] >= 0)
        assert np.can_cast(b.dtype, dst.dtype)


@SETTINGS
@given(space_maps(obs_kinds=("discrete",)))
def test_padded_discrete_is_the_smallest_range_holding_every_agent(m: SpaceMap) -> None:
    ds = [m.observation_spaces[a] for a in m.agents]
    dst = padded_space(m.agents, ds, "observation")
    assert int(dst.start) == min(int(d.start) for d in ds)
    assert int(dst.start) + int(dst.n) == max(int(d.start) + int(d.n) for d in ds)


# --- observation padding ----------------------------------------------------------------------------


@SETTINGS
@given(space_maps(), st.integers(0, 1000))
def test_padded_observations_inside_the_one_shared_space_parallel(m: SpaceMap, seed: int) -> None:
    env = pad_observations(m.parallel(max_steps=3))
    first = env.observation_space(m.agents[0])
    assert all(env.observation_space(a) == first for a in m.agents)
    assert check_parallel_env(lambda: env, seed=seed, n_steps=8, api_test=False) == 8 * len(m.agents)


@FEW
@given(space_maps(), st.integers(0, 1000))
def test_padded_observations_inside_the_one_shared_space_aec(m: SpaceMap, seed: int) -> None:
    env = pad_observations(m.aec(max_steps=3))
    assert all(env.observation_space(a) == env.observation_space(m.agents[0]) for a in m.agents)
    assert check_aec_env(lambda: env, seed=seed, n_steps=12, api_test=False) == 12


@SETTINGS
@given(space_maps(), st.integers(0, 1000))
def test_unpad_observation_recovers_the_emitted_observation_parallel(m: SpaceMap, seed: int) -> None:
    env = pad_observations(m.parallel(max_steps=3))
    raw = env.unwrapped
    obs, _ = env.reset(seed=seed)
    for _ in range(3):
        for a, o in obs.items():
            assert_same(unpad_observation(env, a, o), raw.emitted[a], f"agent {a!r}")
        obs, *_ = env.step({a: _unmasked_action(env, a, obs[a]) for a in env.agents})


@FEW
@given(space_maps(), st.integers(0, 1000))
def test_unpad_observation_recovers_the_emitted_observation_aec(m: SpaceMap, seed: int) -> None:
    raw = m.parallel(max_steps=3)
    env = pad_observations(parallel_to_aec(raw))
    env.reset(seed=seed)
    for _ in range(2 * len(m.agents)):
        for a in env.agents:
            assert_same(unpad_observation(env, a, env.observe(a)), raw.emitted[a], f"agent {a!r}")
        if not env.agents:
            break
        a = env.agent_selection
        env.step(_unmasked_action(env, a, env.observe(a)))


# --- action padding ---------------------------------------------------------------------------------


def _valid_actions(env: Any, rng: np.random.Generator) -> dict:
    return {b: sample_valid_action(env.action_space(b), env.action_mask(b), rng) for b in env.agents}


@SETTINGS
@given(space_maps(act_kinds=("discrete",)), st.integers(0, 1000))
def test_padded_discrete_actions_raise_and_never_reach_the_env(m: SpaceMap, seed: int) -> None:
    env = pad_actions(m.parallel(max_steps=10_000))
    raw = env.unwrapped
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    dst = env.action_space(m.agents[0])
    for a in m.agents:
        own = m.action_spaces[a]
        for v in range(int(dst.start), int(dst.start) + int(dst.n)):
            actions = _valid_actions(env, rng)
            actions[a] = np.int64(v)
            received = len(raw.received)
            if v not in _own_range(own):
                pattern = rf"(?s)agent {re.escape(repr(a))} is a padded action outside its own action space {re.escape(str(own))}"
                with pytest.raises(ValueError, match=pattern):
                    env.step(actions)
                assert len(raw.received) == received, "a padded action reached the environment"
            elif env.action_mask(a)[v - int(dst.start)]:
                env.step(actions)
                assert int(raw.received[-1][a]) == v


@SETTINGS
@given(space_maps(act_kinds=("multidiscrete",)), st.integers(0, 1000))
def test_padded_multidiscrete_actions_raise_and_never_reach_the_env(m: SpaceMap, seed: int) -> None:
    env = pad_actions(m.parallel(max_steps=10_000))
    raw = env.unwrapped
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    dst = env.action_space(m.agents[0])
    dst.seed(seed)
    for a in m.agents:
        own = m.action_spaces[a]
        n = len(own.nvec)
        for _ in range(6):
            actions = _valid_actions(env, rng)
            x = dst.sample()
            actions[a] = x
            received = len(raw.received)
            if own.contains(x[:n].astype(own.dtype)):
                env.step(actions)
                assert_same(raw.received[-1][a], x[:n].astype(own.dtype))
            else:
                with pytest.raises(ValueError, match=rf"agent {re.escape(repr(a))} is a padded action"):
                    env.step(actions)
                assert len(raw.received) == received


def _draw_padded_action(env: Any, agent: Any, own: spaces.Space, dst: spaces.Space, rng: np.random.Generator) -> tuple[Any, int]:
    """An action from the whole padded space, except real actions the env itself masks out.

    Returns the action and how many replacements it must cause.
    """
    if isinstance(dst, spaces.Discrete):
        allowed = ~env.padding_mask(agent) | env.action_mask(agent)
        v = int(dst.start) + int(rng.choice(np.flatnonzero(allowed)))
        return np.int64(v), int(v not in _own_range(own))  # type: ignore[arg-type]
    x = dst.sample()
    n = len(own.nvec)
    bad = (x[:n] < own.start) | (x[:n] >= own.start + own.nvec)
    return x, int(bad.sum())


@SETTINGS
@given(space_maps(act_kinds=("discrete", "multidiscrete")), st.integers(0, 1000))
def test_random_valid_replaces_padded_actions_and_counts_them_parallel(m: SpaceMap, seed: int) -> None:
    env = pad_actions(m.parallel(max_steps=10_000), invalid_action="random_valid", seed=seed)
    raw = env.unwrapped
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    dst = env.action_space(m.agents[0])
    dst.seed(seed)
    expected: dict[Any, int] = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(6):
            actions, bad = {}, {}
            for a in env.agents:
                actions[a], bad[a] = _draw_padded_action(env, a, m.action_spaces[a], dst, rng)
                expected[a] = expected.get(a, 0) + bad[a]
            env.step(actions)  # SpaceMapEnv raises on any out-of-space or masked-out action
            for a, x in raw.received[-1].items():
                check_in_space(m.action_spaces[a], x, f"action received for {a!r}")
                if not bad[a]:  # a valid action passes unchanged (trimmed for MultiDiscrete)
                    sent = actions[a] if np.ndim(x) == 0 else actions[a][: np.size(x)].astype(x.dtype)
                    assert_same(x, sent)
    assert env.invalid_action_counts == {a: c for a, c in expected.items() if c}
    replaced = [str(w.message) for w in caught if "replacing padded action" in str(w.message)]
    assert len(replaced) == len(env.invalid_action_counts), "one warning per agent, at its first replacement"
    assert all(any(repr(a) in msg for msg in replaced) for a in env.invalid_action_counts)


@FEW
@given(space_maps(act_kinds=("discrete", "multidiscrete")), st.integers(0, 1000))
def test_random_valid_replaces_padded_actions_and_counts_them_aec(m: SpaceMap, seed: int) -> None:
    env = pad_actions(m.aec(max_steps=10_000), invalid_action="random_valid", seed=seed)
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    dst = env.action_space(m.agents[0])
    dst.seed(seed)
    expected: dict[Any, int] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(4 * len(m.agents)):
            a = env.agent_selection
            x, bad = _draw_padded_action(env, a, m.action_spaces[a], dst, rng)
            expected[a] = expected.get(a, 0) + bad
            env.step(x)  # SpaceMapEnv (behind parallel_to_aec) raises on an invalid action
    assert env.invalid_action_counts == {a: c for a, c in expected.items() if c}


@SETTINGS
@given(space_maps(), st.integers(0, 1000))
def test_masks_exclude_exactly_the_padded_actions_parallel(m: SpaceMap, seed: int) -> None:
    env = pad_actions(m.parallel(max_steps=10_000))
    raw = env.unwrapped
    rng = np.random.default_rng(seed)
    obs, _ = env.reset(seed=seed)
    for _ in range(3):
        _check_masks(env, m, obs, raw.emitted)
        obs, *_ = env.step(_valid_actions(env, rng))


@FEW
@given(space_maps(), st.integers(0, 1000))
def test_masks_exclude_exactly_the_padded_actions_aec(m: SpaceMap, seed: int) -> None:
    raw = m.parallel(max_steps=10_000)
    env = pad_actions(parallel_to_aec(raw))
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    for _ in range(2 * len(m.agents)):
        _check_masks(env, m, {a: env.observe(a) for a in env.agents}, raw.emitted)
        a = env.agent_selection
        env.step(sample_valid_action(env.action_space(a), env.action_mask(a), rng))


def _check_masks(env: Any, m: SpaceMap, obs: dict, emitted: dict) -> None:
    for a in m.agents:
        own, dst = m.action_spaces[a], env.action_space(a)
        if m.act_kind in ("box", "multibinary"):
            assert env.padding_mask(a) is None and env.action_mask(a) is None
            continue
        padding = env.padding_mask(a)
        assert padding.dtype == bool
        np.testing.assert_array_equal(padding, _expected_padding_mask(own, dst), err_msg=f"agent {a!r}")
        if m.obs_kind != "dict_mask":
            np.testing.assert_array_equal(env.action_mask(a), padding)
            continue
        # The env's own mask, moved to the agent's actions in the padded space.
        env_mask = np.zeros(int(dst.n), bool)
        first = int(own.start) - int(dst.start)
        env_mask[first : first + int(own.n)] = emitted[a]["action_mask"].astype(bool)
        np.testing.assert_array_equal(env.action_mask(a), padding & env_mask, err_msg=f"agent {a!r}")
        check_in_space(env.observation_space(a), obs[a], f"observation of {a!r}")
        np.testing.assert_array_equal(obs[a]["action_mask"].astype(bool), env.action_mask(a))


@SETTINGS
@given(space_maps(act_kinds=("box", "multibinary")), st.integers(0, 1000))
def test_box_actions_drop_extra_dims_and_clip_to_own_bounds(m: SpaceMap, seed: int) -> None:
    env = pad_actions(m.parallel(max_steps=10_000))
    raw = env.unwrapped
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    dst = env.action_space(m.agents[0])
    dst.seed(seed)
    for _ in range(3):
        actions = {}
        for a in m.agents:
            x = dst.sample()
            if isinstance(dst, spaces.Box) and m.action_spaces[a] != dst:  # also beyond the bounds
                x = (x + rng.uniform(-20, 20, dst.shape)).astype(dst.dtype)
            actions[a] = x
        env.step(actions)
        for a in m.agents:
            own, x, got = m.action_spaces[a], actions[a], raw.received[-1][a]
            check_in_space(own, got, f"action received for {a!r}")
            kept = x[tuple(slice(0, n) for n in own.shape)]
            if isinstance(own, spaces.MultiBinary):
                assert_same(got, kept.astype(np.int8))
                continue
            assert got.shape == own.shape and got.dtype == own.dtype
            inside = (kept >= own.low) & (kept <= own.high)
            np.testing.assert_array_equal(got[inside], kept[inside].astype(own.dtype))
            np.testing.assert_array_equal(got[kept < own.low], own.low[kept < own.low])
            np.testing.assert_array_equal(got[kept > own.high], own.high[kept > own.high])


# --- agent indication -------------------------------------------------------------------------------


def _indicated(env: Any, x: Any) -> dict:
    """Each agent's indicated observation of the same raw observation ``x``."""
    return {a: env.transform.obs_fns[a](x) for a in env.possible_agents}


@SETTINGS
@given(space_maps(indicable=True), st.sampled_from(["auto", "last", "first"]), st.integers(0, 1000))
def test_agent_indicators_are_injective_and_inside_the_space(m: SpaceMap, channels: Any, seed: int) -> None:
    padded = pad_observations(m.parallel())
    env = agent_indicator(padded, channels=channels)
    assert env.indicator_labels == m.agents
    space = padded.observation_space(m.agents[0])
    space.seed(seed)
    for _ in range(2):
        ys = _indicated(env, space.sample())
        for i, a in enumerate(m.agents):
            check_in_space(env.observation_space(a), ys[a], f"indicated observation of {a!r}")
            for b in m.agents[i + 1 :]:
                assert not same(ys[a], ys[b]), f"agents {a!r} and {b!r} get the same observation"


@SETTINGS
@given(space_maps(indicable=True), st.lists(st.sampled_from(["x", "y", "z"]), min_size=5, max_size=5), st.integers(0, 1000))
def test_type_indicators_equal_within_a_type_and_differ_across_types(
    m: SpaceMap, labels: list[str], seed: int
) -> None:
    types = dict(zip(m.agents, labels))
    padded = pad_observations(m.parallel())
    env = agent_indicator(padded, by="type", types=types)
    assert env.indicator_labels == list(dict.fromkeys(types[a] for a in m.agents))
    space = padded.observation_space(m.agents[0])
    space.seed(seed)
    ys = _indicated(env, space.sample())
    for a in m.agents:
        check_in_space(env.observation_space(a), ys[a], f"indicated observation of {a!r}")
        for b in m.agents:
            assert same(ys[a], ys[b]) == (types[a] == types[b]), f"agents {a!r} ({types[a]}), {b!r} ({types[b]})"


@SETTINGS
@given(space_maps(ids=typed_agent_names(), indicable=True), st.integers(0, 1000))
def test_types_derived_from_names_group_agents_by_stem(m: SpaceMap, seed: int) -> None:
    stems = {a: re.sub(r"[_\- ]?\d+$", "", a) for a in m.agents}
    assert {a: agent_type(a) for a in m.agents} == stems
    padded = pad_observations(m.parallel())
    env = agent_indicator(padded, by="type")
    assert env.indicator_labels == list(dict.fromkeys(stems.values()))
    space = padded.observation_space(m.agents[0])
    space.seed(seed)
    ys = _indicated(env, space.sample())
    for a in m.agents:
        for b in m.agents:
            assert same(ys[a], ys[b]) == (stems[a] == stems[b])


@SETTINGS
@given(space_maps(indicable=True), st.sampled_from(["auto", "last", "first"]), st.integers(0, 1000))
def test_full_stack_inside_declared_spaces_parallel(m: SpaceMap, channels: Any, seed: int) -> None:
    """pad_observations -> pad_actions ("raise") -> agent_indicator: masked random play."""
    env = agent_indicator(pad_actions(pad_observations(m.parallel(max_steps=3))), channels=channels)
    assert check_parallel_env(lambda: env, seed=seed, n_steps=6, api_test=False, mask_fn=_mask) > 0


@FEW
@given(space_maps(indicable=True), st.integers(0, 1000))
def test_full_stack_inside_declared_spaces_aec(m: SpaceMap, seed: int) -> None:
    env = agent_indicator(pad_actions(pad_observations(m.aec(max_steps=3))))
    assert check_aec_env(lambda: env, seed=seed, n_steps=12, api_test=False, mask_fn=_mask) == 12


@SETTINGS
@given(
    st.sampled_from([np.float32, np.uint8, np.int16]).flatmap(lambda dt: box_spaces(3, dt, max_dim=5)),
    st.sampled_from(["last", "first"]),
    st.integers(2, 4),
    st.integers(0, 1000),
)
def test_image_indicator_planes_along_the_channel_axis(space: spaces.Box, channels: str, k: int, seed: int) -> None:
    agents = [f"agent_{i}" for i in range(k)]
    inner = SpaceMapEnv({a: space for a in agents}, {a: spaces.Discrete(2) for a in agents})
    env = agent_indicator(inner, channels=channels)  # type: ignore[arg-type]
    axis = 2 if channels == "last" else 0
    c = space.shape[axis]
    space.seed(seed)
    x = space.sample()
    for i, a in enumerate(agents):
        y = env.transform.obs_fns[a](x)
        check_in_space(env.observation_space(a), y, f"indicated image of {a!r}")
        assert y.shape[axis] == c + k and np.delete(y.shape, axis).tolist() == np.delete(space.shape, axis).tolist()
        assert_same(np.take(y, range(c), axis=axis), x)
        planes = np.take(y, range(c, c + k), axis=axis)
        for j in range(k):
            assert np.all(np.take(planes, j, axis=axis) == (1 if j == i else 0))

