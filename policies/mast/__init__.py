"""MAST's value pieces for DQN (Hu et al., 2024): TD(lambda) targets, Soft Mellowmax, dual buffers."""

from policies.mast.buffers import DualReplayBuffer, SequenceReplayBuffer
from policies.mast.dqn import MASTDQN
from policies.mast.targets import lambda_returns, mellowmax, soft_mellowmax

__all__ = ["MASTDQN", "DualReplayBuffer", "SequenceReplayBuffer", "lambda_returns", "mellowmax", "soft_mellowmax"]
