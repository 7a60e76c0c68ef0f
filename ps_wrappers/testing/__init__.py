"""Test environments and checkers shipped as library code, so users can test their own set-ups."""

from ps_wrappers.testing.audit import AECActionAudit, ParallelActionAudit, action_audit
from ps_wrappers.testing.checks import (
    check_aec_env,
    check_in_space,
    check_parallel_env,
    sample_valid_action,
)
from ps_wrappers.testing.continuous_identity import ContinuousIdentityEnv
from ps_wrappers.testing.envs import AgentIdentityEnv, DyingAgentsEnv, SpaceMapEnv
from ps_wrappers.testing.grouped_env import GroupedAgentsEnv
from ps_wrappers.testing.memory_env import MemoryEnv
from ps_wrappers.testing.slots import sample_slot_observations

__all__ = [
    "AECActionAudit",
    "AgentIdentityEnv",
    "ContinuousIdentityEnv",
    "DyingAgentsEnv",
    "GroupedAgentsEnv",
    "MemoryEnv",
    "ParallelActionAudit",
    "SpaceMapEnv",
    "action_audit",
    "check_aec_env",
    "check_in_space",
    "check_parallel_env",
    "sample_slot_observations",
    "sample_valid_action",
]
