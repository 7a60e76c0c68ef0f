"""SB3 policies that share one network across agents (FuPS, SePS, SNP-PS, AdaPS, MAST).

Every policy reads the agent of each row, its acting flag and its action mask from the
observations of :func:`ps_wrappers.make_vec_env`, so no option is required::

    from stable_baselines3 import PPO
    import ps_wrappers
    from policies import PrunedMaskPolicy, MaskedDQN, FullSharingQPolicy

    venv = ps_wrappers.make_vec_env(env_fn, n_envs=8, seed=0)
    PPO(PrunedMaskPolicy, venv).learn(100_000)            # SNP-PS
    MaskedDQN(FullSharingQPolicy, venv).learn(100_000)    # FuPS with masked exploration

See ``docs/policies.md`` for the methods, their options and measured throughput.
"""

from policies.action_masks import MASKED_LOGIT, mask_scores, random_valid_actions
from policies.actor_critic import (
    ClusterLogStd,
    FullSharingPolicy,
    PrunedMaskPolicy,
    SelectiveSharingPolicy,
    SharingActorCriticPolicy,
    SlotActorCriticExtractor,
)
from policies.clustering import (
    ClusterResult,
    ClusterSpec,
    agent_types,
    cluster_agents,
    resolve_clusters,
)
from policies.export import export_policy, load_exported_policy
from policies.flops import FlopsReport, flops_report
from policies.masked_dqn import MaskedDQN
from policies.masks import ADAPS_THRESHOLD, adaps_masks, default_pruning, snp_ps_masks
from policies.mast_buffers import DualReplayBuffer, SequenceReplayBuffer
from policies.mast_dqn import MASTDQN
from policies.mast_targets import lambda_returns, mellowmax, soft_mellowmax
from policies.networks import AgentConditionedMLP, NeuronMaskedMLP, RoutedMLP, SharedMLP
from policies.parameters import (
    ParameterCount,
    count_parameters,
    format_parameter_table,
    parameter_table,
)
from policies.q_policies import (
    AgentQNetwork,
    FullSharingQPolicy,
    MaskedExplorationWarning,
    PrunedMaskQPolicy,
    SelectiveSharingQPolicy,
    SharingQPolicy,
)
from policies.sparse import SparseTopology
from policies.sparse_policies import (
    SparseEvolvedPolicy,
    SparseEvolvedQPolicy,
    SparsePrunedMaskPolicy,
    SparsePrunedMaskQPolicy,
    SparseSelectiveSharingPolicy,
    SparseSelectiveSharingQPolicy,
    sparse_evolved,
)
from policies.sparse_training import SparseMetricsCallback, set_evolution_horizon

__all__ = [
    "MASTDQN",
    "DualReplayBuffer",
    "FlopsReport",
    "SequenceReplayBuffer",
    "SparseEvolvedPolicy",
    "SparseEvolvedQPolicy",
    "SparseMetricsCallback",
    "SparsePrunedMaskPolicy",
    "SparsePrunedMaskQPolicy",
    "SparseSelectiveSharingPolicy",
    "SparseSelectiveSharingQPolicy",
    "SparseTopology",
    "export_policy",
    "flops_report",
    "load_exported_policy",
    "lambda_returns",
    "mellowmax",
    "set_evolution_horizon",
    "soft_mellowmax",
    "sparse_evolved",
    "ADAPS_THRESHOLD",
    "MASKED_LOGIT",
    "AgentConditionedMLP",
    "AgentQNetwork",
    "ClusterLogStd",
    "ClusterResult",
    "ClusterSpec",
    "FullSharingPolicy",
    "FullSharingQPolicy",
    "MaskedDQN",
    "MaskedExplorationWarning",
    "NeuronMaskedMLP",
    "ParameterCount",
    "PrunedMaskPolicy",
    "PrunedMaskQPolicy",
    "RoutedMLP",
    "SelectiveSharingPolicy",
    "SelectiveSharingQPolicy",
    "SharedMLP",
    "SharingActorCriticPolicy",
    "SharingQPolicy",
    "SlotActorCriticExtractor",
    "adaps_masks",
    "agent_types",
    "cluster_agents",
    "count_parameters",
    "default_pruning",
    "format_parameter_table",
    "mask_scores",
    "parameter_table",
    "random_valid_actions",
    "resolve_clusters",
    "snp_ps_masks",
]
