"""Session fixtures shared by the whole test tree.

Ray: one local instance per test session (``ray.init`` costs seconds and ~440 MB), started
only when the first test marked ``@pytest.mark.ray`` runs and shut down at the end, so test
runs without Ray tests never start it and no Ray process outlives the session. A test that starts
its own cluster (the ``ray_cluster`` fixture of tests/rlkit/test_cluster.py) does not get it.
"""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session")
def ray_session():
    """The session's Ray module, initialised with 2 CPUs and no dashboard."""
    # Ray 2.60 writes ~/.ray/auth_token on its first local start unless auth is disabled.
    os.environ["RAY_AUTH_MODE"] = "disabled"
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(autouse=True)
def _ray_for_marked_tests(request):
    """Give every test marked ``ray`` the session's Ray instance (unless it brings its own cluster)."""
    if request.node.get_closest_marker("ray") is not None and "ray_cluster" not in request.fixturenames:
        request.getfixturevalue("ray_session")
