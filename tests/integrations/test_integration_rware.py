"""integrations.rware: API, seeding, truncation (step and inactivity limits), errors."""

from __future__ import annotations

import pytest

from integrations import rware


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_steps": 30},
        {"task": "rware-small-4ag-hard-v2", "max_steps": 30},
        {"task": "rware-img-tiny-2ag-v2", "max_steps": 30},
        {"n_agents": 3, "difficulty": "easy", "msg_bits": 2, "max_steps": 30},
    ],
    ids=["default", "small-hard", "image", "messages"],
)
def test_api_and_spaces(api_check, kwargs):
    api_check(lambda: rware.parallel_env(**kwargs), n_steps=80)


def test_default_and_shorthands_match_registered_tasks():
    env = rware.parallel_env()
    assert env.possible_agents == ["agent_0", "agent_1"]
    assert env.env.max_steps == 500 and env.env.request_queue_size == 2
    hard = rware.parallel_env(size="medium", n_agents=4, difficulty="hard")
    assert (hard.env.grid_size, hard.env.request_queue_size) == ((20, 16), 2)
    assert rware.parallel_env(n_agents=25).env.request_queue_size == 25  # beyond the registry


def test_seeding_is_deterministic(rollout, same_trace, traces_differ):
    t1 = rollout(rware.parallel_env(n_agents=4), seed=3, n_steps=30)
    t2 = rollout(rware.parallel_env(n_agents=4), seed=3, n_steps=30)
    t3 = rollout(rware.parallel_env(n_agents=4), seed=4, n_steps=30)
    same_trace(t1, t2)
    assert traces_differ(t1, t3)


@pytest.mark.parametrize("limit", [{"max_steps": 6}, {"max_inactivity_steps": 6}])
def test_limits_are_truncations_never_terminations(limit):
    env = rware.parallel_env(**limit)
    env.reset(seed=0)
    for t in range(6):
        _, _, term, trunc, _ = env.step({a: 0 for a in env.agents})
        assert not any(term.values())
        assert all(trunc.values()) == (t == 5) == any(trunc.values())
    assert env.agents == []


def test_errors_name_the_argument_and_fix():
    with pytest.raises(ValueError, match="either task='rware-tiny-2ag-v2' or size/difficulty"):
        rware.parallel_env("rware-tiny-2ag-v2", size="small")
    with pytest.raises(ValueError, match="size must be one of \\['tiny', 'small'"):
        rware.parallel_env(size="huge")
    with pytest.raises(ValueError, match="unknown task 'rware-xl-2ag-v2'"):
        rware.parallel_env("rware-xl-2ag-v2")
    with pytest.raises(ValueError, match="n_agents must be >= 1, got 0"):
        rware.parallel_env(n_agents=0)
    with pytest.raises(TypeError, match="invalid Warehouse argument"):
        rware.parallel_env(colour=3)
