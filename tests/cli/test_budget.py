"""plan_budget: the steps a run trains follow --steps, and the message says what runs and why."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ps_toolkit.budget import algorithm_default, plan_budget
from ps_toolkit.registry import algorithm_class


def test_the_issue_example_trains_what_was_asked() -> None:
    # 120 slots (BPS 5+5+5, 8 copies), PPO defaults: SB3 alone trains 245,760 steps for --steps 3000.
    budget = plan_budget("ppo", 3_000, 120, 8, {})
    assert budget.total == 3_000 and budget.algo_kwargs == {"n_steps": 25, "batch_size": 60}
    assert budget.describe().startswith("training 3,000 steps (120 slots = 8 copies x 15 agents): 1 rollout of n_steps=25")
    with pytest.raises(ValueError, match=r"--steps 100 is fewer than one env step \(120 slots = 8 copies x 15 agents"):
        plan_budget("ppo", 100, 120, 8, {})


@settings(max_examples=200, deadline=None)
@given(steps=st.integers(1, 3_000_000), slots=st.integers(1, 300), algo=st.sampled_from(["ppo", "a2c"]))
def test_sized_rollouts_cover_the_budget_within_whole_env_steps(steps: int, slots: int, algo: str) -> None:
    if steps < max(slots, 2):
        return
    budget = plan_budget(algo, steps, slots, 1, {})
    n_steps = budget.algo_kwargs["n_steps"]
    default = algorithm_default(algorithm_class(algo), "n_steps")
    rollouts = budget.total // (n_steps * slots)
    assert budget.total % (n_steps * slots) == 0 and 1 <= n_steps <= default
    assert steps <= budget.total < steps + rollouts * slots + slots  # less than one env step per rollout over
    batch = budget.algo_kwargs.get("batch_size", 64)
    if algo == "ppo" and batch != 64:
        assert (n_steps * slots) % batch == 0 and batch >= 2  # no truncated minibatch


def test_given_n_steps_are_kept_and_the_rounding_is_said() -> None:
    budget = plan_budget("ppo", 100_000, 120, 8, {"n_steps": 2048})
    assert budget.total == 245_760 and budget.algo_kwargs == {}
    assert "--steps 100,000 rounded up to 1 whole rollout of n_steps=2048 x 120 slots" in budget.describe()
    assert plan_budget("ppo", 2048 * 120, 120, 8, {"n_steps": 2048}).describe().endswith("x 15 agents)")
    with pytest.raises(ValueError, match="n_steps must be a positive integer, got 0"):
        plan_budget("a2c", 1_000, 10, 1, {"n_steps": 0})


def test_off_policy_budgets_round_to_env_steps_and_train_freq_blocks() -> None:
    assert plan_budget("dqn", 100_000, 120, 8, {}).total == 100_320  # 834 env steps -> 836 (train_freq 4)
    assert plan_budget("dqn", 1_200, 120, 8, {"train_freq": 1}).total == 1_200
    assert plan_budget("mast-dqn", 1_201, 120, 8, {"train_freq": 1}).total == 1_320
    episodes = plan_budget("dqn", 1_200, 120, 8, {"train_freq": [1, "episode"]})
    assert episodes.total == 1_200 and "train_freq counts episodes" in episodes.describe()
    with pytest.raises(ValueError, match="train_freq must be a positive integer"):
        plan_budget("dqn", 1_200, 120, 8, {"train_freq": "often"})
