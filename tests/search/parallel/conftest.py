"""One real local Ray cluster for the whole test session: 2 CPUs, listening on 127.0.0.1 only."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def ray_cluster():
    """``ray`` connected to a local 2-CPU cluster (workers import ``tests``); shut down at the
    end of the session."""
    import ray

    from search.executors import loopback_only

    path = os.environ.get("PYTHONPATH", "")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), path) if p)
    with loopback_only():
        ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR",
                 log_to_driver=False)
    try:
        assert {n["NodeManagerAddress"] for n in ray.nodes()} == {"127.0.0.1"}
        yield ray
    finally:
        ray.shutdown()
        if path:
            os.environ["PYTHONPATH"] = path
        else:
            os.environ.pop("PYTHONPATH", None)
