"""pytest-benchmark set-up for the reference benchmarks: the device, and subsidybench's section of
machine_info (suite, device, environment, profile peaks) that `subsidybench ingest` reads back.

    pytest bench/ --benchmark-json=ci.json          # then: subsidybench ingest ci.json
    pytest bench/ --ci-budget 0.3                   # shorter timed budget per workload
"""

from __future__ import annotations

from typing import Any

import pytest

from subsidybench.catalogue.profiles import match_profile
from subsidybench.devices import Device, resolve_device
from subsidybench.measure import allocator
from subsidybench.measure.environment import capture
from subsidybench.results.context import DeviceRecord
from subsidybench.results.ingest import SECTION, machine_info_section
from subsidybench.suites import load_suite
from subsidybench.timing import METHOD_VERSION

SUITE = "ci"


def pytest_configure(config: pytest.Config) -> None:
    # Measured as `subsidybench run` measures: the C allocator held steady (measure/allocator.py).
    allocator.hold_steady()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--ci-budget",
        type=float,
        default=None,
        help="Seconds of timed rounds per workload (default: the ci suite's budget).",
    )


def cpu() -> Device:
    """The device the reference benchmarks run on: CI machines have no accelerator."""
    return resolve_device("cpu")


def pytest_benchmark_update_machine_info(
    config: pytest.Config, machine_info: dict[str, Any]
) -> None:
    device = cpu()
    suite = load_suite(SUITE)
    profile = match_profile(device.name, device.type)
    machine_info[SECTION] = machine_info_section(
        suite=suite.name,
        suite_version=suite.version,
        device=DeviceRecord(type=device.type, index=device.index, name=device.name),
        environment=capture(device),
        profile=profile.id if profile else None,
        peak_tflops=dict(profile.peak_tflops) if profile else {},
        method_version=METHOD_VERSION,
        rounds=suite.rounds,
    )


@pytest.fixture(scope="session")
def device() -> Device:
    return cpu()


@pytest.fixture(scope="session")
def budget_s(request: pytest.FixtureRequest) -> float | None:
    value = request.config.getoption("--ci-budget")
    if value is not None and not value > 0:
        raise pytest.UsageError(f"--ci-budget must be > 0, got {value}")
    return value
