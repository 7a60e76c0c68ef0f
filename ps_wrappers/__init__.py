"""PettingZoo wrappers for parameter sharing, and the PettingZoo -> SB3 VecEnv conversion."""

from ps_wrappers.layout import SlotBox, SlotLayout, get_layout

__all__ = ["SlotBox", "SlotLayout", "get_layout"]
