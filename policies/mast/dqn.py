"""MASTDQN: SB3's DQN with MAST's value pieces (Hu et al., 2024, sections 4.2-4.4).

Each piece is switched on its own:

* hybrid TD(lambda) targets (section 4.2, Eq. 6): 1-step targets until the burn-in time ``T_b``,
  then truncated lambda-returns over the stored steps that follow each sampled transition
  (:class:`~policies.mast.buffers.SequenceReplayBuffer`);
* the Soft Mellowmax operator (section 4.3, Eq. 3) instead of ``max`` over the target network's
  next-state action values;
* dual replay buffers (section 4.4): a large offline and a small online buffer, each batch drawn
  from them in a 5:3 ratio (:class:`~policies.mast.buffers.DualReplayBuffer`).

Defaults follow MAST's Table 4: ``lambda = 0.8``, ``T_b`` = 3/8 of the training steps,
``alpha = 1``, ``omega = 10``, online buffer ``128 / 5000`` of the offline one, ratio 5:3.

With a sparse policy (:class:`~policies.dqn.SparseEvolvedQPolicy`) the topology
evolution horizon is set from ``learn(total_timesteps)`` when the user gave none, and sparsity,
FLOPs and model-size ratios (appendix B.4) are logged under ``sparse/``.

Example:
    >>> from policies.mast.dqn import MASTDQN
    >>> model = MASTDQN("MlpPolicy", "CartPole-v1", learning_starts=100)  # doctest: +SKIP
    >>> model.learn(2_000)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

import numpy as np
import torch
from stable_baselines3 import DQN
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.noise import ActionNoise
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.type_aliases import GymEnv, MaybeCallback, Schedule
from stable_baselines3.dqn.policies import CnnPolicy, DQNPolicy, MlpPolicy, MultiInputPolicy
from torch.nn import functional as F

from policies.dqn.masked_dqn import MaskedDQN
from policies.mast.buffers import SequenceMixin, sequence_buffer_classes
from policies.mast.targets import lambda_returns, soft_mellowmax
from policies.sparse.flops import flops_report

__all__ = ["MASTDQN"]

SelfMASTDQN = TypeVar("SelfMASTDQN", bound="MASTDQN")


class MASTDQN(MaskedDQN):
    """DQN with switchable hybrid TD(lambda), Soft Mellowmax and dual replay buffers.

    On a vec env from :func:`ps_wrappers.make_vec_env` it explores among valid actions only, as
    :class:`~policies.dqn.masked_dqn.MaskedDQN`, and leaves invalid actions out of the target's
    ``max`` / Soft Mellowmax; on any other env it explores like SB3's DQN.

    Accepts every argument of :class:`stable_baselines3.DQN` (``n_steps`` must stay 1: the
    TD(lambda) target replaces n-step returns), plus:

    Args:
        td_lambda: Use hybrid TD(lambda) targets (Eq. 6); ``False`` keeps 1-step targets.
        lambda_: ``lambda`` in ``[0, 1]`` (MAST Table 4: 0.6 or 0.8; default 0.8).
        lambda_horizon: Longest stored window a lambda-return looks at (the tail weight
            ``lambda^(H-1)`` goes to the ``H``-step return).
        burn_in: ``T_b``: a float in ``[0, 1]`` is a fraction of ``total_timesteps`` of each
            ``learn`` call (MAST Table 4: 3/8), an int a number of environment steps.
        soft_mellowmax: Replace ``max`` by Soft Mellowmax (Eq. 3) in the targets.
        sm_alpha: ``alpha`` of Soft Mellowmax (Table 4: 1; 0 gives Mellowmax).
        sm_omega: ``omega`` of Soft Mellowmax (Table 4: 10).
        dual_buffer: Use offline + online replay buffers (section 4.4).
        online_buffer_size: Capacity of the online buffer (default ``buffer_size * 128 / 5000``).
        buffer_ratio: Rows per batch from (offline, online) buffers (Table 4: 5:3).
        sparse_log_interval: Log the ``sparse/`` metrics every this many ``train`` calls.

    Raises:
        ValueError: for a value outside its range, ``n_steps > 1``, or a replay buffer class that
            cannot return sequences.
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {
        "MlpPolicy": MlpPolicy,
        "CnnPolicy": CnnPolicy,
        "MultiInputPolicy": MultiInputPolicy,
    }

    def __init__(
        self,
        policy: str | type[DQNPolicy],
        env: GymEnv | str,
        learning_rate: float | Schedule = 1e-4,
        buffer_size: int = 1_000_000,
        learning_starts: int = 100,
        batch_size: int = 32,
        tau: float = 1.0,
        gamma: float = 0.99,
        train_freq: int | tuple[int, str] = 4,
        gradient_steps: int = 1,
        replay_buffer_class: type[ReplayBuffer] | None = None,
        replay_buffer_kwargs: dict[str, Any] | None = None,
        optimize_memory_usage: bool = False,
        n_steps: int = 1,
        target_update_interval: int = 10000,
        exploration_fraction: float = 0.1,
        exploration_initial_eps: float = 1.0,
        exploration_final_eps: float = 0.05,
        max_grad_norm: float = 10,
        *,
        td_lambda: bool = True,
        lambda_: float = 0.8,
        lambda_horizon: int = 8,
        burn_in: float | int = 0.375,
        soft_mellowmax: bool = True,
        sm_alpha: float = 1.0,
        sm_omega: float = 10.0,
        dual_buffer: bool = True,
        online_buffer_size: int | None = None,
        buffer_ratio: tuple[int, int] = (5, 3),
        sparse_log_interval: int = 50,
        **kwargs: Any,
    ) -> None:
        _check_options(lambda_, lambda_horizon, burn_in, sm_omega, n_steps)
        replay_buffer_kwargs = dict(replay_buffer_kwargs or {})
        self._pick_buffer = replay_buffer_class is None  # by the observation space, in _setup_model
        if replay_buffer_class is None:
            if dual_buffer:
                replay_buffer_kwargs.setdefault("online_buffer_size", online_buffer_size)
                replay_buffer_kwargs.setdefault("sample_ratio", tuple(buffer_ratio))
        elif not issubclass(replay_buffer_class, SequenceMixin):
            raise ValueError(
                f"MASTDQN: replay_buffer_class={replay_buffer_class.__name__} cannot return the "
                "stored sequences its targets need; leave replay_buffer_class=None (MAST's buffers "
                "are chosen from dual_buffer and the observation space) or subclass "
                "policies.mast.buffers.SequenceReplayBuffer (SequenceDictReplayBuffer for Dict "
                "observations)."
            )
        self.td_lambda = bool(td_lambda)
        self.lambda_ = float(lambda_)
        self.lambda_horizon = int(lambda_horizon)
        self.burn_in = burn_in
        self.soft_mellowmax = bool(soft_mellowmax)
        self.sm_alpha = float(sm_alpha)
        self.sm_omega = float(sm_omega)
        self.dual_buffer = bool(dual_buffer)
        self.sparse_log_interval = int(sparse_log_interval)
        self.burn_in_steps = 0
        self.target_evaluations = 1.0
        self._train_calls = 0
        super().__init__(
            policy,
            env,
            learning_rate=learning_rate,
            buffer_size=buffer_size,
            learning_starts=learning_starts,
            batch_size=batch_size,
            tau=tau,
            gamma=gamma,
            train_freq=train_freq,
            gradient_steps=gradient_steps,
            replay_buffer_class=replay_buffer_class,
            replay_buffer_kwargs=replay_buffer_kwargs,
            optimize_memory_usage=optimize_memory_usage,
            n_steps=n_steps,
            target_update_interval=target_update_interval,
            exploration_fraction=exploration_fraction,
            exploration_initial_eps=exploration_initial_eps,
            exploration_final_eps=exploration_final_eps,
            max_grad_norm=max_grad_norm,
            **kwargs,
        )

    def _setup_model(self) -> None:
        if self._pick_buffer:  # array or Dict observations (e.g. make_vec_env's image slots)
            sequence_class, dual_class = sequence_buffer_classes(self.observation_space)
            self.replay_buffer_class = dual_class if self.dual_buffer else sequence_class  # type: ignore[assignment]
        self.masked = getattr(self.observation_space, "layout", None) is not None
        if self.masked:
            super()._setup_model()
        else:  # not a slot observation: SB3's DQN exploration
            DQN._setup_model(self)

    def _sample_action(
        self, learning_starts: int, action_noise: ActionNoise | None = None, n_envs: int = 1
    ) -> tuple[np.ndarray, np.ndarray]:
        if self.masked:
            return super()._sample_action(learning_starts, action_noise, n_envs)
        return DQN._sample_action(self, learning_starts, action_noise, n_envs)

    def predict(
        self,
        observation: np.ndarray | dict[str, np.ndarray],
        state: tuple[np.ndarray, ...] | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, tuple[np.ndarray, ...] | None]:
        """Greedy action; exploring rows draw among valid actions on slot observations."""
        if self.masked:
            return super().predict(observation, state, episode_start, deterministic)
        return DQN.predict(self, observation, state, episode_start, deterministic)

    # ------------------------------------------------------------------ schedule

    def learn(
        self: SelfMASTDQN,
        total_timesteps: int,
        callback: MaybeCallback = None,
        log_interval: int = 4,
        tb_log_name: str = "MASTDQN",
        reset_num_timesteps: bool = True,
        progress_bar: bool = False,
    ) -> SelfMASTDQN:
        """Train as DQN; sets ``T_b`` and, for sparse policies without one, RigL's ``T_end``."""
        start = 0 if reset_num_timesteps else self.num_timesteps
        if isinstance(self.burn_in, float):
            self.burn_in_steps = start + int(self.burn_in * total_timesteps)
        else:
            self.burn_in_steps = int(self.burn_in)
        from policies.sparse.training import set_evolution_horizon

        topology = getattr(self.policy, "sparse_topology", None)
        if topology is not None and int(topology.horizon) < 0:
            set_evolution_horizon(self, total_timesteps)
        return super().learn(
            total_timesteps=total_timesteps,
            callback=callback,
            log_interval=log_interval,
            tb_log_name=tb_log_name,
            reset_num_timesteps=reset_num_timesteps,
            progress_bar=progress_bar,
        )

    def lambda_active(self) -> bool:
        """Whether the targets are lambda-returns now (after the burn-in ``T_b``, Eq. 6)."""
        return self.td_lambda and self.num_timesteps >= self.burn_in_steps

    # ------------------------------------------------------------------ targets

    def _valid_actions(self, next_obs: torch.Tensor) -> torch.Tensor | None:
        """Valid-action mask from slot observations (ps_wrappers layout), if they carry one."""
        layout = getattr(self.observation_space, "layout", None)
        n_actions = int(self.action_space.n)  # type: ignore[attr-defined]
        if layout is None or getattr(layout, "n_actions", 0) != n_actions:
            return None
        valid = layout.action_mask(next_obs) > 0.5
        return valid | ~valid.any(dim=-1, keepdim=True)

    def bootstrap_values(self, next_obs: torch.Tensor) -> torch.Tensor:
        """``max`` or Soft Mellowmax (Eq. 3) of the target network's values at ``next_obs``."""
        q_next = self.q_net_target(next_obs)
        valid = self._valid_actions(next_obs)
        if self.soft_mellowmax:
            return soft_mellowmax(q_next, omega=self.sm_omega, alpha=self.sm_alpha, valid=valid)
        if valid is not None:
            q_next = q_next.masked_fill(~valid, -torch.inf)
        return q_next.max(dim=-1).values

    def train(self, gradient_steps: int, batch_size: int = 100) -> None:
        """DQN updates with MAST targets (Eq. 6) on batches from the (dual) replay buffer."""
        self.policy.set_training_mode(True)
        self._update_learning_rate(self.policy.optimizer)
        buffer = self.replay_buffer
        assert isinstance(buffer, SequenceMixin)  # set up in __init__
        use_lambda = self.lambda_active()
        horizon = self.lambda_horizon if use_lambda else 1
        lam = self.lambda_ if use_lambda else 0.0
        losses, evaluations = [], []
        for _ in range(gradient_steps):
            data = buffer.sample_sequences(batch_size, horizon, env=self._vec_normalize_env)
            with torch.no_grad():
                steps = torch.arange(data.rewards.shape[1], device=self.device)
                used = steps[None, :] < data.lengths[:, None]
                values = torch.zeros_like(data.rewards)
                values[used] = self.bootstrap_values(_rows(data.next_observations, used))
                targets = lambda_returns(
                    data.rewards, values, data.terminals, data.lengths, self.gamma, lam
                ).unsqueeze(1)
            current = torch.gather(self.q_net(data.observations), 1, data.actions.long())
            loss = F.smooth_l1_loss(current, targets)
            losses.append(loss.item())
            evaluations.append(float(used.sum()) / batch_size)
            self.policy.optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.policy.parameters(), self.max_grad_norm)
            self.policy.optimizer.step()
        self._n_updates += gradient_steps
        self._train_calls += 1
        if evaluations:
            self.target_evaluations = float(np.mean(evaluations))
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/loss", np.mean(losses))
        self.logger.record("mast/td_lambda_active", float(use_lambda))
        self.logger.record("mast/target_evaluations", self.target_evaluations)
        if self._train_calls % self.sparse_log_interval == 1 or self.sparse_log_interval == 1:
            self.log_sparse_metrics()

    def log_sparse_metrics(self) -> None:
        """Record sparsity, FLOPs and size ratios (appendix B.4) and the RigL schedule position."""
        report = flops_report(self, target_evaluations=self.target_evaluations)
        for key, value in report.as_dict().items():
            self.logger.record(key, value)
        topology = getattr(self.policy, "sparse_topology", None)
        if topology is not None:
            self.logger.record("sparse/topology_step", int(topology.step))
            self.logger.record("sparse/update_fraction", topology.update_fraction())


