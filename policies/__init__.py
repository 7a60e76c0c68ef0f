"""SB3 policies that share one network across agents (FuPS, SePS, SNP-PS, AdaPS, Kaleidoscope, MAST).

Every policy reads the agent of each row, its acting flag and its action mask from the
observations of :func:`ps_wrappers.make_vec_env`, so no option is required::

    from stable_baselines3 import PPO
    import ps_wrappers
    from policies import PrunedMaskPolicy, MaskedDQN, FullSharingQPolicy

    venv = ps_wrappers.make_vec_env(env_fn, n_envs=8, seed=0)
    PPO(PrunedMaskPolicy, venv).learn(100_000)            # SNP-PS
    MaskedDQN(FullSharingQPolicy, venv).learn(100_000)    # FuPS with masked exploration

One sub-package per SB3 algorithm family, each exporting ``FullSharingPolicy``,
``SelectiveSharingPolicy``, ``PrunedMaskPolicy`` and ``SparseEvolvedPolicy``:
:mod:`policies.ppo` (PPO, A2C, TRPO), :mod:`policies.dqn` (DQN, QR-DQN), :mod:`policies.sac`,
:mod:`policies.td3` (TD3, DDPG) and :mod:`policies.recurrent` (RecurrentPPO)::

    from policies.sac import MaskedSAC, PrunedMaskPolicy
    MaskedSAC(PrunedMaskPolicy, continuous_venv).learn(100_000)

See ``docs/policies.md`` for the methods, their options and measured throughput.
"""


from policies import dqn, learned, ppo, recurrent, sac, td3
from policies._legacy import register_legacy_module_paths
from policies.clustering import (
    ClusterResult,
    ClusterSpec,
    agent_types,
    cluster_agents,
    resolve_clusters,
)
from policies.core import (
    MASKED_LOGIT,
    AgentConditionedMLP,
    ChannelMaskedTrunk,
    ExtractorTrunk,
    GridCNN,
    IndicatorPlanesTrunk,
    NeuronMaskedMLP,
    RoutedMLP,
    RoutedTrunk,
    SharedMLP,
    SlotFeaturesExtractor,
    Trunk,
    mask_scores,
    random_valid_actions,
)
from policies.dqn import (
    AgentQNetwork,
    FullSharingQPolicy,
    LearnedMaskQPolicy,
    MaskedDQN,
    MaskedExplorationWarning,
    PrunedMaskQPolicy,
    SelectiveSharingQPolicy,
    SharingQPolicy,
    SparseEvolvedQPolicy,
    SparsePrunedMaskQPolicy,
    SparseSelectiveSharingQPolicy,
)
from policies.export import export_policy, load_exported_policy
from policies.learned import (
    KaleidoscopeRegularizer,
    LearnedMaskCallback,
    LearnedMaskMLP,
    LearnedMaskTrunk,
    MaskScheduleWarning,
    mask_statistics,
    set_mask_schedule,
)
from policies.mast import (
    MASTDQN,
    DualReplayBuffer,
    SequenceReplayBuffer,
    lambda_returns,
    mellowmax,
    soft_mellowmax,
)
from policies.methods import (
    ADAPS_THRESHOLD,
    FullSharing,
    LearnedMask,
    PrunedMask,
    SelectiveSharing,
    SharingMethod,
    adaps_masks,
    default_pruning,
    snp_ps_masks,
)
from policies.parameters import (
    ParameterCount,
    count_parameters,
    format_parameter_table,
    parameter_table,
)
from policies.ppo import (
    ClusterLogStd,
    FullSharingPolicy,
    LearnedMaskPolicy,
    PrunedMaskPolicy,
    SelectiveSharingPolicy,
    SharingActorCriticPolicy,
    SlotActorCriticExtractor,
    SparseEvolvedPolicy,
    SparsePrunedMaskPolicy,
    SparseSelectiveSharingPolicy,
)
from policies.sparse import (
    FlopsReport,
    SparseMetricsCallback,
    SparseTopology,
    flops_report,
    set_evolution_horizon,
    sparse_evolved,
)

__all__ = [
    "ADAPS_THRESHOLD",
    "AgentConditionedMLP",
    "AgentQNetwork",
    "ChannelMaskedTrunk",
    "ClusterLogStd",
    "ClusterResult",
    "ClusterSpec",
    "DualReplayBuffer",
    "ExtractorTrunk",
    "FlopsReport",
    "FullSharing",
    "FullSharingPolicy",
    "FullSharingQPolicy",
    "GridCNN",
    "IndicatorPlanesTrunk",
    "KaleidoscopeRegularizer",
    "LearnedMask",
    "LearnedMaskCallback",
    "LearnedMaskMLP",
    "LearnedMaskPolicy",
    "LearnedMaskQPolicy",
    "LearnedMaskTrunk",
    "MASKED_LOGIT",
    "MASTDQN",
    "MaskedDQN",
    "MaskScheduleWarning",
    "MaskedExplorationWarning",
    "NeuronMaskedMLP",
    "ParameterCount",
    "PrunedMask",
    "PrunedMaskPolicy",
    "PrunedMaskQPolicy",
    "RoutedMLP",
    "RoutedTrunk",
    "SelectiveSharing",
    "SelectiveSharingPolicy",
    "SelectiveSharingQPolicy",
    "SequenceReplayBuffer",
    "SharedMLP",
    "SharingActorCriticPolicy",
    "SharingMethod",
    "SharingQPolicy",
    "SlotActorCriticExtractor",
    "SlotFeaturesExtractor",
    "SparseEvolvedPolicy",
    "SparseEvolvedQPolicy",
    "SparseMetricsCallback",
    "SparsePrunedMaskPolicy",
    "SparsePrunedMaskQPolicy",
    "SparseSelectiveSharingPolicy",
    "SparseSelectiveSharingQPolicy",
    "SparseTopology",
    "Trunk",
    "adaps_masks",
    "agent_types",
    "cluster_agents",
    "count_parameters",
    "default_pruning",
    "dqn",
    "export_policy",
    "load_exported_policy",
    "flops_report",
    "format_parameter_table",
    "lambda_returns",
    "learned",
    "mask_scores",
    "mask_statistics",
    "mellowmax",
    "parameter_table",
    "ppo",
    "recurrent",
    "random_valid_actions",
    "resolve_clusters",
    "sac",
    "set_evolution_horizon",
    "set_mask_schedule",
    "snp_ps_masks",
    "soft_mellowmax",
    "sparse_evolved",
    "td3",
]

register_legacy_module_paths()
