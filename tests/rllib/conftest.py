"""Shared set-up of the RLlib tests, which skip (with the reason) when the extra is not installed.

Every test module starts with ``pytest.importorskip("ray.rllib", reason=SKIP_REASON)``.

One local Ray instance (``num_cpus=2``, workers with a fixed ``PYTHONHASHSEED``) serves every test
that asks for the ``ray_cluster`` fixture; tests that need no Ray worker do not start it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

SKIP_REASON = "Ray RLlib is not installed: pip install 'ps-toolkit[rllib]' (scripts/bootstrap.sh does)"


@pytest.fixture(scope="package")
def ray_cluster() -> Iterator[None]:
    """A local Ray instance with 2 CPUs for the tests of this package (shut down after them)."""
    import ray

    from policies.rllib import deterministic_runtime_env

    ray.init(
        num_cpus=2,
        runtime_env=deterministic_runtime_env(),
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
    )
    yield
    ray.shutdown()
