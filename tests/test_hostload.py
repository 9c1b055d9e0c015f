from __future__ import annotations

import os
from pathlib import Path

import pytest

from subsidybench.measure import hostload
from subsidybench.measure.hostload import HostSample, foreign_share
from subsidybench.timing import Measurement, TimingPolicy, judge


def test_share_is_others_time_over_capacity() -> None:
    start = HostSample(wall_s=0.0, busy_s=100.0, own_cpu_s=10.0)
    # Over 2 s on 2 cpus (4 cpu-seconds), all processes used 3 s, this one 2 s: others 1 s.
    end = HostSample(wall_s=2.0, busy_s=103.0, own_cpu_s=12.0)
    assert foreign_share(start, end, cpus=2) == pytest.approx(0.25)
    assert foreign_share(None, end, cpus=2) is None
    assert foreign_share(start, start, cpus=2) is None


def test_share_is_clamped_to_zero_and_one() -> None:
    start = HostSample(0.0, 0.0, 0.0)
    assert foreign_share(start, HostSample(1.0, 0.5, 1.0), cpus=1) == 0.0  # tick rounding
    assert foreign_share(start, HostSample(1.0, 9.0, 0.0), cpus=1) == 1.0


def test_sample_reads_proc_stat(tmp_path: Path) -> None:
    stat = tmp_path / "stat"
    ticks = os.sysconf("SC_CLK_TCK")
    # user nice system idle iowait irq softirq steal: busy = all but idle and iowait.
    stat.write_text(f"cpu {ticks} 0 {ticks} {50 * ticks} {ticks} 0 0 {ticks} 0 0\ncpu0 ...\n")
    s = hostload.sample(stat)
    assert s is not None and s.busy_s == pytest.approx(3.0)
    assert hostload.sample(tmp_path / "missing") is None


def test_verdict_names_a_busy_machine() -> None:
    m = Measurement((0.01,) * 10, 5, 3, 0.1, True)
    assert judge(m, TimingPolicy(), foreign_cpu=0.05).valid
    busy = judge(m, TimingPolicy(), foreign_cpu=0.4)
    assert not busy.valid
    assert "machine busy: other processes used 40% of the CPU (> 10%)" in str(busy)
