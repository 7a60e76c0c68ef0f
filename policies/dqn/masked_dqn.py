"""``MaskedDQN``: SB3's DQN whose random actions respect the action masks of slot observations.

SB3's DQN explores with ``action_space.sample()`` over the whole padded action space and one
epsilon coin for the whole batch; ``MaskedDQN`` draws warm-up and epsilon actions among each row's
valid actions, one coin per row (:class:`~policies.dqn.exploration.MaskedExplorationMixin`, shared
with :class:`~policies.dqn.qrdqn.MaskedQRDQN`). Everything else (replay, targets, updates, save /
load) is SB3's DQN. With a sharing Q policy the target ``max`` is masked by the policy itself
(:mod:`policies.dqn.policies`). On an env whose observations carry no slot layout (no masks) it
behaves exactly like SB3's DQN, so algorithm subclasses (e.g. ``MASTDQN``) can build on it for
any env.

Example:
    >>> model = MaskedDQN(FullSharingQPolicy, venv, seed=0)  # doctest: +SKIP
    >>> model.learn(50_000)                                    # doctest: +SKIP
"""

from __future__ import annotations

from stable_baselines3 import DQN

from policies.dqn.exploration import MaskedExplorationMixin

__all__ = ["MaskedDQN"]


class MaskedDQN(MaskedExplorationMixin, DQN):
    """DQN with masked warm-up and per-row masked epsilon-greedy exploration.

    Takes exactly SB3's ``DQN`` arguments. Masks are read from the observations of a vec env
    from :func:`ps_wrappers.make_vec_env`; with any other observation space, exploration is SB3's.

    Attributes:
        slot_layout: The env's :class:`~ps_wrappers.SlotLayout`, or ``None`` (unmasked env).
    """
