"""Exact comparison of (nested) observations and actions for the wrapper tests."""

from __future__ import annotations

from typing import Any

import numpy as np


def assert_same(actual: Any, expected: Any, what: str = "value") -> None:
    """``actual`` equals ``expected`` exactly: same structure, same dtype, same values."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{what}: {actual!r} is not a dict"
        assert actual.keys() == expected.keys(), f"{what}: keys {list(actual)} != {list(expected)}"
        for k in expected:
            assert_same(actual[k], expected[k], f"{what}[{k!r}]")
    elif isinstance(expected, tuple):
        assert isinstance(actual, tuple) and len(actual) == len(expected), f"{what}: {actual!r}"
        for i, (x, y) in enumerate(zip(actual, expected)):
            assert_same(x, y, f"{what}[{i}]")
    elif isinstance(expected, np.ndarray):
        assert isinstance(actual, np.ndarray), f"{what}: {actual!r} is not an array"
        assert actual.dtype == expected.dtype, f"{what}: dtype {actual.dtype} != {expected.dtype}"
        assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
        np.testing.assert_array_equal(actual, expected, err_msg=what)
    else:
        assert int(actual) == int(expected), f"{what}: {actual!r} != {expected!r}"


def same(a: Any, b: Any) -> bool:
    """Whether two (nested) observations have the same values (dtype not compared)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and bool(np.array_equal(a, b))
