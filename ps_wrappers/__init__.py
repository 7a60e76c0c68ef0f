"""PettingZoo wrappers for parameter sharing, and the PettingZoo -> SB3 VecEnv conversion.

Example:
    >>> import ps_wrappers
    >>> from mpe2 import simple_world_comm_v3
    >>> env = ps_wrappers.pad_observations(simple_world_comm_v3.parallel_env())
    >>> env = ps_wrappers.pad_actions(env)
    >>> env = ps_wrappers.agent_indicator(env)
"""

from ps_wrappers.action_padding import InvalidActionMode, pad_actions
from ps_wrappers.agent_indication import agent_indicator, agent_type
from ps_wrappers.base_vec_env import SlotVecEnv
from ps_wrappers.clip import clip_observations
from ps_wrappers.errors import EnvContractError, ObservationError
from ps_wrappers.evaluation import EvaluationResult, SharedPolicy, evaluate
from ps_wrappers.layout import ImageSlotLayout, SlotBox, SlotDict, SlotLayout, get_layout
from ps_wrappers.make_vec_env import make_vec_env
from ps_wrappers.normalize import SlotVecNormalize
from ps_wrappers.observation_padding import pad_observations, unpad_observation
from ps_wrappers.preprocessing import color_reduction, frame_stack, resize
from ps_wrappers.space_padding import SpacePaddingError
from ps_wrappers.subproc_vec_env import SubprocPettingZooVecEnv
from ps_wrappers.vec_env import PettingZooVecEnv

__all__ = [
    "EnvContractError",
    "EvaluationResult",
    "ObservationError",
    "SlotVecEnv",
    "SubprocPettingZooVecEnv",
    "SharedPolicy",
    "evaluate",
    "InvalidActionMode",
    "PettingZooVecEnv",
    "ImageSlotLayout",
    "SlotBox",
    "SlotDict",
    "SlotLayout",
    "SlotVecNormalize",
    "SpacePaddingError",
    "agent_indicator",
    "agent_type",
    "clip_observations",
    "color_reduction",
    "frame_stack",
    "get_layout",
    "make_vec_env",
    "pad_actions",
    "pad_observations",
    "resize",
    "unpad_observation",
]


def __getattr__(name: str) -> object:
    """``ps_wrappers.to_rllib``, imported on first use (it needs the optional extra ``rllib``)."""
    if name == "to_rllib":
        from ps_wrappers.rllib import to_rllib

        return to_rllib
    raise AttributeError(f"module 'ps_wrappers' has no attribute {name!r}")
