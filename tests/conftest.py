"""Shared fixtures: tiny suites that run in well under a second on a CPU."""

from __future__ import annotations

from pathlib import Path

import pytest

TINY_SUITE = """
name = "tiny"
version = 1
description = "test suite"
budget_s = 0.05

[[workloads]]
name = "matmul"
params = { n = 64 }
dtypes = ["fp32", "bf16"]

[[workloads]]
name = "copy"
params = { mib = 1 }

[[workloads]]
name = "mlp_train"
params = { batch = 16, features = 8, hidden = 16, layers = 1, classes = 4 }
"""


@pytest.fixture
def tiny_suite(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_SUITE)
    return path
