"""Module paths of earlier releases, kept importable so that saved models still load.

SB3 saves the policy class (and buffer and cluster classes in its kwargs) by module path. Before
``policies`` was split into sub-packages those paths were flat (``policies.actor_critic``,
``policies.q_policies``, ...). Each old path is registered as an alias of this package, which
exports every public name, so unpickling ``policies.actor_critic.PrunedMaskPolicy`` finds the
class at its new home.
"""

from __future__ import annotations

import sys

__all__ = ["LEGACY_MODULES", "register_legacy_module_paths"]

LEGACY_MODULES = (
    "actor_critic",
    "q_policies",
    "sparse_policies",
    "masked_dqn",
    "mast_dqn",
    "mast_buffers",
    "mast_targets",
    "networks",
    "masks",
    "sparse_mixin",
    "sparse_training",
    "flops",
    "identity_vae",
    "parameters",
    "action_masks",
)


def register_legacy_module_paths() -> None:
    """Alias every old ``policies.<module>`` path to the ``policies`` package (idempotent)."""
    package = sys.modules["policies"]
    for name in LEGACY_MODULES:
        sys.modules.setdefault(f"policies.{name}", package)
