"""Adapters that expose other multi-agent environments as PettingZoo ParallelEnvs."""
