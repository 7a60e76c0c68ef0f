"""Argument checks shared by the integrations: exceptions that name the env, argument and fix."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["check_bool", "check_choice", "check_int", "check_int_sequence", "check_seed"]


def check_int(env: str, name: str, value: Any, minimum: int, maximum: int | None = None) -> int:
    """Return ``value`` as ``int`` if it is an integer in ``[minimum, maximum]``.

    Raises:
        TypeError: if ``value`` is not an integer (bools are refused too).
        ValueError: if it is out of range.
    """
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{env}: {name} must be an int, got {value!r} ({type(value).__name__})")
    if value < minimum or (maximum is not None and value > maximum):
        bound = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
        raise ValueError(f"{env}: {name} must be {bound}, got {value!r}; pass a value {bound}")
    return int(value)


def check_bool(env: str, name: str, value: Any) -> bool:
    """Return ``value`` if it is a ``bool``.

    Raises:
        TypeError: if it is not a bool (no truthiness coercion).
    """
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{env}: {name} must be True or False, got {value!r}")
    return bool(value)


def check_choice(env: str, name: str, value: Any, choices: Sequence[str]) -> str:
    """Return ``value`` if it is one of the string ``choices``.

    Raises:
        ValueError: naming the allowed choices otherwise.
    """
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{env}: {name} must be one of {list(choices)}, got {value!r}")
    return value


def check_int_sequence(
    env: str, name: str, value: Any, minimum: int, length: int | None = None
) -> tuple[int, ...]:
    """Return ``value`` as a tuple of ints, each ``>= minimum`` (and of ``length`` if given).

    Raises:
        TypeError: if ``value`` is not a sequence of integers.
        ValueError: if an entry is too small or the length is wrong.
    """
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | np.ndarray):
        raise TypeError(f"{env}: {name} must be a sequence of ints, got {value!r}")
    items = tuple(value)
    for i, item in enumerate(items):
        check_int(env, f"{name}[{i}]", item, minimum)
    if length is not None and len(items) != length:
        raise ValueError(
            f"{env}: {name} must have one entry per agent ({length}), got {len(items)} in {value!r}"
        )
    if not items:
        raise ValueError(f"{env}: {name} must not be empty")
    return tuple(int(x) for x in items)


def check_seed(env: str, seed: Any) -> int | None:
    """Return ``seed`` if it is ``None`` or a non-negative int.

    Raises:
        TypeError / ValueError: otherwise.
    """
    if seed is None:
        return None
    return check_int(env, "seed", seed, 0)