def _rows(obs: Any, used: torch.Tensor) -> Any:
    """``obs[used]`` for a tensor or each tensor of a dict (Dict observations)."""
    if isinstance(obs, dict):
        return {key: value[used] for key, value in obs.items()}
    return obs[used]


def _check_options(
    lambda_: float, lambda_horizon: int, burn_in: float | int, sm_omega: float, n_steps: int
) -> None:
    if not 0.0 <= lambda_ <= 1.0:
        raise ValueError(
            f"MASTDQN: lambda_ must be in [0, 1], got {lambda_!r}; MAST uses 0.6 or 0.8."
        )
    if (
        isinstance(lambda_horizon, bool)
        or not isinstance(lambda_horizon, int)
        or lambda_horizon < 1
    ):
        raise ValueError(f"MASTDQN: lambda_horizon must be an int >= 1, got {lambda_horizon!r}.")
    if isinstance(burn_in, bool) or not isinstance(burn_in, (int, float)):
        raise ValueError(
            f"MASTDQN: burn_in must be a float fraction of total_timesteps or an int number of "
            f"steps, got {burn_in!r}."
        )
    if isinstance(burn_in, float) and not 0.0 <= burn_in <= 1.0:
        raise ValueError(
            f"MASTDQN: burn_in={burn_in!r} as a float is a fraction of total_timesteps and must be "
            "in [0, 1]; pass an int for a number of environment steps."
        )
    if isinstance(burn_in, int) and burn_in < 0:
        raise ValueError(f"MASTDQN: burn_in must be >= 0 steps, got {burn_in!r}.")
    if not sm_omega > 0:
        raise ValueError(f"MASTDQN: sm_omega must be > 0, got {sm_omega!r}; MAST uses 10.")
    if n_steps != 1:
        raise ValueError(
            f"MASTDQN: n_steps={n_steps} is not supported; the TD(lambda) target (td_lambda=True) "
            "replaces n-step returns."
        )
