"""Learning on the agent-identity task: FuPS stays at chance, identity-aware methods solve it.

Every agent sees the same observation and is rewarded for its own action (AgentIdentityEnv,
4 agents, 4 actions): a policy that cannot tell agents apart scores 1/4 per agent-step at best.
PPO, 8,000 agent-steps, seed 0; evaluation with deterministic actions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from stable_baselines3 import PPO

from policies import (
    FullSharingPolicy,
    LearnedMaskCallback,
    LearnedMaskPolicy,
    PrunedMaskPolicy,
    SelectiveSharingPolicy,
    cluster_agents,
)

PPO_KWARGS: dict[str, Any] = {"n_steps": 32, "batch_size": 128, "learning_rate": 3e-3, "ent_coef": 0.0, "seed": 0}


def _mean_reward(model: PPO, venv: Any, steps: int = 40) -> float:
    obs = venv.reset()
    total = 0.0
    for _ in range(steps):
        actions, _ = model.predict(obs, deterministic=True)
        obs, rewards, _, _ = venv.step(actions)
        total += float(np.mean(rewards))
    return total / steps


@pytest.fixture(scope="module")
def identity_clusters():
    import ps_wrappers
    from ps_wrappers.testing import AgentIdentityEnv

    venv = ps_wrappers.make_vec_env(lambda: AgentIdentityEnv(4, 4, 4, 10), n_envs=4, seed=1)
    return cluster_agents(venv, n_clusters=4, n_samples=4000, n_updates=1000, seed=0)


def test_clustering_separates_the_identity_agents(identity_clusters):
    # Each agent is rewarded for a different action: four distinct identities.
    assert identity_clusters.cluster_of_agent == (0, 1, 2, 3)


@pytest.mark.parametrize(
    ("name", "cls", "kwargs", "solves"),
    [
        ("FuPS", FullSharingPolicy, {}, False),
        ("FuPS+id", FullSharingPolicy, {"agent_id": True}, True),
        ("SePS", SelectiveSharingPolicy, {"clusters": "from_vae"}, True),
        ("SNP-PS", PrunedMaskPolicy, {}, True),
        ("AdaPS", PrunedMaskPolicy, {"method": "adaps", "clusters": "from_vae"}, True),
        ("Kaleidoscope", LearnedMaskPolicy, {}, True),
    ],
)
def test_identity_task(name, cls, kwargs, solves, identity_venv, identity_clusters):
    kwargs = {k: identity_clusters if v == "from_vae" else v for k, v in kwargs.items()}
    callback = LearnedMaskCallback() if cls is LearnedMaskPolicy else None
    model = PPO(cls, identity_venv(), policy_kwargs=kwargs, **PPO_KWARGS).learn(8_000, callback=callback)
    score = _mean_reward(model, identity_venv(seed=7))
    if solves:
        assert score >= 0.9, f"{name} should solve the identity task, got {score:.3f}"
    else:
        assert score <= 0.3, f"{name} cannot tell agents apart and should stay near 0.25, got {score:.3f}"
