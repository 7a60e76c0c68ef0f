"""Adapters that expose other multi-agent environments as PettingZoo ParallelEnvs.

Each module has ``parallel_env(**kwargs)`` (working with its defaults); see docs/integrations.md.

* :mod:`integrations.lbforaging`: Level-Based Foraging (lbforaging 2.0), fixed per-agent levels.
* :mod:`integrations.rware`: Multi-Robot Warehouse (rware 2.0).
* :mod:`integrations.crware`: Coloured RWARE (SePS paper, section 4.1).
* :mod:`integrations.bps`: blind-particle spread, BPS and BPS-h (SePS paper, section 4.1).
* :mod:`integrations.smac`: StarCraft SMAC (imported lazily); :mod:`integrations.smac_stub` is a
  stand-in of SMAC's ``StarCraft2Env`` for testing without StarCraft II.

Submodules are not imported here, so importing one adapter never imports another's dependency.
"""

__all__ = ["bps", "crware", "lbforaging", "rware", "smac", "smac_stub"]
