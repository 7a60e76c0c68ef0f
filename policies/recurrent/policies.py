"""Sharing policies for sb3-contrib's RecurrentPPO: one LSTM state per slot, agent-conditioned heads.

The network is ``head(LSTM(trunk(o_t), h_{t-1}), agent)``: the method's trunk (identity for
vectors, a CNN for images), a shared LSTM core on the trunk features, and the method's actor and
critic heads (roles ``"pi"`` and ``"vf"``) on the LSTM output. The agent one-hot, acting flag and
action mask bypass the LSTM and rejoin its output for the heads (latent row
``[LSTM output | one-hot | acting | mask]``), so masking, placeholders and every method work as in
:mod:`policies.ppo`.

Decisions:

* **One hidden state per slot.** RecurrentPPO keeps one state per vec-env row, and a row is one
  agent of one env copy.
* **Episode starts.** A slot's state is reset when its episode starts: after the agent is done
  (terminated, truncated, or a placeholder slot ended by its copy's reset), SB3's
  ``episode_starts`` for that row is 1 on the next step.
* **Placeholder rows do not advance the state.** Rows with acting flag 0 (dead agents, agents
  waiting for their turn) compute an output for the critic but keep the previous ``(h, c)``, so a
  turn-based agent remembers across the opponent's moves and a dead agent's zero features never
  enter its memory. This holds in rollouts and in the training pass, which replays the same
  sequences.
* **The identity does not enter the LSTM**, for every method (+id variants included): the LSTM is
  one shared memory core, and the agent enters where the method puts it (the heads' input, neuron
  masks or routed heads; image trunks for planes / routed / channel-masked trunks). This keeps one
  recurrent code path and the parameter counts of the feed-forward families; SePS therefore
  routes trunks and heads per cluster but shares the LSTM. The LSTM (and SB3's critic projection
  when ``enable_critic_lstm=False``) stays dense in sparse variants: RigL covers the trunk and heads.

Save / load restores every parameter, mask, cluster map and sparse topology (hidden states are
runtime state: a loaded model started from zero states acts as the original started from zero).

Example:
    >>> from sb3_contrib import RecurrentPPO
    >>> from policies.recurrent import FullSharingPolicy
    >>> model = RecurrentPPO(FullSharingPolicy, venv, seed=0).learn(100_000)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import torch
from gymnasium import spaces
from sb3_contrib.common.recurrent.policies import RecurrentActorCriticPolicy
from sb3_contrib.common.recurrent.type_aliases import RNNStates
from stable_baselines3.common.type_aliases import Schedule
from torch import nn

from policies.methods.options import (
    ActorCriticPruningOptions,
    FullSharingOptions,
    LearnedMaskOptions,
    SelectiveSharingOptions,
)
from policies.ppo.policies import SharingActorCriticPolicy
from policies.sparse.mixin import SparseEvolutionMixin
from ps_wrappers.layout import SlotLayout

__all__ = [
    "LearnedMaskPolicy",
    "FullSharingPolicy",
    "PrunedMaskPolicy",
    "SelectiveSharingPolicy",
    "SharingRecurrentPolicy",
    "SlotProjection",
    "SparseEvolvedPolicy",
    "SparsePrunedMaskPolicy",
    "SparseSelectiveSharingPolicy",
]

LSTMStates = tuple[torch.Tensor, torch.Tensor]


class SlotProjection(nn.Module):
    """A linear map of the features of latent rows, the indicator segments passed through.

    The critic of a RecurrentPPO policy without a critic LSTM (``enable_critic_lstm=False``,
    ``shared_lstm=False``): ``[W f + b | one-hot | acting | mask]``.
    """

    def __init__(self, layout: SlotLayout, out_dim: int) -> None:
        super().__init__()
        self.layout = layout
        self.linear = nn.Linear(layout.feature_dim, out_dim)

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        """Project the features, keep the one-hot, acting flag and mask."""
        features, one_hot, acting, mask = self.layout.split(latent)
        return torch.cat([self.linear(features), one_hot, acting, mask], dim=-1)


class SharingRecurrentPolicy(SharingActorCriticPolicy, RecurrentActorCriticPolicy):
    """``RecurrentActorCriticPolicy`` with agent-conditioned heads and per-slot LSTM states.

    Takes sb3-contrib's ``RecurrentActorCriticPolicy`` arguments (``lstm_hidden_size=256``,
    ``n_lstm_layers=1``, ``shared_lstm=False``, ``enable_critic_lstm=True``, ``lstm_kwargs``;
    ``net_arch`` gives the heads' hidden layers after the LSTM, default ``[64, 64]`` each). See
    the module docstring for how states, placeholders and the identity are handled.

    Raises:
        TypeError: if the observation space is not a vec env's ``SlotBox`` / ``SlotDict``.
        ValueError: for unsupported options (``use_sde``).
    """

    lstm_actor: nn.LSTM
    lstm_critic: nn.LSTM | None

    def __init__(self, observation_space: spaces.Space, action_space: spaces.Space, lr_schedule: Schedule, **kwargs: Any) -> None:
        super().__init__(observation_space, action_space, lr_schedule, **kwargs)
        # sb3-contrib built the LSTMs on the whole latent row: rebuild them on the trunk features.
        trunk_dim = self.latent_layout.feature_dim
        hidden, layers = self.lstm_output_dim, self.lstm_actor.num_layers
        self.lstm_actor = nn.LSTM(trunk_dim, hidden, num_layers=layers, **self.lstm_kwargs)
        if self.lstm_critic is not None:
            self.lstm_critic = nn.LSTM(trunk_dim, hidden, num_layers=layers, **self.lstm_kwargs)
        if self.critic is not None:
            self.critic = SlotProjection(self.latent_layout, hidden)  # type: ignore[assignment]
        self.optimizer = self.optimizer_class(self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs)  # type: ignore[call-arg]
        for topology in getattr(self, "sparse_topologies", dict)().values():
            topology.rebind_optimizer(self.optimizer)
        self.sharing.after_build(self, self.optimizer)  # hooks on the optimizer that now trains

    def _head_layout(self) -> SlotLayout:
        # The heads read [LSTM output | one-hot | acting | mask].
        return self.latent_layout.latent(self.lstm_output_dim)

    def _process_sequence(  # type: ignore[override]
        self,
        features: torch.Tensor,
        lstm_states: LSTMStates,
        episode_starts: torch.Tensor,
        lstm: nn.LSTM,
    ) -> tuple[torch.Tensor, LSTMStates]:
        """Run the LSTM on the trunk features of latent rows; placeholders keep the state.

        Args:
            features: Latent rows ``[n_seq * T, F + N + 1 + M]``, sequence-major (as sb3-contrib).
            lstm_states: ``(h, c)``, each ``[layers, n_seq, H]``.
            episode_starts: ``[n_seq * T]``; 1 resets the state before the row's step.
            lstm: The actor's or the critic's LSTM.

        Returns:
            ``([LSTM output | one-hot | acting | mask]`` rows in the input order, final ``(h, c)``).
        """
        trunk, one_hot, acting, mask = self.latent_layout.split(features)
        n_seq = lstm_states[0].shape[1]
        sequence = trunk.reshape((n_seq, -1, lstm.input_size)).swapaxes(0, 1)  # [T, n_seq, F]
        starts = episode_starts.reshape((n_seq, -1)).swapaxes(0, 1)
        acts = acting.reshape((n_seq, -1)).swapaxes(0, 1) > 0.5
        if bool((starts == 0).all()) and bool(acts.all()):
            output, states = lstm(sequence, lstm_states)
        else:
            h, c = lstm_states
            outputs = []
            for x_t, start_t, act_t in zip(sequence, starts, acts):
                keep = (1.0 - start_t).view(1, n_seq, 1)
                h, c = keep * h, keep * c
                out_t, (h_new, c_new) = lstm(x_t.unsqueeze(0), (h, c))
                advance = act_t.view(1, n_seq, 1)
                h, c = torch.where(advance, h_new, h), torch.where(advance, c_new, c)
                outputs.append(out_t)
            output, states = torch.cat(outputs), (h, c)
        rows = torch.flatten(output.transpose(0, 1), start_dim=0, end_dim=1)
        return torch.cat([rows, one_hot, acting, mask], dim=-1), states

    def forward(  # type: ignore[override]
        self, obs: torch.Tensor, lstm_states: RNNStates, episode_starts: torch.Tensor, deterministic: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, RNNStates]:
        """sb3-contrib's forward (rollouts); placeholder rows get log-probability 0."""
        self._check_acting_rows(obs)
        actions, values, log_prob, states = RecurrentActorCriticPolicy.forward(
            self, obs, lstm_states, episode_starts, deterministic
        )
        return actions, values, self._only_acting(obs, log_prob), states

    def evaluate_actions(  # type: ignore[override]
        self, obs: torch.Tensor, actions: torch.Tensor, lstm_states: RNNStates, episode_starts: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """sb3-contrib's evaluate_actions; placeholder rows get log-probability and entropy 0."""
        values, log_prob, entropy = RecurrentActorCriticPolicy.evaluate_actions(self, obs, actions, lstm_states, episode_starts)
        return values, self._only_acting(obs, log_prob), self._only_acting(obs, entropy)

    def _predict(  # type: ignore[override]
        self,
        observation: torch.Tensor,
        lstm_states: LSTMStates,
        episode_starts: torch.Tensor,
        deterministic: bool = False,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        self._check_acting_rows(observation)
        return RecurrentActorCriticPolicy._predict(self, observation, lstm_states, episode_starts, deterministic)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(
            lstm_hidden_size=self.lstm_output_dim,
            n_lstm_layers=self.lstm_actor.num_layers,
            shared_lstm=self.shared_lstm,
            enable_critic_lstm=self.enable_critic_lstm,
            lstm_kwargs=self.lstm_kwargs,
        )
        return data


class FullSharingPolicy(FullSharingOptions, SharingRecurrentPolicy):
    """FuPS and FuPS+id for RecurrentPPO (``agent_id``: the one-hot enters the heads).

    Args:
        agent_id: Give the heads the agent one-hot (FuPS+id). Default ``False`` (FuPS).
        *args, **kwargs: sb3-contrib ``RecurrentActorCriticPolicy`` arguments.
    """


class SelectiveSharingPolicy(SelectiveSharingOptions, SharingRecurrentPolicy):
    """SePS for RecurrentPPO: actor and critic heads (and image trunks) per cluster, one shared LSTM.

    Args:
        clusters: As for :class:`policies.ppo.SelectiveSharingPolicy` (default ``"type"``).
        *args, **kwargs: sb3-contrib ``RecurrentActorCriticPolicy`` arguments.
    """

    def _log_std_clusters(self) -> Any:
        return self.cluster_of_agent


class PrunedMaskPolicy(ActorCriticPruningOptions, SharingRecurrentPolicy):
    """SNP-PS and AdaPS for RecurrentPPO: neuron masks per agent (or cluster) in the heads.

    Args:
        actor_pruning, critic_pruning, method, clusters, threshold, agent_id, mask_seed: As for
            :class:`policies.ppo.PrunedMaskPolicy`.
        *args, **kwargs: sb3-contrib ``RecurrentActorCriticPolicy`` arguments.
    """


class SparseEvolvedPolicy(SparseEvolutionMixin, FullSharingPolicy):
    """MAST-style sparse full sharing for RecurrentPPO (sparse trunk and heads; the LSTM stays dense)."""


class SparsePrunedMaskPolicy(SparseEvolutionMixin, PrunedMaskPolicy):
    """SNP-PS / AdaPS masks on top of sparse, RigL-evolved heads (RecurrentPPO)."""


class SparseSelectiveSharingPolicy(SparseEvolutionMixin, SelectiveSharingPolicy):
    """SePS heads per cluster with sparse, RigL-evolved weights (RecurrentPPO)."""


class LearnedMaskPolicy(LearnedMaskOptions, SharingRecurrentPolicy):
    """Kaleidoscope learned weight masks per agent for RecurrentPPO: every head (actor and critics) masked.

    Options as :class:`policies.LearnedMaskPolicy`; the diversity term and weight reset run on each
    network's own optimizer (``actor.learned_masks`` / ``critic.learned_masks`` or
    ``policy.learned_masks``). Args: *args, **kwargs: sb3-contrib ``RecurrentActorCriticPolicy`` arguments (the LSTM core stays unmasked, as in the released code's GRU).
    """
