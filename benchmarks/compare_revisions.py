"""Run one benchmark on two checkouts of the project, interleaved, and put their tables side by side.

A change must not slow down what exists: this runs the same benchmark script from the current
tree and from a second checkout (e.g. ``git worktree add /tmp/base <revision>``), alternating the
two for ``--repeats`` rounds so that machine-load drift affects both alike, and prints, for every
row of the benchmark's Markdown table, the median of one numeric column for each checkout and
their ratio. Each run imports the packages of its own checkout (``PYTHONPATH`` set to it), with
this interpreter.

Usage::

    git worktree add /tmp/base 3f579f9
    .venv/bin/python benchmarks/compare_revisions.py /tmp/base benchmarks/policy_throughput.py \\
        --column "agent-steps / CPU s" --repeats 3 -- --rounds 1
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Args:
    """Comparison settings."""

    base: str
    """Root of the other checkout (the "before")."""
    script: str
    """Benchmark script, relative to a checkout's root."""
    column: str
    """Header of the numeric column to compare."""
    repeats: int = 3
    """Interleaved runs per checkout; medians are reported."""
    extra: tuple[str, ...] = ()
    """Arguments passed to the benchmark script."""


def parse_table(text: str, column: str) -> dict[str, float]:
    """``row name -> value`` of ``column`` in the first Markdown table of ``text`` that has it.

    Raises:
        ValueError: if no table has the column.
    """
    lines = [line.strip() for line in text.splitlines()]
    for i, line in enumerate(lines):
        if not line.startswith("|"):
            continue
        header = [c.strip() for c in line.strip("|").split("|")]
        if column not in header:
            continue
        j = header.index(column)
        rows: dict[str, float] = {}
        for row in lines[i + 2 :]:
            if not row.startswith("|"):
                break
            cells = [c.strip() for c in row.strip("|").split("|")]
            rows[cells[0]] = float(cells[j].replace(",", "").rstrip("x"))
        return rows
    raise ValueError(f"compare_revisions: no table with a column {column!r} in the benchmark's output")


def _run(root: Path, args: Args) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(root))
    out = subprocess.run(
        [sys.executable, str(root / args.script), *args.extra],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return parse_table(out.stdout, args.column)


def main(args: Args) -> None:
    """Run both checkouts alternately and print the side-by-side table."""
    roots = {"before": Path(args.base).resolve(), "after": ROOT}
    results: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
    for _ in range(args.repeats):
        for label, root in roots.items():
            results[label].append(_run(root, args))
    names = list(results["after"][0])
    print(f"{args.script} {' '.join(args.extra)}: median of {args.repeats} interleaved runs, column {args.column!r}")
    print(f"before: {roots['before']}, after: {roots['after']}\n")
    print("| row | before | after | after / before |")
    print("|---|---:|---:|---:|")
    for name in names:
        before = statistics.median(r[name] for r in results["before"] if name in r)
        after = statistics.median(r[name] for r in results["after"])
        print(f"| {name} | {before:,.2f} | {after:,.2f} | {after / before:.3f} |")


def _parse() -> Args:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("base")
    parser.add_argument("script")
    parser.add_argument("--column", required=True)
    parser.add_argument("--repeats", type=int, default=3)
    ns, extra = parser.parse_known_args()
    if extra and extra[0] == "--":
        extra = extra[1:]
    return Args(ns.base, ns.script, ns.column, ns.repeats, tuple(extra))


if __name__ == "__main__":
    main(_parse())
