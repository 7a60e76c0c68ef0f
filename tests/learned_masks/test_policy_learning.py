"""Learning with learned masks on BPS colour groups (the main job's task), side by side with SNP-PS.

BPS with two colour groups of two agents: an agent cannot see its colour, so a policy that cannot
tell agents apart settles near the centre of the landmarks (scripted: -17.9 per agent), while
knowing one's group allows going to one's own landmark (scripted: -9.0). The identity task
(AgentIdentityEnv) is in tests/policies/test_learning.py with every method.

PPO, 40,000 agent-steps, lr 3e-3, batch 256, 10 epochs, seed 0, greedy evaluation over 10
episodes. Calibration (seeds 0, 1, 2, same settings): Kaleidoscope -7.0, -7.7, -7.4; SNP-PS
(default pruning) -10.4, -9.0, -10.5; FuPS (4 epochs) -14.8, -13.8, -13.0.
"""

from __future__ import annotations

import functools

from stable_baselines3 import PPO

import ps_wrappers
from integrations import bps
from policies import LearnedMaskCallback, LearnedMaskPolicy, PrunedMaskPolicy

GROUPS = (2, 2)
OWN_LANDMARK, CENTRE = -8.97, -17.91  # bps.scripted_returns((2, 2)): per-agent episode returns


def _greedy_return(cls: type, seed: int) -> float:
    env_fn = functools.partial(bps.parallel_env, group_sizes=GROUPS)
    venv = ps_wrappers.make_vec_env(env_fn, n_envs=8, seed=seed)
    model = PPO(cls, venv, n_steps=128, batch_size=256, n_epochs=10, learning_rate=3e-3, ent_coef=0.0,
                gamma=0.95, seed=seed, device="cpu")
    model.learn(40_000, callback=LearnedMaskCallback() if cls is LearnedMaskPolicy else None)
    result = ps_wrappers.evaluate(model, env_fn, n_episodes=10, seed=10_000 + seed)
    return result.mean_team_return / len(result.agent_returns)


def test_learned_masks_solve_the_colour_groups_like_snp_ps():
    learned, snp = _greedy_return(LearnedMaskPolicy, 0), _greedy_return(PrunedMaskPolicy, 0)
    assert learned > OWN_LANDMARK + 1.0, f"Kaleidoscope should reach its group's landmark, got {learned:.2f}"
    assert learned > snp - 0.5, f"Kaleidoscope {learned:.2f} should do at least as well as SNP-PS {snp:.2f}"
    assert snp > CENTRE + 5.0  # both are far from the agent-blind optimum
