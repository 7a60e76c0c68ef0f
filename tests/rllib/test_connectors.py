"""Env-to-module connectors, checked on what an env runner actually puts in its episodes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tests.rllib.conftest import SKIP_REASON

pytest.importorskip("ray.rllib", reason=SKIP_REASON)

from gymnasium import spaces  # noqa: E402
from mpe2 import simple_world_comm_v3  # noqa: E402
from ray.rllib.env.multi_agent_env_runner import MultiAgentEnvRunner  # noqa: E402

from policies.rllib import shared_ppo_config  # noqa: E402
from ps_wrappers.rllib import ID_KEY, MASK_KEY, OBS_KEY, AgentIdOneHot, to_rllib  # noqa: E402
from ps_wrappers.testing import DyingAgentsEnv  # noqa: E402

pytestmark = pytest.mark.usefixtures("ray_cluster")


def _sample(config: Any, **kwargs: Any) -> list:
    runner = MultiAgentEnvRunner(config=config)
    try:
        return runner.sample(**kwargs)
    finally:
        runner.stop()


def _last_flags(episodes: list) -> dict[str, tuple[bool, bool]]:
    done = [e for e in episodes if e.is_done]
    return {str(a): (sa.is_terminated, sa.is_truncated) for a, sa in done[0].agent_episodes.items()}


def test_time_limits_stay_truncations_for_the_learner() -> None:
    env_fn = lambda: DyingAgentsEnv(lifetimes=(3, 50), max_steps=10)  # noqa: E731
    config = shared_ppo_config(env_fn, seed=0)
    assert _last_flags(_sample(config, num_episodes=1)) == {"agent_0": (True, False), "agent_1": (False, True)}
    # Canary: RLlib alone marks the time-limited agent terminated too (drop KeepTruncations once
    # RLlib keeps the env's flags).
    plain = config.copy(copy_frozen=False).env_runners(
        env_to_module_connector=lambda env=None, spaces=None, device=None: [AgentIdOneHot(agents=["agent_0", "agent_1"])]
    )
    assert _last_flags(_sample(plain, num_episodes=1))["agent_1"] == (True, True)


def _observations(episodes: list) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for episode in episodes:
        for agent, sa in episode.agent_episodes.items():
            batched = sa.get_observations(slice(0, len(sa) + 1))  # numpy'd episodes: a dict of [T, ...]
            rows = [{k: v[t] for k, v in batched.items()} for t in range(len(batched[OBS_KEY]))]
            out.setdefault(str(agent), []).extend(rows)
    return out


def test_filter_standardises_features_only_and_the_id_stays_exact() -> None:
    env = to_rllib(simple_world_comm_v3.parallel_env)
    raw_masks = {a: m[MASK_KEY] for a, m in env.reset(seed=0)[0].items()}
    config = shared_ppo_config(simple_world_comm_v3.parallel_env, seed=0, normalize=True)
    obs = _observations(_sample(config, num_timesteps=150))
    assert set(obs) == set(env.possible_agents)
    features = []
    for agent, rows in obs.items():
        index = env.possible_agents.index(agent)
        for o in rows:
            assert set(o) == {OBS_KEY, MASK_KEY, ID_KEY}
            np.testing.assert_array_equal(o[MASK_KEY], raw_masks[agent])
            np.testing.assert_array_equal(o[ID_KEY], np.eye(len(env.possible_agents), dtype=np.float32)[index])
            features.append(o[OBS_KEY])
    feats = np.stack(features[len(features) // 2 :])  # after the running statistics have settled
    assert np.abs(feats).max() <= 10.0
    assert np.abs(feats.mean(0)).max() < 1.0 and 0.3 < feats.std(0)[feats.std(0) > 0].mean() < 2.0


def test_connectors_reject_spaces_they_cannot_read() -> None:
    with pytest.raises(TypeError, match=r"AgentIdOneHot needs the multi-agent observation space of a ps_wrappers.rllib.to_rllib env"):
        AgentIdOneHot(spaces.Dict({"a": spaces.Box(0, 1, (2,))}), None, agents=["a"])
    with pytest.raises(ValueError, match=r"agents must list the env's possible_agents once each"):
        AgentIdOneHot(agents=["a", "a"])
    space = spaces.Dict({"b": spaces.Dict({OBS_KEY: spaces.Box(0, 1, (2,))})})
    with pytest.raises(ValueError, match=r"agents \['b'\] of the env are not in agents=\['a'\]"):
        AgentIdOneHot(space, None, agents=["a"])
