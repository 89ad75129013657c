"""A local Ray (2 CPUs) shared by the Ray tests of this folder, started once per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import KEY, KEY_ENV


@pytest.fixture(scope="session")
def local_ray() -> Iterator[None]:
    """``ray.init(num_cpus=2)`` with the test key in the workers' environment; skipped when Ray
    is not installed."""
    ray = pytest.importorskip("ray")
    pytest.importorskip("ray.data")
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {KEY_ENV: KEY}},
    )
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield
    ray.shutdown()
