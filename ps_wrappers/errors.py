"""Exceptions raised when an environment breaks the PettingZoo contract.

Both are ``ValueError`` subclasses, so code that already catches ``ValueError`` keeps working;
catch them specifically to tell a broken environment from a wrong argument.
"""

from __future__ import annotations

__all__ = ["EnvContractError", "ObservationError"]


class EnvContractError(ValueError):
    """The environment returned something PettingZoo does not allow.

    Examples: a reward of ``None``, NaN or inf; an agent that is not in ``possible_agents``; an
    agent reported terminated but kept in ``env.agents``; an action mask that allows no action.
    The message names the environment, the agent, the value and the fix.
    """


class ObservationError(EnvContractError):
    """An observation is outside its agent's declared observation space.

    Raised instead of writing it into a slot, where it would corrupt the row (a Discrete value past
    its one-hot segment would claim to be another agent). The message names the agent, the value
    and the space.
    """
