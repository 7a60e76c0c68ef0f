"""``MaskedSAC``: SB3's SAC whose automatic entropy target is each agent's own.

SAC tunes its temperature ``alpha`` so that the policy's entropy tracks a target, by default
``-dim(A)`` (Haarnoja et al., 2018, "Soft Actor-Critic Algorithms and Applications", section 5).
With parameter sharing across agents whose Box actions were padded to one size, that default is
wrong twice: an agent with ``d_i < dim(A)`` real dimensions should target ``-d_i``, and
placeholder rows (dead or waiting agents, whose action the env ignores) should not count.

``MaskedSAC`` changes only the target, without forking SB3's ``train``. The temperature loss
``-(log alpha * (log pi + target)).mean()`` is linear in the target, so a per-row target
``t_i`` is exactly the same as the batch mean of ``t_i`` used as a scalar. The sharing actor
(:class:`policies.sac.SharingSACActor`) records ``t_i = -d_i`` (0 for placeholders, whose
log-probability it also sets to 0) for the batch it evaluates, and ``MaskedSAC.target_entropy``
returns that batch mean when SAC reads it, right after the actor's ``action_log_prob`` on the
same batch. The critic target, actor loss and everything else are SB3's.

With ``target_entropy="auto"`` (default) the target is per agent; an explicit float is used as
given for every row (SB3's behaviour). With any other policy (e.g. SB3's ``"MlpPolicy"``) it is
SB3's SAC. Plain ``SAC`` trains the sharing policies too, with SB3's single target ``-dim(A)``.

Example:
    >>> model = MaskedSAC(FullSharingPolicy, venv, seed=0).learn(20_000)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from stable_baselines3 import SAC

__all__ = ["MaskedSAC"]


class MaskedSAC(SAC):
    """SAC with the entropy target of each row's agent (``-real dims``; 0 for placeholder rows).

    Takes exactly SB3's ``SAC`` arguments.

    Attributes:
        per_agent_target_entropy: Whether the target is per agent (``target_entropy="auto"``).
    """

    def __init__(self, *args: Any, target_entropy: str | float = "auto", **kwargs: Any) -> None:
        self.per_agent_target_entropy = isinstance(target_entropy, str) and target_entropy == "auto"
        super().__init__(*args, target_entropy=target_entropy, **kwargs)  # type: ignore[misc]

    @property
    def target_entropy(self) -> Any:
        """The entropy target: the mean of the last batch's per-row targets in per-agent mode."""
        if self.per_agent_target_entropy:
            rows = getattr(getattr(getattr(self, "policy", None), "actor", None), "row_target_entropy", None)
            if rows is not None and rows.numel():
                return float(rows.mean())
        return self._target_entropy

    @target_entropy.setter
    def target_entropy(self, value: Any) -> None:
        self._target_entropy = value
