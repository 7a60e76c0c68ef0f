"""Side-by-side timing: variants run interleaved, round after round, so machine noise hits all alike."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

__all__ = ["interleaved", "format_table"]


def interleaved(variants: dict[str, Callable[[], int]], rounds: int = 5) -> dict[str, float]:
    """Median throughput (units / s) of each variant; each call returns the units it did."""
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, fn in variants.items():
            t = time.perf_counter()
            units = fn()
            samples[name].append(units / (time.perf_counter() - t))
    return {name: statistics.median(v) for name, v in samples.items()}


def format_table(title: str, rates: dict[str, float], reference: str, unit: str) -> str:
    """A Markdown table of rates and slowdown ratios relative to ``reference``."""
    ref = rates[reference]
    lines = [f"**{title}**", "", f"| variant | {unit} | time vs {reference} |", "|---|---:|---:|"]
    for name, rate in rates.items():
        lines.append(f"| {name} | {rate:,.0f} | {ref / rate:.2f}x |")
    return "\n".join(lines)
