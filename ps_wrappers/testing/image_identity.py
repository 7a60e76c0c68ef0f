"""``ImageIdentityEnv``: the agent-identity task with image observations (issue 13)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from gymnasium import spaces

from ps_wrappers.testing.envs import AgentIdentityEnv

__all__ = ["ImageIdentityEnv"]


class ImageIdentityEnv(AgentIdentityEnv):
    """Every agent sees the same random uint8 image; agent ``i`` is rewarded for action ``i % n_actions``.

    :class:`AgentIdentityEnv` with images: each step a new image (uniform pixels) is drawn and
    shown to every agent, so nothing in an observation tells the agents apart, and the rewarded
    action depends only on who acts. Reward 1 for the agent's action, 0 otherwise.

    Returns per agent over an episode of ``max_steps`` steps (:meth:`expected_returns`):

    * optimal (an identity-aware policy): ``max_steps``;
    * uniform random: ``max_steps / n_actions``;
    * best agent-blind policy (FuPS), averaged over agents:
      ``max_steps * max_a |{i : i % n_actions == a}| / n_agents``, i.e. ``max_steps / n_agents``
      when ``n_agents <= n_actions``. Defaults (4 agents, 4 actions, 10 steps): 10, 2.5 and 2.5.

    Args:
        n_agents: Number of agents ``agent_0 ..``.
        n_actions: Size of every agent's Discrete action space.
        image_size: Height and width (an int for a square image), default 12x12 (small enough
            for a small CNN, like pursuit's 7x7 and MAgent2's 13x13 views).
        channels: Number of image channels.
        channels_last: ``(H, W, C)`` (PettingZoo's convention) or ``(C, H, W)``.
        max_steps: Episode length (truncation).

    Example:
        >>> env = ImageIdentityEnv()
        >>> obs, _ = env.reset(seed=0)
        >>> obs["agent_0"].shape, bool((obs["agent_0"] == obs["agent_3"]).all())
        ((12, 12, 3), True)
    """

    metadata = {"name": "image_identity_v0", "render_modes": [], "is_parallelizable": True}

    def __init__(
        self,
        n_agents: int = 4,
        n_actions: int = 4,
        image_size: int | Sequence[int] = 12,
        channels: int = 3,
        channels_last: bool = True,
        max_steps: int = 10,
    ) -> None:
        size = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
        if len(size) != 2 or min(size) < 1 or channels < 1 or min(n_agents, n_actions, max_steps) < 1:
            raise ValueError(
                "ImageIdentityEnv: n_agents, n_actions, max_steps, channels and the image height and "
                f"width must be >= 1, got n_agents={n_agents}, n_actions={n_actions}, "
                f"max_steps={max_steps}, channels={channels}, image_size={image_size!r}"
            )
        super().__init__(n_agents, n_actions, obs_dim=1, max_steps=max_steps)
        h, w = size
        shape = (h, w, channels) if channels_last else (channels, h, w)
        self._obs_space = spaces.Box(0, 255, shape, np.uint8)

    def _obs(self) -> dict[str, np.ndarray]:
        image = self._rng.integers(0, 256, self._obs_space.shape, dtype=np.uint8)
        return {a: image.copy() for a in self.agents}

    def expected_returns(self) -> dict[str, float]:
        """Per-agent episode return of the ``"optimal"``, ``"random"`` and ``"best_shared"`` policies."""
        n = len(self.possible_agents)
        targets = np.bincount([self.optimal_action(a) for a in self.possible_agents], minlength=self.n_actions)
        return {
            "optimal": float(self.max_steps),
            "random": self.max_steps / self.n_actions,
            "best_shared": self.max_steps * float(targets.max()) / n,
        }
