"""Ray RLlib (new API stack) side of the wrappers: any PettingZoo env as an RLlib MultiAgentEnv.

Needs the optional extra: ``pip install "ps-toolkit[rllib]"``. ``import ps_wrappers`` never
imports Ray; importing this sub-package does.

* :func:`to_rllib` / :class:`PettingZooMultiAgentEnv`: padding, masks in the observation
  (``{"observations", "action_mask"}``), agents in ``possible_agents`` order, seeding, dying
  agents and turn-based games, truncation kept apart from termination.
* Env-to-module connectors: :class:`AgentIdOneHot` (the agent's one-hot, appended after any
  normalisation so it stays exact), :class:`SlotMeanStdFilter` (``SlotVecNormalize``'s
  counterpart: features standardised, mask and id untouched) and :class:`KeepTruncations`.
* :func:`check_rllib_env`: RLlib's env check with valid actions, plus in-space checks.

See ``docs/rllib.md``.
"""

from __future__ import annotations

try:
    import ray.rllib  # noqa: F401
except ModuleNotFoundError as err:  # pragma: no cover - exercised only without the extra
    raise ModuleNotFoundError(
        "ps_wrappers.rllib needs Ray RLlib, which is not installed. Install the optional extra: "
        "pip install 'ps-toolkit[rllib]' (ray[rllib]==2.60.0).",
        name=err.name,
    ) from err

from ps_wrappers.rllib.checks import check_rllib_env
from ps_wrappers.rllib.connectors import AgentIdOneHot, KeepTruncations, SlotMeanStdFilter
from ps_wrappers.rllib.env import PettingZooMultiAgentEnv, to_rllib
from ps_wrappers.rllib.options import ID_KEY, MASK_KEY, OBS_KEY, env_config

__all__ = [
    "ID_KEY",
    "MASK_KEY",
    "OBS_KEY",
    "AgentIdOneHot",
    "KeepTruncations",
    "PettingZooMultiAgentEnv",
    "SlotMeanStdFilter",
    "check_rllib_env",
    "env_config",
    "to_rllib",
]
