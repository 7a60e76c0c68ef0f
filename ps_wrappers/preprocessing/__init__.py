"""Image preprocessing wrappers (SuperSuit's ``color_reduction_v0``, ``resize_v1`` and
``frame_stack_v1``), natively for ParallelEnv and AECEnv, with declared spaces that contain every
observation. They compose with each other, with the other wrappers and with
:func:`ps_wrappers.make_vec_env`; see docs/preprocessing.md.

Example:
    >>> from pettingzoo.butterfly import pistonball_v6
    >>> from ps_wrappers import color_reduction, frame_stack, resize
    >>> env = frame_stack(resize(color_reduction(pistonball_v6.parallel_env()), 84, 84), 4)
"""

from ps_wrappers.preprocessing.color import color_reduction
from ps_wrappers.preprocessing.frame_stack import frame_stack
from ps_wrappers.preprocessing.resize import resize

__all__ = ["color_reduction", "frame_stack", "resize"]
