"""Side-by-side timing: variants run interleaved, round after round, so machine noise hits all alike.

``clock="cpu"`` measures this process's CPU time (``time.process_time``): for single-threaded work
it is far less sensitive to other jobs on a shared machine than wall time. Use ``clock="wall"``
when work happens in other processes (e.g. a multi-process vec env).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Literal

__all__ = ["interleaved", "format_table"]

CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}


def interleaved(
    variants: dict[str, Callable[[], int]], rounds: int = 5, clock: Literal["cpu", "wall"] = "cpu"
) -> dict[str, float]:
    """Median throughput (units / s of ``clock``) of each variant; each call returns its units."""
    now = CLOCKS[clock]
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, fn in variants.items():
            t = now()
            units = fn()
            samples[name].append(units / (now() - t))
    return {name: statistics.median(v) for name, v in samples.items()}


def format_table(title: str, rates: dict[str, float], reference: str, unit: str) -> str:
    """A Markdown table of rates and time ratios relative to ``reference``."""
    ref = rates[reference]
    lines = [f"**{title}**", "", f"| variant | {unit} | time vs {reference} |", "|---|---:|---:|"]
    for name, rate in rates.items():
        lines.append(f"| {name} | {rate:,.0f} | {ref / rate:.2f}x |")
    return "\n".join(lines)
