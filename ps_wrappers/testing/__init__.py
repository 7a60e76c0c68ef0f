"""Test environments and checkers shipped as library code, so users can test their own set-ups."""

from ps_wrappers.testing.checks import (
    check_aec_env,
    check_in_space,
    check_parallel_env,
    sample_valid_action,
)
from ps_wrappers.testing.envs import AgentIdentityEnv, DyingAgentsEnv, SpaceMapEnv

__all__ = [
    "AgentIdentityEnv",
    "DyingAgentsEnv",
    "SpaceMapEnv",
    "check_aec_env",
    "check_in_space",
    "check_parallel_env",
    "sample_valid_action",
]
